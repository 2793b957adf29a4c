{#- "Today" for every model: the environment variable OKR_KPI_AS_OF_DATE (YYYY-MM-DD; set by
    `okr-kpi run --as-of`), else the var as_of_date, else yesterday.

    The environment variable is read only when a model runs, never while dbt parses: a new
    as_of_date every night then does not make dbt parse the whole project again, as a new
    --vars value does (docs/benchmarks.md). It wins over the var so that `okr-kpi run --as-of`
    also applies in a project that pins as_of_date in its dbt_project.yml. -#}
{% macro as_of_date() -%}
    {%- set value = env_var('OKR_KPI_AS_OF_DATE', '') if execute else '' -%}
    {%- if value is none or (value | string | trim) == '' -%}
        {%- set value = var('as_of_date', none) -%}
    {%- endif -%}
    {%- if value is none or value == '' -%}
        cast({{ dbt.dateadd('day', -1, dbt.current_timestamp()) }} as date)
    {%- else -%}
        {%- set text = value | string | trim -%}
        {%- if modules.re.match('^\d{4}-\d{2}-\d{2}$', text) is none -%}
            {{ exceptions.raise_compiler_error("as_of_date (OKR_KPI_AS_OF_DATE or var as_of_date) must be a date YYYY-MM-DD, got '" ~ text ~ "'") }}
        {%- endif -%}
        cast('{{ text }}' as date)
    {%- endif -%}
{%- endmacro %}
