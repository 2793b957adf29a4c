{#- The threshold rule (SPEC: breaches), written once: the one home of the rule that the model
    int_kpi_threshold_breaches (and so fct_kpi_breaches) and the dbt test kpi_thresholds both
    compile (docs/checks.md, "Thresholds").

    periods     a relation with kpi_id, grain, period_start, period_end, value, is_full_period
                (fct_kpi_periods)
    thresholds  a relation with kpi_id, grain, severity, lower_bound, upper_bound (the seed
                kpi_thresholds or int_kpi_thresholds; typed here)

    One row per KPI, grain and full period (is_full_period: complete, and wholly inside the KPI's
    data) whose value lies outside [lower_bound, upper_bound] of a threshold row of its KPI and
    grain (an empty bound is open; a value equal to a bound is fine). When several rows are crossed
    the worst severity wins (severity_rank), then the tightest bounds; bound is the bound of that
    row it crossed, bound_kind 'lower' or 'upper'.

    segmented   false (the totals): the threshold rows without a segment (kpi_thresholds'
                optional segment_dimension empty) against `periods`; true: `periods` is
                fct_kpi_segment_periods (with segment_dimension, segment_value) and only the rows
                naming that segment judge it, one result per KPI, segment, grain and period
                (docs/segments.md). -#}
{% macro kpi_threshold_breaches(periods, thresholds, segmented=false) -%}
    {%- set double = okr_kpi.type_double() -%}
    {%- set string = dbt.type_string() -%}
    {%- set segment_keys = ', periods.segment_dimension, periods.segment_value' if segmented else '' %}
    select
        kpi_id,
        {%- if segmented %}
        segment_dimension,
        segment_value,
        {%- endif %}
        grain,
        period_start,
        period_end,
        value,
        severity,
        lower_bound,
        upper_bound,
        bound_kind,
        bound
    from (
        select
            periods.kpi_id,
            {%- if segmented %}
            periods.segment_dimension,
            periods.segment_value,
            {%- endif %}
            periods.grain,
            periods.period_start,
            periods.period_end,
            periods.value,
            limits.severity,
            limits.lower_bound,
            limits.upper_bound,
            case when periods.value < limits.lower_bound then 'lower' else 'upper' end as bound_kind,
            case
                when periods.value < limits.lower_bound then limits.lower_bound
                else limits.upper_bound
            end as bound,
            row_number() over (
                partition by periods.kpi_id{{ segment_keys }}, periods.grain, periods.period_start
                order by {{ okr_kpi.severity_rank('limits.severity') }} desc, limits.lower_bound desc,
                    limits.upper_bound asc
            ) as severity_order
        from {{ periods }} as periods
        inner join (
            select
                cast(kpi_id as {{ string }}) as kpi_id,
                cast(grain as {{ string }}) as grain,
                cast(severity as {{ string }}) as severity,
                cast(lower_bound as {{ double }}) as lower_bound,
                cast(upper_bound as {{ double }}) as upper_bound,
                {{ okr_kpi.to_text(okr_kpi.seed_column(thresholds, 'threshold_rows', 'segment_dimension')) }}
                    as segment_dimension,
                {{ okr_kpi.to_text(okr_kpi.seed_column(thresholds, 'threshold_rows', 'segment_value')) }}
                    as segment_value
            from {{ thresholds }} as threshold_rows
        ) as limits
            on
                periods.kpi_id = limits.kpi_id
                and periods.grain = limits.grain
                {%- if segmented %}
                and periods.segment_dimension = limits.segment_dimension
                and periods.segment_value = limits.segment_value
                {%- else %}
                and limits.segment_dimension is null
                {%- endif %}
        where
            periods.is_full_period
            and (periods.value < limits.lower_bound or periods.value > limits.upper_bound)
    ) as crossed
    where severity_order = 1
{%- endmacro %}
