with source as (
    select * from {{ source('shop', 'members') }}
),

renamed as (
    select
        cast(member_id as bigint) as member_id,
        cast(joined_on as date) as joined_on,
        cast(left_on as date) as left_on
    from source
)

select * from renamed
