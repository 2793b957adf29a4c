{#- One row per KPI: its latest complete period at its reporting grain (dim_kpis.reporting_grain)
    and the two comparisons the report's KPI tile shows, chosen to suit the grain
    (docs/publishing.md, "Comparisons that suit the grain"):

    - day: the same weekday a week before (period_start - 7 days) and 52 weeks before
      (period_start - 364 days), so a Monday is compared with a Monday, never with the Sunday
      before it;
    - week, month, quarter, year: the prior period (fct_kpi_periods.prior_value) and the same
      period a year before (fct_kpi_periods.same_period_last_year_value).

    Full periods only on both sides (a partial period is never compared as if it were full).
    The report reads these columns and computes nothing. -#}
with kpis as (
    select
        kpi_id,
        reporting_grain as grain
    from {{ ref('dim_kpis') }}
),

periods as (
    select periods.*
    from {{ ref('fct_kpi_periods') }} as periods
    inner join kpis
        on
            periods.kpi_id = kpis.kpi_id
            and periods.grain = kpis.grain
    where periods.is_complete
),

ranked as (
    select
        *,
        row_number() over (partition by kpi_id order by period_start desc) as recency
    from periods
),

latest as (
    select * from ranked
    where recency = 1
),

compared as (
    select
        latest.kpi_id,
        latest.grain,
        latest.period_start,
        latest.period_end,
        latest.value,
        latest.is_full_period,
        case
            when latest.grain = 'day' then 'same_weekday_last_week'
            else 'prior_period'
        end as comparison_basis,
        case
            when latest.grain = 'day' then week_ago.period_start
            when latest.prior_value is not null then previous.period_start
        end as comparison_period_start,
        case
            when latest.grain = 'day' then week_ago.value
            else latest.prior_value
        end as comparison_value,
        case
            when latest.grain = 'day' then 'same_weekday_52_weeks_ago'
            else 'same_period_last_year'
        end as year_comparison_basis,
        case
            when latest.grain = 'day' then year_ago.period_start
            when latest.same_period_last_year_value is not null
                then {{ okr_kpi.period_start_prior_year('latest.grain', 'latest.period_start') }}
        end as year_comparison_period_start,
        case
            when latest.grain = 'day' then year_ago.value
            else latest.same_period_last_year_value
        end as year_comparison_value
    from latest
    left join periods as week_ago
        on
            latest.kpi_id = week_ago.kpi_id
            and latest.grain = 'day'
            and week_ago.grain = 'day'
            and latest.is_full_period
            and week_ago.is_full_period
            and week_ago.period_start = {{ dbt.dateadd('day', -7, 'latest.period_start') }}
    left join periods as year_ago
        on
            latest.kpi_id = year_ago.kpi_id
            and latest.grain = 'day'
            and year_ago.grain = 'day'
            and latest.is_full_period
            and year_ago.is_full_period
            and year_ago.period_start = {{ dbt.dateadd('day', -364, 'latest.period_start') }}
    left join ranked as previous
        on
            latest.kpi_id = previous.kpi_id
            and previous.recency = 2
)

select
    kpi_id,
    grain,
    period_start,
    period_end,
    value,
    is_full_period,
    comparison_basis,
    comparison_period_start,
    comparison_value,
    value - comparison_value as change,
    (value - comparison_value) / nullif(abs(comparison_value), 0) as change_pct,
    year_comparison_basis,
    year_comparison_period_start,
    year_comparison_value,
    (value - year_comparison_value) / nullif(abs(year_comparison_value), 0) as change_pct_year,
    -- the biggest moves first (the report's "Since last week"): largest |change_pct|, then id
    row_number() over (
        order by
            case when comparison_value is null or comparison_value = 0 then 1 else 0 end,
            abs(coalesce((value - comparison_value) / nullif(abs(comparison_value), 0), 0)) desc,
            kpi_id
    ) as move_rank
from compared
