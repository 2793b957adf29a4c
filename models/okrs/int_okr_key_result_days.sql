{#- One row per key result per day of its cycle, from the cycle's first day to the earlier of its
    last day and as_of_date. elapsed_days counts the first day (day 1 of a 92-day quarter is 1):
    macros/okrs/okr_cycle_days.sql, which fct_objective_progress uses too. -#}
with key_results as (
    select
        key_result_id,
        cycle_start_date,
        cycle_end_date,
        cycle_days
    from {{ ref('int_okr_key_results') }}
),

{{ okr_kpi.okr_cycle_day_ctes('key_results', 'key_result_id', columns=['cycle_days']) }},

final as (
    select
        key_result_id,
        date_day,
        elapsed_days,
        cycle_days
    from okr_cycle_days
)

select * from final
