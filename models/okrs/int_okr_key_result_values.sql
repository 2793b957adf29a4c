{#- One row per key result per day of its cycle (up to as_of_date): the key result's current value
    that day (docs/scoring.md), and the latest check-in's confidence.

    - latest_period: the KPI's value of the latest complete period of `grain` ending on or before
      the day, less the KPI's reporting_lag_days (periods entirely inside the KPI's data calendar
      only);
    - cycle_to_date: the KPI aggregated by its own aggregation over the cycle's days up to the day
      (sum/count: sum; ratio/average: sum of numerators / sum of denominators; min/max: extreme
      day; last: the day's value); null until a day of the cycle has data;
    - check-ins (no kpi_id): the latest check-in on or before the day.

    is_cycle_measurement: the current value was measured inside the cycle (docs/scoring.md, "The
    first days of a cycle"): latest_period, a period that ends on or after the cycle's first day;
    check-ins, a check-in on or after it; cycle_to_date, any value (it only reads the cycle). A
    value from before the cycle is shown but not scored. -#}
with key_results as (
    select * from {{ ref('int_okr_key_results') }}
),

days as (
    select * from {{ ref('int_okr_key_result_days') }}
),

periods as (
    -- a period is known from the day its KPI's reporting lag has passed (period_end + lag days)
    select
        lagged.kpi_id,
        lagged.segment_key,
        lagged.grain,
        lagged.period_start,
        lagged.period_end,
        lagged.value,
        lagged.known_from,
        lead(lagged.known_from)
            over (partition by lagged.kpi_id, lagged.segment_key, lagged.grain order by lagged.period_end)
            as next_known_from
    from (
        select
            kpi_periods.*,
            cast({{ dbt.dateadd('day', 'kpis.reporting_lag_days', 'kpi_periods.period_end') }} as date) as known_from
        from {{ okr_kpi.kpi_periods_with_segments(['kpi_id', 'grain', 'period_start', 'period_end', 'value',
            'is_full_period']) }} as kpi_periods
        inner join {{ ref('dim_kpis') }} as kpis on kpi_periods.kpi_id = kpis.kpi_id
        where kpi_periods.is_full_period
    ) as lagged
),

daily as (
    select
        kpi_id,
        date_day,
        numerator,
        denominator,
        value,
        has_data
    from {{ ref('fct_kpi_daily') }}
),

check_ins as (
    select * from {{ ref('int_okr_check_ins') }}
),

confidences as (
    select
        key_result_id,
        check_in_date,
        confidence,
        lead(check_in_date) over (partition by key_result_id order by check_in_date) as next_check_in_date
    from check_ins
    where confidence is not null
),

kr_days as (
    select
        days.key_result_id,
        days.date_day,
        days.elapsed_days,
        days.cycle_days,
        key_results.kpi_id,
        key_results.aggregation,
        key_results.grain,
        key_results.measure,
        key_results.measured_by,
        key_results.segment_key,
        key_results.cycle_start_date
    from days
    inner join key_results on days.key_result_id = key_results.key_result_id
),

latest_period as (
    select
        kr_days.key_result_id,
        kr_days.date_day,
        periods.value,
        periods.period_start,
        periods.period_end
    from kr_days
    inner join periods
        on
            kr_days.kpi_id = periods.kpi_id
            and kr_days.segment_key = periods.segment_key
            and kr_days.grain = periods.grain
            and kr_days.date_day >= periods.known_from
            and (periods.next_known_from is null or kr_days.date_day < periods.next_known_from)
    where kr_days.measured_by = 'kpi' and kr_days.measure = 'latest_period'
),

cycle_days_with_data as (
    select
        kr_days.key_result_id,
        kr_days.date_day,
        kr_days.aggregation,
        daily.numerator,
        daily.denominator,
        daily.value,
        case when daily.has_data then 1 else 0 end as has_data
    from kr_days
    left join daily
        on
            kr_days.kpi_id = daily.kpi_id
            and kr_days.date_day = daily.date_day
    -- the totals' days: a segment key result reads latest_period only (lint: okr-segment-cycle-to-date)
    where kr_days.measured_by = 'kpi' and kr_days.measure = 'cycle_to_date' and kr_days.segment_key = ''
),

cycle_to_date_running as (
    select
        key_result_id,
        date_day,
        aggregation,
        value,
        sum(has_data) over (
            partition by key_result_id order by date_day rows between unbounded preceding and current row
        ) as days_with_data,
        sum(numerator) over (
            partition by key_result_id order by date_day rows between unbounded preceding and current row
        ) as numerator_sum,
        sum(denominator) over (
            partition by key_result_id order by date_day rows between unbounded preceding and current row
        ) as denominator_sum,
        min(value) over (
            partition by key_result_id order by date_day rows between unbounded preceding and current row
        ) as min_value,
        max(value) over (
            partition by key_result_id order by date_day rows between unbounded preceding and current row
        ) as max_value
    from cycle_days_with_data
),

cycle_to_date as (
    select
        key_result_id,
        date_day,
        case
            when days_with_data = 0 then null
            -- row-level KPIs cannot be re-aggregated from days (lint: cycle_to_date_row_level)
            when aggregation in ('count_distinct', 'percentile') then null
            when aggregation in ('sum', 'count') then numerator_sum
            when aggregation in ('ratio', 'average') then numerator_sum / nullif(denominator_sum, 0)
            when aggregation = 'min' then min_value
            when aggregation = 'max' then max_value
            else value
        end as value
    from cycle_to_date_running
),

latest_check_in as (
    select
        kr_days.key_result_id,
        kr_days.date_day,
        check_ins.value,
        check_ins.check_in_date
    from kr_days
    inner join check_ins
        on
            kr_days.key_result_id = check_ins.key_result_id
            and kr_days.date_day >= check_ins.check_in_date
            and (check_ins.next_check_in_date is null or kr_days.date_day < check_ins.next_check_in_date)
),

latest_confidence as (
    select
        kr_days.key_result_id,
        kr_days.date_day,
        confidences.confidence
    from kr_days
    inner join confidences
        on
            kr_days.key_result_id = confidences.key_result_id
            and kr_days.date_day >= confidences.check_in_date
            and (confidences.next_check_in_date is null or kr_days.date_day < confidences.next_check_in_date)
),

final as (
    select
        kr_days.key_result_id,
        kr_days.date_day,
        kr_days.elapsed_days,
        kr_days.cycle_days,
        case
            when kr_days.measured_by = 'check_ins' then latest_check_in.value
            when kr_days.measure = 'latest_period' then latest_period.value
            when kr_days.measure = 'cycle_to_date' then cycle_to_date.value
        end as current_value,
        latest_period.period_start as value_period_start,
        latest_period.period_end as value_period_end,
        latest_check_in.check_in_date as last_check_in_date,
        latest_confidence.confidence as latest_confidence,
        coalesce(
            case
                when kr_days.measured_by = 'check_ins'
                    then latest_check_in.check_in_date >= kr_days.cycle_start_date
                when kr_days.measure = 'latest_period'
                    then latest_period.period_end >= kr_days.cycle_start_date
                when kr_days.measure = 'cycle_to_date' then cycle_to_date.value is not null
            end,
            false
        ) as is_cycle_measurement
    from kr_days
    left join latest_period
        on
            kr_days.key_result_id = latest_period.key_result_id
            and kr_days.date_day = latest_period.date_day
    left join cycle_to_date
        on
            kr_days.key_result_id = cycle_to_date.key_result_id
            and kr_days.date_day = cycle_to_date.date_day
    left join latest_check_in
        on
            kr_days.key_result_id = latest_check_in.key_result_id
            and kr_days.date_day = latest_check_in.date_day
    left join latest_confidence
        on
            kr_days.key_result_id = latest_confidence.key_result_id
            and kr_days.date_day = latest_confidence.date_day
)

select * from final
