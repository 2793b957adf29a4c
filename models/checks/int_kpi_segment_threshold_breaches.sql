{#- One row per KPI, segment dimension, segment value, grain and full period whose segment value
    lies outside a threshold naming that segment (kpi_thresholds.segment_dimension and
    segment_value; docs/segments.md): the rule of int_kpi_threshold_breaches (the macro
    kpi_threshold_breaches) per segment. -#}
with crossed as (
    {{ okr_kpi.kpi_threshold_breaches(ref('fct_kpi_segment_periods'), ref('int_kpi_thresholds'), segmented=true) }}
),

final as (
    select
        kpi_id,
        segment_dimension,
        segment_value,
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
