{#- The periods a key result may read (docs/segments.md, "Key results on a segment"): the rows of
    fct_kpi_periods with segment_key '' (the total) and those of fct_kpi_segment_periods with
    segment_key 'dimension=value', as one relation with the columns of fct_kpi_periods, the
    columns listed in `columns`. A key result's segment_key (int_okr_key_results) joins it. -#}
{% macro kpi_periods_with_segments(columns) -%}
    (
        select
            {%- for column in columns %}
            {{ column }},
            {%- endfor %}
            cast('' as {{ dbt.type_string() }}) as segment_key
        from {{ ref('fct_kpi_periods') }}
        union all
        select
            {%- for column in columns %}
            {{ column }},
            {%- endfor %}
            {{ dbt.concat(['segment_dimension', "'='", 'segment_value']) }} as segment_key
        from {{ ref('fct_kpi_segment_periods') }}
    )
{%- endmacro %}
