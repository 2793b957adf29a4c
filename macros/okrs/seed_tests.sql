{#- Structure rules of the definition seeds. Each _seed_rule_* returns a rule for seed_checks
    (seed_checks.sql): the columns it reads, the label of the column named in the message, a SQL
    condition true on the bad rows and a SQL string expression saying what is wrong with one.
    The generic tests below apply one rule each (`okr_kpi.seed_not_null`, ... in a seeds YAML),
    for seeds of your own; the package's definition seeds are checked by tests/dbt/seeds/. -#}

{#- The column is never empty. -#}
{% macro _seed_rule_not_null(column) -%}
    {{ return({'columns': [column], 'label': column,
               'condition': okr_kpi.to_text(column) ~ " is null", 'problem': "'is empty'"}) }}
{%- endmacro %}

{#- No two rows share a value of the column. -#}
{% macro _seed_rule_unique(model, column) -%}
    {%- set duplicated -%}
        {{ column }} in (
            select {{ column }} from {{ model }}
            where {{ column }} is not null
            group by {{ column }}
            having count(*) > 1
        )
    {%- endset -%}
    {{ return({'columns': [column], 'label': column, 'condition': duplicated,
               'problem': dbt.concat([okr_kpi._seed_quoted(column), "' appears in more than one row'"])}) }}
{%- endmacro %}

{#- No two rows share the values of `columns` (a list). -#}
{% macro _seed_rule_unique_combination(model, columns) -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- if not loop.first -%}{%- do parts.append("'|'") -%}{%- endif -%}
        {%- do parts.append("coalesce(cast(" ~ column ~ " as " ~ dbt.type_string() ~ "), '')") -%}
    {%- endfor -%}
    {%- set key = dbt.concat(parts) -%}
    {%- set duplicated -%}
        {{ key }} in (
            select {{ key }} from {{ model }}
            group by {{ key }}
            having count(*) > 1
        )
    {%- endset -%}
    {{ return({'columns': columns, 'label': columns | join(", "), 'condition': duplicated,
               'problem': "'the combination of " ~ (columns | join(", ")) ~ " appears in more than one row'"}) }}
{%- endmacro %}

{#- Only the listed values (empty cells are left to the not-null rule). -#}
{% macro _seed_rule_accepted_values(column, values) -%}
    {%- set listed = [] -%}
    {%- for value in values -%}
        {%- do listed.append("'" ~ value ~ "'") -%}
    {%- endfor -%}
    {{ return({'columns': [column], 'label': column,
               'condition': okr_kpi.to_text(column) ~ " not in (" ~ (listed | join(", ")) ~ ")",
               'problem': dbt.concat([okr_kpi._seed_quoted(column), "' is not one of " ~ (values | join(", ")) ~ "'"])}) }}
{%- endmacro %}

{#- Every non-empty value is a `field` of the seed `to` (a ref). -#}
{% macro _seed_rule_link(column, to, field) -%}
    {%- set condition -%}
        {{ okr_kpi.to_text(column) }} not in (
            select {{ okr_kpi.to_text(field) }} from {{ to }} where {{ okr_kpi.to_text(field) }} is not null
        )
    {%- endset -%}
    {{ return({'columns': [column], 'label': column, 'condition': condition,
               'problem': dbt.concat([okr_kpi._seed_quoted(column), "' is not found in " ~ to.identifier ~ "." ~ field ~ "'"])}) }}
{%- endmacro %}

{#- Every non-empty value is a number (the models read it as one). -#}
{% macro _seed_rule_number(column) -%}
    {{ return({'columns': [column], 'label': column,
               'condition': okr_kpi.to_text(column) ~ " is not null and not (" ~ okr_kpi.seed_value_is_number(okr_kpi.to_text(column)) ~ ")",
               'problem': dbt.concat([okr_kpi._seed_quoted(column), "' is not a number'"])}) }}
{%- endmacro %}

{#- Every non-empty value is a date written YYYY-MM-DD. -#}
{% macro _seed_rule_date(column) -%}
    {{ return({'columns': [column], 'label': column,
               'condition': okr_kpi.to_text(column) ~ " is not null and not (" ~ okr_kpi.seed_value_is_date(okr_kpi.to_text(column)) ~ ")",
               'problem': dbt.concat([okr_kpi._seed_quoted(column), "' is not a date (YYYY-MM-DD)'"])}) }}
{%- endmacro %}

{#- A condition true when the text `expression` reads as a number / as a date. -#}
{% macro seed_value_is_number(expression) -%}
    {{ return(adapter.dispatch('seed_value_is_number', 'okr_kpi')(expression)) }}
{%- endmacro %}

{% macro default__seed_value_is_number(expression) -%}
    {{ expression }} ~ '^\s*[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)?\s*$'
{%- endmacro %}

{% macro duckdb__seed_value_is_number(expression) -%}
    try_cast({{ expression }} as double) is not null
{%- endmacro %}

{% macro spark__seed_value_is_number(expression) -%}
    try_cast({{ expression }} as double) is not null
{%- endmacro %}

{% macro seed_value_is_date(expression) -%}
    {{ return(adapter.dispatch('seed_value_is_date', 'okr_kpi')(expression)) }}
{%- endmacro %}

{% macro default__seed_value_is_date(expression) -%}
    {{ expression }} ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}'
{%- endmacro %}

{% macro duckdb__seed_value_is_date(expression) -%}
    try_cast({{ expression }} as date) is not null
{%- endmacro %}

{% macro spark__seed_value_is_date(expression) -%}
    try_cast({{ expression }} as date) is not null
{%- endmacro %}

{#- The generic tests: one rule each, with the same message as the package's seed tests. -#}
{% test seed_not_null(model, column_name) -%}
    {{ okr_kpi.seed_checks(model, [], [okr_kpi._seed_rule_not_null(column_name)]) }}
{%- endtest %}

{% test seed_unique(model, column_name) -%}
    {{ okr_kpi.seed_checks(model, [], [okr_kpi._seed_rule_unique(model, column_name)]) }}
{%- endtest %}

{% test seed_unique_combination(model, columns) -%}
    {{ okr_kpi.seed_checks(model, [], [okr_kpi._seed_rule_unique_combination(model, columns)]) }}
{%- endtest %}

{% test seed_accepted_values(model, column_name, values) -%}
    {{ okr_kpi.seed_checks(model, [], [okr_kpi._seed_rule_accepted_values(column_name, values)]) }}
{%- endtest %}

{% test seed_link(model, column_name, to, field) -%}
    {{ okr_kpi.seed_checks(model, [], [okr_kpi._seed_rule_link(column_name, to, field)]) }}
{%- endtest %}
