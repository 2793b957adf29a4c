with source as (
    select * from {{ source('demo', 'orders') }}
),

renamed as (
    select
        -- ids
        cast(order_id as bigint) as order_id,
        cast(customer_id as bigint) as customer_id,
        -- attributes
        cast(currency as {{ dbt.type_string() }}) as currency,
        cast(status as {{ dbt.type_string() }}) as status,
        -- numbers
        cast(amount as {{ okr_kpi.type_double() }}) as amount,
        -- timestamps
        cast(ordered_at as {{ dbt.type_timestamp() }}) as ordered_at
    from source
)

select * from renamed
