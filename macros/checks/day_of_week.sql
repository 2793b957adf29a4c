{#- The ISO day of the week of a date as 0 (Monday) .. 6 (Sunday). Portable: days since a known
    Monday, modulo 7 (no extract(dow) / dayofweek dialect differences). -#}
{% macro day_of_week(date_expr) -%}
    ((({{ dbt.datediff("cast('2000-01-03' as date)", date_expr, 'day') }}) % 7 + 7) % 7)
{%- endmacro %}
