{#- The models that produce daily KPI inputs: the var okr_kpi_kpi_inputs, plus the demo company's
    when okr_kpi_enable_demo is true. Each returns kpi_id, date_day, numerator, denominator,
    one row per KPI and day at most. -#}
{% macro kpi_input_models() -%}
    {%- set models = var('okr_kpi_kpi_inputs', []) | list -%}
    {%- if var('okr_kpi_enable_demo', true) -%}
        {%- set models = models + okr_kpi._demo_kpi_input_models() -%}
    {%- endif -%}
    {{ return(models) }}
{%- endmacro %}

{% macro _demo_kpi_input_models() -%}
    {{ return([
        'int_demo__kpi_inputs',
    ]) }}
{%- endmacro %}
