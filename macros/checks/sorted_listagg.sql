{#- Aggregate: the values of `measure` sorted and joined with `delimiter` (a Python string). -#}
{% macro sorted_listagg(measure, delimiter=',') -%}
    {{ return(adapter.dispatch('sorted_listagg', 'okr_kpi')(measure, delimiter)) }}
{%- endmacro %}

{% macro default__sorted_listagg(measure, delimiter) -%}
    {{ dbt.listagg(measure, "'" ~ delimiter ~ "'", 'order by ' ~ measure) }}
{%- endmacro %}

{% macro spark__sorted_listagg(measure, delimiter) -%}
    array_join(sort_array(collect_list({{ measure }})), '{{ delimiter }}')
{%- endmacro %}
