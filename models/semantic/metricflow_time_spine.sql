{#- One row per day from 2000-01-01 to 2040-12-31: the MetricFlow time spine (day grain).
    Disable it with the var okr_kpi_time_spine: false when your project has its own. -#}
{{ config(enabled=var('okr_kpi_time_spine', true)) }}

with spine as (
    {{ okr_kpi.date_spine("cast('2000-01-01' as date)", "cast('2040-12-31' as date)") }}
)

select date_day from spine
