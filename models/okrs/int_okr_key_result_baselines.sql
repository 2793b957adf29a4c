{#- One row per key result: its baseline and its target as values (docs/scoring.md).

    baseline: the seed's, else
      - latest_period, by baseline_method (optional seed column, default last_period):
        - last_period: the value of the last complete period of `grain` ending before the cycle starts;
        - average_of_periods: the mean of the values of the baseline_periods (N) last complete
          periods of `grain` ending before the cycle starts; null (no baseline) with fewer than N;
        - same_period_last_year: the value of the period of `grain` holding the cycle's first day,
          one year earlier (a week: 52 weeks earlier), when that period is complete;
      - cycle_to_date: 0 for sum and count KPIs (null for the others: a lint error);
      - check-ins: the latest check-in on or before the cycle's first day.
    target: the seed's (absolute), or baseline * (1 + target) (relative; null without a baseline). -#}
with key_results as (
    select * from {{ ref('int_okr_key_results') }}
),

periods as (
    -- the totals and the segments (a key result on a segment: its segment's periods)
    select
        kpi_id,
        segment_key,
        grain,
        period_start,
        period_end,
        value
    from {{ okr_kpi.kpi_periods_with_segments(['kpi_id', 'grain', 'period_start', 'period_end', 'value',
        'is_full_period']) }} as kpi_periods
    where is_full_period
),

check_ins as (
    select
        key_result_id,
        check_in_date,
        value
    from {{ ref('int_okr_check_ins') }}
),

prior_periods as (
    select
        key_results.key_result_id,
        periods.value,
        row_number() over (
            partition by key_results.key_result_id order by periods.period_end desc
        ) as recency
    from key_results
    inner join periods
        on
            key_results.kpi_id = periods.kpi_id
            and key_results.segment_key = periods.segment_key
            and key_results.grain = periods.grain
            and key_results.cycle_start_date > periods.period_end
    where key_results.measured_by = 'kpi' and key_results.measure = 'latest_period'
),

averaged_periods as (
    select
        key_results.key_result_id,
        avg(prior_periods.value) as value,
        count(*) as period_count
    from key_results
    inner join prior_periods
        on
            key_results.key_result_id = prior_periods.key_result_id
            and key_results.baseline_periods >= prior_periods.recency
    where key_results.baseline_method = 'average_of_periods'
    group by key_results.key_result_id, key_results.baseline_periods
    having count(*) = key_results.baseline_periods
),

last_year_periods as (
    select
        key_results.key_result_id,
        periods.value
    from key_results
    inner join periods
        on
            key_results.kpi_id = periods.kpi_id
            and key_results.segment_key = periods.segment_key
            and key_results.grain = periods.grain
            and periods.period_start = {{ okr_kpi.period_start_prior_year('key_results.grain',
                okr_kpi.period_start('key_results.grain', 'key_results.cycle_start_date')) }}
    where
        key_results.measured_by = 'kpi'
        and key_results.measure = 'latest_period'
        and key_results.baseline_method = 'same_period_last_year'
),

prior_check_ins as (
    select
        key_results.key_result_id,
        check_ins.value,
        row_number() over (
            partition by key_results.key_result_id order by check_ins.check_in_date desc
        ) as recency
    from key_results
    inner join check_ins
        on
            key_results.key_result_id = check_ins.key_result_id
            and key_results.cycle_start_date >= check_ins.check_in_date
    where key_results.measured_by = 'check_ins'
),

baselines as (
    select
        key_results.*,
        case
            when key_results.baseline_input is not null then key_results.baseline_input
            when key_results.measured_by = 'check_ins' then prior_check_ins.value
            when key_results.measure = 'latest_period' and key_results.baseline_method = 'average_of_periods'
                then averaged_periods.value
            when key_results.measure = 'latest_period' and key_results.baseline_method = 'same_period_last_year'
                then last_year_periods.value
            when key_results.measure = 'latest_period' and key_results.baseline_method = 'last_period'
                then prior_periods.value
            when key_results.measure = 'cycle_to_date' and key_results.aggregation in ('sum', 'count') then 0.0
        end as baseline,
        case
            when key_results.baseline_input is not null then 'seed'
            when key_results.measured_by = 'check_ins' then 'check_in_before_cycle'
            when key_results.measure = 'latest_period' and key_results.baseline_method = 'average_of_periods'
                then 'average_of_periods_before_cycle'
            when key_results.measure = 'latest_period' and key_results.baseline_method = 'same_period_last_year'
                then 'same_period_last_year'
            when key_results.measure = 'latest_period' and key_results.baseline_method = 'last_period'
                then 'period_before_cycle'
            when key_results.measure = 'cycle_to_date' and key_results.aggregation in ('sum', 'count') then 'zero'
            else 'none'
        end as baseline_source
    from key_results
    left join prior_periods
        on
            key_results.key_result_id = prior_periods.key_result_id
            and prior_periods.recency = 1
    left join averaged_periods on key_results.key_result_id = averaged_periods.key_result_id
    left join last_year_periods on key_results.key_result_id = last_year_periods.key_result_id
    left join prior_check_ins
        on
            key_results.key_result_id = prior_check_ins.key_result_id
            and prior_check_ins.recency = 1
),

final as (
    select
        key_result_id,
        baseline,
        case when baseline is null then 'none' else baseline_source end as baseline_source,
        case
            when target_kind = 'relative' then baseline * (1 + target_input)
            else target_input
        end as target
    from baselines
)

select * from final
