{#- One row per objective of a cycle the report shows (rpt_okr_cycles.is_reported): its latest
    day scored in fct_objective_progress (as_of_date in an active cycle, the last day in a finished
    one), its cycle's state and order, and the parent it aligns to, which may be in another cycle
    (a quarterly team objective under a six-month company objective). is_parent_reported tells
    whether that parent is shown too; the report nests the objective under it when it is. -#}
with cycles as (
    select * from {{ ref('rpt_okr_cycles') }}
    where is_reported
),

objectives as (
    select * from {{ ref('int_okr_objectives') }}
),

latest as (
    select * from {{ ref('fct_objective_progress') }}
    where is_latest
),

parents as (
    select
        objectives.objective_id,
        objectives.title,
        objectives.cycle_id,
        objectives.cycle_name,
        case when cycles.cycle_id is null then 0 else 1 end as is_reported
    from objectives
    left join cycles on objectives.cycle_id = cycles.cycle_id
),

final as (
    select
        cast(objectives.objective_id as {{ dbt.type_string() }}) as objective_id,
        cast(objectives.cycle_id as {{ dbt.type_string() }}) as cycle_id,
        cast(cycles.cycle_name as {{ dbt.type_string() }}) as cycle_name,
        cast(cycles.cycle_state as {{ dbt.type_string() }}) as cycle_state,
        cast(cycles.cycle_length as {{ dbt.type_string() }}) as cycle_length,
        cast(cycles.report_order as integer) as cycle_report_order,
        cast(objectives.title as {{ dbt.type_string() }}) as title,
        cast(objectives.level as {{ dbt.type_string() }}) as level,
        cast(
            case objectives.level when 'company' then 0 when 'team' then 1 when 'individual' then 2 else 3 end
            as integer
        ) as level_rank,
        cast(objectives.team as {{ dbt.type_string() }}) as team,
        cast(objectives.owner as {{ dbt.type_string() }}) as owner,
        cast(objectives.parent_objective_id as {{ dbt.type_string() }}) as parent_objective_id,
        cast(parents.title as {{ dbt.type_string() }}) as parent_title,
        cast(parents.cycle_id as {{ dbt.type_string() }}) as parent_cycle_id,
        cast(parents.cycle_name as {{ dbt.type_string() }}) as parent_cycle_name,
        cast(coalesce(parents.is_reported, 0) = 1 as boolean) as is_parent_reported,
        cast(latest.date_day as date) as date_day,
        cast(objectives.cycle_start_date as date) as cycle_start_date,
        cast(objectives.cycle_end_date as date) as cycle_end_date,
        cast(objectives.cycle_days as integer) as cycle_days,
        cast(latest.elapsed_days as integer) as elapsed_days,
        cast(latest.key_result_count as integer) as key_result_count,
        cast(latest.child_objective_count as integer) as child_objective_count,
        cast(latest.key_result_score as {{ okr_kpi.type_double() }}) as key_result_score,
        cast(latest.progress as {{ okr_kpi.type_double() }}) as progress,
        cast(latest.score as {{ okr_kpi.type_double() }}) as score,
        cast(latest.expected_progress as {{ okr_kpi.type_double() }}) as expected_progress,
        cast(latest.pace_ratio as {{ okr_kpi.type_double() }}) as pace_ratio,
        cast(latest.status as {{ dbt.type_string() }}) as status,
        cast(latest.grade as {{ dbt.type_string() }}) as grade
    from objectives
    inner join cycles on objectives.cycle_id = cycles.cycle_id
    left join latest on objectives.objective_id = latest.objective_id
    left join parents on objectives.parent_objective_id = parents.objective_id
)

select * from final
