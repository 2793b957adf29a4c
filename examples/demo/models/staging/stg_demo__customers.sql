with source as (
    select * from {{ source('demo', 'customers') }}
),

renamed as (
    select
        -- ids
        cast(customer_id as bigint) as customer_id,
        -- attributes
        cast(region as {{ dbt.type_string() }}) as region,
        cast(acquisition_channel as {{ dbt.type_string() }}) as acquisition_channel,
        -- timestamps
        cast(signed_up_at as {{ dbt.type_timestamp() }}) as signed_up_at
    from source
)

select * from renamed
