{#- One row per KPI, grain and complete period whose value lies outside a threshold of its grain.
    Only full periods count (is_full_period: complete, and wholly inside the KPI's data; a period
    cut by the start of the data is not a business fact). When several thresholds are crossed, the worst severity wins and `bound` is
    the bound it crossed. -#}
with periods as (
    select
        kpi_id,
        grain,
        period_start,
        period_end,
        value
    from {{ ref('fct_kpi_periods') }}
    where
        is_full_period
        and value is not null
),

thresholds as (
    select * from {{ ref('int_kpi_thresholds') }}
),

crossed as (
    select
        periods.kpi_id,
        periods.grain,
        periods.period_start,
        periods.period_end,
        periods.value,
        thresholds.severity,
        thresholds.severity_rank,
        thresholds.lower_bound,
        thresholds.upper_bound,
        case
            when periods.value < thresholds.lower_bound then thresholds.lower_bound
            else thresholds.upper_bound
        end as bound
    from periods
    inner join thresholds
        on
            periods.kpi_id = thresholds.kpi_id
            and periods.grain = thresholds.grain
    where
        periods.value < thresholds.lower_bound
        or periods.value > thresholds.upper_bound
),

ranked as (
    select
        *,
        row_number() over (
            partition by kpi_id, grain, period_start
            order by severity_rank desc, lower_bound desc, upper_bound asc
        ) as severity_order
    from crossed
),

final as (
    select
        kpi_id,
        grain,
        period_start,
        period_end,
        value,
        severity,
        lower_bound,
        upper_bound,
        bound
    from ranked
    where severity_order = 1
)

select * from final
