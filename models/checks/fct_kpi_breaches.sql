{#- One row per KPI, grain, complete period and rule (threshold | anomaly): the breach log.
    breach_id is a hash of kpi_id|grain|period_start|rule, so a breach keeps its id when its
    severity changes (an escalation). A breach on a period whose KPI input failed a data-quality
    check (int_kpi_input_quality) is marked suspect: a broken load must not read as a business
    problem. -#}
{%- set double = okr_kpi.type_double() -%}
{%- set string = dbt.type_string() -%}

with threshold_breaches as (
    select * from {{ ref('int_kpi_threshold_breaches') }}
),

anomalies as (
    select * from {{ ref('int_kpi_anomalies') }}
),

kpis as (
    select
        kpi_id,
        name as kpi_name,
        owner
    from {{ ref('dim_kpis') }}
),

key_results as (
    select distinct
        cast(kpi_id as {{ string }}) as kpi_id,
        cast(key_result_id as {{ string }}) as key_result_id
    from {{ okr_kpi.project_ref('okr_key_results') }}
    where kpi_id is not null
),

input_quality as (
    select * from {{ ref('int_kpi_input_quality') }}
),

affected as (
    select
        kpi_id,
        {{ okr_kpi.sorted_listagg('key_result_id', ',') }} as affected_key_results
    from key_results
    group by kpi_id
),

breaches as (
    select
        kpi_id,
        grain,
        period_start,
        period_end,
        value,
        cast('threshold' as {{ string }}) as rule,
        severity,
        lower_bound,
        upper_bound,
        bound,
        cast(null as {{ double }}) as expected_value,
        cast(null as {{ double }}) as z_score
    from threshold_breaches
    union all
    select
        anomalies.kpi_id,
        anomalies.grain,
        anomalies.period_start,
        anomalies.period_end,
        anomalies.value,
        cast('anomaly' as {{ string }}) as rule,
        anomalies.severity,
        cast(null as {{ double }}) as lower_bound,
        cast(null as {{ double }}) as upper_bound,
        cast(null as {{ double }}) as bound,
        anomalies.expected_value,
        anomalies.z_score
    from anomalies
),

breach_periods as (
    select distinct
        kpi_id,
        grain,
        period_start,
        period_end
    from breaches
),

suspect_periods as (
    select
        breaches.kpi_id,
        breaches.grain,
        breaches.period_start,
        min(input_quality.reason) as suspect_reason
    from breach_periods as breaches
    inner join input_quality
        on
            breaches.kpi_id = input_quality.kpi_id
            and breaches.period_start <= input_quality.date_day
            and breaches.period_end >= input_quality.date_day
    group by breaches.kpi_id, breaches.grain, breaches.period_start
),

final as (
    select
        cast({{ dbt.hash(dbt.concat([
            'breaches.kpi_id', "'|'", 'breaches.grain', "'|'",
            'cast(breaches.period_start as ' ~ string ~ ')', "'|'", 'breaches.rule'
        ])) }} as {{ string }}) as breach_id,
        cast(breaches.kpi_id as {{ string }}) as kpi_id,
        cast(kpis.kpi_name as {{ string }}) as kpi_name,
        cast(kpis.owner as {{ string }}) as owner,
        cast(breaches.grain as {{ string }}) as grain,
        cast(breaches.period_start as date) as period_start,
        cast(breaches.period_end as date) as period_end,
        cast(breaches.value as {{ double }}) as value,
        cast(breaches.rule as {{ string }}) as rule,
        cast(breaches.severity as {{ string }}) as severity,
        cast(breaches.lower_bound as {{ double }}) as lower_bound,
        cast(breaches.upper_bound as {{ double }}) as upper_bound,
        cast(breaches.bound as {{ double }}) as bound,
        cast(breaches.expected_value as {{ double }}) as expected_value,
        cast(breaches.z_score as {{ double }}) as z_score,
        cast(coalesce(affected.affected_key_results, '') as {{ string }}) as affected_key_results,
        coalesce(suspect_periods.kpi_id is not null, false) as is_suspect,
        cast(suspect_periods.suspect_reason as {{ string }}) as suspect_reason
    from breaches
    left join kpis on breaches.kpi_id = kpis.kpi_id
    left join affected on breaches.kpi_id = affected.kpi_id
    left join suspect_periods
        on
            breaches.kpi_id = suspect_periods.kpi_id
            and breaches.grain = suspect_periods.grain
            and breaches.period_start = suspect_periods.period_start
)

select * from final
