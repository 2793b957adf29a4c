{#- One row per KPI, grain and full period (is_full_period: complete, and wholly inside the
    KPI's data; a period cut by the start of the data is not a business fact) whose value lies
    outside a threshold of its grain. When several thresholds are crossed, the worst severity
    wins and `bound` is the bound it crossed. The rule is the macro kpi_threshold_breaches
    (macros/checks), which the dbt test kpi_thresholds compiles too: one home for the rule; the
    periods it judges are int_kpi_threshold_candidates, which the GX threshold suites read.
    Thresholds naming a segment are int_kpi_segment_threshold_breaches'. -#}
with crossed as (
    {{ okr_kpi.kpi_threshold_breaches(ref('int_kpi_threshold_candidates'), ref('int_kpi_thresholds')) }}
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
    from crossed
)

select * from final
