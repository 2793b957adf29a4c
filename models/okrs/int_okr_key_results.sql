{#- One row per key result: its seed row typed and completed with its objective, cycle and KPI.
    weight defaults to 1; measured_by is `kpi` or `check_ins` (no kpi_id); baseline_method (an
    optional seed column) defaults to last_period, baseline_periods (likewise) to null. -#}
with objectives as (
    -- typed once, with its cycle's dates, in int_okr_objectives
    select
        objective_id,
        cycle_id,
        cycle_start_date,
        cycle_end_date,
        cycle_days
    from {{ ref('int_okr_objectives') }}
),

key_results as (
    select
        {{ okr_kpi.to_text('key_result_id') }} as key_result_id,
        {{ okr_kpi.to_text('objective_id') }} as objective_id,
        {{ okr_kpi.to_text('title') }} as title,
        {{ okr_kpi.to_text('kr_type') }} as kr_type,
        {{ okr_kpi.to_text('kpi_id') }} as kpi_id,
        {{ okr_kpi.to_text('grain') }} as grain,
        {{ okr_kpi.to_text('measure') }} as measure,
        {{ okr_kpi.to_double('baseline') }} as baseline_input,
        {{ okr_kpi.to_double('target') }} as target_input,
        {{ okr_kpi.to_text('target_kind') }} as target_kind,
        {{ okr_kpi.to_double('weight') }} as weight_input,
        {{ okr_kpi.to_text('owner') }} as owner,
        coalesce(
            {{ okr_kpi.to_text(okr_kpi.seed_column(okr_kpi.project_ref('okr_key_results'), 'key_result_seed',
                'baseline_method')) }},
            'last_period'
        ) as baseline_method,
        cast({{ okr_kpi.to_double(okr_kpi.seed_column(okr_kpi.project_ref('okr_key_results'), 'key_result_seed',
            'baseline_periods')) }} as {{ dbt.type_int() }}) as baseline_periods,
        {{ okr_kpi.to_text(okr_kpi.seed_column(okr_kpi.project_ref('okr_key_results'), 'key_result_seed',
            'segment_dimension')) }} as segment_dimension,
        {{ okr_kpi.to_text(okr_kpi.seed_column(okr_kpi.project_ref('okr_key_results'), 'key_result_seed',
            'segment_value')) }} as segment_value
    -- the alias names the seed's optional columns (macro seed_column), when it has them
    from {{ okr_kpi.project_ref('okr_key_results') }} as key_result_seed  -- noqa: AL05
),

kpis as (
    select
        kpi_id,
        aggregation,
        direction
    from {{ ref('dim_kpis') }}
),

final as (
    select
        key_results.key_result_id,
        key_results.objective_id,
        objectives.cycle_id,
        key_results.title,
        key_results.kr_type,
        key_results.kpi_id,
        kpis.aggregation,
        kpis.direction,
        case when key_results.kpi_id is null then 'check_ins' else 'kpi' end as measured_by,
        key_results.grain,
        key_results.measure,
        key_results.baseline_input,
        key_results.baseline_method,
        key_results.baseline_periods,
        key_results.target_input,
        key_results.target_kind,
        coalesce(key_results.weight_input, 1.0) as weight,
        key_results.owner,
        key_results.segment_dimension,
        key_results.segment_value,
        -- '' for the KPI's total, 'dimension=value' for one segment (macro kpi_periods_with_segments)
        case
            when key_results.segment_dimension is null or key_results.segment_value is null then ''
            else {{ dbt.concat(['key_results.segment_dimension', "'='", 'key_results.segment_value']) }}
        end as segment_key,
        objectives.cycle_start_date,
        objectives.cycle_end_date,
        objectives.cycle_days
    from key_results
    inner join objectives on key_results.objective_id = objectives.objective_id
    left join kpis on key_results.kpi_id = kpis.kpi_id
)

select * from final
