{#- count_distinct and percentile KPIs: one row per event of the KPI calendar (var
    okr_kpi_start_date .. as_of_date) from the row-level input models (var okr_kpi_kpi_row_inputs,
    macro okr_kpi.kpi_row_input), with the KPI's aggregation and percentile. A view: the rows are
    read by int_kpi_row_periods and by MetricFlow (semantic model kpi_rows), never copied.
    Totals only: of a model with segment columns, the rows whose segment_dimension is null
    (its segment rows are int_kpi_segment_row_inputs). -#}
{{ config(materialized='view') }}
{{ okr_kpi._kpi_row_inputs(segmented=false) }}
