{#- Segments (docs/segments.md): helpers shared by the total and the segment models. -#}

{#- True when an input model returns the optional segment columns (segment_dimension,
    segment_value); false while parsing or when the relation is not in the warehouse yet. -#}
{% macro _kpi_has_segment_columns(relation) -%}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set names = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
    {{ return('segment_dimension' in names and 'segment_value' in names) }}
{%- endmacro %}


{#- The KPI's declared segment dimensions: kpi_definitions.segment_dimensions, a `|`-separated
    list of names (spaces ignored), as text '|a|b|' (empty: '||'), so that a dimension is declared
    when its '|name|' is found in it (portable: no split function). -#}
{% macro kpi_segment_dimension_list(relation, alias) -%}
    {{ dbt.concat(["'|'", dbt.replace(
        'coalesce(' ~ okr_kpi.to_text(okr_kpi.seed_column(relation, alias, 'segment_dimensions', 'null')) ~ ", '')",
        "' '", "''"), "'|'"]) }}
{%- endmacro %}

{#- True when `dimension` is one of the declared dimensions `dimension_list` ('|a|b|'). -#}
{% macro kpi_declares_segment(dimension_list, dimension) -%}
    {{ dimension_list }} like {{ dbt.concat(["'%|'", dimension, "'|%'"]) }}
{%- endmacro %}
