with source as (
    select * from {{ source('demo', 'app_requests') }}
),

renamed as (
    select
        -- ids
        cast(request_id as bigint) as request_id,
        -- attributes
        cast(endpoint as {{ dbt.type_string() }}) as endpoint,
        cast(status_code as bigint) as status_code,
        -- numbers
        cast(response_ms as bigint) as response_ms,
        -- timestamps
        cast(requested_at as {{ dbt.type_timestamp() }}) as requested_at
    from source
)

select * from renamed
