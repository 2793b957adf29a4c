{#- Nightly data tests read recent rows, not all of history (docs/checks.md, "Recent rows").

    okr_kpi overrides dbt's get_where_subquery, the macro that applies a test's `where` config.
    When a window is set -- the environment variable OKR_KPI_TEST_SINCE ('YYYY-MM-DD'), which
    `okr-kpi run` sets, else the var okr_kpi_test_since -- a column test on a source
    or model with an `event_time` config reads only:
    - for `unique`: the rows whose value also appears on a recent row, so a new row that repeats
      an old key is still caught (only that column is read from older rows);
    - for every other column test: the rows with event_time on or after the window's first day,
      and the rows whose event_time is null (a not_null test on event_time must still see them).
    Table-level tests (row counts) and relations without event_time read everything, as does
    every test when no window is set (a plain `dbt build`). A test's own `where` still applies.

    The window is read when the test runs, never while dbt parses, so a new date every night
    does not make dbt parse the whole project again.
-#}
{% macro default__get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- set recent = okr_kpi.recent_rows_condition(relation) if execute else '' -%}
    {%- set conditions = [] -%}
    {%- if where -%}{%- do conditions.append('(' ~ where ~ ')') -%}{%- endif -%}
    {%- if recent -%}{%- do conditions.append(recent) -%}{%- endif -%}
    {%- if conditions -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ conditions | join(' and ') }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}


{#- The window's first day ('YYYY-MM-DD'), or none for all of history. -#}
{% macro test_window_since() -%}
    {%- set value = env_var('OKR_KPI_TEST_SINCE', '') -%}
    {%- if value is none or (value | string | trim) == '' -%}
        {%- set value = var('okr_kpi_test_since', none) -%}
    {%- endif -%}
    {%- if value is none or (value | string | trim) == '' -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- set text = value | string | trim -%}
    {%- if modules.re.match('^\d{4}-\d{2}-\d{2}$', text) is none -%}
        {{ exceptions.raise_compiler_error("okr_kpi_test_since / OKR_KPI_TEST_SINCE must be a date YYYY-MM-DD, got '" ~ text ~ "'") }}
    {%- endif -%}
    {%- do return(text) -%}
{%- endmacro %}


{#- The node (source, model, seed or snapshot) whose relation is `relation`, among the nodes the
    test `model` depends on; none if it is not found. -#}
{% macro _tested_node(relation) -%}
    {%- set wanted = (relation | string) | replace('"', '') | replace('`', '') | lower -%}
    {%- for unique_id in model.depends_on.nodes -%}
        {%- set node = graph.sources.get(unique_id) or graph.nodes.get(unique_id) -%}
        {%- if node and node.relation_name
              and (node.relation_name | replace('"', '') | replace('`', '') | lower) == wanted -%}
            {%- do return(node) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- do return(none) -%}
{%- endmacro %}


{#- The recent-rows condition for the test being compiled (see default__get_where_subquery), or
    '' when the test reads everything. -#}
{% macro recent_rows_condition(relation) -%}
    {%- set since = okr_kpi.test_window_since() -%}
    {%- if since is none or model is not mapping or model.get('resource_type') != 'test' -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- set column = model.get('column_name') -%}
    {%- if not column -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- set node = okr_kpi._tested_node(relation) -%}
    {%- set event_time = node.config.get('event_time') if node else none -%}
    {%- if not event_time -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- set start = "cast('" ~ since ~ "' as " ~ dbt.type_timestamp() ~ ")" -%}
    {%- set is_recent = event_time ~ " >= " ~ start -%}
    {%- if (model.get('test_metadata') or {}).get('name') == 'unique' -%}
        {%- do return(column ~ " in (select " ~ column ~ " from " ~ relation ~ " where " ~ is_recent ~ ")") -%}
    {%- endif -%}
    {%- do return("(" ~ is_recent ~ " or " ~ event_time ~ " is null)") -%}
{%- endmacro %}
