{#- One row per KPI, segment dimension, segment value, grain (day, week, month, quarter, year) and
    period, up to as_of_date: fct_kpi_periods' rules per segment (docs/segments.md). The value
    columns are those of fct_kpi_periods: sum/count add up, ratio/average are
    sum(numerator) / sum(denominator) over the segment's days, last takes the period's last day,
    min/max the segment's extreme day; count_distinct and percentile are computed from the
    segment's row-level inputs for each period (int_kpi_segment_row_periods), never added up.
    The data span, reporting lag and uncovered days are the KPI's: a segment's period is full
    when the total's is; prior_value, change, change_pct and same_period_last_year_value compare
    the segment with itself. -#}
{{ okr_kpi._kpi_periods(segmented=true) }}
