{#- One row per KPI, segment dimension, segment value, grain and full period that is a sudden
    change of the segment in the KPI's bad direction: the totals' method (int_kpi_anomalies,
    docs/checks.md) applied to each segment's own history (int_kpi_segment_windows), with one more
    condition so that small segments do not flood the breach log: the segment's trailing mean
    volume must be at least the var okr_kpi_segment_min_volume (default 20; docs/segments.md). -#}
{%- set sigma = var('okr_kpi_anomaly_sigma', 3) | float -%}
{%- set min_periods = var('okr_kpi_anomaly_min_periods', 8) | int -%}
{%- set min_volume = var('okr_kpi_segment_min_volume', 20) | float -%}

with windows as (
    select * from {{ ref('int_kpi_segment_windows') }}
    where
        value is not null
        and trailing_count >= {{ min_periods }}
        and trailing_volume >= {{ min_volume }}
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
        case
            when abs(z_score) >= {{ 2 * sigma }} then 'critical'
            else 'warning'
        end as severity,
        trailing_mean as expected_value,
        trailing_stddev,
        trailing_count,
        trailing_volume,
        z_score
    from windows
    where
        (direction = 'higher_is_better' and z_score <= -{{ sigma }})
        or (direction = 'lower_is_better' and z_score >= {{ sigma }})
        or (direction = 'neutral' and abs(z_score) >= {{ sigma }})
)

select * from final
