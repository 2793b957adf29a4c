{#- One row per key result of a cycle the report shows (rpt_okr_cycles.is_reported): its latest
    day scored in fct_key_result_progress (as_of_date in an active cycle, the last day in a
    finished one), with its cycle's state. -#}
with cycles as (
    select
        cycle_id,
        cycle_state
    from {{ ref('rpt_okr_cycles') }}
    where is_reported
),

latest as (
    select * from {{ ref('fct_key_result_progress') }}
    where is_latest
),

final as (
    select
        cast(latest.key_result_id as {{ dbt.type_string() }}) as key_result_id,
        cast(latest.objective_id as {{ dbt.type_string() }}) as objective_id,
        cast(latest.cycle_id as {{ dbt.type_string() }}) as cycle_id,
        cast(cycles.cycle_state as {{ dbt.type_string() }}) as cycle_state,
        cast(latest.date_day as date) as date_day,
        cast(latest.title as {{ dbt.type_string() }}) as title,
        cast(latest.kr_type as {{ dbt.type_string() }}) as kr_type,
        cast(latest.kpi_id as {{ dbt.type_string() }}) as kpi_id,
        cast(latest.measured_by as {{ dbt.type_string() }}) as measured_by,
        cast(latest.grain as {{ dbt.type_string() }}) as grain,
        cast(latest.weight as {{ okr_kpi.type_double() }}) as weight,
        cast(latest.owner as {{ dbt.type_string() }}) as owner,
        cast(latest.current_value as {{ okr_kpi.type_double() }}) as current_value,
        cast(latest.baseline as {{ okr_kpi.type_double() }}) as baseline,
        cast(latest.target as {{ okr_kpi.type_double() }}) as target,
        cast(latest.progress as {{ okr_kpi.type_double() }}) as progress,
        cast(latest.score as {{ okr_kpi.type_double() }}) as score,
        cast(latest.expected_progress as {{ okr_kpi.type_double() }}) as expected_progress,
        cast(latest.pace_ratio as {{ okr_kpi.type_double() }}) as pace_ratio,
        cast(latest.status as {{ dbt.type_string() }}) as status,
        cast(latest.no_data_reason as {{ dbt.type_string() }}) as no_data_reason,
        cast(latest.forecast_value as {{ okr_kpi.type_double() }}) as forecast_value,
        cast(latest.forecast_probability as {{ okr_kpi.type_double() }}) as forecast_probability,
        cast(latest.latest_confidence as {{ okr_kpi.type_double() }}) as latest_confidence
    from latest
    inner join cycles on latest.cycle_id = cycles.cycle_id
)

select * from final
