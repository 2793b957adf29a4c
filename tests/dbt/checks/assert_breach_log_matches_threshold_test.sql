{#- The threshold breaches of fct_kpi_breaches are exactly those the dbt test kpi_thresholds
    finds (same periods, same worst severity, same bound): the two ways of writing the rule agree.
    Runs on every adapter, including Spark where the Great Expectations side does not run.
    Returns the rows that differ. -#}
with from_test as (
    {{ okr_kpi._kpi_threshold_breach_sql(ref('fct_kpi_periods'), okr_kpi.project_ref('kpi_thresholds')) }}
),

from_mart as (
    select
        kpi_id,
        grain,
        period_start,
        severity,
        bound
    from {{ ref('fct_kpi_breaches') }}
    where rule = 'threshold'
),

only_in_test as (
    select
        from_test.kpi_id,
        from_test.grain,
        from_test.period_start,
        'only in the dbt test' as difference
    from from_test
    left join from_mart
        on
            from_test.kpi_id = from_mart.kpi_id
            and from_test.grain = from_mart.grain
            and from_test.period_start = from_mart.period_start
            and from_test.severity = from_mart.severity
            and from_test.bound = from_mart.bound
    where from_mart.kpi_id is null
),

only_in_mart as (
    select
        from_mart.kpi_id,
        from_mart.grain,
        from_mart.period_start,
        'only in fct_kpi_breaches' as difference
    from from_mart
    left join from_test
        on
            from_mart.kpi_id = from_test.kpi_id
            and from_mart.grain = from_test.grain
            and from_mart.period_start = from_test.period_start
            and from_mart.severity = from_test.severity
            and from_mart.bound = from_test.bound
    where from_test.kpi_id is null
)

select * from only_in_test
union all
select * from only_in_mart
