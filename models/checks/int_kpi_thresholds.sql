{#- One row per KPI, grain and severity: the kpi_thresholds seed, typed. -#}
{%- set double = okr_kpi.type_double() -%}

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
        cast(upper_bound as {{ double }}) as upper_bound
    from thresholds
)

select * from final
