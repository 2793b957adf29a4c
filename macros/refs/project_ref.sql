{#- A ref to a node of the project that installs the package: its definition seeds
    (kpi_definitions, okr_cycles, ...) and its KPI input and quality models. The ref names the
    root project (ref(project_name, name)), so a consumer's `dbt build` shows no warning that a
    package node depends on a root project node (require_ref_prefers_node_package_to_root).
    "other_package.model" refs a node of another installed package. -#}
{% macro project_ref(name) -%}
    {%- if '.' in name -%}
        {%- set parts = name.split('.', 1) -%}
        {{ return(ref(parts[0], parts[1])) }}
    {%- endif -%}
    {{ return(ref(project_name, name)) }}
{%- endmacro %}
