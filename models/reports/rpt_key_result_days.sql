{#- One row per key result of an active reported cycle (rpt_okr_key_results) per day of its cycle
    up to its latest day scored: its value, the value the expected pace asks for that day
    (baseline + expected_progress * (target - baseline)), the target, the check-in of that day
    (value, confidence, note; int_okr_check_ins) and, on the latest day, the forecast at cycle
    end with its uncertainty (forecast_value -/+ forecast_std_error). The report's chart "Key
    results over their cycle" draws these columns and computes nothing. -#}
with reported as (
    select
        key_result_id,
        date_day as latest_day
    from {{ ref('rpt_okr_key_results') }}
    where cycle_state = 'active'
),

kr_days as (
    select progress.*
    from {{ ref('fct_key_result_progress') }} as progress
    inner join reported
        on
            progress.key_result_id = reported.key_result_id
            and progress.date_day <= reported.latest_day
),

check_ins as (
    select * from {{ ref('int_okr_check_ins') }}
)

select
    kr_days.key_result_id,
    kr_days.date_day,
    kr_days.cycle_start_date,
    kr_days.cycle_end_date,
    kr_days.is_latest,
    kr_days.current_value,
    kr_days.baseline,
    kr_days.target,
    kr_days.score,
    kr_days.status,
    kr_days.expected_progress,
    kr_days.baseline + kr_days.expected_progress * (kr_days.target - kr_days.baseline) as expected_value,
    check_ins.value as check_in_value,
    check_ins.confidence as check_in_confidence,
    check_ins.note as check_in_note,
    case when kr_days.is_latest then kr_days.forecast_value end as forecast_value,
    case when kr_days.is_latest then kr_days.forecast_value - kr_days.forecast_std_error end as forecast_low,
    case when kr_days.is_latest then kr_days.forecast_value + kr_days.forecast_std_error end as forecast_high,
    case when kr_days.is_latest then kr_days.forecast_probability end as forecast_probability
from kr_days
left join check_ins
    on
        kr_days.key_result_id = check_ins.key_result_id
        and kr_days.date_day = check_ins.check_in_date
