{#- The body of int_kpi_row_inputs (segmented=false: the total rows) and of
    int_kpi_segment_row_inputs (segmented=true: the segment rows of the dimensions the KPI
    declares, with segment_dimension and segment_value). -#}
{% macro _kpi_row_inputs(segmented) -%}
{%- set row_models = okr_kpi.kpi_row_input_models() -%}
{%- set start_date = var('okr_kpi_start_date', none) -%}
{%- set double = okr_kpi.type_double() -%}
{%- set string = dbt.type_string() -%}
{%- set definitions_relation = okr_kpi.project_ref('kpi_definitions') -%}
{%- set branches = [] -%}
{%- for model_name in row_models -%}
    {#- the ref is taken whatever the columns, so that dbt orders the model after its inputs -#}
    {%- set relation = okr_kpi.project_ref(model_name) -%}
    {%- set has_segments = okr_kpi._kpi_has_segment_columns(relation) -%}
    {%- if not segmented or has_segments -%}
        {%- do branches.append({'name': model_name, 'relation': relation, 'has_segments': has_segments}) -%}
    {%- endif -%}
{%- endfor %}

with definitions as (
    select
        cast(definitions.kpi_id as {{ string }}) as kpi_id,
        cast(definitions.aggregation as {{ string }}) as aggregation,
        {{ okr_kpi.kpi_percentile(definitions_relation, 'definitions') }} as percentile
        {%- if segmented %},
        {{ okr_kpi.kpi_segment_dimension_list(definitions_relation, 'definitions') }} as dimension_list
        {%- endif %}
    from {{ definitions_relation }} as definitions
    where cast(definitions.aggregation as {{ string }}) in ('count_distinct', 'percentile')
),

unioned as (
    {%- for branch in branches %}
    select
        cast(kpi_id as {{ string }}) as kpi_id,
        cast(date_day as date) as date_day,
        cast(member as {{ string }}) as member,
        cast(value as {{ double }}) as value,
        {%- if segmented %}
        cast(segment_dimension as {{ string }}) as segment_dimension,
        cast(segment_value as {{ string }}) as segment_value,
        {%- endif %}
        cast('{{ branch.name }}' as {{ string }}) as input_model
    from {{ branch.relation }}
    {%- if segmented %}
    where segment_dimension is not null
    {%- elif branch.has_segments %}
    where segment_dimension is null
    {%- endif %}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
    {%- if branches | length == 0 %}
    select
        cast(null as {{ string }}) as kpi_id,
        cast(null as date) as date_day,
        cast(null as {{ string }}) as member,
        cast(null as {{ double }}) as value,
        {%- if segmented %}
        cast(null as {{ string }}) as segment_dimension,
        cast(null as {{ string }}) as segment_value,
        {%- endif %}
        cast(null as {{ string }}) as input_model
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
        {%- if segmented %}
        unioned.segment_dimension,
        unioned.segment_value,
        {%- endif %}
        unioned.input_model,
        definitions.aggregation,
        definitions.percentile
    from unioned
    inner join definitions on unioned.kpi_id = definitions.kpi_id
    where
        unioned.date_day <= {{ okr_kpi.as_of_date() }}
        and unioned.date_day >= cast('{{ (start_date or '1900-01-01') | string | trim }}' as date)
        {%- if segmented %}
        and {{ okr_kpi.kpi_declares_segment('definitions.dimension_list', 'unioned.segment_dimension') }}
        {%- endif %}
),

final as (
    select * from in_span
)

select * from final
{%- endmacro %}
