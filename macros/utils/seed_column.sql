{#- An optional column of a definition seed: the column cast to `type` when the project's seed has
    it, else `default` (a SQL expression) cast to `type`. Seeds written before a column was added
    keep building unchanged (docs/configuration.md: optional seed columns).

    relation   the seed's relation (e.g. okr_kpi.project_ref('kpi_definitions'))
    alias      the name the seed has in the query's from clause
    column     the optional column's name
    default    SQL for rows of a seed without the column (e.g. "0", "null", "'last_period'")
    type       the SQL type of the result (e.g. dbt.type_int()) -#}
{% macro seed_column(relation, alias, column, default='null', type=none) -%}
    {%- set sql_type = type or dbt.type_string() -%}
    {%- set present = false -%}
    {%- if execute -%}
        {%- set names = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
        {%- set present = column | lower in names -%}
    {%- endif -%}
    {%- if present -%}
        cast({{ alias }}.{{ column }} as {{ sql_type }})
    {%- else -%}
        cast({{ default }} as {{ sql_type }})
    {%- endif -%}
{%- endmacro %}
