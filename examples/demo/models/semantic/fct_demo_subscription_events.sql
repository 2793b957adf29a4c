{#- One row per subscription start and per cancellation of the demo company, with the plan:
    new and churned subscriptions by plan (the slices of the churned_customers KPI). -#}

with subscriptions as (
    select * from {{ ref('stg_demo__subscriptions') }}
),

events as (
    select
        subscription_id,
        customer_id,
        plan,
        mrr,
        'started' as event_type,
        started_on as event_date
    from subscriptions
    union all
    select
        subscription_id,
        customer_id,
        plan,
        mrr,
        'cancelled' as event_type,
        cancelled_on as event_date
    from subscriptions
    where cancelled_on is not null
),

final as (
    select
        subscription_id,
        customer_id,
        cast(plan as {{ dbt.type_string() }}) as plan,
        mrr,
        cast(event_type as {{ dbt.type_string() }}) as event_type,
        event_date
    from events
)

select * from final
