{#- One row per day from the first day of data (or var okr_kpi_start_date) to as_of_date. -#}
{%- set start_date = var('okr_kpi_start_date', none) -%}
{%- if start_date and modules.re.match('^\d{4}-\d{2}-\d{2}$', start_date | string | trim) is none -%}
    {{ exceptions.raise_compiler_error("var okr_kpi_start_date must be a date YYYY-MM-DD, got '" ~ start_date ~ "'") }}
{%- endif %}

with bounds as (
    {%- if start_date %}
    -- one row, whatever the inputs hold: the calendar starts on the var's day
    select
        cast('{{ start_date | string | trim }}' as date) as start_date,
        {{ okr_kpi.as_of_date() }} as end_date
    {%- else %}
    select
        coalesce(min(date_day), {{ okr_kpi.as_of_date() }}) as start_date,
        {{ okr_kpi.as_of_date() }} as end_date
    from {{ ref('int_kpi_inputs') }}
    {%- endif %}
),

spine as (
    {{ okr_kpi.date_spine('(select start_date from bounds)', '(select end_date from bounds)') }}
)

select date_day from spine
