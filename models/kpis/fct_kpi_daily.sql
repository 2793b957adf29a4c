{#- One row per KPI per day, from the first day of data to as_of_date.
    Days without input rows: zero for additive KPIs (sum, count) and for the numerator and
    denominator of ratio/average KPIs (whose value is then null: no division by zero);
    a `last` KPI (a stock) carries its last known value forward; min/max stay null.
    count_distinct (numerator: distinct members of the day) and percentile (numerator: the day's
    percentile) come from their row-level inputs; denominator: the day's rows (0 without rows);
    value = numerator (0 for count_distinct, null for percentile on a day without rows). -#}
with definitions as (
    select
        kpi_id,
        aggregation
    from {{ ref('dim_kpis') }}
),

calendar as (
    select date_day from {{ ref('int_kpi_calendar') }}
),

inputs as (
    select
        kpi_id,
        date_day,
        numerator,
        denominator
    from {{ ref('int_kpi_inputs') }}
),

grid as (
    select
        definitions.kpi_id,
        definitions.aggregation,
        calendar.date_day
    from definitions
    cross join calendar
),

joined as (
    select
        grid.kpi_id,
        grid.aggregation,
        grid.date_day,
        inputs.numerator,
        inputs.denominator,
        coalesce(inputs.kpi_id is not null, false) as has_data
    from grid
    left join inputs
        on
            grid.kpi_id = inputs.kpi_id
            and grid.date_day = inputs.date_day
),

stock_groups as (
    -- For `last` KPIs: each day belongs to the group of the latest day with data (portable
    -- replacement for last_value(... ignore nulls)).
    select
        *,
        count(numerator) over (
            partition by kpi_id order by date_day rows between unbounded preceding and current row
        ) as stock_group
    from joined
),

filled as (
    select
        kpi_id,
        aggregation,
        date_day,
        has_data,
        case
            when aggregation in ('sum', 'count', 'ratio', 'average', 'count_distinct') then coalesce(numerator, 0)
            when aggregation = 'last'
                then max(numerator) over (partition by kpi_id, stock_group)
            else numerator
        end as numerator,
        case
            when aggregation in ('ratio', 'average', 'count_distinct', 'percentile') then coalesce(denominator, 0)
        end as denominator
    from stock_groups
),

final as (
    select
        kpi_id,
        date_day,
        numerator,
        denominator,
        case
            when aggregation in ('ratio', 'average')
                then numerator / nullif(denominator, 0)
            else numerator
        end as value,
        has_data
    from filled
)

select * from final
