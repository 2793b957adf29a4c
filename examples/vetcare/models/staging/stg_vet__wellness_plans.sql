with source as (
    select * from {{ source('vet', 'wellness_plans') }}
),

renamed as (
    select
        cast(plan_id as bigint) as plan_id,
        cast(pet_ref as {{ dbt.type_string() }}) as pet_ref,
        cast(enrolled_on as date) as enrolled_on,
        cast(ended_on as date) as ended_on
    from source
)

select * from renamed
