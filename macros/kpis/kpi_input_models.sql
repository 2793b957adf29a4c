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
        'int_demo__kpi_revenue',
        'int_demo__kpi_average_order_value',
        'int_demo__kpi_new_leads',
        'int_demo__kpi_organic_visits',
        'int_demo__kpi_blog_visits',
        'int_demo__kpi_min_daily_sessions',
        'int_demo__kpi_page_load_time',
        'int_demo__kpi_apdex',
        'int_demo__kpi_peak_response_time',
        'int_demo__kpi_burn',
        'int_demo__kpi_first_response_time',
        'int_demo__kpi_csat',
        'int_demo__kpi_newsletter_signups',
        'int_demo__kpi_active_customers',
        'int_demo__kpi_churned_customers',
    ]) }}
{%- endmacro %}
