{#- One row per day from the first day of data (or var okr_kpi_start_date) to as_of_date. -#}
{%- set start_date = var('okr_kpi_start_date', none) -%}

with bounds as (
    select
        {%- if start_date %}
        cast('{{ start_date }}' as date) as start_date,
        {%- else %}
        coalesce(min(date_day), {{ okr_kpi.as_of_date() }}) as start_date,
        {%- endif %}
        {{ okr_kpi.as_of_date() }} as end_date
    from {{ ref('int_kpi_inputs') }}
),

spine as (
    {{ okr_kpi.date_spine('(select start_date from bounds)', '(select end_date from bounds)') }}
)

select date_day from spine
