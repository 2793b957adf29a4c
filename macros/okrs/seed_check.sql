{#- The engine of the OKR seed structure tests (seed_not_null, seed_unique, seed_accepted_values,
    seed_link, seed_unique_combination).

    failing_condition  a SQL condition true on the seed's bad rows
    problem            a SQL string expression saying what is wrong with one bad row
    column_name        the column checked (named in the message)

    At run time the bad rows are read and the test stops the build with a message naming the seed
    file, the column and each bad row (its first columns, the key first), for example:

        okr_key_results (seeds/demo/okr_key_results.csv), column objective_id:
          row [key_result_id=kr-x, objective_id=nope, title=...]: 'nope' is not found in okr_objectives.objective_id

    The compiled test still selects the bad rows, so it also fails the usual way if the message
    cannot be raised (e.g. `dbt compile` followed by running the SQL by hand). -#}
{% macro _seed_check(model, column_name, failing_condition, problem) -%}
    {%- set failing_rows -%}
        select
            {{ okr_kpi._seed_row_label(model) }} as row_label,
            {{ problem }} as problem
        from {{ model }}
        where {{ failing_condition }}
    {%- endset -%}
    {%- if execute -%}
        {%- set result = run_query(failing_rows ~ "\n        order by 1\n        limit 6") -%}
        {%- if result.rows | length > 0 -%}
            {%- set lines = [] -%}
            {%- for row in result.rows[:5] -%}
                {%- do lines.append("  row [" ~ row[0] ~ "]: " ~ row[1]) -%}
            {%- endfor -%}
            {%- if result.rows | length > 5 -%}
                {%- do lines.append("  ... and more rows") -%}
            {%- endif -%}
            {{ exceptions.raise_compiler_error(
                "OKR seed check failed: " ~ model.identifier ~ " (" ~ okr_kpi._seed_file(model) ~ "), column "
                ~ column_name ~ ":\n" ~ (lines | join("\n"))
            ) }}
        {%- endif -%}
    {%- endif -%}
    {{ failing_rows }}
{%- endmacro %}

{#- "col=value, col=value, ..." of a row's first three columns, as a SQL string expression. -#}
{% macro _seed_row_label(model) -%}
    {%- set parts = [] -%}
    {%- if execute -%}
        {%- set columns = adapter.get_columns_in_relation(model) -%}
        {%- for column in columns[:3] -%}
            {%- if not loop.first -%}{%- do parts.append("', '") -%}{%- endif -%}
            {%- do parts.append("'" ~ column.name ~ "='") -%}
            {%- do parts.append("coalesce(cast(" ~ adapter.quote(column.name) ~ " as " ~ dbt.type_string() ~ "), '(empty)')") -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if parts | length == 0 -%}
        {%- do parts.append("'?'") -%}
    {%- endif -%}
    {{ dbt.concat(parts) }}
{%- endmacro %}

{#- The seed's CSV path (original_file_path of the seed node), or its name if not found. -#}
{% macro _seed_file(model) -%}
    {%- if execute -%}
        {%- for node in graph.nodes.values() -%}
            {%- if node.resource_type == 'seed' and node.alias == model.identifier -%}
                {{- return(node.original_file_path) -}}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{- return(model.identifier ~ ".csv") -}}
{%- endmacro %}

{#- A SQL string expression quoting a value for the message: 'value' -#}
{% macro _seed_quoted(expression) -%}
    {{ dbt.concat(["''''", "cast(" ~ expression ~ " as " ~ dbt.type_string() ~ ")", "''''"]) }}
{%- endmacro %}
