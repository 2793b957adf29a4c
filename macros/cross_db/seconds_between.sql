{#- Elapsed seconds from start_ts to end_ts, as a 64-bit float (fractions kept).

    Not dbt.datediff(..., 'second'|'minute'|'hour'): DuckDB and PostgreSQL count unit boundaries
    crossed while dbt-spark rounds the elapsed time up (ceil), so the same data gave different
    values on Spark. This is the elapsed time itself, the same on every warehouse. -#}
{% macro seconds_between(start_ts, end_ts) -%}
    {{ return(adapter.dispatch('seconds_between', 'okr_kpi')(start_ts, end_ts)) }}
{%- endmacro %}

{% macro default__seconds_between(start_ts, end_ts) -%}
    cast(extract(epoch from (cast({{ end_ts }} as timestamp) - cast({{ start_ts }} as timestamp)))
        as {{ okr_kpi.type_double() }})
{%- endmacro %}

{% macro duckdb__seconds_between(start_ts, end_ts) -%}
    cast(date_diff('microsecond', cast({{ start_ts }} as timestamp), cast({{ end_ts }} as timestamp))
        as {{ okr_kpi.type_double() }}) / 1000000
{%- endmacro %}

{% macro spark__seconds_between(start_ts, end_ts) -%}
    cast(unix_micros(cast({{ end_ts }} as timestamp)) - unix_micros(cast({{ start_ts }} as timestamp))
        as {{ okr_kpi.type_double() }}) / 1000000
{%- endmacro %}
