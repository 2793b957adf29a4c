{#- count_distinct and percentile KPIs by segment: one row per event, segment dimension and
    segment value of the KPI calendar, the segment rows of the row-level input models that return
    the optional segment columns (macro kpi_row_input with `segments`, docs/segments.md), for
    the dimensions the KPI declares (kpi_definitions.segment_dimensions). A view. -#}
{{ config(materialized='view') }}
{{ okr_kpi._kpi_row_inputs(segmented=true) }}
