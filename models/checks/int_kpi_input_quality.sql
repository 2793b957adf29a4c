{#- One row per KPI and day whose input looks broken (a data-quality problem, not a business one).

    Rules:
    - the days its source does not cover (int_kpi_load_days: stale, missing_load, low_volume,
      early_stop -- each source judged against its own history). Periods holding such a day are
      not full (fct_kpi_periods.is_full_period), so they are never judged: listed here so that
      BI and the report can see why;
    - plus the rows of the models listed in the var okr_kpi_quality_models, each returning
      kpi_id, date_day, reason (for source-level checks such as null keys or duplicates). A
      breach on a period holding such a day is judged but marked suspect in fct_kpi_breaches.
    A KPI whose input is often empty (a rare count such as churn) is never flagged for its own
    empty days: a day is missing only when its whole source is. -#}
{%- set quality_models = var('okr_kpi_quality_models', []) | list -%}

with source_days as (
    select
        data_source,
        date_day,
        reason
    from {{ ref('int_kpi_load_days') }}
    where not is_covered
),

kpis as (
    select
        kpi_id,
        coalesce(data_source, kpi_id) as data_source
    from {{ ref('dim_kpis') }}
),

flagged as (
    select
        kpis.kpi_id,
        source_days.date_day,
        source_days.reason
    from source_days
    inner join kpis on source_days.data_source = kpis.data_source
),

unioned as (
    select
        kpi_id,
        date_day,
        reason
    from flagged
    {%- for model_name in quality_models %}
    union all
    select
        cast(kpi_id as {{ dbt.type_string() }}) as kpi_id,
        cast(date_day as date) as date_day,
        cast(reason as {{ dbt.type_string() }}) as reason
    from {{ okr_kpi.project_ref(model_name) }}
    {%- endfor %}
)

select * from unioned
