{#- Helpers of seed_checks (seed_checks.sql): the label of a row, the seed's file, a quoted value. -#}

{#- "col=value, col=value, ..." of a row's first three columns, as a SQL string expression. -#}
{% macro _seed_row_label(model) -%}
    {%- set parts = [] -%}
    {%- if execute -%}
        {%- set columns = adapter.get_columns_in_relation(model) -%}
        {%- for column in columns[:3] -%}
            {%- if not loop.first -%}{%- do parts.append("', '") -%}{%- endif -%}
            {%- do parts.append("'" ~ column.name ~ "='") -%}
            {%- do parts.append("coalesce(cast(" ~ adapter.quote(column.name) ~ " as " ~ dbt.type_string() ~ "), '(empty)')") -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if parts | length == 0 -%}
        {%- do parts.append("'?'") -%}
    {%- endif -%}
    {{ dbt.concat(parts) }}
{%- endmacro %}

{#- The seed's CSV path (original_file_path of the seed node), or its name if not found. -#}
{% macro _seed_file(model) -%}
    {%- if execute -%}
        {%- for node in graph.nodes.values() -%}
            {%- if node.resource_type == 'seed' and node.alias == model.identifier -%}
                {{- return(node.original_file_path) -}}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{- return(model.identifier ~ ".csv") -}}
{%- endmacro %}

{#- A SQL string expression quoting a value for the message: 'value' -#}
{% macro _seed_quoted(expression) -%}
    {{ dbt.concat(["''''", "cast(" ~ expression ~ " as " ~ dbt.type_string() ~ ")", "''''"]) }}
{%- endmacro %}
