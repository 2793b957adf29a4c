{#- Generic test: every full period of `model` (fct_kpi_periods or a model with its columns
    kpi_id, grain, period_start, period_end, value, is_full_period) lies inside the bounds of its
    KPI and grain in the seed `thresholds` (default kpi_thresholds).

    Returns one row per breaching period with the worst severity crossed -- the rule is the macro
    kpi_threshold_breaches (kpi_threshold_breaches.sql), the one that int_kpi_threshold_breaches
    and so fct_kpi_breaches compile too -- and, in `dbt build`/`dbt test`, logs one line per breach naming KPI, grain,
    period, value and bound. Severity warn by default: a breach is news, not a broken build. -#}
{% test kpi_thresholds(model, thresholds=none) -%}
    {{ config(severity='warn', store_failures=true) }}
    {%- set thresholds = thresholds if thresholds is not none else okr_kpi.project_ref('kpi_thresholds') -%}
    {%- set breach_sql = okr_kpi.kpi_threshold_breaches(model, thresholds) -%}
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
