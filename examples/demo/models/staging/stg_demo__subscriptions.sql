with source as (
    select * from {{ source('demo', 'subscriptions') }}
),

renamed as (
    select
        -- ids
        cast(subscription_id as bigint) as subscription_id,
        cast(customer_id as bigint) as customer_id,
        -- attributes
        cast(plan as {{ dbt.type_string() }}) as plan,
        -- numbers
        cast(mrr as {{ okr_kpi.type_double() }}) as mrr,
        -- dates
        cast(started_on as date) as started_on,
        cast(cancelled_on as date) as cancelled_on
    from source
)

select * from renamed
