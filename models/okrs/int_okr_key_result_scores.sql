{#- One row per key result per day of its cycle (up to as_of_date): progress and score by kr_type
    (docs/scoring.md).

    - increase / decrease: progress = (current - baseline) / (target - baseline), unclamped; null
      when the target equals the baseline (no division by zero); score = progress clamped to [0, 1].
      A baseline already past the target (increase: target below it; decrease: above it): progress
      = score = 1 while the target is met, else 0.
    - maintain_above / maintain_below: the cycle's complete periods of `grain` up to the day are the
      days of the cycle that end a period of `grain`; on each, the condition (current >= target,
      resp. <=) held or not. score = progress = periods held / periods counted.
    - milestone: score 1 from the first day current >= target on (once done, done), else 0;
      progress = (current - baseline) / (target - baseline) when it can be computed, else the score.
    Only a value measured inside the cycle is scored (is_cycle_measurement; before the first one,
    progress and score are null: status no_data). A progress or score of -0.0 is written 0. -#}
with key_results as (
    select * from {{ ref('int_okr_key_results') }}
),

baselines as (
    select * from {{ ref('int_okr_key_result_baselines') }}
),

key_result_values as (
    select * from {{ ref('int_okr_key_result_values') }}
),

joined as (
    select
        key_result_values.key_result_id,
        key_result_values.date_day,
        key_result_values.is_cycle_measurement,
        -- the value that is scored: one measured inside the cycle
        case when key_result_values.is_cycle_measurement then key_result_values.current_value end
            as current_value,
        key_results.kr_type,
        key_results.grain,
        baselines.baseline,
        baselines.target
    from key_result_values
    inner join key_results on key_result_values.key_result_id = key_results.key_result_id
    inner join baselines on key_result_values.key_result_id = baselines.key_result_id
),

assessed as (
    select
        *,
        case
            when
                current_value is null
                or baseline is null
                or target is null
                or target = baseline
                then null
            -- a baseline already past the target the kr_type heads for (a baseline read from the
            -- data: a decrease to 45 from a 43.8 before the cycle): no progress can be measured
            -- towards it, so the key result is judged on the target alone, 1 when met, else 0
            when
                (kr_type = 'increase' and target < baseline)
                or (kr_type = 'decrease' and target > baseline)
                then case
                        when
                            (kr_type = 'increase' and current_value >= target)
                            or (kr_type = 'decrease' and current_value <= target)
                            then 1.0
                        else 0.0
                    end
            else (current_value - baseline) / (target - baseline)
        end as linear_progress,
        case
            when
                kr_type in ('maintain_above', 'maintain_below')
                and current_value is not null
                and target is not null
                and date_day = {{ okr_kpi.period_end('grain', okr_kpi.period_start('grain', 'date_day')) }}
                then 1
            else 0
        end as is_counted_period,
        case
            when
                kr_type in ('maintain_above', 'maintain_below')
                and current_value is not null
                and target is not null
                and date_day = {{ okr_kpi.period_end('grain', okr_kpi.period_start('grain', 'date_day')) }}
                and (
                    (kr_type = 'maintain_above' and current_value >= target)
                    or (kr_type = 'maintain_below' and current_value <= target)
                )
                then 1
            else 0
        end as is_held_period,
        case when kr_type = 'milestone' and current_value >= target then 1 else 0 end as is_milestone_met
    from joined
),

running as (
    select
        *,
        sum(is_counted_period) over (
            partition by key_result_id order by date_day rows between unbounded preceding and current row
        ) as periods_counted,
        sum(is_held_period) over (
            partition by key_result_id order by date_day rows between unbounded preceding and current row
        ) as periods_held,
        max(is_milestone_met) over (
            partition by key_result_id order by date_day rows between unbounded preceding and current row
        ) as milestone_met
    from assessed
),

with_latest_period as (
    -- the rows from one counted period to the next share periods_counted; the first of them is
    -- the period's last day, the only one that can carry is_held_period = 1
    select
        *,
        max(is_held_period) over (partition by key_result_id, periods_counted) as latest_period_held
    from running
),

unsigned as (
    select
        key_result_id,
        date_day,
        current_value,
        baseline,
        target,
        kr_type,
        periods_counted,
        periods_held,
        latest_period_held,
        milestone_met,
        case
            when kr_type in ('increase', 'decrease') then linear_progress
            when kr_type in ('maintain_above', 'maintain_below')
                then cast(periods_held as {{ okr_kpi.type_double() }}) / nullif(periods_counted, 0)
            when kr_type = 'milestone'
                then coalesce(
                        linear_progress,
                        case when milestone_met = 1 then 1.0 when current_value is not null then 0.0 end
                    )
        end as progress,
        case
            when kr_type in ('increase', 'decrease')
                then case when linear_progress < 0 then 0.0 when linear_progress > 1 then 1.0 else linear_progress end
            when kr_type in ('maintain_above', 'maintain_below')
                then cast(periods_held as {{ okr_kpi.type_double() }}) / nullif(periods_counted, 0)
            when kr_type = 'milestone'
                then case
                        when milestone_met = 1 then 1.0
                        when current_value is not null and target is not null then 0.0
                    end
        end as score
    from with_latest_period
),

final as (
    select
        key_result_id,
        date_day,
        current_value,
        baseline,
        target,
        -- -0.0 (e.g. a decrease not yet under way) is 0
        case when progress = 0 then 0.0 else progress end as progress,
        case when score = 0 then 0.0 else score end as score,
        case when kr_type in ('maintain_above', 'maintain_below') then periods_counted end as periods_counted,
        case when kr_type in ('maintain_above', 'maintain_below') then periods_held end as periods_held,
        case
            when kr_type in ('maintain_above', 'maintain_below') and periods_counted > 0
                then latest_period_held = 1
        end as is_latest_period_held,
        case when kr_type = 'milestone' then milestone_met = 1 end as is_milestone_met
    from unsigned
)

select * from final
