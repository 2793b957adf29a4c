{#- The grain a KPI is reported at, from its reporting_frequency: daily -> day, weekly -> week,
    monthly -> month, quarterly -> quarter, yearly -> year; empty (or anything else) -> day.
    One home for the mapping: dim_kpis.reporting_grain, which the anomaly scan, the report's
    tiles (rpt_kpi_tiles) and the report document read. -#}
{% macro reporting_grain(frequency_expr) -%}
    case {{ frequency_expr }}
        when 'weekly' then 'week'
        when 'monthly' then 'month'
        when 'quarterly' then 'quarter'
        when 'yearly' then 'year'
        else 'day'
    end
{%- endmacro %}
