{#- The business day of a timestamp: the calendar day, in the business time zone, of an instant.

    The zone is the argument `time_zone`, else the var okr_kpi_time_zone (default 'UTC'; an IANA
    name such as 'Europe/Paris' or 'America/New_York'). Raw timestamps are taken as UTC: a
    `timestamp` (without time zone) column is read as the UTC wall clock of the instant
    (docs/configuration.md, "Business time zone"). A `timestamptz` column: pass it converted to
    UTC (PostgreSQL `ts at time zone 'UTC'`, DuckDB `timezone('UTC', ts)`).
    With the zone UTC the result is plainly cast(expression as date), so a column that already
    holds a date is kept as it is; with another zone the expression must be a timestamp. -#}
{% macro local_date(expression, time_zone=none) -%}
    {%- set zone = okr_kpi.business_time_zone(time_zone) -%}
    {%- if zone | upper in ('UTC', 'ETC/UTC', 'Z', 'GMT') -%}
        cast({{ expression }} as date)
    {%- else -%}
        {{ return(adapter.dispatch('local_date', 'okr_kpi')(expression, zone)) }}
    {%- endif -%}
{%- endmacro %}

{#- The business time zone: `time_zone` when given, else the var okr_kpi_time_zone, else UTC;
    refused when it is not a plain zone name. -#}
{% macro business_time_zone(time_zone=none) -%}
    {%- set zone = (time_zone or var('okr_kpi_time_zone', 'UTC') or 'UTC') | string | trim -%}
    {%- if modules.re.match('^[A-Za-z][A-Za-z0-9_+\-/]*$', zone) is none -%}
        {{ exceptions.raise_compiler_error("var okr_kpi_time_zone must be a time zone name such as 'Europe/Paris', got '" ~ zone ~ "'") }}
    {%- endif -%}
    {{ return(zone) }}
{%- endmacro %}

{#- True when the business time zone is not UTC (a timestamp's UTC day and business day may differ). -#}
{% macro time_zone_shifts(time_zone=none) -%}
    {{ return(okr_kpi.business_time_zone(time_zone) | upper not in ('UTC', 'ETC/UTC', 'Z', 'GMT')) }}
{%- endmacro %}

{% macro default__local_date(expression, zone) -%}
    cast((({{ expression }}) at time zone 'UTC') at time zone '{{ zone }}' as date)
{%- endmacro %}

{% macro duckdb__local_date(expression, zone) -%}
    cast(timezone('{{ zone }}', timezone('UTC', {{ expression }})) as date)
{%- endmacro %}

{% macro spark__local_date(expression, zone) -%}
    to_date(from_utc_timestamp({{ expression }}, '{{ zone }}'))
{%- endmacro %}

{#- The business-time wall clock of an instant (a timestamp without time zone): the hour of the
    day as the business sees it. Raw timestamps are taken as UTC, as in local_date; with the zone
    UTC the expression is returned as it is. -#}
{% macro local_timestamp(expression, time_zone=none) -%}
    {%- set zone = okr_kpi.business_time_zone(time_zone) -%}
    {%- if zone | upper in ('UTC', 'ETC/UTC', 'Z', 'GMT') -%}
        {{ expression }}
    {%- else -%}
        {{ return(adapter.dispatch('local_timestamp', 'okr_kpi')(expression, zone)) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__local_timestamp(expression, zone) -%}
    cast((({{ expression }}) at time zone 'UTC') at time zone '{{ zone }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{% macro duckdb__local_timestamp(expression, zone) -%}
    cast(timezone('{{ zone }}', timezone('UTC', {{ expression }})) as {{ dbt.type_timestamp() }})
{%- endmacro %}

{% macro spark__local_timestamp(expression, zone) -%}
    from_utc_timestamp({{ expression }}, '{{ zone }}')
{%- endmacro %}
