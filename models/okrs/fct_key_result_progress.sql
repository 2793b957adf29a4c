{#- One row per key result per day of its cycle, from the cycle's first day to the earlier of its
    last day and as_of_date: value, baseline, target, progress, score, pace, status and forecast
    (docs/scoring.md). -#}
{%- set double = okr_kpi.type_double() -%}

with key_results as (
    select * from {{ ref('int_okr_key_results') }}
),

key_result_values as (
    select * from {{ ref('int_okr_key_result_values') }}
),

scores as (
    select * from {{ ref('int_okr_key_result_scores') }}
),

baselines as (
    select * from {{ ref('int_okr_key_result_baselines') }}
),

forecasts as (
    select * from {{ ref('int_okr_key_result_forecasts') }}
),

joined as (
    select
        key_result_values.key_result_id,
        key_result_values.date_day,
        key_results.cycle_id,
        key_results.objective_id,
        key_results.title,
        key_results.kr_type,
        key_results.kpi_id,
        key_results.measured_by,
        key_results.measure,
        key_results.grain,
        key_results.target_kind,
        key_results.weight,
        key_results.owner,
        key_results.cycle_start_date,
        key_results.cycle_end_date,
        key_result_values.cycle_days,
        key_result_values.elapsed_days,
        key_result_values.current_value,
        key_result_values.value_period_start,
        key_result_values.value_period_end,
        key_result_values.last_check_in_date,
        key_result_values.latest_confidence,
        key_result_values.is_cycle_measurement,
        baselines.baseline,
        baselines.baseline_source,
        baselines.target,
        scores.progress,
        scores.score,
        cast(key_result_values.elapsed_days as {{ double }}) / key_result_values.cycle_days as expected_progress,
        scores.periods_counted,
        scores.periods_held,
        scores.is_latest_period_held,
        scores.is_milestone_met,
        forecasts.forecast_points,
        forecasts.forecast_value,
        forecasts.forecast_std_error
    from key_result_values
    inner join key_results on key_result_values.key_result_id = key_results.key_result_id
    inner join baselines on key_result_values.key_result_id = baselines.key_result_id
    inner join scores
        on
            key_result_values.key_result_id = scores.key_result_id
            and key_result_values.date_day = scores.date_day
    inner join forecasts
        on
            key_result_values.key_result_id = forecasts.key_result_id
            and key_result_values.date_day = forecasts.date_day
),

paced as (
    select
        *,
        case when kr_type in ('increase', 'decrease') then progress / expected_progress end as pace_ratio,
        -- the side of the target that counts as reaching it
        case when kr_type in ('decrease', 'maintain_below') then -1.0 else 1.0 end as target_side,
        case
            when
                target is null and baseline is null
                then 'no baseline (relative target, and no KPI value before the cycle)'
            when target is null then 'no target'
            when kr_type in ('increase', 'decrease') and baseline is null then 'no baseline'
            when kr_type in ('increase', 'decrease') and target = baseline then 'target equals baseline'
            when kr_type in ('maintain_above', 'maintain_below') and periods_counted = 0
                then {{ dbt.concat(["'no complete '", 'grain', "' of the cycle yet'"]) }}
            when kr_type = 'milestone' and is_milestone_met then null
            when current_value is null then 'no value yet'
            when not is_cycle_measurement then 'no measurement in the cycle yet'
        end as no_data_reason
    from joined
),

statused as (
    select
        *,
        case
            when no_data_reason is not null then 'no_data'
            when kr_type in ('maintain_above', 'maintain_below')
                then case when is_latest_period_held then 'on_track' else 'off_track' end
            when kr_type = 'milestone'
                then case
                        when is_milestone_met then 'achieved'
                        when date_day >= cycle_end_date then 'off_track'
                        else 'on_track'
                    end
            else {{ okr_kpi.okr_pace_status('score', 'pace_ratio') }}
        end as status,
        case
            when kr_type = 'milestone' and is_milestone_met then 1.0
            when target is null then null
            -- on the cycle's last day the end value is known
            when date_day >= cycle_end_date and current_value is not null
                then case when target_side * (current_value - target) >= 0 then 1.0 else 0.0 end
            when forecast_value is null or forecast_std_error is null then null
            when forecast_std_error > 0
                then {{ okr_kpi.normal_cdf('target_side * (forecast_value - target) / forecast_std_error') }}
            when target_side * (forecast_value - target) >= 0 then 1.0
            else 0.0
        end as forecast_probability
    from paced
),

final as (
    select
        cast(key_result_id as {{ dbt.type_string() }}) as key_result_id,
        cast(date_day as date) as date_day,
        cast(cycle_id as {{ dbt.type_string() }}) as cycle_id,
        cast(objective_id as {{ dbt.type_string() }}) as objective_id,
        cast(title as {{ dbt.type_string() }}) as title,
        cast(kr_type as {{ dbt.type_string() }}) as kr_type,
        cast(kpi_id as {{ dbt.type_string() }}) as kpi_id,
        cast(measured_by as {{ dbt.type_string() }}) as measured_by,
        cast(measure as {{ dbt.type_string() }}) as measure,
        cast(grain as {{ dbt.type_string() }}) as grain,
        cast(target_kind as {{ dbt.type_string() }}) as target_kind,
        cast(weight as {{ double }}) as weight,
        cast(owner as {{ dbt.type_string() }}) as owner,
        cast(cycle_start_date as date) as cycle_start_date,
        cast(cycle_end_date as date) as cycle_end_date,
        cast(cycle_days as integer) as cycle_days,
        cast(elapsed_days as integer) as elapsed_days,
        cast(current_value as {{ double }}) as current_value,
        cast(value_period_start as date) as value_period_start,
        cast(value_period_end as date) as value_period_end,
        cast(last_check_in_date as date) as last_check_in_date,
        cast(latest_confidence as {{ double }}) as latest_confidence,
        cast(baseline as {{ double }}) as baseline,
        cast(baseline_source as {{ dbt.type_string() }}) as baseline_source,
        cast(target as {{ double }}) as target,
        cast(progress as {{ double }}) as progress,
        cast(score as {{ double }}) as score,
        cast(expected_progress as {{ double }}) as expected_progress,
        cast(pace_ratio as {{ double }}) as pace_ratio,
        cast(status as {{ dbt.type_string() }}) as status,
        cast(no_data_reason as {{ dbt.type_string() }}) as no_data_reason,
        cast(periods_counted as integer) as periods_counted,
        cast(periods_held as integer) as periods_held,
        cast(
            case
                when date_day >= cycle_end_date and current_value is not null then current_value
                else forecast_value
            end
            as {{ double }}
        ) as forecast_value,
        cast(forecast_probability as {{ double }}) as forecast_probability,
        cast(forecast_std_error as {{ double }}) as forecast_std_error,
        cast(forecast_points as integer) as forecast_points,
        cast(date_day = {{ okr_kpi.as_of_date() }} or date_day = cycle_end_date as boolean) as is_latest
    from statused
)

select * from final
