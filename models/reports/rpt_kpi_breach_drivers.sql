{#- The drivers a digest line and the report name for a breach of a KPI's total: per breach,
    the rank-1 segment of each segment dimension (fct_kpi_breach_drivers.rank = 1) when it moved
    the total in the direction the total moved (share_of_change > 0), ordered by share, at most
    var okr_kpi_report_drivers (default 3) per breach (docs/segments.md, "Drivers in the digest
    and the report"). The ranking and the shares are fct_kpi_breach_drivers'; this model only
    selects and adds what the text needs: the segment's own change in percent, the direction of
    the change (drop / rise), the rate and mix parts of a ratio's share, and whether the shares
    are exact parts of the change (sum, count, last, ratio, average) or only rank the segments
    (count_distinct, percentile, min, max). Python formats these columns and computes nothing. -#}
{%- set double = okr_kpi.type_double() -%}
{%- set string = dbt.type_string() -%}

with drivers as (
    select *
    from {{ ref('fct_kpi_breach_drivers') }}
    where
        rank = 1
        and dimension_change <> 0
        and share_of_change > 0
),

kpis as (
    select
        kpi_id,
        aggregation
    from {{ ref('dim_kpis') }}
),

ordered as (
    select
        drivers.*,
        kpis.aggregation,
        row_number() over (
            partition by drivers.breach_id
            order by drivers.share_of_change desc, drivers.segment_dimension asc
        ) as driver_rank
    from drivers
    inner join kpis on drivers.kpi_id = kpis.kpi_id
),

final as (
    select
        cast(breach_id as {{ string }}) as breach_id,
        cast(kpi_id as {{ string }}) as kpi_id,
        cast(grain as {{ string }}) as grain,
        cast(period_start as date) as period_start,
        cast(rule as {{ string }}) as rule,
        cast(aggregation as {{ string }}) as aggregation,
        cast(driver_rank as {{ dbt.type_int() }}) as driver_rank,
        cast(segment_dimension as {{ string }}) as segment_dimension,
        cast(segment_value as {{ string }}) as segment_value,
        cast(value as {{ double }}) as value,
        cast(prior_value as {{ double }}) as prior_value,
        cast(change as {{ double }}) as change,
        cast(change / nullif(abs(prior_value), 0) as {{ double }}) as change_pct,
        cast(contribution as {{ double }}) as contribution,
        cast(share_of_change as {{ double }}) as share_of_change,
        cast(rate_effect / dimension_change as {{ double }}) as rate_share,
        cast(mix_effect / dimension_change as {{ double }}) as mix_share,
        cast(dimension_change as {{ double }}) as dimension_change,
        cast(case when dimension_change < 0 then 'drop' else 'rise' end as {{ string }}) as direction,
        aggregation in ('sum', 'count', 'last', 'ratio', 'average') as is_exact_share
    from ordered
    where driver_rank <= {{ var('okr_kpi_report_drivers', 3) }}
)

select * from final
