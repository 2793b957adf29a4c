{#- One row per KPI per day, from the first day of data to as_of_date.
    Days without input rows: zero for additive KPIs (sum, count) and for the numerator and
    denominator of ratio/average KPIs (whose value is then null: no division by zero);
    a `last` KPI (a stock) carries its last known value forward; min/max stay null.
    count_distinct (numerator: distinct members of the day) and percentile (numerator: the day's
    percentile) come from their row-level inputs; denominator: the day's rows (0 without rows);
    value = numerator (0 for count_distinct, null for percentile on a day without rows). -#}
{{ okr_kpi._kpi_daily(segmented=false) }}
