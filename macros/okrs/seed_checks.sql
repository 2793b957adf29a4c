{#- Every structure check of one definition seed, in one query: the body of the package's seed
    tests (tests/dbt/seeds/, one per seed), which ref the seeds of the project that installs the
    package, so a consumer's own seeds are checked by `dbt build` with nothing copied.

    model             the seed (a ref)
    required_columns  columns the seed's header must name (a missing one stops the build)
    rules             a list of rules built by okr_kpi._seed_rule_* (seed_tests.sql); a rule on a
                      column the seed does not have is skipped (optional columns)

    At run time the bad rows are read and the test stops the build with a message naming the seed
    file, then for each failing column the column and its bad rows (the first columns, the key
    first), for example:

        Seed check failed: okr_key_results (seeds/okr_key_results.csv), column objective_id:
          row [key_result_id=kr-x, objective_id=nope, title=...]: 'nope' is not found in okr_objectives.objective_id

    The compiled test still selects the bad rows, so it also fails the usual way if the message
    cannot be raised. -#}
{% macro seed_checks(model, required_columns, rules) -%}
    {%- set present = [] -%}
    {%- if execute -%}
        {%- for column in adapter.get_columns_in_relation(model) -%}
            {%- do present.append(column.name | lower) -%}
        {%- endfor -%}
        {%- set missing = [] -%}
        {%- for column in required_columns if column | lower not in present -%}
            {%- do missing.append(column) -%}
        {%- endfor -%}
        {%- if missing -%}
            {{ exceptions.raise_compiler_error(
                "Seed check failed: " ~ model.identifier ~ " (" ~ okr_kpi._seed_file(model) ~ "): missing column(s) "
                ~ (missing | join(", ")) ~ "; its header row must name " ~ (required_columns | join(", "))
            ) }}
        {%- endif -%}
    {%- endif -%}
    {%- set active = [] -%}
    {%- for rule in rules -%}
        {%- set absent = [] -%}
        {%- for column in rule.columns if execute and column | lower not in present -%}
            {%- do absent.append(column) -%}
        {%- endfor -%}
        {%- if not absent -%}
            {%- do active.append(rule) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set label = okr_kpi._seed_row_label(model) -%}
    {%- set failing_rows -%}
        {%- for rule in active %}
        {% if not loop.first %}union all
        {% endif -%}
        select
            {{ loop.index }} as rule_order,
            {{ label }} as row_label,
            {{ rule.problem }} as problem
        from {{ model }}
        where {{ rule.condition }}
        {%- else %}
        select 0 as rule_order, 'none' as row_label, 'none' as problem
        from {{ model }}
        where 1 = 0
        {%- endfor %}
    {%- endset -%}
    {%- if execute and active -%}
        {%- set first_rows -%}
            select rule_order, row_label, problem
            from (
                select
                    rule_order,
                    row_label,
                    problem,
                    row_number() over (partition by rule_order order by row_label) as row_rank
                from ({{ failing_rows }}) as failing
            ) as ranked
            where row_rank <= 6
            order by rule_order, row_label
        {%- endset -%}
        {%- set result = run_query(first_rows) -%}
        {%- if result.rows | length > 0 -%}
            {%- set blocks = [] -%}
            {%- for rule in active -%}
                {%- set rows = result.rows | selectattr(0, 'equalto', loop.index) | list -%}
                {%- if rows -%}
                    {%- set lines = ["Seed check failed: " ~ model.identifier ~ " (" ~ okr_kpi._seed_file(model)
                                     ~ "), column " ~ rule.label ~ ":"] -%}
                    {%- for row in rows[:5] -%}
                        {%- do lines.append("  row [" ~ row[1] ~ "]: " ~ row[2]) -%}
                    {%- endfor -%}
                    {%- if rows | length > 5 -%}
                        {%- do lines.append("  ... and more rows") -%}
                    {%- endif -%}
                    {%- do blocks.append(lines | join("\n")) -%}
                {%- endif -%}
            {%- endfor -%}
            {{ exceptions.raise_compiler_error(blocks | join("\n")) }}
        {%- endif -%}
    {%- endif -%}
    {{ failing_rows }}
{%- endmacro %}
