{#- count_distinct and percentile KPIs: one row per KPI per grain per period with rows, computed
    from the row-level inputs (var okr_kpi_kpi_row_inputs, macro okr_kpi.kpi_row_input), never
    from daily values. Only days of the KPI calendar count (var okr_kpi_start_date .. as_of_date).

    numerator    count_distinct: the number of distinct members in the period;
                 percentile: the period's percentile of value, continuous (linear interpolation
                 between the two nearest ranks, like percentile_cont and numpy's default):
                 h = (n - 1) * p, result = v[floor(h)] + (h - floor(h)) * (v[floor(h) + 1] - v[floor(h)])
                 with v sorted ascending and 0-based. Computed with window functions: exact and
                 the same definition on DuckDB, PostgreSQL and Spark.
    denominator  the number of rows (events) in the period. -#}
{%- set double = okr_kpi.type_double() %}

with in_span as (
    select * from {{ ref('int_kpi_row_inputs') }}
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
        kpi_id,
        grain,
        period_start,
        min(input_model) as input_model,
        cast(count(distinct member) as {{ double }}) as numerator,
        cast(count(member) as {{ double }}) as denominator
    from by_grain
    where aggregation = 'count_distinct' and member is not null
    group by kpi_id, grain, period_start
),

ranked as (
    select
        kpi_id,
        grain,
        period_start,
        input_model,
        value,
        (count(*) over (partition by kpi_id, grain, period_start) - 1) * percentile as position,
        count(*) over (partition by kpi_id, grain, period_start) as row_count,
        row_number() over (partition by kpi_id, grain, period_start order by value) - 1 as value_rank
    from by_grain
    where aggregation = 'percentile' and value is not null and percentile > 0 and percentile < 1
),

bracketed as (
    select
        kpi_id,
        grain,
        period_start,
        min(input_model) as input_model,
        max(row_count) as row_count,
        max(position - floor(position)) as fraction,
        max(case when value_rank = floor(position) then value end) as lower_value,
        max(case when value_rank = floor(position) + 1 then value end) as upper_value
    from ranked
    where value_rank in (floor(position), floor(position) + 1)
    group by kpi_id, grain, period_start
),

percentiles as (
    select
        kpi_id,
        grain,
        period_start,
        input_model,
        lower_value + fraction * (coalesce(upper_value, lower_value) - lower_value) as numerator,
        cast(row_count as {{ double }}) as denominator
    from bracketed
),

final as (
    select * from distinct_counts
    union all
    select * from percentiles
)

select * from final
