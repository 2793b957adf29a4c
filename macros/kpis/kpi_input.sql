{#- Daily inputs of one KPI from an event table: the convenience macro for KPI input models.

    kpi_id       the KPI's id in kpi_definitions
    relation     a ref() or source() of the events
    date_column  the event's timestamp or date; the day is cast(date_column as date)
    aggregation  sum | count | ratio | average | min | max (a `last` KPI is a daily stock: write its SQL)
    value        the expression to sum / count / average / min / max (count: default *)
    numerator, denominator   ratio only: expressions summed per day
    where        an optional filter on the events

    Returns kpi_id, date_day, numerator, denominator: one row per day with events. -#}
{% macro kpi_input(kpi_id, relation, date_column, aggregation, value=none, numerator=none, denominator=none,
                   where=none) -%}
    {%- set float_type = okr_kpi.type_double() -%}
    {%- if aggregation not in ['sum', 'count', 'ratio', 'average', 'min', 'max'] -%}
        {{ exceptions.raise_compiler_error("kpi_input(" ~ kpi_id ~ "): aggregation must be sum, count, ratio, average, min or max, got '" ~ aggregation ~ "'") }}
    {%- endif -%}
    {%- if aggregation == 'ratio' and (numerator is none or denominator is none) -%}
        {{ exceptions.raise_compiler_error("kpi_input(" ~ kpi_id ~ "): a ratio needs numerator and denominator") }}
    {%- endif -%}
    {%- if aggregation in ['sum', 'average', 'min', 'max'] and value is none -%}
        {{ exceptions.raise_compiler_error("kpi_input(" ~ kpi_id ~ "): aggregation " ~ aggregation ~ " needs value") }}
    {%- endif -%}
    select
        cast('{{ kpi_id }}' as {{ dbt.type_string() }}) as kpi_id,
        cast({{ date_column }} as date) as date_day,
        {%- if aggregation == 'count' %}
        cast(count({{ value or '*' }}) as {{ float_type }}) as numerator,
        cast(null as {{ float_type }}) as denominator
        {%- elif aggregation == 'sum' %}
        cast(sum({{ value }}) as {{ float_type }}) as numerator,
        cast(null as {{ float_type }}) as denominator
        {%- elif aggregation == 'ratio' %}
        cast(sum({{ numerator }}) as {{ float_type }}) as numerator,
        cast(sum({{ denominator }}) as {{ float_type }}) as denominator
        {%- elif aggregation == 'average' %}
        cast(sum({{ value }}) as {{ float_type }}) as numerator,
        cast(count({{ value }}) as {{ float_type }}) as denominator
        {%- else %}
        cast({{ aggregation }}({{ value }}) as {{ float_type }}) as numerator,
        cast(null as {{ float_type }}) as denominator
        {%- endif %}
    from {{ relation }}
    {%- if where %}
    where {{ where }}
    {%- endif %}
    group by cast({{ date_column }} as date)
{%- endmacro %}
