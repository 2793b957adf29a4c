{#- One row per day from start_date to end_date inclusive (both SQL date expressions), column date_day.
    Portable: a cross join of digits, no generate_series; covers up to 100,000 days. -#}
{% macro date_spine(start_date, end_date) -%}
    {{ return(adapter.dispatch('date_spine', 'okr_kpi')(start_date, end_date)) }}
{%- endmacro %}

{% macro default__date_spine(start_date, end_date) -%}
    select cast({{ dbt.dateadd('day', 'offsets.day_offset', start_date) }} as date) as date_day
    from (
        select
            d1.digit
            + d2.digit * 10
            + d3.digit * 100
            + d4.digit * 1000
            + d5.digit * 10000 as day_offset
        from {{ okr_kpi._digits() }} as d1
        cross join {{ okr_kpi._digits() }} as d2
        cross join {{ okr_kpi._digits() }} as d3
        cross join {{ okr_kpi._digits() }} as d4
        cross join {{ okr_kpi._digits() }} as d5
    ) as offsets
    where offsets.day_offset <= {{ dbt.datediff(start_date, end_date, 'day') }}
{%- endmacro %}

{% macro _digits() -%}
    (
        select 0 as digit union all select 1 union all select 2 union all select 3 union all select 4
        union all select 5 union all select 6 union all select 7 union all select 8 union all select 9
    )
{%- endmacro %}
