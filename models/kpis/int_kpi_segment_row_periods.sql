{#- count_distinct and percentile KPIs by segment: one row per KPI, segment dimension, segment
    value, grain and period with rows, computed from the segment's own rows
    (int_kpi_segment_row_inputs), exactly as int_kpi_row_periods computes the totals: a total's
    distinct count or percentile is never derived from its segments'. The SQL is
    okr_kpi.kpi_segment_row_periods (macros/kpis/kpi_row_periods.sql). -#}
{{ okr_kpi.kpi_segment_row_periods(ref('int_kpi_segment_row_inputs'), okr_kpi.project_ref('kpi_definitions')) }}
