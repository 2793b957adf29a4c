{#- One row per KPI, segment dimension, segment value and day, from the KPI's first day of data
    to as_of_date: fct_kpi_daily's rules per segment (docs/segments.md). A segment is every value
    its inputs name (int_kpi_segment_inputs) on any day; a day without input rows of that segment
    is zero for additive KPIs (sum, count; numerator and denominator of ratio/average), the last
    known value for `last`, null for min/max and percentile, 0 for count_distinct.
    count_distinct and percentile come from the segment's own row-level inputs. -#}
{{ okr_kpi._kpi_daily(segmented=true) }}
