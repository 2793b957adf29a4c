with source as (
    select * from {{ source('vet', 'appointments') }}
),

renamed as (
    select
        cast(appointment_id as bigint) as appointment_id,
        cast(clinic as {{ dbt.type_string() }}) as clinic_code,
        cast(scheduled_at as {{ dbt.type_timestamp() }}) as scheduled_at,
        cast(species as {{ dbt.type_string() }}) as species,
        cast(outcome as {{ dbt.type_string() }}) as outcome,
        cast(invoice_cents as {{ okr_kpi.type_double() }}) / 100 as invoice_eur,
        cast(wait_min as {{ okr_kpi.type_double() }}) as wait_minutes
    from source
)

select * from renamed
