{#- One row per KPI per grain (day, week, month, quarter, year) per period, up to as_of_date.
    Aggregation by the KPI's kind: sum/count add up; ratio/average are sum(numerator) /
    sum(denominator); last takes the period's last day; min/max the extreme day;
    count_distinct and percentile are computed from their row-level inputs for each period
    (int_kpi_row_periods: distinct members / the period's percentile; denominator: its rows).

    The KPI's data span runs from its first day (the var okr_kpi_start_date when set, else the
    KPI's first day with input rows) to as_of_date. is_full_period: the period lies wholly
    inside it, and none of its days is uncovered by its source's data (int_kpi_load_days:
    stale, low-volume or early-stopped loads are not zeros and are not judged). prior_value, change, change_pct and same_period_last_year_value compare full
    periods only (null when either side is not full). The same period last year of a day is the
    same calendar day a year earlier; 29 February has none (null), and 28 February is compared
    with 28 February only (docs/configuration.md, "Weeks and years").

    Reporting lag (kpi_definitions.reporting_lag_days, default 0): a period is complete for the
    KPI (is_complete, is_full_period) only when it ended at least that many days before
    as_of_date -- on or before complete_through = as_of_date - reporting_lag_days. -#}
{{ okr_kpi._kpi_periods(segmented=false) }}
