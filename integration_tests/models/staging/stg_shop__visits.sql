with source as (
    select * from {{ source('shop', 'visitors') }}
),

renamed as (
    select
        cast(visit_id as bigint) as visit_id,
        cast(landing as {{ dbt.type_string() }}) as landing_page,
        cast(visit_started as {{ dbt.type_timestamp() }}) as visited_at
    from source
)

select * from renamed
