{#- One row per KPI, grain and complete period that is a sudden change in the KPI's bad direction
    (either way for a neutral KPI).

    Method (docs/checks.md; written once in macros/checks/kpi_anomalies.sql, which the segments'
    anomalies use too): each full period (is_full_period: complete, and wholly inside the KPI's
    data) is compared with the trailing window of the same grain -- the var
    okr_kpi_anomaly_window (default 28) previous periods, the current one excluded. Daily values
    are compared only with the same weekday (the 28 previous Mondays for a Monday), so weekly
    seasonality is not mistaken for an anomaly.
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

with {{ okr_kpi.kpi_anomaly_window_ctes(ref('fct_kpi_periods')) }},

final as (
    select
        kpi_id,
        grain,
        period_start,
        period_end,
        value,
        {{ okr_kpi.kpi_anomaly_severity() }} as severity,
        trailing_mean as expected_value,
        trailing_stddev,
        trailing_count,
        z_score
    from anomaly_windows
    where {{ okr_kpi.kpi_anomaly_condition() }}
)

select * from final
