{#- The anomaly method, one home for the totals and the segments (docs/checks.md, "Anomalies";
    docs/segments.md, "Anomalies per segment").

    kpi_anomaly_window_ctes(periods, keys, extra): the CTEs (without `with`) that end in
    `anomaly_windows`, one row per KPI, `keys` (the segment's columns, none for the totals), grain
    and full period of the grains scanned, with the trailing window of the same grain: the var
    okr_kpi_anomaly_window (default 28) previous full periods, the current one excluded, the same
    weekday for days. Periods holding a day flagged by a quality model (int_kpi_input_quality)
    are still judged but left out of later periods' windows (one broken load must not widen the
    band and hide the next real drop). Grains: the KPI's reporting grain (dim_kpis.reporting_grain),
    or every grain with the var okr_kpi_anomaly_grains = 'all'.
    Columns: the period's kpi_id, keys, grain, period_start, period_end, value, direction,
    aggregation, the `extra` columns (a dict name -> SQL expression over `periods`; each also
    averaged over the window as trailing_<name>), trailing_mean, trailing_stddev (sample), trailing_count and z_score =
    (value - trailing_mean) / trailing_stddev (null for a flat history: no anomaly).

    kpi_anomaly_condition(): the rule on those columns: at least okr_kpi_anomaly_min_periods
    (default 8) trailing values and |z| >= okr_kpi_anomaly_sigma (default 3) in the KPI's bad
    direction (either way for neutral).
    kpi_anomaly_severity(): critical when |z| >= 2 x sigma, else warning. -#}
{% macro kpi_anomaly_window_ctes(periods, keys=[], extra={}) -%}
    {%- set window = var('okr_kpi_anomaly_window', 28) | int -%}
    {%- set grains = var('okr_kpi_anomaly_grains', 'reporting') -%}
    {%- if grains not in ('reporting', 'all') -%}
        {{ exceptions.raise_compiler_error("var okr_kpi_anomaly_grains must be 'reporting' or 'all', got '" ~ grains ~ "'") }}
    {%- endif -%}
    {%- set partition = (['kpi_id'] + keys + ['grain']) | join(', ') -%}
    {%- set qualified = [] -%}
    {%- for column in ['kpi_id'] + keys + ['grain', 'period_start'] -%}
        {%- do qualified.append('anomaly_periods.' ~ column) -%}
    {%- endfor -%}
    {%- set over = "over (partition by " ~ partition ~ ", season_key order by period_start rows between "
        ~ window ~ " preceding and 1 preceding)" -%}
anomaly_periods as (
    select
        kpi_id,
        {%- for key in keys %}
        {{ key }},
        {%- endfor %}
        grain,
        period_start,
        period_end,
        {%- for column, expression in extra.items() %}
        {{ expression if expression == column else expression ~ ' as ' ~ column }},
        {%- endfor %}
        value
    from {{ periods }}
    where
        is_full_period
        and value is not null
),

anomaly_kpis as (
    select
        kpi_id,
        direction,
        aggregation,
        reporting_grain
    from {{ ref('dim_kpis') }}
),

anomaly_quality_days as (
    select distinct
        kpi_id,
        date_day
    from {{ ref('int_kpi_input_quality') }}
),

anomaly_flagged as (
    select
        {{ qualified | join(',\n        ') }},
        count(anomaly_quality_days.date_day) as quality_issue_days
    from anomaly_periods
    left join anomaly_quality_days
        on
            anomaly_periods.kpi_id = anomaly_quality_days.kpi_id
            and anomaly_periods.period_start <= anomaly_quality_days.date_day
            and anomaly_periods.period_end >= anomaly_quality_days.date_day
    group by {{ qualified | join(', ') }}
),

anomaly_seasoned as (
    select
        anomaly_periods.*,
        anomaly_kpis.direction,
        anomaly_kpis.aggregation,
        case when anomaly_flagged.quality_issue_days = 0 then anomaly_periods.value end as baseline_value,
        {%- for column in extra %}
        case when anomaly_flagged.quality_issue_days = 0 then anomaly_periods.{{ column }} end as baseline_{{ column }},
        {%- endfor %}
        case
            when anomaly_periods.grain = 'day' then {{ okr_kpi.day_of_week('anomaly_periods.period_start') }}
            else 0
        end as season_key
    from anomaly_periods
    inner join anomaly_kpis on anomaly_periods.kpi_id = anomaly_kpis.kpi_id
    inner join anomaly_flagged
        on
            anomaly_periods.kpi_id = anomaly_flagged.kpi_id
            {%- for key in keys %}
            and anomaly_periods.{{ key }} = anomaly_flagged.{{ key }}
            {%- endfor %}
            and anomaly_periods.grain = anomaly_flagged.grain
            and anomaly_periods.period_start = anomaly_flagged.period_start
    {%- if grains == 'reporting' %}
    where anomaly_periods.grain = anomaly_kpis.reporting_grain
    {%- endif %}
),

anomaly_trailing as (
    select
        *,
        avg(baseline_value) {{ over }} as trailing_mean,
        stddev_samp(baseline_value) {{ over }} as trailing_stddev,
        {%- for column in extra %}
        avg(baseline_{{ column }}) {{ over }} as trailing_{{ column }},
        {%- endfor %}
        count(baseline_value) {{ over }} as trailing_count
    from anomaly_seasoned
),

anomaly_windows as (
    select
        kpi_id,
        {%- for key in keys %}
        {{ key }},
        {%- endfor %}
        grain,
        period_start,
        period_end,
        direction,
        aggregation,
        value,
        {%- for column in extra %}
        {{ column }},
        trailing_{{ column }},
        {%- endfor %}
        trailing_mean,
        trailing_stddev,
        trailing_count,
        (value - trailing_mean) / nullif(trailing_stddev, 0) as z_score
    from anomaly_trailing
)
{%- endmacro %}


{% macro kpi_anomaly_condition() -%}
    {%- set sigma = var('okr_kpi_anomaly_sigma', 3) | float -%}
    {%- set min_periods = var('okr_kpi_anomaly_min_periods', 8) | int -%}
    trailing_count >= {{ min_periods }}
    and (
        (direction = 'higher_is_better' and z_score <= -{{ sigma }})
        or (direction = 'lower_is_better' and z_score >= {{ sigma }})
        or (direction = 'neutral' and abs(z_score) >= {{ sigma }})
    )
{%- endmacro %}


{% macro kpi_anomaly_severity() -%}
    {%- set sigma = var('okr_kpi_anomaly_sigma', 3) | float -%}
    case when abs(z_score) >= {{ 2 * sigma }} then 'critical' else 'warning' end
{%- endmacro %}
