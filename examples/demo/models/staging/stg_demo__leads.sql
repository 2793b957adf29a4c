with source as (
    select * from {{ source('demo', 'leads') }}
),

renamed as (
    select
        -- ids
        cast(lead_id as bigint) as lead_id,
        -- attributes
        cast(source as {{ dbt.type_string() }}) as lead_source,
        cast(email_domain as {{ dbt.type_string() }}) as email_domain,
        -- timestamps
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at
    from source
)

select * from renamed
