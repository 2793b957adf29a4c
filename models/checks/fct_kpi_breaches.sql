{#- One row per KPI, grain, complete period and rule (threshold | anomaly): the breach log.
    breach_id is a hash of kpi_id|grain|period_start|rule, so a breach keeps its id when its
    severity changes (an escalation). Segment breaches (docs/segments.md: a segment's threshold
    or anomaly) have segment_dimension and segment_value set, and their id hashes
    kpi_id|grain|period_start|rule|segment_dimension|segment_value; a total's breach has both null
    and the id it always had. A breach on a period whose KPI input failed a data-quality
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

segment_threshold_breaches as (
    select * from {{ ref('int_kpi_segment_threshold_breaches') }}
),

segment_anomalies as (
    select * from {{ ref('int_kpi_segment_anomalies') }}
),

kpis as (
    select
        kpi_id,
        name as kpi_name,
        owner
    from {{ ref('dim_kpis') }}
),

key_results as (
    -- a key result on a segment (okr_key_results.segment_dimension/segment_value) is affected by
    -- that segment's breaches; the others by the total's
    select distinct
        cast(key_results.kpi_id as {{ string }}) as kpi_id,
        cast(key_results.key_result_id as {{ string }}) as key_result_id,
        coalesce({{ okr_kpi.to_text(okr_kpi.seed_column(okr_kpi.project_ref('okr_key_results'), 'key_results',
            'segment_dimension')) }}, '') as segment_dimension,
        coalesce({{ okr_kpi.to_text(okr_kpi.seed_column(okr_kpi.project_ref('okr_key_results'), 'key_results',
            'segment_value')) }}, '') as segment_value
    from {{ okr_kpi.project_ref('okr_key_results') }} as key_results
    where key_results.kpi_id is not null
),

input_quality as (
    select * from {{ ref('int_kpi_input_quality') }}
),

affected as (
    select
        kpi_id,
        segment_dimension,
        segment_value,
        {{ okr_kpi.sorted_listagg('key_result_id', ',') }} as affected_key_results
    from key_results
    group by kpi_id, segment_dimension, segment_value
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
        cast(null as {{ double }}) as z_score,
        cast(null as {{ string }}) as segment_dimension,
        cast(null as {{ string }}) as segment_value
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
        anomalies.z_score,
        cast(null as {{ string }}) as segment_dimension,
        cast(null as {{ string }}) as segment_value
    from anomalies
    union all
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
        cast(null as {{ double }}) as z_score,
        segment_dimension,
        segment_value
    from segment_threshold_breaches
    union all
    select
        kpi_id,
        grain,
        period_start,
        period_end,
        value,
        cast('anomaly' as {{ string }}) as rule,
        severity,
        cast(null as {{ double }}) as lower_bound,
        cast(null as {{ double }}) as upper_bound,
        cast(null as {{ double }}) as bound,
        expected_value,
        z_score,
        segment_dimension,
        segment_value
    from segment_anomalies
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
        case
            when breaches.segment_dimension is null
                then cast({{ dbt.hash(dbt.concat([
                    'breaches.kpi_id', "'|'", 'breaches.grain', "'|'",
                    'cast(breaches.period_start as ' ~ string ~ ')', "'|'", 'breaches.rule'
                ])) }} as {{ string }})
            else cast({{ dbt.hash(dbt.concat([
                'breaches.kpi_id', "'|'", 'breaches.grain', "'|'",
                'cast(breaches.period_start as ' ~ string ~ ')', "'|'", 'breaches.rule',
                "'|'", 'breaches.segment_dimension', "'|'", 'breaches.segment_value'
            ])) }} as {{ string }})
        end as breach_id,
        cast(breaches.kpi_id as {{ string }}) as kpi_id,
        -- a segment's breach names its segment, so that an alert reads apart from the total's
        cast(case
            when breaches.segment_dimension is null then kpis.kpi_name
            else {{ dbt.concat(['kpis.kpi_name', "' ('", 'breaches.segment_dimension', "' = '",
                                'breaches.segment_value', "')'"]) }}
        end as {{ string }}) as kpi_name,
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
        cast(suspect_periods.suspect_reason as {{ string }}) as suspect_reason,
        cast(breaches.segment_dimension as {{ string }}) as segment_dimension,
        cast(breaches.segment_value as {{ string }}) as segment_value
    from breaches
    left join kpis on breaches.kpi_id = kpis.kpi_id
    left join affected
        on
            breaches.kpi_id = affected.kpi_id
            and coalesce(breaches.segment_dimension, '') = affected.segment_dimension
            and coalesce(breaches.segment_value, '') = affected.segment_value
    left join suspect_periods
        on
            breaches.kpi_id = suspect_periods.kpi_id
            and breaches.grain = suspect_periods.grain
            and breaches.period_start = suspect_periods.period_start
)

select * from final
