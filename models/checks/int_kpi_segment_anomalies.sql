{#- One row per KPI, segment dimension, segment value, grain and full period that is a sudden
    change of the segment in the KPI's bad direction: the totals' rule (int_kpi_anomalies,
    docs/checks.md; macros/checks/kpi_anomalies.sql) applied to each segment's own history
    (int_kpi_segment_windows), with one more condition so that small segments do not flood the
    breach log: the segment's trailing mean volume must be at least the var
    okr_kpi_segment_min_volume (default 20; docs/segments.md). -#}
{%- set min_volume = var('okr_kpi_segment_min_volume', 20) | float -%}

with windows as (
    select * from {{ ref('int_kpi_segment_windows') }}
    where trailing_volume >= {{ min_volume }}
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
        {{ okr_kpi.kpi_anomaly_severity() }} as severity,
        trailing_mean as expected_value,
        trailing_stddev,
        trailing_count,
        trailing_volume,
        z_score
    from windows
    where {{ okr_kpi.kpi_anomaly_condition() }}
)

select * from final
