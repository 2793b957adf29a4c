{#- One row per KPI per grain (day, week, month, quarter, year) per period, up to as_of_date.
    Aggregation by the KPI's kind: sum/count add up; ratio/average are sum(numerator) /
    sum(denominator); last takes the period's last day; min/max the extreme day;
    count_distinct and percentile are computed from their row-level inputs for each period
    (int_kpi_row_periods: distinct members / the period's percentile; denominator: its rows).

    The KPI's data span runs from its first day (the var okr_kpi_start_date when set, else the
    KPI's first day with input rows) to as_of_date. is_full_period: the period lies wholly
    inside it, and none of its days is uncovered by its source's data (int_kpi_load_days:
    stale, low-volume or early-stopped loads are not zeros and are not judged). prior_value, change, change_pct and same_period_last_year_value compare full
    periods only (null when either side is not full). The same period last year of a day is the
    same calendar day a year earlier; 29 February has none (null), and 28 February is compared
    with 28 February only (docs/configuration.md, "Weeks and years").

    Reporting lag (kpi_definitions.reporting_lag_days, default 0): a period is complete for the
    KPI (is_complete, is_full_period) only when it ended at least that many days before
    as_of_date -- on or before complete_through = as_of_date - reporting_lag_days. -#}
{%- set start_date = var('okr_kpi_start_date', none) -%}
with definitions as (
    select
        kpi_id,
        aggregation,
        cast({{ dbt.dateadd('day', '-1 * reporting_lag_days', okr_kpi.as_of_date()) }} as date) as complete_through,
        {%- if start_date %}
        cast('{{ start_date | string | trim }}' as date) as span_start
        {%- else %}
        first_data_date as span_start
        {%- endif %}
    from {{ ref('dim_kpis') }}
),

uncovered_days as (
    -- days whose source's data is stale or incomplete (int_kpi_load_days.is_judged false): a
    -- period holding one is not fully covered, so it is never judged nor compared (docs/checks.md)
    select
        kpis.kpi_id,
        source_days.date_day
    from {{ ref('int_kpi_load_days') }} as source_days
    inner join {{ ref('dim_kpis') }} as kpis
        on source_days.data_source = coalesce(kpis.data_source, kpis.kpi_id)
    where not source_days.is_judged
),

daily as (
    select
        daily.kpi_id,
        definitions.aggregation,
        definitions.span_start,
        definitions.complete_through,
        daily.date_day,
        daily.numerator,
        daily.denominator,
        daily.value,
        coalesce(uncovered_days.date_day is not null, false) as is_uncovered
    from {{ ref('fct_kpi_daily') }} as daily
    inner join definitions on daily.kpi_id = definitions.kpi_id
    left join uncovered_days
        on
            daily.kpi_id = uncovered_days.kpi_id
            and daily.date_day = uncovered_days.date_day
),

row_periods as (
    -- count_distinct and percentile KPIs: every period computed from the row-level inputs
    select
        kpi_id,
        grain,
        period_start,
        numerator,
        denominator
    from {{ ref('int_kpi_row_periods') }}
),

daily_by_grain as (
    select
        daily.*,
        grains.grain,
        grains.grain_order,
        {{ okr_kpi.period_start('grains.grain', 'daily.date_day') }} as period_start
    from daily
    cross join {{ okr_kpi.grains() }} as grains
),

ranked as (
    select
        *,
        max(date_day) over (partition by kpi_id, grain, period_start) as period_last_day
    from daily_by_grain
),

aggregated as (
    select
        kpi_id,
        aggregation,
        span_start,
        complete_through,
        grain,
        grain_order,
        period_start,
        count(*) as day_count,
        min(date_day) as first_day,
        sum(case when is_uncovered then 1 else 0 end) as uncovered_day_count,
        sum(numerator) as numerator_sum,
        sum(denominator) as denominator_sum,
        min(value) as min_value,
        max(value) as max_value,
        max(case when date_day = period_last_day then value end) as last_value
    from ranked
    group by kpi_id, aggregation, span_start, complete_through, grain, grain_order, period_start
),

valued as (
    select
        aggregated.kpi_id,
        aggregated.grain,
        aggregated.grain_order,
        aggregated.period_start,
        {{ okr_kpi.period_end('aggregated.grain', 'aggregated.period_start') }} as period_end,
        aggregated.complete_through,
        aggregated.day_count,
        coalesce(
            aggregated.first_day = aggregated.period_start
            and aggregated.period_start >= aggregated.span_start
            and aggregated.uncovered_day_count = 0,
            false
        ) as is_fully_covered,
        case
            when aggregated.aggregation in ('sum', 'count', 'ratio', 'average') then aggregated.numerator_sum
            when aggregated.aggregation = 'min' then aggregated.min_value
            when aggregated.aggregation = 'max' then aggregated.max_value
            else aggregated.last_value
        end as numerator,
        case
            when aggregated.aggregation in ('ratio', 'average') then aggregated.denominator_sum
        end as denominator,
        case
            when aggregated.aggregation in ('sum', 'count') then aggregated.numerator_sum
            when aggregated.aggregation in ('ratio', 'average')
                then aggregated.numerator_sum / nullif(aggregated.denominator_sum, 0)
            when aggregated.aggregation = 'min' then aggregated.min_value
            when aggregated.aggregation = 'max' then aggregated.max_value
            else aggregated.last_value
        end as value
    from aggregated
),

row_valued as (
    select
        valued.kpi_id,
        valued.grain,
        valued.grain_order,
        valued.period_start,
        valued.period_end,
        valued.complete_through,
        valued.day_count,
        valued.is_fully_covered,
        case
            when aggregated_kinds.aggregation = 'count_distinct' then coalesce(row_periods.numerator, 0)
            when aggregated_kinds.aggregation = 'percentile' then row_periods.numerator
            else valued.numerator
        end as numerator,
        case
            when aggregated_kinds.aggregation in ('count_distinct', 'percentile')
                then coalesce(row_periods.denominator, 0)
            else valued.denominator
        end as denominator,
        case
            when aggregated_kinds.aggregation = 'count_distinct' then coalesce(row_periods.numerator, 0)
            when aggregated_kinds.aggregation = 'percentile' then row_periods.numerator
            else valued.value
        end as value
    from valued
    inner join definitions as aggregated_kinds on valued.kpi_id = aggregated_kinds.kpi_id
    left join row_periods
        on
            valued.kpi_id = row_periods.kpi_id
            and valued.grain = row_periods.grain
            and valued.period_start = row_periods.period_start
),

full_periods as (
    select
        *,
        is_fully_covered and period_end <= complete_through as is_full_period
    from row_valued
),

with_prior as (
    select
        *,
        lag(value) over (partition by kpi_id, grain order by period_start) as lagged_value,
        lag(is_full_period) over (partition by kpi_id, grain order by period_start) as is_prior_full
    from full_periods
),

compared as (
    -- a partial period is never compared as if it were full
    select
        *,
        case when is_full_period and is_prior_full then lagged_value end as prior_value
    from with_prior
),

last_year as (
    -- full periods only, each matched to the one period a year later that maps back onto it
    -- (29 February + 1 year is 28 February, which maps back onto 28 February: no match)
    select
        kpi_id,
        grain,
        next_year_period_start,
        value
    from (
        select
            kpi_id,
            grain,
            period_start,
            {{ okr_kpi.period_start_next_year('grain', 'period_start') }} as next_year_period_start,
            value
        from full_periods
        where is_full_period
    ) as shifted
    where {{ okr_kpi.period_start_prior_year('grain', 'next_year_period_start') }} = period_start
),

final as (
    select
        compared.kpi_id,
        compared.grain,
        compared.period_start,
        compared.period_end,
        compared.period_end <= compared.complete_through as is_complete,
        compared.is_fully_covered,
        compared.is_full_period,
        compared.day_count,
        compared.value,
        compared.numerator,
        compared.denominator,
        compared.prior_value,
        compared.value - compared.prior_value as change,
        (compared.value - compared.prior_value) / nullif(abs(compared.prior_value), 0) as change_pct,
        case when compared.is_full_period then last_year.value end as same_period_last_year_value,
        compared.grain_order
    from compared
    left join last_year
        on
            compared.kpi_id = last_year.kpi_id
            and compared.grain = last_year.grain
            and compared.period_start = last_year.next_year_period_start
)

select * from final
