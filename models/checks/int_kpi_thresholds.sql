{#- One row per KPI, grain, severity and segment: the kpi_thresholds seed, typed. The optional
    columns segment_dimension and segment_value (docs/segments.md) name a segment's threshold;
    both null: a bound of the KPI's total. -#}
{%- set double = okr_kpi.type_double() -%}
{%- set seed = okr_kpi.project_ref('kpi_thresholds') -%}

with thresholds as (
    select * from {{ okr_kpi.project_ref('kpi_thresholds') }}
),

final as (
    select
        cast(kpi_id as {{ dbt.type_string() }}) as kpi_id,
        cast(grain as {{ dbt.type_string() }}) as grain,
        cast(severity as {{ dbt.type_string() }}) as severity,
        {{ okr_kpi.severity_rank('severity') }} as severity_rank,
        cast(lower_bound as {{ double }}) as lower_bound,
        cast(upper_bound as {{ double }}) as upper_bound,
        {{ okr_kpi.to_text(okr_kpi.seed_column(seed, 'thresholds', 'segment_dimension')) }} as segment_dimension,
        {{ okr_kpi.to_text(okr_kpi.seed_column(seed, 'thresholds', 'segment_value')) }} as segment_value
    from thresholds
)

select * from final
