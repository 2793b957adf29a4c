{#- One row per KPI, segment dimension, segment value and day with data: the segment rows
    (segment_dimension not null) of the KPI input models that return the optional segment columns
    (macro kpi_input with `segments`, docs/segments.md), and the day rows of the row-level KPIs'
    segments (int_kpi_segment_row_periods). Only the dimensions the KPI declares in
    kpi_definitions.segment_dimensions are kept. -#}
{%- set input_models = okr_kpi.kpi_input_models() -%}
{%- set double = okr_kpi.type_double() -%}
{%- set string = dbt.type_string() -%}
{%- set definitions_relation = okr_kpi.project_ref('kpi_definitions') -%}

with definitions as (
    select
        cast(definitions.kpi_id as {{ string }}) as kpi_id,
        {{ okr_kpi.kpi_segment_dimension_list(definitions_relation, 'definitions') }} as dimension_list
    from {{ definitions_relation }} as definitions
),

unioned as (
    select
        cast(kpi_id as {{ string }}) as kpi_id,
        cast(segment_dimension as {{ string }}) as segment_dimension,
        cast(segment_value as {{ string }}) as segment_value,
        cast(period_start as date) as date_day,
        cast(numerator as {{ double }}) as numerator,
        cast(denominator as {{ double }}) as denominator,
        cast(input_model as {{ string }}) as input_model
    from {{ ref('int_kpi_segment_row_periods') }}
    where grain = 'day'
    {%- for model_name in input_models %}
    {#- the ref is taken whatever the columns, so that dbt orders the model after its inputs #}
    {%- set input_relation = okr_kpi.project_ref(model_name) %}
    {%- if okr_kpi._kpi_has_segment_columns(input_relation) %}
    union all
    select
        cast(kpi_id as {{ string }}) as kpi_id,
        cast(segment_dimension as {{ string }}) as segment_dimension,
        cast(segment_value as {{ string }}) as segment_value,
        cast(date_day as date) as date_day,
        cast(numerator as {{ double }}) as numerator,
        cast(denominator as {{ double }}) as denominator,
        cast('{{ model_name }}' as {{ string }}) as input_model
    from {{ input_relation }}
    where segment_dimension is not null
    {%- endif %}
    {%- endfor %}
),

final as (
    select unioned.*
    from unioned
    inner join definitions
        on
            unioned.kpi_id = definitions.kpi_id
            and {{ okr_kpi.kpi_declares_segment('definitions.dimension_list', 'unioned.segment_dimension') }}
    where unioned.date_day is not null
)

select * from final
