{#- A stock (aggregation `last`): loyalty-club members at the end of each day the count changed. -#}
with members as (
    select * from {{ ref('stg_shop__members') }}
),

changes as (
    select
        joined_on as date_day,
        1 as delta
    from members
    union all
    select
        left_on as date_day,
        -1 as delta
    from members
    where left_on is not null
),

daily as (
    select
        date_day,
        sum(delta) as net_change
    from changes
    group by date_day
)

select
    cast('shop_members' as {{ dbt.type_string() }}) as kpi_id,
    date_day,
    cast(
        sum(net_change) over (order by date_day rows between unbounded preceding and current row)
        as {{ okr_kpi.type_double() }}
    ) as numerator,
    cast(null as {{ okr_kpi.type_double() }}) as denominator
from daily
