{#- A stock: subscriptions active at the end of each day on which the count changed.
    A subscription counts from started_on and stops counting on cancelled_on.
    fct_kpi_daily carries the stock forward over days without changes.

    Incremental: a run rebuilds the days from the window start on (see kpi_input_window_start);
    their stock is the stock of the last day before the window, read from this table, plus the
    running sum of the window's changes. -#}
{{ config(**okr_kpi.kpi_input_incremental_config()) }}

{%- set window_start = okr_kpi.kpi_input_window_start() %}

with subscriptions as (
    select * from {{ ref('stg_demo__subscriptions') }}
),

changes as (
    select
        started_on as date_day,
        1 as delta
    from subscriptions
    {%- if window_start is not none %}
    where started_on >= {{ window_start }}
    {%- endif %}
    union all
    select
        cancelled_on as date_day,
        -1 as delta
    from subscriptions
    where
        cancelled_on is not null
        {%- if window_start is not none %}
        and cancelled_on >= {{ window_start }}
        {%- endif %}
),

daily_changes as (
    select
        date_day,
        sum(delta) as net_change
    from changes
    group by date_day
),

opening_stock as (
    {%- if window_start is not none %}
    select coalesce(sum(numerator), 0) as stock
    from {{ this }}
    where date_day = (select max(date_day) from {{ this }} where date_day < {{ window_start }})
    {%- else %}
    select 0 as stock
    {%- endif %}
)

select
    cast('active_customers' as {{ dbt.type_string() }}) as kpi_id,
    daily_changes.date_day,
    cast(
        opening_stock.stock
        + sum(daily_changes.net_change) over (
            order by daily_changes.date_day rows between unbounded preceding and current row
        )
        as {{ okr_kpi.type_double() }}
    ) as numerator,
    cast(null as {{ okr_kpi.type_double() }}) as denominator
from daily_changes
cross join opening_stock
