{#- One row per key result per check-in date, typed, with the day the next check-in replaces it
    (next_check_in_date, null for the latest). -#}
with check_ins as (
    select
        {{ okr_kpi.to_text('key_result_id') }} as key_result_id,
        {{ okr_kpi.to_date('check_in_date') }} as check_in_date,
        {{ okr_kpi.to_double('value') }} as value,
        {{ okr_kpi.to_double('confidence') }} as confidence,
        {{ okr_kpi.to_text('note') }} as note
    from {{ okr_kpi.project_ref('okr_check_ins') }}
),

final as (
    select
        key_result_id,
        check_in_date,
        value,
        confidence,
        note,
        lead(check_in_date) over (partition by key_result_id order by check_in_date) as next_check_in_date
    from check_ins
)

select * from final
