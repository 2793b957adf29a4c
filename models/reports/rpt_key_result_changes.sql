{#- One row per key result of an active cycle the report shows (rpt_okr_key_results): its status
    and score on its latest day scored and on the same day a week before (date_day - 7, null when
    the cycle had not started), whether the status changed, and the score's move. The report's
    "Since last week" section lists the status changes and the biggest moves (move_rank 1 =
    largest absolute score change) and computes nothing. -#}
with current_day as (
    select * from {{ ref('rpt_okr_key_results') }}
    where cycle_state = 'active'
),

progress as (
    select
        key_result_id,
        date_day,
        status,
        score,
        current_value
    from {{ ref('fct_key_result_progress') }}
),

compared as (
    select
        current_day.key_result_id,
        current_day.objective_id,
        current_day.cycle_id,
        current_day.title,
        current_day.owner,
        current_day.kpi_id,
        current_day.date_day,
        current_day.status,
        current_day.score,
        current_day.current_value,
        week_ago.date_day as previous_date_day,
        week_ago.status as previous_status,
        week_ago.score as previous_score,
        week_ago.current_value as previous_value
    from current_day
    left join progress as week_ago
        on
            current_day.key_result_id = week_ago.key_result_id
            and week_ago.date_day = {{ dbt.dateadd('day', -7, 'current_day.date_day') }}
)

select
    key_result_id,
    objective_id,
    cycle_id,
    title,
    owner,
    kpi_id,
    date_day,
    status,
    score,
    current_value,
    previous_date_day,
    previous_status,
    previous_score,
    previous_value,
    score - previous_score as score_change,
    coalesce(previous_status is not null and status <> previous_status, false) as is_status_changed,
    row_number() over (
        order by abs(coalesce(score - previous_score, 0)) desc, key_result_id
    ) as move_rank
from compared
