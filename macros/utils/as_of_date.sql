{#- "Today" for every model: the var as_of_date (YYYY-MM-DD), else yesterday. -#}
{% macro as_of_date() -%}
    {%- set value = var('as_of_date', none) -%}
    {%- if value is none or value == '' -%}
        cast({{ dbt.dateadd('day', -1, dbt.current_timestamp()) }} as date)
    {%- else -%}
        {%- set text = value | string -%}
        {%- if modules.re.match('^\d{4}-\d{2}-\d{2}$', text) is none -%}
            {{ exceptions.raise_compiler_error("var as_of_date must be a date YYYY-MM-DD, got '" ~ text ~ "'") }}
        {%- endif -%}
        cast('{{ text }}' as date)
    {%- endif -%}
{%- endmacro %}
