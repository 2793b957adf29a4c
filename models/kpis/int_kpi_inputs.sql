{#- One row per KPI per day with data: the union of every KPI input model (see macro kpi_input_models),
    and the day rows of the row-level KPIs (count_distinct, percentile: int_kpi_row_periods).
    Totals only: of a model with segment columns, the rows whose segment_dimension is null
    (its segment rows go to int_kpi_segment_inputs). -#}
{%- set input_models = okr_kpi.kpi_input_models() -%}
{%- set double = okr_kpi.type_double() -%}

with unioned as (
    select
        cast(kpi_id as {{ dbt.type_string() }}) as kpi_id,
        cast(period_start as date) as date_day,
        cast(numerator as {{ double }}) as numerator,
        cast(denominator as {{ double }}) as denominator,
        cast(input_model as {{ dbt.type_string() }}) as input_model
    from {{ ref('int_kpi_row_periods') }}
    where grain = 'day'
    {%- for model_name in input_models %}
    union all
    select
        cast(kpi_id as {{ dbt.type_string() }}) as kpi_id,
        cast(date_day as date) as date_day,
        cast(numerator as {{ double }}) as numerator,
        cast(denominator as {{ double }}) as denominator,
        cast('{{ model_name }}' as {{ dbt.type_string() }}) as input_model
    from {{ okr_kpi.project_ref(model_name) }}
    {%- if okr_kpi._kpi_has_segment_columns(okr_kpi.project_ref(model_name)) %}
    where segment_dimension is null
    {%- endif %}
    {%- endfor %}
)

select * from unioned
where date_day is not null
