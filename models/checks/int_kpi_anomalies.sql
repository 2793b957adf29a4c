{#- One row per KPI, grain and complete period that is a sudden change in the KPI's bad direction
    (either way for a neutral KPI).

    Method (docs/checks.md): each full period (is_full_period: complete, and wholly inside the
    KPI's data) is compared with the trailing window of the same grain -- the var okr_kpi_anomaly_window (default 28) previous periods, the
    current one excluded. Daily values are compared only with the same weekday (the 28 previous
    Mondays for a Monday), so weekly seasonality is not mistaken for an anomaly.
    z_score = (value - trailing mean) / trailing sample standard deviation. An anomaly needs at
    least okr_kpi_anomaly_min_periods trailing values and |z| >= okr_kpi_anomaly_sigma (default 3)
    in the bad direction (below for higher_is_better, above for lower_is_better, either way for
    neutral: a surge is as much an event as a drop).
    Severity: critical when |z| >= 2 x sigma, else warning. A trailing standard deviation of 0
    (a perfectly flat history) gives no z-score and no anomaly.
    Periods holding a day its source does not cover (int_kpi_load_days) are not full: they are
    neither judged nor in the window, which reaches back to earlier periods instead. Periods
    holding a day flagged by a model of okr_kpi_quality_models are still judged, but left out of
    the trailing window of later periods (which shrinks): one broken load must not widen the band
    and hide the next real drop.
    Grains: by default only the KPI's reporting grain (dim_kpis.reporting_grain: daily -> day,
    weekly -> week, monthly -> month, quarterly -> quarter): the daily noise of a KPI watched monthly is not
    news. Set the var okr_kpi_anomaly_grains to 'all' to scan every grain. -#}
{%- set window = var('okr_kpi_anomaly_window', 28) | int -%}
{%- set sigma = var('okr_kpi_anomaly_sigma', 3) | float -%}
{%- set min_periods = var('okr_kpi_anomaly_min_periods', 8) | int -%}
{%- set grains = var('okr_kpi_anomaly_grains', 'reporting') -%}
{%- if grains not in ('reporting', 'all') -%}
    {{ exceptions.raise_compiler_error("var okr_kpi_anomaly_grains must be 'reporting' or 'all', got '" ~ grains ~ "'") }}
{%- endif -%}

with periods as (
    select
        kpi_id,
        grain,
        period_start,
        period_end,
        value
    from {{ ref('fct_kpi_periods') }}
    where
        is_full_period
        and value is not null
),

kpis as (
    select
        kpi_id,
        direction,
        reporting_grain
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
        periods.grain,
        periods.period_start,
        count(input_quality.date_day) as quality_issue_days
    from periods
    left join input_quality
        on
            periods.kpi_id = input_quality.kpi_id
            and periods.period_start <= input_quality.date_day
            and periods.period_end >= input_quality.date_day
    group by periods.kpi_id, periods.grain, periods.period_start
),

seasoned as (
    select
        periods.*,
        kpis.direction,
        case when flagged.quality_issue_days = 0 then periods.value end as baseline_value,
        case
            when periods.grain = 'day' then {{ okr_kpi.day_of_week('periods.period_start') }}
            else 0
        end as season_key
    from periods
    inner join kpis on periods.kpi_id = kpis.kpi_id
    inner join flagged
        on
            periods.kpi_id = flagged.kpi_id
            and periods.grain = flagged.grain
            and periods.period_start = flagged.period_start
    {%- if grains == 'reporting' %}
    where periods.grain = kpis.reporting_grain
    {%- endif %}
),

windowed as (
    select
        *,
        avg(baseline_value) over (
            partition by kpi_id, grain, season_key
            order by period_start rows between {{ window }} preceding and 1 preceding
        ) as trailing_mean,
        stddev_samp(baseline_value) over (
            partition by kpi_id, grain, season_key
            order by period_start rows between {{ window }} preceding and 1 preceding
        ) as trailing_stddev,
        count(baseline_value) over (
            partition by kpi_id, grain, season_key
            order by period_start rows between {{ window }} preceding and 1 preceding
        ) as trailing_count
    from seasoned
),

scored as (
    select
        *,
        (value - trailing_mean) / nullif(trailing_stddev, 0) as z_score
    from windowed
    where trailing_count >= {{ min_periods }}
),

final as (
    select
        kpi_id,
        grain,
        period_start,
        period_end,
        value,
        case
            when abs(z_score) >= {{ 2 * sigma }} then 'critical'
            else 'warning'
        end as severity,
        trailing_mean as expected_value,
        trailing_stddev,
        trailing_count,
        z_score
    from scored
    where
        (direction = 'higher_is_better' and z_score <= -{{ sigma }})
        or (direction = 'lower_is_better' and z_score >= {{ sigma }})
        or (direction = 'neutral' and abs(z_score) >= {{ sigma }})
)

select * from final
