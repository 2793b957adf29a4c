{#- Daily inputs of one KPI from an event table: the convenience macro for KPI input models.

    kpi_id       the KPI's id in kpi_definitions
    relation     a ref() or source() of the events
    date_column  the event's timestamp or date; the day is its business day, okr_kpi.local_date
                 (the var okr_kpi_time_zone, default UTC: then plainly cast(date_column as date);
                 raw timestamps are taken as UTC, docs/configuration.md "Business time zone")
    aggregation  sum | count | ratio | average | min | max (a `last` KPI is a daily stock: write its SQL)
    value        the expression to sum / count / average / min / max (count: default *)
    numerator, denominator   ratio only: expressions summed per day
    where        an optional filter on the events
    time_zone    the zone whose calendar days count (default: the var okr_kpi_time_zone, UTC);
                 give 'UTC' for a date_column that already holds a date (a business day)
    segments     optional segment dimensions (docs/segments.md): a list of column names, or a
                 dict dimension name -> SQL expression of the segment value

    Returns kpi_id, date_day, numerator, denominator: one row per day with (matching) events.
    With segments, also segment_dimension and segment_value: the total rows (both null, exactly
    the rows returned without segments) and one row per day, dimension and segment value.
    Several KPIs from the same events: kpi_inputs below reads the events once for all of them.

    Incremental: in a model configured with `config(**okr_kpi.kpi_input_incremental_config())`,
    an incremental run reads only the events of the lookback window (see kpi_input_window_start)
    and replaces those days; a full build or --full-refresh reads everything. -#}
{% macro kpi_input(kpi_id, relation, date_column, aggregation, value=none, numerator=none, denominator=none,
                   where=none, time_zone=none, segments=none) -%}
    {{ okr_kpi.kpi_inputs(relation, date_column, [{
        'kpi_id': kpi_id, 'aggregation': aggregation, 'value': value,
        'numerator': numerator, 'denominator': denominator, 'where': where,
    }], time_zone=time_zone, segments=segments) }}
{%- endmacro %}


{#- Daily inputs of several KPIs from one event table, in one scan of the events.

    kpis  a list of dicts, each with the arguments of kpi_input: kpi_id, aggregation and, as
          needed, value, numerator, denominator, where (a filter for that KPI alone).
    window_start  the result of kpi_input_window_start(), when the model has it already
          (default: asked here; it costs a query in incremental runs).
    time_zone  as in kpi_input.
    segments   as in kpi_input: the same dimensions for every KPI of the call.

    Returns kpi_id, date_day, numerator, denominator: for each KPI one row per day on which
    at least one event passes its filter. With segments, also segment_dimension and
    segment_value (null on the total rows), in the same single scan (grouping sets). -#}
{% macro kpi_inputs(relation, date_column, kpis, window_start='auto', time_zone=none, segments=none) -%}
    {%- set float_type = okr_kpi.type_double() -%}
    {%- if kpis | length == 0 -%}
        {{ exceptions.raise_compiler_error("kpi_inputs(" ~ relation ~ "): no KPI given") }}
    {%- endif -%}
    {%- set columns = [] -%}
    {%- for kpi in kpis -%}
        {%- set kpi_id = kpi.get('kpi_id') -%}
        {%- set aggregation = kpi.get('aggregation') -%}
        {%- set value = kpi.get('value') -%}
        {%- set where = kpi.get('where') -%}
        {%- if not kpi_id -%}
            {{ exceptions.raise_compiler_error("kpi_inputs(" ~ relation ~ "): KPI number " ~ loop.index ~ " has no kpi_id") }}
        {%- endif -%}
        {%- if aggregation not in ['sum', 'count', 'ratio', 'average', 'min', 'max'] -%}
            {{ exceptions.raise_compiler_error("kpi_input(" ~ kpi_id ~ "): aggregation must be sum, count, ratio, average, min or max, got '" ~ aggregation ~ "'") }}
        {%- endif -%}
        {%- if aggregation == 'ratio' and (kpi.get('numerator') is none or kpi.get('denominator') is none) -%}
            {{ exceptions.raise_compiler_error("kpi_input(" ~ kpi_id ~ "): a ratio needs numerator and denominator") }}
        {%- endif -%}
        {%- if aggregation in ['sum', 'average', 'min', 'max'] and value is none -%}
            {{ exceptions.raise_compiler_error("kpi_input(" ~ kpi_id ~ "): aggregation " ~ aggregation ~ " needs value") }}
        {%- endif -%}
        {#- Each expression only counts the events passing the KPI's filter. -#}
        {%- if aggregation == 'count' -%}
            {%- set numerator_sql = 'count(' ~ okr_kpi._kpi_when(where, value or '1') ~ ')' -%}
            {%- set denominator_sql = none -%}
        {%- elif aggregation == 'sum' -%}
            {%- set numerator_sql = 'sum(' ~ okr_kpi._kpi_when(where, value) ~ ')' -%}
            {%- set denominator_sql = none -%}
        {%- elif aggregation == 'ratio' -%}
            {%- set numerator_sql = 'sum(' ~ okr_kpi._kpi_when(where, kpi.get('numerator')) ~ ')' -%}
            {%- set denominator_sql = 'sum(' ~ okr_kpi._kpi_when(where, kpi.get('denominator')) ~ ')' -%}
        {%- elif aggregation == 'average' -%}
            {%- set numerator_sql = 'sum(' ~ okr_kpi._kpi_when(where, value) ~ ')' -%}
            {%- set denominator_sql = 'count(' ~ okr_kpi._kpi_when(where, value) ~ ')' -%}
        {%- else -%}
            {%- set numerator_sql = aggregation ~ '(' ~ okr_kpi._kpi_when(where, value) ~ ')' -%}
            {%- set denominator_sql = none -%}
        {%- endif -%}
        {%- do columns.append({
            'kpi_id': kpi_id,
            'events': 'count(*)' if not where else 'count(' ~ okr_kpi._kpi_when(where, '1') ~ ')',
            'numerator': numerator_sql,
            'denominator': denominator_sql,
        }) -%}
    {%- endfor -%}
    {%- if window_start == 'auto' %}
        {%- set window_start = okr_kpi.kpi_input_window_start() %}
    {%- endif %}
    {%- set segment_list = okr_kpi._kpi_segment_list(segments, relation) %}
    {%- if segment_list | length > 0 %}
    {{ okr_kpi._kpi_segmented_inputs(relation, date_column, columns, segment_list, window_start, time_zone) }}
    {%- else %}
    {#- A single select (nested subqueries, no WITH), so that a model can use it as a CTE. #}
    select
        kpis.kpi_id,
        daily.date_day,
        {%- for part in ['numerator', 'denominator'] %}
        case kpis.kpi_number
            {%- for column in columns %}
            when {{ loop.index }} then daily.kpi_{{ loop.index }}_{{ part }}
            {%- endfor %}
        end as {{ part }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from (
        select
            {{ okr_kpi.local_date(date_column, time_zone) }} as date_day,
            {%- for column in columns %}
            {{ column.events }} as kpi_{{ loop.index }}_events,
            cast({{ column.numerator }} as {{ float_type }}) as kpi_{{ loop.index }}_numerator,
            cast({{ column.denominator or 'null' }} as {{ float_type }}) as kpi_{{ loop.index }}_denominator
            {%- if not loop.last %},{% endif %}
            {%- endfor %}
        from {{ relation }}
        {%- if window_start is not none and okr_kpi.time_zone_shifts(time_zone) %}
        {#- A business day may begin on the UTC day before: read one more raw day, keep whole days. #}
        where
            {{ date_column }} >= {{ dbt.dateadd('day', -1, window_start) }}
            and {{ okr_kpi.local_date(date_column, time_zone) }} >= {{ window_start }}
        {%- elif window_start is not none %}
        {#- Compared with the raw column (not its date), so that the engine can skip old blocks. #}
        where {{ date_column }} >= {{ window_start }}
        {%- endif %}
        group by {{ okr_kpi.local_date(date_column, time_zone) }}
    ) as daily
    cross join (
        {%- for column in columns %}
        select {{ loop.index }} as kpi_number, cast('{{ column.kpi_id }}' as {{ dbt.type_string() }}) as kpi_id
        {%- if not loop.last %}
        union all
        {%- endif %}
        {%- endfor %}
    ) as kpis
    {#- Only days with at least one event passing the KPI's filter. #}
    where
        case kpis.kpi_number
            {%- for column in columns %}
            when {{ loop.index }} then daily.kpi_{{ loop.index }}_events
            {%- endfor %}
        end > 0
    {%- endif %}
{%- endmacro %}


{#- The segment dimensions of a kpi_input call as a list of {'name', 'expression'}: `segments` is
    none, a list of column names or a dict name -> expression. Names are lowercase identifiers
    (docs/segments.md). -#}
{% macro _kpi_segment_list(segments, relation) -%}
    {%- set found = [] -%}
    {%- if segments is none -%}
        {{ return(found) }}
    {%- endif -%}
    {%- if segments is mapping -%}
        {%- for name, expression in segments.items() -%}
            {%- do found.append({'name': name, 'expression': expression}) -%}
        {%- endfor -%}
    {%- elif segments is string -%}
        {{ exceptions.raise_compiler_error("kpi_input(" ~ relation ~ "): segments must be a list of column names or a dict name -> expression, got the text '" ~ segments ~ "'") }}
    {%- else -%}
        {%- for name in segments -%}
            {%- do found.append({'name': name, 'expression': name}) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- for segment in found -%}
        {%- if modules.re.match('^[a-z][a-z0-9_]*$', segment.name | string) is none -%}
            {{ exceptions.raise_compiler_error("kpi_input(" ~ relation ~ "): segment dimension '" ~ segment.name ~ "' is not a lowercase name (letters, digits, _)") }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(found) }}
{%- endmacro %}


{#- A segment value as text: empty or null values form the segment '(none)'. -#}
{% macro kpi_segment_value(expression) -%}
    coalesce(nullif(trim(cast({{ expression }} as {{ dbt.type_string() }})), ''), '(none)')
{%- endmacro %}


{#- kpi_inputs with segments: one scan, grouping sets (day) and (day, dimension) per dimension;
    the (day) set gives the total rows, with segment_dimension and segment_value null. -#}
{% macro _kpi_segmented_inputs(relation, date_column, columns, segment_list, window_start, time_zone) -%}
    {%- set string = dbt.type_string() -%}
    {%- set float_type = okr_kpi.type_double() -%}
    select
        kpis.kpi_id,
        daily.date_day,
        {%- for part in ['numerator', 'denominator'] %}
        case kpis.kpi_number
            {%- for column in columns %}
            when {{ loop.index }} then daily.kpi_{{ loop.index }}_{{ part }}
            {%- endfor %}
        end as {{ part }},
        {%- endfor %}
        daily.segment_dimension,
        daily.segment_value
    from (
        select
            okr_kpi_date_day as date_day,
            case
                {%- for segment in segment_list %}
                when grouping(okr_kpi_segment_{{ loop.index }}) = 0 then cast('{{ segment.name }}' as {{ string }})
                {%- endfor %}
            end as segment_dimension,
            case
                {%- for segment in segment_list %}
                when grouping(okr_kpi_segment_{{ loop.index }}) = 0 then okr_kpi_segment_{{ loop.index }}
                {%- endfor %}
            end as segment_value,
            {%- for column in columns %}
            {{ column.events }} as kpi_{{ loop.index }}_events,
            cast({{ column.numerator }} as {{ float_type }}) as kpi_{{ loop.index }}_numerator,
            cast({{ column.denominator or 'null' }} as {{ float_type }}) as kpi_{{ loop.index }}_denominator
            {%- if not loop.last %},{% endif %}
            {%- endfor %}
        from (
            select
                okr_kpi_events.*,
                {{ okr_kpi.local_date(date_column, time_zone) }} as okr_kpi_date_day,
                {%- for segment in segment_list %}
                {{ okr_kpi.kpi_segment_value(segment.expression) }} as okr_kpi_segment_{{ loop.index }}{% if not loop.last %},{% endif %}
                {%- endfor %}
            from {{ relation }} as okr_kpi_events
            {%- if window_start is not none and okr_kpi.time_zone_shifts(time_zone) %}
            where
                {{ date_column }} >= {{ dbt.dateadd('day', -1, window_start) }}
                and {{ okr_kpi.local_date(date_column, time_zone) }} >= {{ window_start }}
            {%- elif window_start is not none %}
            where {{ date_column }} >= {{ window_start }}
            {%- endif %}
        ) as okr_kpi_segmented_events
        group by grouping sets (
            (okr_kpi_date_day),
            {%- for segment in segment_list %}
            (okr_kpi_date_day, okr_kpi_segment_{{ loop.index }}){% if not loop.last %},{% endif %}
            {%- endfor %}
        )
    ) as daily
    cross join (
        {%- for column in columns %}
        select {{ loop.index }} as kpi_number, cast('{{ column.kpi_id }}' as {{ string }}) as kpi_id
        {%- if not loop.last %}
        union all
        {%- endif %}
        {%- endfor %}
    ) as kpis
    where
        case kpis.kpi_number
            {%- for column in columns %}
            when {{ loop.index }} then daily.kpi_{{ loop.index }}_events
            {%- endfor %}
        end > 0
{%- endmacro %}

{#- `expression` for the events passing `where` (null for the others); `expression` when no filter. -#}
{% macro _kpi_when(where, expression) -%}
    {%- if where -%}
        case when {{ where }} then {{ expression }} end
    {%- else -%}
        {{ expression }}
    {%- endif -%}
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
