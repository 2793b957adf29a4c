{#- A 64-bit float everywhere (dbt.type_float() is 32-bit on DuckDB and Spark). -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'okr_kpi')()) }}
{%- endmacro %}

{% macro default__type_double() -%}double precision{%- endmacro %}

{% macro spark__type_double() -%}double{%- endmacro %}
