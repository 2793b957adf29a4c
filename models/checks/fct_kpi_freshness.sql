{#- One row per data source: how fresh and complete its data is as of as_of_date (docs/checks.md,
    "Freshness and load checks"). The run (okr_kpi/freshness.py) raises one stale-data alert per
    row with is_stale and exits 15: the source's uncovered days were not judged.

    covered_through: the source's last covered day (int_kpi_load_days.is_covered) on or before
    as_of_date; is_stale: it is before as_of_date (the latest days are stale, missing or
    incomplete); stale_reason: the reason of the first uncovered day after it. -#}
{%- set string = dbt.type_string() -%}
{%- set stale_span = dbt.datediff('first_uncovered.stale_since', 'summary.as_of_date', 'day') -%}

with source_days as (
    select * from {{ ref('int_kpi_load_days') }}
),

kpis as (
    select
        kpi_id,
        coalesce(data_source, kpi_id) as data_source
    from {{ ref('dim_kpis') }}
),

kpi_lists as (
    select
        data_source,
        {{ okr_kpi.sorted_listagg('kpi_id', ',') }} as kpi_ids
    from kpis
    group by data_source
),

summary as (
    select
        data_source,
        max(first_data_date) as first_data_date,
        max(last_data_date) as last_data_date,
        max(last_row_at) as last_row_at,
        max(case when is_covered then date_day end) as covered_through,
        max(date_day) as as_of_date
    from source_days
    group by data_source
),

first_uncovered as (
    select
        source_days.data_source,
        min(source_days.date_day) as stale_since
    from source_days
    inner join summary on source_days.data_source = summary.data_source
    where
        not source_days.is_covered
        and (summary.covered_through is null or source_days.date_day > summary.covered_through)
    group by source_days.data_source
),

final as (
    select
        cast(summary.data_source as {{ string }}) as data_source,
        cast(kpi_lists.kpi_ids as {{ string }}) as kpi_ids,
        summary.first_data_date,
        summary.last_data_date,
        summary.last_row_at,
        summary.covered_through,
        summary.as_of_date,
        first_uncovered.stale_since,
        coalesce(first_uncovered.stale_since is not null, false) as is_stale,
        case
            when first_uncovered.stale_since is not null
                then {{ stale_span }} + 1
            else 0
        end as stale_days,
        cast(source_days.reason as {{ string }}) as stale_reason
    from summary
    inner join kpi_lists on summary.data_source = kpi_lists.data_source
    left join first_uncovered on summary.data_source = first_uncovered.data_source
    left join source_days
        on
            first_uncovered.data_source = source_days.data_source
            and first_uncovered.stale_since = source_days.date_day
)

select * from final
