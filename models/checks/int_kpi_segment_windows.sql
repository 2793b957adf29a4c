{#- One row per KPI, segment dimension, segment value, grain and full period of the grains scanned
    for anomalies: the segment's value, numerator, denominator and volume with their trailing
    means over the same window as the totals' anomalies (the method of int_kpi_anomalies, written
    once in macros/checks/kpi_anomalies.sql: the var okr_kpi_anomaly_window previous full periods
    of the grain, the same weekday for days, periods flagged by a quality model left out of the
    window). Read by int_kpi_segment_anomalies and by fct_kpi_breach_drivers (a segment's
    expected value against an anomaly of the total).

    volume: the segment's size in the period, coalesce(denominator, |numerator|): the rows of a
    ratio, average, count_distinct or percentile KPI, the count of a count KPI, the amount of a
    sum KPI, the level of a last/min/max KPI (docs/segments.md, "Minimum volume"). -#}

with {{ okr_kpi.kpi_anomaly_window_ctes(
    ref('fct_kpi_segment_periods'),
    keys=['segment_dimension', 'segment_value'],
    extra={
        'numerator': 'numerator',
        'denominator': 'denominator',
        'volume': 'coalesce(denominator, abs(numerator))',
    },
) }}

select * from anomaly_windows
