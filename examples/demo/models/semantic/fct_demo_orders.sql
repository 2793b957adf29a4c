{#- One row per order of the demo company (completed and refunded): revenue by customer region. -#}

with orders as (
    select * from {{ ref('stg_demo__orders') }}
),

final as (
    select
        order_id,
        customer_id,
        status,
        amount,
        {{ okr_kpi.local_date('ordered_at') }} as ordered_date
    from orders
)

select * from final
