{#- One row per KPI, segment dimension, segment value, grain and full period of the grains scanned
    for anomalies: the segment's value, numerator, denominator and volume with their trailing
    means over the same window as the totals' anomalies (int_kpi_anomalies: the var
    okr_kpi_anomaly_window previous full periods of the grain, the same weekday for days, periods
    flagged by a quality model left out of the window). Read by int_kpi_segment_anomalies and by
    fct_kpi_breach_drivers (a segment's expected value against an anomaly of the total).

    volume: the segment's size in the period, coalesce(denominator, |numerator|): the rows of a
    ratio, average, count_distinct or percentile KPI, the count of a count KPI, the amount of a
    sum KPI, the level of a last/min/max KPI (docs/segments.md, "Minimum volume"). -#}
{%- set window = var('okr_kpi_anomaly_window', 28) | int -%}
{%- set grains = var('okr_kpi_anomaly_grains', 'reporting') -%}

with periods as (
    select
        kpi_id,
        segment_dimension,
        segment_value,
        grain,
        period_start,
        period_end,
        value,
        numerator,
        denominator,
        coalesce(denominator, abs(numerator)) as volume
    from {{ ref('fct_kpi_segment_periods') }}
    where
        is_full_period
        and value is not null
),

kpis as (
    select
        kpi_id,
        direction,
        aggregation,
        case reporting_frequency
            when 'daily' then 'day'
            when 'weekly' then 'week'
            when 'monthly' then 'month'
            when 'quarterly' then 'quarter'
        end as reporting_grain
    from {{ ref('dim_kpis') }}
),

input_quality as (
    select distinct
        kpi_id,
        date_day
    from {{ ref('int_kpi_input_quality') }}
),

flagged as (
    select
        periods.kpi_id,
        periods.segment_dimension,
        periods.segment_value,
        periods.grain,
        periods.period_start,
        count(input_quality.date_day) as quality_issue_days
    from periods
    left join input_quality
        on
            periods.kpi_id = input_quality.kpi_id
            and periods.period_start <= input_quality.date_day
            and periods.period_end >= input_quality.date_day
    group by periods.kpi_id, periods.segment_dimension, periods.segment_value, periods.grain, periods.period_start
),

seasoned as (
    select
        periods.*,
        kpis.direction,
        kpis.aggregation,
        case when flagged.quality_issue_days = 0 then periods.value end as baseline_value,
        case when flagged.quality_issue_days = 0 then periods.numerator end as baseline_numerator,
        case when flagged.quality_issue_days = 0 then periods.denominator end as baseline_denominator,
        case when flagged.quality_issue_days = 0 then periods.volume end as baseline_volume,
        case
            when periods.grain = 'day' then {{ okr_kpi.day_of_week('periods.period_start') }}
            else 0
        end as season_key
    from periods
    inner join kpis on periods.kpi_id = kpis.kpi_id
    inner join flagged
        on
            periods.kpi_id = flagged.kpi_id
            and periods.segment_dimension = flagged.segment_dimension
            and periods.segment_value = flagged.segment_value
            and periods.grain = flagged.grain
            and periods.period_start = flagged.period_start
    {%- if grains == 'reporting' %}
    where periods.grain = kpis.reporting_grain
    {%- endif %}
),

windowed as (
    {%- set over = "over (partition by kpi_id, segment_dimension, segment_value, grain, season_key"
        ~ " order by period_start rows between " ~ window ~ " preceding and 1 preceding)" %}
    select
        *,
        avg(baseline_value) {{ over }} as trailing_mean,
        stddev_samp(baseline_value) {{ over }} as trailing_stddev,
        count(baseline_value) {{ over }} as trailing_count,
        avg(baseline_numerator) {{ over }} as trailing_numerator,
        avg(baseline_denominator) {{ over }} as trailing_denominator,
        avg(baseline_volume) {{ over }} as trailing_volume
    from seasoned
),

final as (
    select
        kpi_id,
        segment_dimension,
        segment_value,
        grain,
        period_start,
        period_end,
        direction,
        aggregation,
        value,
        numerator,
        denominator,
        volume,
        trailing_mean,
        trailing_stddev,
        trailing_count,
        trailing_numerator,
        trailing_denominator,
        trailing_volume,
        (value - trailing_mean) / nullif(trailing_stddev, 0) as z_score
    from windowed
)

select * from final
