{#- The body of int_kpi_row_periods: count_distinct and percentile KPIs, one row per KPI per grain
    per period with rows (kpi_id, grain, period_start, input_model, numerator, denominator), from
    the row-level inputs `row_inputs` (int_kpi_row_inputs: kpi_id, date_day, member, value,
    input_model, aggregation, percentile).

    numerator    count_distinct: the number of distinct members in the period;
                 percentile: the period's continuous percentile of value (linear interpolation
                 between the two nearest ranks, like percentile_cont and numpy's default):
                 h = (n - 1) * p, result = v[floor(h)] + (h - floor(h)) * (v[floor(h) + 1] - v[floor(h)])
                 with v sorted ascending and 0-based.
    denominator  the number of rows (events) in the period.

    Implementations (adapter.dispatch, so a project can override them: docs/configuration.md,
    "Row-level KPIs"), all exact and of the same definition:
    - duckdb, postgres, spark: the engine's own aggregates, one pass per KPI family with grouping
      sets over the five grains: count(distinct member), and quantile_cont (DuckDB),
      percentile_cont ... within group (PostgreSQL), percentile (Spark: exact, not
      percentile_approx). These engines want the percentile as a constant, so the distinct
      percentiles of kpi_definitions are read when the model is compiled (one small query on the
      seed), and each KPI's rows go to the aggregate of its percentile (filter clause).
    - default (any other adapter, or before the seed exists): portable window functions
      (row_number, count) and the interpolation written out. -#}
{% macro kpi_row_periods(row_inputs, definitions_relation) -%}
    {{ return(adapter.dispatch('kpi_row_periods', 'okr_kpi')(row_inputs, definitions_relation)) }}
{%- endmacro %}

{#- The same per segment: row_inputs also has segment_dimension and segment_value
    (int_kpi_segment_row_inputs), and every grouping and partition includes them. -#}
{% macro kpi_segment_row_periods(row_inputs, definitions_relation) -%}
    {{ return(adapter.dispatch('kpi_segment_row_periods', 'okr_kpi')(row_inputs, definitions_relation)) }}
{%- endmacro %}

{% macro default__kpi_segment_row_periods(row_inputs, definitions_relation) -%}
    {{ return(okr_kpi.default__kpi_row_periods(row_inputs, definitions_relation, segmented=true)) }}
{%- endmacro %}

{% macro duckdb__kpi_segment_row_periods(row_inputs, definitions_relation) -%}
    {{ return(okr_kpi._kpi_row_periods_native(row_inputs, definitions_relation, segmented=true)) }}
{%- endmacro %}

{% macro postgres__kpi_segment_row_periods(row_inputs, definitions_relation) -%}
    {{ return(okr_kpi._kpi_row_periods_native(row_inputs, definitions_relation, segmented=true)) }}
{%- endmacro %}

{% macro spark__kpi_segment_row_periods(row_inputs, definitions_relation) -%}
    {{ return(okr_kpi._kpi_row_periods_native(row_inputs, definitions_relation, segmented=true)) }}
{%- endmacro %}

{% macro duckdb__kpi_row_periods(row_inputs, definitions_relation) -%}
    {{ return(okr_kpi._kpi_row_periods_native(row_inputs, definitions_relation)) }}
{%- endmacro %}

{% macro postgres__kpi_row_periods(row_inputs, definitions_relation) -%}
    {{ return(okr_kpi._kpi_row_periods_native(row_inputs, definitions_relation)) }}
{%- endmacro %}

{% macro spark__kpi_row_periods(row_inputs, definitions_relation) -%}
    {{ return(okr_kpi._kpi_row_periods_native(row_inputs, definitions_relation)) }}
{%- endmacro %}


{#- The engine's exact continuous percentile of `value` at the constant `p` (a number literal). -#}
{% macro kpi_percentile_cont(value, p) -%}
    {{ return(adapter.dispatch('kpi_percentile_cont', 'okr_kpi')(value, p)) }}
{%- endmacro %}

{% macro default__kpi_percentile_cont(value, p) -%}
    percentile_cont({{ p }}) within group (order by {{ value }})
{%- endmacro %}

{% macro duckdb__kpi_percentile_cont(value, p) -%}
    quantile_cont({{ value }}, {{ p }})
{%- endmacro %}

{% macro spark__kpi_percentile_cont(value, p) -%}
    percentile({{ value }}, {{ p }})
{%- endmacro %}


{#- The distinct percentiles (0 < p < 1) of the percentile KPIs in kpi_definitions, as number
    literals (text), read from the warehouse when the model is compiled; none while parsing or
    when the seed is not in the warehouse yet (then the portable implementation is used). -#}
{% macro kpi_row_percentiles(definitions_relation) -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set existing = adapter.get_relation(database=definitions_relation.database,
                                            schema=definitions_relation.schema,
                                            identifier=definitions_relation.identifier) -%}
    {%- if existing is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set query -%}
        select distinct p from (
            select {{ okr_kpi.kpi_percentile(definitions_relation, 'definitions') }} as p
            from {{ definitions_relation }} as definitions
            where cast(definitions.aggregation as {{ dbt.type_string() }}) = 'percentile'
        ) as percentiles
        where p > 0 and p < 1
    {%- endset -%}
    {%- set found = [] -%}
    {%- for row in run_query(query).rows -%}
        {#- repr of a float reads back as the same double, so the filter below matches exactly -#}
        {%- do found.append((row[0] | float) | string) -%}
    {%- endfor -%}
    {{ return(found | unique | sort | list) }}
{%- endmacro %}


{#- The period starts of date_day at each grain, as columns period_<grain>. -#}
{% macro _kpi_row_grain_columns(date_column) -%}
    cast({{ date_column }} as date) as period_day,
    {%- for grain in ['week', 'month', 'quarter', 'year'] %}
    cast({{ dbt.date_trunc(grain, date_column) }} as date) as period_{{ grain }}{% if not loop.last %},{% endif %}
    {%- endfor %}
{%- endmacro %}

{#- grain and period_start of a grouping-sets row (one grouping set per grain). -#}
{% macro _kpi_row_grain_keys() -%}
    case
        when grouping(period_day) = 0 then 'day'
        when grouping(period_week) = 0 then 'week'
        when grouping(period_month) = 0 then 'month'
        when grouping(period_quarter) = 0 then 'quarter'
        else 'year'
    end as grain,
    coalesce(period_day, period_week, period_month, period_quarter, period_year) as period_start
{%- endmacro %}

{% macro _kpi_row_grouping_sets(segmented=false) -%}
    {%- set keys = 'kpi_id, segment_dimension, segment_value' if segmented else 'kpi_id' -%}
    grouping sets (
        ({{ keys }}, period_day),
        ({{ keys }}, period_week),
        ({{ keys }}, period_month),
        ({{ keys }}, period_quarter),
        ({{ keys }}, period_year)
    )
{%- endmacro %}


{% macro _kpi_row_periods_native(row_inputs, definitions_relation, segmented=false) -%}
    {%- set percentiles = okr_kpi.kpi_row_percentiles(definitions_relation) -%}
    {%- if percentiles is none -%}
        {{ return(okr_kpi.default__kpi_row_periods(row_inputs, definitions_relation, segmented=segmented)) }}
    {%- endif -%}
    {%- set double = okr_kpi.type_double() -%}
    {%- set seg = ' segment_dimension, segment_value,' if segmented else '' -%}
with distinct_rows as (
    select
        kpi_id,{{ seg }}
        member,
        input_model,
        {{ okr_kpi._kpi_row_grain_columns('date_day') }}
    from {{ row_inputs }}
    where aggregation = 'count_distinct' and member is not null
),

distinct_counts as (
    select
        kpi_id,{{ seg }}
        {{ okr_kpi._kpi_row_grain_keys() }},
        min(input_model) as input_model,
        cast(count(distinct member) as {{ double }}) as numerator,
        cast(count(member) as {{ double }}) as denominator
    from distinct_rows
    group by {{ okr_kpi._kpi_row_grouping_sets(segmented) }}
)
{%- if percentiles | length > 0 %},

percentile_rows as (
    select
        kpi_id,{{ seg }}
        value,
        percentile,
        input_model,
        {{ okr_kpi._kpi_row_grain_columns('date_day') }}
    from {{ row_inputs }}
    where aggregation = 'percentile' and value is not null and percentile > 0 and percentile < 1
),

percentiles as (
    select
        kpi_id,{{ seg }}
        {{ okr_kpi._kpi_row_grain_keys() }},
        min(input_model) as input_model,
        {#- every row of a KPI has the KPI's percentile: one aggregate per distinct percentile,
            each reading the rows of its KPIs only #}
        coalesce(
            {%- for p in percentiles %}
            {{ okr_kpi.kpi_percentile_cont('value', 'cast(' ~ p ~ ' as ' ~ double ~ ')') }}
                filter (where percentile = cast({{ p }} as {{ double }})){% if not loop.last %},{% endif %}
            {%- endfor %}
            {%- if percentiles | length == 1 %},
            cast(null as {{ double }})
            {%- endif %}
        ) as numerator,
        cast(count(*) as {{ double }}) as denominator
    from percentile_rows
    group by {{ okr_kpi._kpi_row_grouping_sets(segmented) }}
)
{%- endif %},

final as (
    select kpi_id,{{ seg }} grain, period_start, input_model, numerator, denominator from distinct_counts
    {%- if percentiles | length > 0 %}
    union all
    select kpi_id,{{ seg }} grain, period_start, input_model, numerator, denominator from percentiles
    {%- endif %}
)

select * from final
{%- endmacro %}


{#- Portable: window functions, the same definition on every adapter. -#}
{% macro default__kpi_row_periods(row_inputs, definitions_relation, segmented=false) -%}
    {%- set double = okr_kpi.type_double() -%}
    {%- set seg = ' segment_dimension, segment_value,' if segmented else '' -%}
with in_span as (
    select * from {{ row_inputs }}
),

by_grain as (
    select
        in_span.*,
        grains.grain,
        {{ okr_kpi.period_start('grains.grain', 'in_span.date_day') }} as period_start
    from in_span
    cross join {{ okr_kpi.grains() }} as grains
),

distinct_counts as (
    select
        kpi_id,{{ seg }}
        grain,
        period_start,
        min(input_model) as input_model,
        cast(count(distinct member) as {{ double }}) as numerator,
        cast(count(member) as {{ double }}) as denominator
    from by_grain
    where aggregation = 'count_distinct' and member is not null
    group by kpi_id,{{ seg }} grain, period_start
),

ranked as (
    select
        kpi_id,{{ seg }}
        grain,
        period_start,
        input_model,
        value,
        (count(*) over (partition by kpi_id,{{ seg }} grain, period_start) - 1) * percentile as position,
        count(*) over (partition by kpi_id,{{ seg }} grain, period_start) as row_count,
        row_number() over (partition by kpi_id,{{ seg }} grain, period_start order by value) - 1 as value_rank
    from by_grain
    where aggregation = 'percentile' and value is not null and percentile > 0 and percentile < 1
),

bracketed as (
    select
        kpi_id,{{ seg }}
        grain,
        period_start,
        min(input_model) as input_model,
        max(row_count) as row_count,
        max(position - floor(position)) as fraction,
        max(case when value_rank = floor(position) then value end) as lower_value,
        max(case when value_rank = floor(position) + 1 then value end) as upper_value
    from ranked
    where value_rank in (floor(position), floor(position) + 1)
    group by kpi_id,{{ seg }} grain, period_start
),

percentiles as (
    select
        kpi_id,{{ seg }}
        grain,
        period_start,
        input_model,
        lower_value + fraction * (coalesce(upper_value, lower_value) - lower_value) as numerator,
        cast(row_count as {{ double }}) as denominator
    from bracketed
),

final as (
    select kpi_id,{{ seg }} grain, period_start, input_model, numerator, denominator from distinct_counts
    union all
    select kpi_id,{{ seg }} grain, period_start, input_model, numerator, denominator from percentiles
)

select * from final
{%- endmacro %}
