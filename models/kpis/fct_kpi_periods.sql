{#- One row per KPI per grain (day, week, month, quarter, year) per period, up to as_of_date.
    Aggregation by the KPI's kind: sum/count add up; ratio/average are sum(numerator) /
    sum(denominator); last takes the period's last day; min/max the extreme day. -#}
with definitions as (
    select
        kpi_id,
        aggregation
    from {{ ref('dim_kpis') }}
),

daily as (
    select
        daily.kpi_id,
        definitions.aggregation,
        daily.date_day,
        daily.numerator,
        daily.denominator,
        daily.value
    from {{ ref('fct_kpi_daily') }} as daily
    inner join definitions on daily.kpi_id = definitions.kpi_id
),

calendar_bounds as (
    select min(date_day) as first_day from {{ ref('int_kpi_calendar') }}
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
        grain,
        grain_order,
        period_start,
        count(*) as day_count,
        min(date_day) as first_day,
        sum(numerator) as numerator_sum,
        sum(denominator) as denominator_sum,
        min(value) as min_value,
        max(value) as max_value,
        max(case when date_day = period_last_day then value end) as last_value
    from ranked
    group by kpi_id, aggregation, grain, grain_order, period_start
),

valued as (
    select
        aggregated.kpi_id,
        aggregated.grain,
        aggregated.grain_order,
        aggregated.period_start,
        {{ okr_kpi.period_end('aggregated.grain', 'aggregated.period_start') }} as period_end,
        aggregated.day_count,
        aggregated.first_day = aggregated.period_start
        and aggregated.period_start >= calendar_bounds.first_day as is_fully_covered,
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
    cross join calendar_bounds
),

with_prior as (
    select
        *,
        lag(value) over (partition by kpi_id, grain order by period_start) as prior_value
    from valued
),

last_year as (
    select
        kpi_id,
        grain,
        {{ okr_kpi.period_start_next_year('grain', 'period_start') }} as next_year_period_start,
        value
    from valued
),

final as (
    select
        with_prior.kpi_id,
        with_prior.grain,
        with_prior.period_start,
        with_prior.period_end,
        with_prior.period_end <= {{ okr_kpi.as_of_date() }} as is_complete,
        with_prior.is_fully_covered,
        with_prior.day_count,
        with_prior.value,
        with_prior.numerator,
        with_prior.denominator,
        with_prior.prior_value,
        with_prior.value - with_prior.prior_value as change,
        (with_prior.value - with_prior.prior_value) / nullif(abs(with_prior.prior_value), 0) as change_pct,
        last_year.value as same_period_last_year_value,
        with_prior.grain_order
    from with_prior
    left join last_year
        on
            with_prior.kpi_id = last_year.kpi_id
            and with_prior.grain = last_year.grain
            and with_prior.period_start = last_year.next_year_period_start
)

select * from final
