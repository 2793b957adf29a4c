{#- Every anomaly goes the KPI's bad direction: below the expected value for higher_is_better
    KPIs, above it for lower_is_better, either way for neutral KPIs (no other direction), with
    |z_score| at least the sigma var. Returns offenders. -#}
{%- set sigma = var('okr_kpi_anomaly_sigma', 3) | float -%}

with anomalies as (
    select
        breaches.kpi_id,
        breaches.period_start,
        breaches.value,
        breaches.expected_value,
        breaches.z_score,
        kpis.direction
    from {{ ref('fct_kpi_breaches') }} as breaches
    inner join {{ ref('dim_kpis') }} as kpis on breaches.kpi_id = kpis.kpi_id
    where breaches.rule = 'anomaly'
)

select * from anomalies
where
    abs(z_score) < {{ sigma }}
    or (direction = 'higher_is_better' and value >= expected_value)
    or (direction = 'lower_is_better' and value <= expected_value)
    or (direction = 'neutral' and value = expected_value)
    or direction not in ('higher_is_better', 'lower_is_better', 'neutral')
