{#- A stock (aggregation `last`): pets in the wellness plan at the end of each day the count
    changed; the package carries it forward over the days in between. A plan ending on a day no
    longer counts at the end of that day. -#}
with plans as (
    select * from {{ ref('stg_vet__wellness_plans') }}
),

changes as (
    select
        enrolled_on as date_day,
        1 as delta
    from plans
    union all
    select
        ended_on as date_day,
        -1 as delta
    from plans
    where ended_on is not null
),

daily as (
    select
        date_day,
        sum(delta) as net_change
    from changes
    group by date_day
)

select
    cast('vet_plan_members' as {{ dbt.type_string() }}) as kpi_id,
    date_day,
    cast(
        sum(net_change) over (order by date_day rows between unbounded preceding and current row)
        as {{ okr_kpi.type_double() }}
    ) as numerator,
    cast(null as {{ okr_kpi.type_double() }}) as denominator
from daily
