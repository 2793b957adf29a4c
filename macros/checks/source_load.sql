{#- The daily load profile of one source table, for the load checks (docs/checks.md, "Freshness
    and load checks"): a model listed in the var okr_kpi_source_loads selects one or more of these
    (union all).

    data_source  the name the KPIs give in kpi_definitions.data_source
    relation     a ref() or source() of the raw rows
    time_column  the rows' timestamp (or date: then has_time=false and only volumes are judged);
                 its day is the business day (okr_kpi.local_date, var okr_kpi_time_zone), as for
                 the KPI inputs, and last_row_at is the business-time wall clock of the last row
    time_zone    as in okr_kpi.kpi_input: this table's zone when it differs from the var

    Returns data_source, date_day, row_count, last_row_at: one row per day with rows. -#}
{% macro source_load(data_source, relation, time_column, has_time=true, time_zone=none) -%}
    select
        cast('{{ data_source }}' as {{ dbt.type_string() }}) as data_source,
        {{ okr_kpi.local_date(time_column, time_zone) }} as date_day,
        count(*) as row_count,
        {%- if has_time %}
        cast(max({{ okr_kpi.local_timestamp(time_column, time_zone) }}) as {{ dbt.type_timestamp() }}) as last_row_at
        {%- else %}
        cast(null as {{ dbt.type_timestamp() }}) as last_row_at
        {%- endif %}
    from {{ relation }}
    where {{ time_column }} is not null
    group by {{ okr_kpi.local_date(time_column, time_zone) }}
{%- endmacro %}
