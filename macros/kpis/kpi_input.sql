{#- Daily inputs of one KPI from an event table: the convenience macro for KPI input models.

    kpi_id       the KPI's id in kpi_definitions
    relation     a ref() or source() of the events
    date_column  the event's timestamp or date; the day is cast(date_column as date)
    aggregation  sum | count | ratio | average | min | max (a `last` KPI is a daily stock: write its SQL)
    value        the expression to sum / count / average / min / max (count: default *)
    numerator, denominator   ratio only: expressions summed per day
    where        an optional filter on the events

    Returns kpi_id, date_day, numerator, denominator: one row per day with events.

    Incremental: in a model configured with `config(**okr_kpi.kpi_input_incremental_config())`,
    an incremental run reads only the events of the lookback window (see kpi_input_window_start)
    and replaces those days; a full build or --full-refresh reads everything. -#}
{% macro kpi_input(kpi_id, relation, date_column, aggregation, value=none, numerator=none, denominator=none,
                   where=none) -%}
    {%- set float_type = okr_kpi.type_double() -%}
    {%- if aggregation not in ['sum', 'count', 'ratio', 'average', 'min', 'max'] -%}
        {{ exceptions.raise_compiler_error("kpi_input(" ~ kpi_id ~ "): aggregation must be sum, count, ratio, average, min or max, got '" ~ aggregation ~ "'") }}
    {%- endif -%}
    {%- if aggregation == 'ratio' and (numerator is none or denominator is none) -%}
        {{ exceptions.raise_compiler_error("kpi_input(" ~ kpi_id ~ "): a ratio needs numerator and denominator") }}
    {%- endif -%}
    {%- if aggregation in ['sum', 'average', 'min', 'max'] and value is none -%}
        {{ exceptions.raise_compiler_error("kpi_input(" ~ kpi_id ~ "): aggregation " ~ aggregation ~ " needs value") }}
    {%- endif -%}
    {%- set window_start = okr_kpi.kpi_input_window_start() -%}
    {%- set filters = [] -%}
    {%- if where %}{% do filters.append('(' ~ where ~ ')') %}{% endif -%}
    {#- Compared with the raw column (not its date), so that the engine can skip old blocks. -#}
    {%- if window_start is not none %}{% do filters.append(date_column ~ ' >= ' ~ window_start) %}{% endif -%}
    select
        cast('{{ kpi_id }}' as {{ dbt.type_string() }}) as kpi_id,
        cast({{ date_column }} as date) as date_day,
        {%- if aggregation == 'count' %}
        cast(count({{ value or '*' }}) as {{ float_type }}) as numerator,
        cast(null as {{ float_type }}) as denominator
        {%- elif aggregation == 'sum' %}
        cast(sum({{ value }}) as {{ float_type }}) as numerator,
        cast(null as {{ float_type }}) as denominator
        {%- elif aggregation == 'ratio' %}
        cast(sum({{ numerator }}) as {{ float_type }}) as numerator,
        cast(sum({{ denominator }}) as {{ float_type }}) as denominator
        {%- elif aggregation == 'average' %}
        cast(sum({{ value }}) as {{ float_type }}) as numerator,
        cast(count({{ value }}) as {{ float_type }}) as denominator
        {%- else %}
        cast({{ aggregation }}({{ value }}) as {{ float_type }}) as numerator,
        cast(null as {{ float_type }}) as denominator
        {%- endif %}
    from {{ relation }}
    {%- if filters %}
    where {{ filters | join('\n        and ') }}
    {%- endif %}
    group by cast({{ date_column }} as date)
{%- endmacro %}


{#- The config of an incremental KPI input model (one row per KPI per day), per adapter:

    duckdb, postgres (default__): strategy `append` after a pre-hook that deletes the rows of the
        lookback window, in the same transaction. Deleting the whole window (not only the days
        present in the new rows) keeps a day that lost all its events from surviving as a stale row.
    spark: strategy `insert_overwrite`, parquet, partitioned by date_day: the window's days are
        overwritten partition by partition (dynamic partition overwrite). Plain parquet has no
        delete, so a day of the window that lost all its events keeps its old row there
        (a --full-refresh fixes it); with Delta or Iceberg tables the default__ config applies
        (set var okr_kpi_spark_table_format: delta).

    Use: {{ config(**okr_kpi.kpi_input_incremental_config()) }} at the top of the model. -#}
{% macro kpi_input_incremental_config() -%}
    {{ return(adapter.dispatch('kpi_input_incremental_config', 'okr_kpi')()) }}
{%- endmacro %}

{% macro default__kpi_input_incremental_config() -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'append',
        'on_schema_change': 'fail',
        'pre_hook': ["{{ okr_kpi.kpi_input_delete_window() }}"],
    }) }}
{%- endmacro %}

{% macro spark__kpi_input_incremental_config() -%}
    {%- set table_format = var('okr_kpi_spark_table_format', 'parquet') -%}
    {%- if table_format in ['delta', 'iceberg'] -%}
        {%- set config = okr_kpi.default__kpi_input_incremental_config() -%}
        {%- do config.update({'file_format': table_format}) -%}
        {{ return(config) }}
    {%- endif -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'insert_overwrite',
        'file_format': table_format,
        'partition_by': ['date_day'],
        'on_schema_change': 'fail',
    }) }}
{%- endmacro %}


{#- The first day an incremental run of the current model reprocesses, as a SQL date literal;
    none when the model is built from scratch (first run, --full-refresh, not incremental).

    It is the model's latest day on or before as_of_date minus var okr_kpi_lookback_days
    (default 3), so late-arriving rows of the last days are picked up. Days after as_of_date
    are always reprocessed; a table with no day on or before as_of_date is reprocessed whole.
    Rows arriving later than the lookback window need a --full-refresh. -#}
{% macro kpi_input_window_start() -%}
    {%- if not execute or not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set lookback = var('okr_kpi_lookback_days', 3) | int -%}
    {%- if lookback < 0 -%}
        {{ exceptions.raise_compiler_error("var okr_kpi_lookback_days must be 0 or more, got " ~ lookback) }}
    {%- endif -%}
    {%- set query -%}
        select max(date_day) as last_day from {{ this }} where date_day <= {{ okr_kpi.as_of_date() }}
    {%- endset -%}
    {%- set last_day = run_query(query).columns[0].values()[0] -%}
    {%- if last_day is none -%}
        {%- set start = '1900-01-01' -%}
    {%- else -%}
        {%- if last_day is string -%}
            {%- set last_day = modules.datetime.date.fromisoformat(last_day[:10]) -%}
        {%- endif -%}
        {%- set start = (last_day - modules.datetime.timedelta(days=lookback)).strftime('%Y-%m-%d') -%}
    {%- endif -%}
    {{ return("cast('" ~ start ~ "' as date)") }}
{%- endmacro %}


{#- Pre-hook of an incremental KPI input model: delete the days an incremental run rebuilds. -#}
{% macro kpi_input_delete_window() -%}
    {%- set window_start = okr_kpi.kpi_input_window_start() -%}
    {%- if window_start is not none -%}
        delete from {{ this }} where date_day >= {{ window_start }}
    {%- endif -%}
{%- endmacro %}
