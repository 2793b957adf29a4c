{#- One row per KPI and day whose input looks broken (a data-quality problem, not a business one).
    A breach on a period holding such a day is marked suspect in fct_kpi_breaches.

    Rules, portable SQL over fct_kpi_daily and dim_kpis (so they hold for any KPI input):
    - missing_load: no input rows on a day for a KPI that has input on at least 90% of its days
      (a KPI that is often empty, such as a rare count, is never flagged this way);
    - stale_input: the same, on a day after the KPI's last day with input (the load stopped);
    - plus the rows of the models listed in the var okr_kpi_quality_models, each returning
      kpi_id, date_day, reason (for source-level checks such as null keys or duplicates). -#}
{%- set quality_models = var('okr_kpi_quality_models', []) | list -%}

with daily as (
    select
        kpi_id,
        date_day,
        has_data
    from {{ ref('fct_kpi_daily') }}
),

kpis as (
    select
        kpi_id,
        last_data_date
    from {{ ref('dim_kpis') }}
),

history as (
    select
        daily.kpi_id,
        daily.date_day,
        daily.has_data,
        kpis.last_data_date,
        avg(case when daily.has_data then 1.0 else 0.0 end) over (partition by daily.kpi_id) as share_of_days_with_data
    from daily
    inner join kpis on daily.kpi_id = kpis.kpi_id
),

flagged as (
    select
        kpi_id,
        date_day,
        case
            when date_day > last_data_date
                then 'stale_input: no input after ' || cast(last_data_date as {{ dbt.type_string() }})
            else 'missing_load: no input rows on ' || cast(date_day as {{ dbt.type_string() }})
        end as reason
    from history
    where
        not has_data
        and share_of_days_with_data >= 0.9
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
