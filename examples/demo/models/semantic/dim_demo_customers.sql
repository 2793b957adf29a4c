{#- One row per customer of the demo company: the attributes business metrics are sliced by. -#}

with customers as (
    select * from {{ ref('stg_demo__customers') }}
),

final as (
    select
        customer_id,
        region,
        acquisition_channel,
        {{ okr_kpi.local_date('signed_up_at') }} as signed_up_date
    from customers
)

select * from final
