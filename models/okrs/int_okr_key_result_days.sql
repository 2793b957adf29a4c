{#- One row per key result per day of its cycle, from the cycle's first day to the earlier of its
    last day and as_of_date. elapsed_days counts the first day (day 1 of a 92-day quarter is 1). -#}
with key_results as (
    select
        key_result_id,
        cycle_start_date,
        cycle_end_date,
        cycle_days
    from {{ ref('int_okr_key_results') }}
),

bounds as (
    select
        min(cycle_start_date) as first_day,
        {{ okr_kpi.as_of_date() }} as last_day
    from key_results
),

spine as (
    {{ okr_kpi.date_spine('(select first_day from bounds)', '(select last_day from bounds)') }}
),

final as (
    select
        key_results.key_result_id,
        spine.date_day,
        {{ dbt.datediff('key_results.cycle_start_date', 'spine.date_day', 'day') }} + 1 as elapsed_days,  -- noqa: LT05
        key_results.cycle_days
    from key_results
    inner join spine
        on
            key_results.cycle_start_date <= spine.date_day
            and key_results.cycle_end_date >= spine.date_day
)

select * from final
