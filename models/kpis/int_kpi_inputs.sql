{#- One row per KPI per day with data: the union of every KPI input model (see macro kpi_input_models). -#}
{%- set input_models = okr_kpi.kpi_input_models() -%}
{%- set double = okr_kpi.type_double() -%}

with unioned as (
    {%- for model_name in input_models %}
    select
        cast(kpi_id as {{ dbt.type_string() }}) as kpi_id,
        cast(date_day as date) as date_day,
        cast(numerator as {{ double }}) as numerator,
        cast(denominator as {{ double }}) as denominator,
        cast('{{ model_name }}' as {{ dbt.type_string() }}) as input_model
    from {{ okr_kpi.project_ref(model_name) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
    {%- if input_models | length == 0 %}
    select
        cast(null as {{ dbt.type_string() }}) as kpi_id,
        cast(null as date) as date_day,
        cast(null as {{ double }}) as numerator,
        cast(null as {{ double }}) as denominator,
        cast(null as {{ dbt.type_string() }}) as input_model
    from {{ okr_kpi.project_ref('kpi_definitions') }}
    where 1 = 0
    {%- endif %}
)

select * from unioned
where date_day is not null
