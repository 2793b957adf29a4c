{#- Customer KPIs from the subscriptions, one scan.
    churned_customers: subscriptions cancelled on the day (a row only on days with cancellations).
    active_customers: a stock, subscriptions active at the end of each day on which the count
    changed (counting from started_on, no longer counting from cancelled_on); fct_kpi_daily
    carries it forward over days without changes.

    Incremental: a run rebuilds the days from the window start on (see kpi_input_window_start);
    their stock is the stock of the last day before the window, read from this table, plus the
    running sum of the window's changes. -#}
{{ config(**okr_kpi.kpi_input_incremental_config()) }}

{%- set window_start = okr_kpi.kpi_input_window_start() %}
{#- A full build reads every change: no day is before 1900. #}
{%- set first_day = window_start or "cast('1900-01-01' as date)" %}
{%- set double = okr_kpi.type_double() %}

with subscriptions as (
    select
        started_on,
        cancelled_on
    from {{ ref('stg_demo__subscriptions') }}
    where started_on >= {{ first_day }} or cancelled_on >= {{ first_day }}
),

changes as (
    select
        started_on as date_day,
        1 as delta,
        0 as cancelled
    from subscriptions
    where started_on >= {{ first_day }}
    union all
    select
        cancelled_on as date_day,
        -1 as delta,
        1 as cancelled
    from subscriptions
    where cancelled_on >= {{ first_day }}
),

daily_changes as (
    select
        date_day,
        sum(delta) as net_change,
        sum(cancelled) as cancellations
    from changes
    group by date_day
),

opening_stock as (
    {%- if window_start is not none %}
    select coalesce(sum(numerator), 0) as stock
    from {{ this }}
    where
        kpi_id = 'active_customers'
        and date_day = (
            select max(date_day) from {{ this }}
            where kpi_id = 'active_customers' and date_day < {{ window_start }}
        )
    {%- else %}
    select 0 as stock
    {%- endif %}
),

active_customers as (
    select
        cast('active_customers' as {{ dbt.type_string() }}) as kpi_id,
        daily_changes.date_day,
        cast(
            opening_stock.stock
            + sum(daily_changes.net_change)
                over (order by daily_changes.date_day rows between unbounded preceding and current row)
            as {{ double }}
        ) as numerator,
        cast(null as {{ double }}) as denominator
    from daily_changes
    cross join opening_stock
),

churned_customers as (
    select
        cast('churned_customers' as {{ dbt.type_string() }}) as kpi_id,
        date_day,
        cast(cancellations as {{ double }}) as numerator,
        cast(null as {{ double }}) as denominator
    from daily_changes
    where cancellations > 0
)

select * from active_customers
union all
select * from churned_customers
