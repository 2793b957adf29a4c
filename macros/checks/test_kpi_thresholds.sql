{#- Generic test: every complete, fully covered period of `model` (fct_kpi_periods or a model with
    its columns kpi_id, grain, period_start, value, is_complete, is_fully_covered) lies inside the
    bounds of its KPI and grain in the seed `thresholds` (default kpi_thresholds).

    Returns one row per breaching period with the worst severity crossed (the same rule as
    fct_kpi_breaches) and, in `dbt build`/`dbt test`, logs one line per breach naming KPI, grain,
    period, value and bound. Severity warn by default: a breach is news, not a broken build. -#}
{% test kpi_thresholds(model, thresholds=none) -%}
    {{ config(severity='warn', store_failures=true) }}
    {%- set thresholds = thresholds if thresholds is not none else okr_kpi.project_ref('kpi_thresholds') -%}
    {%- set breach_sql = okr_kpi._kpi_threshold_breach_sql(model, thresholds) -%}
    {%- if execute and flags.WHICH in ('build', 'test') -%}
        {%- set model_relation = adapter.get_relation(model.database, model.schema, model.identifier) -%}
        {%- set threshold_relation = adapter.get_relation(thresholds.database, thresholds.schema, thresholds.identifier) -%}
        {%- if model_relation is not none and threshold_relation is not none -%}
            {%- set found = run_query(breach_sql ~ ' order by kpi_id, grain, period_start') -%}
            {%- for row in found.rows -%}
                {%- do log(
                    "KPI threshold breach (" ~ row['severity'] ~ "): " ~ row['kpi_id'] ~ " " ~ row['grain']
                    ~ " " ~ row['period_start'] ~ " value " ~ row['value'] ~ " is "
                    ~ ("below lower_bound " if row['bound_kind'] == 'lower' else "above upper_bound ")
                    ~ row['bound'], info=true
                ) -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endif %}
    {{ breach_sql }}
{%- endtest %}

{% macro _kpi_threshold_breach_sql(model, thresholds) -%}
    {%- set double = okr_kpi.type_double() -%}
    {%- set string = dbt.type_string() -%}
    select
        kpi_id,
        grain,
        period_start,
        value,
        severity,
        bound_kind,
        bound
    from (
        select
            periods.kpi_id,
            periods.grain,
            periods.period_start,
            periods.value,
            limits.severity,
            case when periods.value < limits.lower_bound then 'lower' else 'upper' end as bound_kind,
            case when periods.value < limits.lower_bound then limits.lower_bound else limits.upper_bound end as bound,
            row_number() over (
                partition by periods.kpi_id, periods.grain, periods.period_start
                order by {{ okr_kpi.severity_rank('limits.severity') }} desc, limits.lower_bound desc,
                    limits.upper_bound asc
            ) as severity_order
        from {{ model }} as periods
        inner join (
            select
                cast(kpi_id as {{ string }}) as kpi_id,
                cast(grain as {{ string }}) as grain,
                cast(severity as {{ string }}) as severity,
                cast(lower_bound as {{ double }}) as lower_bound,
                cast(upper_bound as {{ double }}) as upper_bound
            from {{ thresholds }}
        ) as limits
            on
                periods.kpi_id = limits.kpi_id
                and periods.grain = limits.grain
        where
            periods.is_complete
            and periods.is_fully_covered
            and (periods.value < limits.lower_bound or periods.value > limits.upper_bound)
    ) as crossed
    where severity_order = 1
{%- endmacro %}
