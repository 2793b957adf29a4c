with source as (
    select * from {{ source('demo', 'expenses') }}
),

renamed as (
    select
        -- ids
        cast(expense_id as bigint) as expense_id,
        -- attributes
        cast(category as {{ dbt.type_string() }}) as category,
        -- numbers
        cast(amount as {{ okr_kpi.type_double() }}) as amount,
        -- dates
        cast(spent_on as date) as spent_on
    from source
)

select * from renamed
