with source as (
    select * from {{ source('demo', 'web_sessions') }}
),

renamed as (
    select
        -- ids
        cast(session_id as bigint) as session_id,
        -- attributes
        cast(channel as {{ dbt.type_string() }}) as channel,
        cast(landing_page as {{ dbt.type_string() }}) as landing_page,
        -- numbers
        cast(page_load_ms as bigint) as page_load_ms,
        -- timestamps
        cast(started_at as {{ dbt.type_timestamp() }}) as started_at
    from source
)

select * from renamed
