with source as (
    select * from {{ source('demo', 'newsletter_signups') }}
),

renamed as (
    select
        -- ids
        cast(signup_id as bigint) as signup_id,
        -- attributes
        cast(source as {{ dbt.type_string() }}) as signup_source,
        -- timestamps
        cast(signed_up_at as {{ dbt.type_timestamp() }}) as signed_up_at
    from source
)

select * from renamed
