{#- The daily load profile of one source table, for the load checks (docs/checks.md, "Freshness
    and load checks"): a model listed in the var okr_kpi_source_loads selects one or more of these
    (union all).

    data_source  the name the KPIs give in kpi_definitions.data_source
    relation     a ref() or source() of the raw rows
    time_column  the rows' timestamp (or date: then has_time=false and only volumes are judged)

    Returns data_source, date_day, row_count, last_row_at: one row per day with rows. -#}
{% macro source_load(data_source, relation, time_column, has_time=true) -%}
    select
        cast('{{ data_source }}' as {{ dbt.type_string() }}) as data_source,
        cast({{ time_column }} as date) as date_day,
        count(*) as row_count,
        {%- if has_time %}
        cast(max({{ time_column }}) as {{ dbt.type_timestamp() }}) as last_row_at
        {%- else %}
        cast(null as {{ dbt.type_timestamp() }}) as last_row_at
        {%- endif %}
    from {{ relation }}
    where {{ time_column }} is not null
    group by cast({{ time_column }} as date)
{%- endmacro %}
