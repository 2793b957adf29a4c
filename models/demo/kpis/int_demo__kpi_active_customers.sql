{#- A stock: subscriptions active at the end of each day on which the count changed.
    A subscription counts from started_on and stops counting on cancelled_on.
    fct_kpi_daily carries the stock forward over days without changes. -#}
with subscriptions as (
    select * from {{ ref('stg_demo__subscriptions') }}
),

changes as (
    select
        started_on as date_day,
        1 as delta
    from subscriptions
    union all
    select
        cancelled_on as date_day,
        -1 as delta
    from subscriptions
    where cancelled_on is not null
),

daily_changes as (
    select
        date_day,
        sum(delta) as net_change
    from changes
    group by date_day
)

select
    cast('active_customers' as {{ dbt.type_string() }}) as kpi_id,
    date_day,
    cast(
        sum(net_change) over (order by date_day rows between unbounded preceding and current row)
        as {{ okr_kpi.type_double() }}
    ) as numerator,
    cast(null as {{ okr_kpi.type_double() }}) as denominator
from daily_changes
