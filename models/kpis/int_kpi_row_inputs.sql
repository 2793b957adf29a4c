{#- count_distinct and percentile KPIs: one row per event of the KPI calendar (var
    okr_kpi_start_date .. as_of_date) from the row-level input models (var okr_kpi_kpi_row_inputs,
    macro okr_kpi.kpi_row_input), with the KPI's aggregation and percentile. A view: the rows are
    read by int_kpi_row_periods and by MetricFlow (semantic model kpi_rows), never copied. -#}
{{ config(materialized='view') }}
{%- set row_models = okr_kpi.kpi_row_input_models() -%}
{%- set start_date = var('okr_kpi_start_date', none) -%}
{%- set double = okr_kpi.type_double() -%}
{%- set definitions_relation = okr_kpi.project_ref('kpi_definitions') -%}

with definitions as (
    select
        cast(definitions.kpi_id as {{ dbt.type_string() }}) as kpi_id,
        cast(definitions.aggregation as {{ dbt.type_string() }}) as aggregation,
        {{ okr_kpi.kpi_percentile(definitions_relation, 'definitions') }} as percentile
    from {{ definitions_relation }} as definitions
    where cast(definitions.aggregation as {{ dbt.type_string() }}) in ('count_distinct', 'percentile')
),

unioned as (
    {%- for model_name in row_models %}
    select
        cast(kpi_id as {{ dbt.type_string() }}) as kpi_id,
        cast(date_day as date) as date_day,
        cast(member as {{ dbt.type_string() }}) as member,
        cast(value as {{ double }}) as value,
        cast('{{ model_name }}' as {{ dbt.type_string() }}) as input_model
    from {{ okr_kpi.project_ref(model_name) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
    {%- if row_models | length == 0 %}
    select
        cast(null as {{ dbt.type_string() }}) as kpi_id,
        cast(null as date) as date_day,
        cast(null as {{ dbt.type_string() }}) as member,
        cast(null as {{ double }}) as value,
        cast(null as {{ dbt.type_string() }}) as input_model
    from {{ definitions_relation }}
    where 1 = 0
    {%- endif %}
),

in_span as (
    select
        unioned.kpi_id,
        unioned.date_day,
        unioned.member,
        unioned.value,
        unioned.input_model,
        definitions.aggregation,
        definitions.percentile
    from unioned
    inner join definitions on unioned.kpi_id = definitions.kpi_id
    where
        unioned.date_day <= {{ okr_kpi.as_of_date() }}
        and unioned.date_day >= cast('{{ (start_date or '1900-01-01') | string | trim }}' as date)
),

final as (
    select * from in_span
)

select * from final
