{#- One row per breach of a KPI's total (fct_kpi_breaches with no segment), segment dimension and
    segment value of the KPI: how much of the total's change against its reference the segment
    explains (docs/segments.md, "Drivers").

    Reference: a threshold breach compares the period with the prior period of its grain (prior
    full period, as fct_kpi_periods.prior_value); an anomaly with what was expected, each
    segment's trailing mean over the anomaly's own window (int_kpi_segment_windows: the same
    previous periods, the same weekday for days). prior_value is the segment's reference value,
    change = value - prior_value.

    contribution, by the KPI's kind:
    - sum, count, last (additive over a dimension's segments): contribution = change; the
      contributions of a dimension add up to the total's change.
    - ratio, average (a ratio of sums, R = N / D = sum of w_i * r_i with the segment's weight
      w_i = D_i / D and rate r_i = N_i / D_i; 0 = reference, 1 = breach period):
          rate_effect_i = (w0_i + w1_i) / 2 * (r1_i - r0_i)
          mix_effect_i  = ((r0_i + r1_i) / 2 - R0) * (w1_i - w0_i)
          contribution_i = rate_effect_i + mix_effect_i
      whose sum over the dimension is exactly R1 - R0 (midpoint decomposition; a segment without
      denominator on one side takes its rate from the other). A segment whose volume moved to a
      segment converting better raises the total with no change of any rate: that is mix.
    - count_distinct, percentile, min, max (not decomposable): contribution = the segment's own
      change; their sum is not the total's change (a member counted in two segments, a
      percentile of a union), so shares rank the segments but are not exact parts.
    share_of_change = contribution / the sum of the dimension's contributions (null when 0);
    rank 1 = the segment that moved the total most in the direction it moved, within the breach
    and dimension. -#}
{%- set double = okr_kpi.type_double() -%}
{%- set string = dbt.type_string() -%}

with total_breaches as (
    select
        breach_id,
        kpi_id,
        grain,
        period_start,
        rule
    from {{ ref('fct_kpi_breaches') }}
    where segment_dimension is null
),

kpis as (
    select
        kpi_id,
        aggregation
    from {{ ref('dim_kpis') }}
),

segment_periods as (
    select
        kpi_id,
        segment_dimension,
        segment_value,
        grain,
        period_start,
        value,
        numerator,
        denominator,
        is_full_period,
        prior_value,
        lag(numerator) over (
            partition by kpi_id, segment_dimension, segment_value, grain order by period_start
        ) as lagged_numerator,
        lag(denominator) over (
            partition by kpi_id, segment_dimension, segment_value, grain order by period_start
        ) as lagged_denominator,
        lag(is_full_period) over (
            partition by kpi_id, segment_dimension, segment_value, grain order by period_start
        ) as is_prior_full
    from {{ ref('fct_kpi_segment_periods') }}
),

windows as (
    select
        kpi_id,
        segment_dimension,
        segment_value,
        grain,
        period_start,
        trailing_mean,
        trailing_numerator,
        trailing_denominator
    from {{ ref('int_kpi_segment_windows') }}
),

referenced as (
    select
        total_breaches.breach_id,
        total_breaches.kpi_id,
        total_breaches.grain,
        total_breaches.period_start,
        total_breaches.rule,
        kpis.aggregation,
        segment_periods.segment_dimension,
        segment_periods.segment_value,
        segment_periods.value,
        coalesce(segment_periods.numerator, 0) as numerator_1,
        coalesce(segment_periods.denominator, 0) as denominator_1,
        case
            when total_breaches.rule = 'anomaly' then windows.trailing_mean
            else segment_periods.prior_value
        end as prior_value,
        coalesce(case
            when total_breaches.rule = 'anomaly' then windows.trailing_numerator
            when segment_periods.is_full_period and segment_periods.is_prior_full
                then segment_periods.lagged_numerator
        end, 0) as numerator_0,
        coalesce(case
            when total_breaches.rule = 'anomaly' then windows.trailing_denominator
            when segment_periods.is_full_period and segment_periods.is_prior_full
                then segment_periods.lagged_denominator
        end, 0) as denominator_0
    from total_breaches
    inner join kpis on total_breaches.kpi_id = kpis.kpi_id
    inner join segment_periods
        on
            total_breaches.kpi_id = segment_periods.kpi_id
            and total_breaches.grain = segment_periods.grain
            and total_breaches.period_start = segment_periods.period_start
    left join windows
        on
            segment_periods.kpi_id = windows.kpi_id
            and segment_periods.segment_dimension = windows.segment_dimension
            and segment_periods.segment_value = windows.segment_value
            and segment_periods.grain = windows.grain
            and segment_periods.period_start = windows.period_start
),

dimension_totals as (
    select
        *,
        sum(denominator_1) over (partition by breach_id, segment_dimension) as total_denominator_1,
        sum(denominator_0) over (partition by breach_id, segment_dimension) as total_denominator_0,
        sum(numerator_0) over (partition by breach_id, segment_dimension)
        / nullif(sum(denominator_0) over (partition by breach_id, segment_dimension), 0) as total_rate_0
    from referenced
),

weighted as (
    select
        *,
        coalesce(denominator_1 / nullif(total_denominator_1, 0), 0) as weight_1,
        coalesce(denominator_0 / nullif(total_denominator_0, 0), 0) as weight_0,
        coalesce(
            numerator_1 / nullif(denominator_1, 0), numerator_0 / nullif(denominator_0, 0), 0
        ) as rate_1,
        coalesce(
            numerator_0 / nullif(denominator_0, 0), numerator_1 / nullif(denominator_1, 0), 0
        ) as rate_0
    from dimension_totals
),

decomposed as (
    select
        breach_id,
        kpi_id,
        grain,
        period_start,
        rule,
        aggregation,
        segment_dimension,
        segment_value,
        value,
        prior_value,
        value - prior_value as change,
        case
            when aggregation in ('ratio', 'average') then (weight_0 + weight_1) / 2 * (rate_1 - rate_0)
        end as rate_effect,
        case
            when aggregation in ('ratio', 'average')
                then ((rate_0 + rate_1) / 2 - coalesce(total_rate_0, 0)) * (weight_1 - weight_0)
        end as mix_effect,
        case
            when aggregation in ('ratio', 'average')
                then
                    (weight_0 + weight_1) / 2 * (rate_1 - rate_0)
                    + ((rate_0 + rate_1) / 2 - coalesce(total_rate_0, 0)) * (weight_1 - weight_0)
            when aggregation in ('sum', 'count') then coalesce(value, 0) - coalesce(prior_value, 0)
            else value - prior_value
        end as contribution
    from weighted
),

shared as (
    select
        *,
        sum(contribution) over (partition by breach_id, segment_dimension) as dimension_change
    from decomposed
),

final as (
    select
        cast(breach_id as {{ string }}) as breach_id,
        cast(kpi_id as {{ string }}) as kpi_id,
        cast(grain as {{ string }}) as grain,
        cast(period_start as date) as period_start,
        cast(rule as {{ string }}) as rule,
        cast(segment_dimension as {{ string }}) as segment_dimension,
        cast(segment_value as {{ string }}) as segment_value,
        cast(value as {{ double }}) as value,
        cast(prior_value as {{ double }}) as prior_value,
        cast(change as {{ double }}) as change,
        cast(contribution as {{ double }}) as contribution,
        cast(rate_effect as {{ double }}) as rate_effect,
        cast(mix_effect as {{ double }}) as mix_effect,
        cast(contribution / nullif(dimension_change, 0) as {{ double }}) as share_of_change,
        cast(dimension_change as {{ double }}) as dimension_change,
        cast(row_number() over (
            partition by breach_id, segment_dimension
            order by
                case when dimension_change < 0 then -contribution else contribution end desc,
                segment_value
        ) as {{ dbt.type_int() }}) as rank
    from shared
)

select * from final
