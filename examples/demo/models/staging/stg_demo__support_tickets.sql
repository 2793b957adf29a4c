with source as (
    select * from {{ source('demo', 'support_tickets') }}
),

renamed as (
    select
        -- ids
        cast(ticket_id as bigint) as ticket_id,
        cast(customer_id as bigint) as customer_id,
        -- attributes
        cast(channel as {{ dbt.type_string() }}) as channel,
        -- numbers
        cast(satisfaction_score as bigint) as satisfaction_score,
        -- timestamps
        cast(opened_at as {{ dbt.type_timestamp() }}) as opened_at,
        cast(first_response_at as {{ dbt.type_timestamp() }}) as first_response_at,
        cast(closed_at as {{ dbt.type_timestamp() }}) as closed_at
    from source
)

select * from renamed
