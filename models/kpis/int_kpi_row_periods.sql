{#- count_distinct and percentile KPIs: one row per KPI per grain per period with rows, computed
    from the row-level inputs (var okr_kpi_kpi_row_inputs, macro okr_kpi.kpi_row_input), never
    from daily values. Only days of the KPI calendar count (var okr_kpi_start_date .. as_of_date).

    numerator    count_distinct: the number of distinct members in the period;
                 percentile: the period's continuous percentile of value (linear interpolation
                 between the two nearest ranks, like percentile_cont and numpy's default).
    denominator  the number of rows (events) in the period.

    The SQL is okr_kpi.kpi_row_periods (macros/kpis/kpi_row_periods.sql): the engine's own exact
    aggregates (count distinct; quantile_cont / percentile_cont / percentile) on DuckDB,
    PostgreSQL and Spark with grouping sets over the grains, portable window functions elsewhere. -#}
{{ okr_kpi.kpi_row_periods(ref('int_kpi_row_inputs'), okr_kpi.project_ref('kpi_definitions')) }}
