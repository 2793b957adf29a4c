{#- The body of fct_kpi_daily (segmented=false: one row per KPI per day, from int_kpi_inputs)
    and of fct_kpi_segment_daily (segmented=true: one row per KPI, segment dimension, segment
    value and day, from int_kpi_segment_inputs; the same rules per segment). -#}
{% macro _kpi_daily(segmented) -%}
{%- set keys = 'kpi_id, segment_dimension, segment_value' if segmented else 'kpi_id' -%}
{%- set seg_columns = '\n        segment_dimension,\n        segment_value,' if segmented else '' -%}
{%- set inputs_model = 'int_kpi_segment_inputs' if segmented else 'int_kpi_inputs' -%}
with definitions as (
    select
        kpi_id,
        aggregation
    from {{ ref('dim_kpis') }}
),

calendar as (
    select date_day from {{ ref('int_kpi_calendar') }}
),

inputs as (
    select
        kpi_id,{{ seg_columns }}
        date_day,
        numerator,
        denominator
    from {{ ref(inputs_model) }}
),

{%- if segmented %}

segments as (
    -- every segment value the inputs name, on every day of the calendar
    select distinct
        kpi_id,
        segment_dimension,
        segment_value
    from inputs
),
{%- endif %}

grid as (
    select
        definitions.kpi_id,
        {%- if segmented %}
        segments.segment_dimension,
        segments.segment_value,
        {%- endif %}
        definitions.aggregation,
        calendar.date_day
    from definitions
    {%- if segmented %}
    inner join segments on definitions.kpi_id = segments.kpi_id
    {%- endif %}
    cross join calendar
),

joined as (
    select
        grid.kpi_id,
        {%- if segmented %}
        grid.segment_dimension,
        grid.segment_value,
        {%- endif %}
        grid.aggregation,
        grid.date_day,
        inputs.numerator,
        inputs.denominator,
        coalesce(inputs.kpi_id is not null, false) as has_data
    from grid
    left join inputs
        on
            grid.kpi_id = inputs.kpi_id
            {%- if segmented %}
            and grid.segment_dimension = inputs.segment_dimension
            and grid.segment_value = inputs.segment_value
            {%- endif %}
            and grid.date_day = inputs.date_day
),

stock_groups as (
    -- For `last` KPIs: each day belongs to the group of the latest day with data (portable
    -- replacement for last_value(... ignore nulls)).
    select
        *,
        count(numerator) over (
            partition by {{ keys }} order by date_day rows between unbounded preceding and current row
        ) as stock_group
    from joined
),

filled as (
    select
        kpi_id,{{ seg_columns }}
        aggregation,
        date_day,
        has_data,
        case
            when aggregation in ('sum', 'count', 'ratio', 'average', 'count_distinct') then coalesce(numerator, 0)
            when aggregation = 'last'
                then max(numerator) over (partition by {{ keys }}, stock_group)
            else numerator
        end as numerator,
        case
            when aggregation in ('ratio', 'average', 'count_distinct', 'percentile') then coalesce(denominator, 0)
        end as denominator
    from stock_groups
),

final as (
    select
        kpi_id,{{ seg_columns }}
        date_day,
        numerator,
        denominator,
        case
            when aggregation in ('ratio', 'average')
                then numerator / nullif(denominator, 0)
            else numerator
        end as value,
        has_data
    from filled
)

select * from final
{%- endmacro %}


{#- The body of fct_kpi_periods (segmented=false) and of fct_kpi_segment_periods (segmented=true:
    every partition, join and window also by segment_dimension and segment_value; the data span,
    reporting lag and uncovered days are the KPI's, the same for all its segments). -#}
{% macro _kpi_periods(segmented) -%}
{%- set start_date = var('okr_kpi_start_date', none) -%}
{%- set keys = 'kpi_id, segment_dimension, segment_value' if segmented else 'kpi_id' -%}
{%- set seg_columns = '\n        segment_dimension,\n        segment_value,' if segmented else '' -%}
{%- set seg_columns_inner = '\n            segment_dimension,\n            segment_value,' if segmented else '' -%}
{%- set daily_model = 'fct_kpi_segment_daily' if segmented else 'fct_kpi_daily' -%}
{%- set row_periods_model = 'int_kpi_segment_row_periods' if segmented else 'int_kpi_row_periods' -%}
with definitions as (
    select
        kpi_id,
        aggregation,
        cast({{ dbt.dateadd('day', '-1 * reporting_lag_days', okr_kpi.as_of_date()) }} as date) as complete_through,
        {%- if start_date %}
        cast('{{ start_date | string | trim }}' as date) as span_start
        {%- else %}
        first_data_date as span_start
        {%- endif %}
    from {{ ref('dim_kpis') }}
),

uncovered_days as (
    -- days whose source's data is stale or incomplete (int_kpi_load_days.is_judged false): a
    -- period holding one is not fully covered, so it is never judged nor compared (docs/checks.md)
    select
        kpis.kpi_id,
        source_days.date_day
    from {{ ref('int_kpi_load_days') }} as source_days
    inner join {{ ref('dim_kpis') }} as kpis
        on source_days.data_source = coalesce(kpis.data_source, kpis.kpi_id)
    where not source_days.is_judged
),

daily as (
    select
        daily.kpi_id,
        {%- if segmented %}
        daily.segment_dimension,
        daily.segment_value,
        {%- endif %}
        definitions.aggregation,
        definitions.span_start,
        definitions.complete_through,
        daily.date_day,
        daily.numerator,
        daily.denominator,
        daily.value,
        coalesce(uncovered_days.date_day is not null, false) as is_uncovered
    from {{ ref(daily_model) }} as daily
    inner join definitions on daily.kpi_id = definitions.kpi_id
    left join uncovered_days
        on
            daily.kpi_id = uncovered_days.kpi_id
            and daily.date_day = uncovered_days.date_day
),

row_periods as (
    -- count_distinct and percentile KPIs: every period computed from the row-level inputs
    select
        kpi_id,{{ seg_columns }}
        grain,
        period_start,
        numerator,
        denominator
    from {{ ref(row_periods_model) }}
),

daily_by_grain as (
    select
        daily.*,
        grains.grain,
        grains.grain_order,
        {{ okr_kpi.period_start('grains.grain', 'daily.date_day') }} as period_start
    from daily
    cross join {{ okr_kpi.grains() }} as grains
),

ranked as (
    select
        *,
        max(date_day) over (partition by {{ keys }}, grain, period_start) as period_last_day
    from daily_by_grain
),

aggregated as (
    select
        kpi_id,{{ seg_columns }}
        aggregation,
        span_start,
        complete_through,
        grain,
        grain_order,
        period_start,
        count(*) as day_count,
        min(date_day) as first_day,
        sum(case when is_uncovered then 1 else 0 end) as uncovered_day_count,
        sum(numerator) as numerator_sum,
        sum(denominator) as denominator_sum,
        min(value) as min_value,
        max(value) as max_value,
        max(case when date_day = period_last_day then value end) as last_value
    from ranked
    group by {{ keys }}, aggregation, span_start, complete_through, grain, grain_order, period_start
),

valued as (
    select
        aggregated.kpi_id,
        {%- if segmented %}
        aggregated.segment_dimension,
        aggregated.segment_value,
        {%- endif %}
        aggregated.grain,
        aggregated.grain_order,
        aggregated.period_start,
        {{ okr_kpi.period_end('aggregated.grain', 'aggregated.period_start') }} as period_end,
        aggregated.complete_through,
        aggregated.day_count,
        coalesce(
            aggregated.first_day = aggregated.period_start
            and aggregated.period_start >= aggregated.span_start
            and aggregated.uncovered_day_count = 0,
            false
        ) as is_fully_covered,
        case
            when aggregated.aggregation in ('sum', 'count', 'ratio', 'average') then aggregated.numerator_sum
            when aggregated.aggregation = 'min' then aggregated.min_value
            when aggregated.aggregation = 'max' then aggregated.max_value
            else aggregated.last_value
        end as numerator,
        case
            when aggregated.aggregation in ('ratio', 'average') then aggregated.denominator_sum
        end as denominator,
        case
            when aggregated.aggregation in ('sum', 'count') then aggregated.numerator_sum
            when aggregated.aggregation in ('ratio', 'average')
                then aggregated.numerator_sum / nullif(aggregated.denominator_sum, 0)
            when aggregated.aggregation = 'min' then aggregated.min_value
            when aggregated.aggregation = 'max' then aggregated.max_value
            else aggregated.last_value
        end as value
    from aggregated
),

row_valued as (
    select
        valued.kpi_id,
        {%- if segmented %}
        valued.segment_dimension,
        valued.segment_value,
        {%- endif %}
        valued.grain,
        valued.grain_order,
        valued.period_start,
        valued.period_end,
        valued.complete_through,
        valued.day_count,
        valued.is_fully_covered,
        case
            when aggregated_kinds.aggregation = 'count_distinct' then coalesce(row_periods.numerator, 0)
            when aggregated_kinds.aggregation = 'percentile' then row_periods.numerator
            else valued.numerator
        end as numerator,
        case
            when aggregated_kinds.aggregation in ('count_distinct', 'percentile')
                then coalesce(row_periods.denominator, 0)
            else valued.denominator
        end as denominator,
        case
            when aggregated_kinds.aggregation = 'count_distinct' then coalesce(row_periods.numerator, 0)
            when aggregated_kinds.aggregation = 'percentile' then row_periods.numerator
            else valued.value
        end as value
    from valued
    inner join definitions as aggregated_kinds on valued.kpi_id = aggregated_kinds.kpi_id
    left join row_periods
        on
            valued.kpi_id = row_periods.kpi_id
            {%- if segmented %}
            and valued.segment_dimension = row_periods.segment_dimension
            and valued.segment_value = row_periods.segment_value
            {%- endif %}
            and valued.grain = row_periods.grain
            and valued.period_start = row_periods.period_start
),

full_periods as (
    select
        *,
        is_fully_covered and period_end <= complete_through as is_full_period
    from row_valued
),

with_prior as (
    select
        *,
        lag(value) over (partition by {{ keys }}, grain order by period_start) as lagged_value,
        lag(is_full_period) over (partition by {{ keys }}, grain order by period_start) as is_prior_full
    from full_periods
),

compared as (
    -- a partial period is never compared as if it were full
    select
        *,
        case when is_full_period and is_prior_full then lagged_value end as prior_value
    from with_prior
),

last_year as (
    -- full periods only, each matched to the one period a year later that maps back onto it
    -- (29 February + 1 year is 28 February, which maps back onto 28 February: no match)
    select
        kpi_id,{{ seg_columns }}
        grain,
        next_year_period_start,
        value
    from (
        select
            kpi_id,{{ seg_columns_inner }}
            grain,
            period_start,
            {{ okr_kpi.period_start_next_year('grain', 'period_start') }} as next_year_period_start,
            value
        from full_periods
        where is_full_period
    ) as shifted
    where {{ okr_kpi.period_start_prior_year('grain', 'next_year_period_start') }} = period_start
),

final as (
    select
        compared.kpi_id,
        {%- if segmented %}
        compared.segment_dimension,
        compared.segment_value,
        {%- endif %}
        compared.grain,
        compared.period_start,
        compared.period_end,
        compared.period_end <= compared.complete_through as is_complete,
        compared.is_fully_covered,
        compared.is_full_period,
        compared.day_count,
        compared.value,
        compared.numerator,
        compared.denominator,
        compared.prior_value,
        compared.value - compared.prior_value as change,
        (compared.value - compared.prior_value) / nullif(abs(compared.prior_value), 0) as change_pct,
        case when compared.is_full_period then last_year.value end as same_period_last_year_value,
        compared.grain_order
    from compared
    left join last_year
        on
            compared.kpi_id = last_year.kpi_id
            {%- if segmented %}
            and compared.segment_dimension = last_year.segment_dimension
            and compared.segment_value = last_year.segment_value
            {%- endif %}
            and compared.grain = last_year.grain
            and compared.period_start = last_year.next_year_period_start
)

select * from final
{%- endmacro %}
