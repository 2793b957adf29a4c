with source as (
    select * from {{ source('vet', 'fridge_log') }}
),

renamed as (
    select
        cast(reading_id as bigint) as reading_id,
        cast(clinic as {{ dbt.type_string() }}) as clinic_code,
        cast(logged_at as {{ dbt.type_timestamp() }}) as logged_at,
        cast(celsius as {{ okr_kpi.type_double() }}) as celsius
    from source
)

select * from renamed
