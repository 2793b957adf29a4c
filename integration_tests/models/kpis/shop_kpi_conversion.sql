{#- Conversion: sales per visit, from two tables. A KPI input is any model returning
    kpi_id, date_day, numerator, denominator (one row per day at most). -#}
with sales as (
    select
        cast(sold_at as date) as date_day,
        count(*) as sale_count
    from {{ ref('stg_shop__sales') }}
    where not is_refunded
    group by cast(sold_at as date)
),

visits as (
    select
        cast(visited_at as date) as date_day,
        count(*) as visit_count
    from {{ ref('stg_shop__visits') }}
    group by cast(visited_at as date)
),

days as (
    select date_day from sales
    union
    select date_day from visits
)

select
    cast('shop_conversion' as {{ dbt.type_string() }}) as kpi_id,
    days.date_day,
    cast(coalesce(sales.sale_count, 0) as {{ okr_kpi.type_double() }}) as numerator,
    cast(coalesce(visits.visit_count, 0) as {{ okr_kpi.type_double() }}) as denominator
from days
left join sales on days.date_day = sales.date_day
left join visits on days.date_day = visits.date_day
