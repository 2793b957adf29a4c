{#- A seed cell as a 64-bit float, whatever type the seed loader inferred for its column (a column
    that is empty in every row may arrive as text or boolean): cast through text. -#}
{% macro to_double(expression) -%}
    cast(cast({{ expression }} as {{ dbt.type_string() }}) as {{ okr_kpi.type_double() }})
{%- endmacro %}

{#- A seed cell as a date, likewise. -#}
{% macro to_date(expression) -%}
    cast(cast({{ expression }} as {{ dbt.type_string() }}) as date)
{%- endmacro %}

{#- A seed cell as text; empty text becomes null. -#}
{% macro to_text(expression) -%}
    {{ return(adapter.dispatch('to_text', 'okr_kpi')(expression)) }}
{%- endmacro %}

{% macro default__to_text(expression) -%}
    nullif(trim(cast({{ expression }} as {{ dbt.type_string() }})), '')
{%- endmacro %}

{#- dbt-spark loads an empty cell of a text seed column as the text 'None': read it as empty. -#}
{% macro spark__to_text(expression) -%}
    nullif(nullif(trim(cast({{ expression }} as {{ dbt.type_string() }})), ''), 'None')
{%- endmacro %}
