{#- Structure tests of the OKR seeds. Each stops the build with a message naming the seed file,
    the column and the bad rows (see _seed_check). Use them in a seeds YAML as
    `okr_kpi.seed_not_null`, `okr_kpi.seed_unique`, ... -#}

{#- The column is never empty. -#}
{% test seed_not_null(model, column_name) -%}
    {{ okr_kpi._seed_check(model, column_name, okr_kpi.to_text(column_name) ~ " is null", "'is empty'") }}
{%- endtest %}

{#- No two rows share a value of the column. -#}
{% test seed_unique(model, column_name) -%}
    {%- set duplicated -%}
        {{ column_name }} in (
            select {{ column_name }} from {{ model }}
            where {{ column_name }} is not null
            group by {{ column_name }}
            having count(*) > 1
        )
    {%- endset -%}
    {{ okr_kpi._seed_check(model, column_name, duplicated,
        dbt.concat([okr_kpi._seed_quoted(column_name), "' appears in more than one row'"])) }}
{%- endtest %}

{#- No two rows share the values of `columns` (a list). -#}
{% test seed_unique_combination(model, columns) -%}
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
    {{ okr_kpi._seed_check(model, columns | join(", "), duplicated,
        "'the combination of " ~ (columns | join(", ")) ~ " appears in more than one row'") }}
{%- endtest %}

{#- Only the listed values (empty cells are left to seed_not_null). -#}
{% test seed_accepted_values(model, column_name, values) -%}
    {%- set listed = [] -%}
    {%- for value in values -%}
        {%- do listed.append("'" ~ value ~ "'") -%}
    {%- endfor -%}
    {%- set condition -%}
        {{ okr_kpi.to_text(column_name) }} not in ({{ listed | join(", ") }})
    {%- endset -%}
    {{ okr_kpi._seed_check(model, column_name, condition,
        dbt.concat([okr_kpi._seed_quoted(column_name), "' is not one of " ~ (values | join(", ")) ~ "'"])) }}
{%- endtest %}

{#- Every non-empty value is a `field` of the seed `to` (a ref). -#}
{% test seed_link(model, column_name, to, field) -%}
    {%- set condition -%}
        {{ okr_kpi.to_text(column_name) }} not in (
            select {{ okr_kpi.to_text(field) }} from {{ to }} where {{ okr_kpi.to_text(field) }} is not null
        )
    {%- endset -%}
    {{ okr_kpi._seed_check(model, column_name, condition,
        dbt.concat([okr_kpi._seed_quoted(column_name), "' is not found in " ~ to.identifier ~ "." ~ field ~ "'"])) }}
{%- endtest %}
