{#- A number rounded to 2 decimals as text (for people reading a scoreboard), or `otherwise` (a SQL
    expression) when it is null. Rounds through numeric: PostgreSQL has no round(double, digits). -#}
{% macro number_text(expression, otherwise="''") -%}
    coalesce(
        cast(round(cast({{ expression }} as {{ dbt.type_numeric() }}), 2) as {{ dbt.type_string() }}),
        {{ otherwise }}
    )
{%- endmacro %}
