with source as (
    select * from {{ source('shop', 'sales') }}
),

renamed as (
    select
        cast(sale_id as bigint) as sale_id,
        cast(total_cents as {{ okr_kpi.type_double() }}) / 100 as amount_eur,
        cast(refunded as boolean) as is_refunded,
        cast(sale_ts as {{ dbt.type_timestamp() }}) as sold_at
    from source
)

select * from renamed
