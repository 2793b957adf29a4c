{#- Row-level inputs of one count_distinct or percentile KPI from an event table: the row-level
    counterpart of kpi_input (docs/configuration.md, "Row-level KPIs").

    kpi_id       the KPI's id in kpi_definitions (aggregation count_distinct or percentile)
    relation     a ref() or source() of the events
    date_column  the event's timestamp or date; the day is its business day, okr_kpi.local_date
                 (the var okr_kpi_time_zone, default UTC: then plainly cast(date_column as date);
                 raw timestamps are taken as UTC, docs/configuration.md "Business time zone")
    member       count_distinct: the expression whose distinct values are counted (a customer id)
    value        percentile: the expression whose percentile is taken (a response time)
    where        an optional filter on the events
    time_zone    the zone whose calendar days count (default: the var okr_kpi_time_zone, UTC);
                 give 'UTC' for a date_column that already holds a date (a business day)

    segments     optional segment dimensions (docs/segments.md): a list of column names, or a
                 dict dimension name -> SQL expression of the segment value

    Returns kpi_id, date_day, member, value: one row per event passing the filter whose member
    (or value) is not null. The package computes every period of every grain from these rows
    (models/kpis/int_kpi_row_periods.sql), never from daily values. List the model in the var
    okr_kpi_kpi_row_inputs. With segments, also segment_dimension and segment_value: each event
    once as a total row (both null) and once per dimension (one scan, a cross join with the
    dimensions). -#}
{% macro kpi_row_input(kpi_id, relation, date_column, member=none, value=none, where=none, time_zone=none,
                       segments=none) -%}
    {%- if (member is none) == (value is none) -%}
        {{ exceptions.raise_compiler_error("kpi_row_input(" ~ kpi_id ~ "): give exactly one of member (count_distinct) or value (percentile)") }}
    {%- endif -%}
    {%- set measured = member if member is not none else value -%}
    {%- set segment_list = okr_kpi._kpi_segment_list(segments, relation) -%}
    select
        cast('{{ kpi_id }}' as {{ dbt.type_string() }}) as kpi_id,
        {{ okr_kpi.local_date(date_column, time_zone) }} as date_day,
        cast({{ member if member is not none else 'null' }} as {{ dbt.type_string() }}) as member,
        cast({{ value if value is not none else 'null' }} as {{ okr_kpi.type_double() }}) as value
        {%- if segment_list | length > 0 %},
        case okr_kpi_segments.okr_kpi_segment_number
            {%- for segment in segment_list %}
            when {{ loop.index }} then cast('{{ segment.name }}' as {{ dbt.type_string() }})
            {%- endfor %}
        end as segment_dimension,
        case okr_kpi_segments.okr_kpi_segment_number
            {%- for segment in segment_list %}
            when {{ loop.index }} then {{ okr_kpi.kpi_segment_value(segment.expression) }}
            {%- endfor %}
        end as segment_value
        {%- endif %}
    from {{ relation }}
    {%- if segment_list | length > 0 %}
    cross join (
        select 0 as okr_kpi_segment_number
        {%- for segment in segment_list %}
        union all select {{ loop.index }}
        {%- endfor %}
    ) as okr_kpi_segments
    {%- endif %}
    where
        ({{ measured }}) is not null
        and {{ date_column }} is not null
        {%- if where %}
        and ({{ where }})
        {%- endif %}
{%- endmacro %}


{#- The models that produce row-level KPI inputs: the var okr_kpi_kpi_row_inputs of the project
    that installs the package. Each returns kpi_id, date_day, member, value: one row per event. -#}
{% macro kpi_row_input_models() -%}
    {{ return(var('okr_kpi_kpi_row_inputs', []) | list) }}
{%- endmacro %}


{#- The percentile (0 < p < 1) of a percentile KPI, from the optional kpi_definitions column
    `percentile` (`median` means 0.5); null when the seed has no such column or the cell is empty. -#}
{% macro kpi_percentile(relation, alias) -%}
    {%- set text = okr_kpi.seed_column(relation, alias, 'percentile', 'null') -%}
    case
        when lower(trim({{ text }})) = 'median' then cast(0.5 as {{ okr_kpi.type_double() }})
        when trim({{ text }}) = '' then cast(null as {{ okr_kpi.type_double() }})
        else cast(trim({{ text }}) as {{ okr_kpi.type_double() }})
    end
{%- endmacro %}


{#- Seed check of kpi_definitions.percentile: every non-empty value is a number or the word
    `median` (lint checks the range, 0 < p < 1, and which KPIs may have one). -#}
{% macro _seed_rule_percentile(column) -%}
    {%- set text = okr_kpi.to_text(column) -%}
    {{ return({'columns': [column], 'label': column,
               'condition': text ~ " is not null and lower(trim(" ~ text ~ ")) <> 'median' and not (" ~ okr_kpi.seed_value_is_number(text) ~ ")",
               'problem': dbt.concat([okr_kpi._seed_quoted(column), "' is neither a number nor median'"])}) }}
{%- endmacro %}
