{#- The models that produce daily KPI inputs: the var okr_kpi_kpi_inputs of the project that
    installs the package. Each returns kpi_id, date_day, numerator, denominator, one row per KPI
    and day at most. -#}
{% macro kpi_input_models() -%}
    {{ return(var('okr_kpi_kpi_inputs', []) | list) }}
{%- endmacro %}
