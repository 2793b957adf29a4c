{#- "Today" for every model: the var as_of_date (YYYY-MM-DD), else the environment variable
    OKR_KPI_AS_OF_DATE (set by `okr-kpi run --as-of`), else yesterday.

    The environment variable is read only when a model runs, never while dbt parses: a new
    as_of_date every night then does not make dbt parse the whole project again, as a new
    --vars value does (docs/benchmarks.md). -#}
{% macro as_of_date() -%}
    {%- set value = var('as_of_date', none) -%}
    {%- if (value is none or value == '') and execute -%}
        {%- set value = env_var('OKR_KPI_AS_OF_DATE', '') -%}
    {%- endif -%}
    {%- if value is none or value == '' -%}
        cast({{ dbt.dateadd('day', -1, dbt.current_timestamp()) }} as date)
    {%- else -%}
        {%- set text = value | string -%}
        {%- if modules.re.match('^\d{4}-\d{2}-\d{2}$', text) is none -%}
            {{ exceptions.raise_compiler_error("as_of_date (var as_of_date or OKR_KPI_AS_OF_DATE) must be a date YYYY-MM-DD, got '" ~ text ~ "'") }}
        {%- endif -%}
        cast('{{ text }}' as date)
    {%- endif -%}
{%- endmacro %}
