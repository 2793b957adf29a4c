{#- One row per lead of the demo company, with its source (the slice of the new_leads KPI). -#}

with leads as (
    select * from {{ ref('stg_demo__leads') }}
),

final as (
    select
        lead_id,
        lead_source,
        {{ okr_kpi.local_date('created_at') }} as created_date
    from leads
)

select * from final
