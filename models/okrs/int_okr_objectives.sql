{#- One row per objective: its seed row typed, with its cycle's dates. -#}
with cycles as (
    select
        {{ okr_kpi.to_text('cycle_id') }} as cycle_id,
        {{ okr_kpi.to_text('name') }} as cycle_name,
        {{ okr_kpi.to_date('start_date') }} as cycle_start_date,
        {{ okr_kpi.to_date('end_date') }} as cycle_end_date
    from {{ okr_kpi.project_ref('okr_cycles') }}
),

objectives as (
    select
        {{ okr_kpi.to_text('objective_id') }} as objective_id,
        {{ okr_kpi.to_text('cycle_id') }} as cycle_id,
        {{ okr_kpi.to_text('title') }} as title,
        {{ okr_kpi.to_text('level') }} as level,
        {{ okr_kpi.to_text('team') }} as team,
        {{ okr_kpi.to_text('owner') }} as owner,
        {{ okr_kpi.to_text('parent_objective_id') }} as parent_objective_id
    from {{ okr_kpi.project_ref('okr_objectives') }}
),

final as (
    select
        objectives.objective_id,
        objectives.cycle_id,
        cycles.cycle_name,
        objectives.title,
        objectives.level,
        objectives.team,
        objectives.owner,
        objectives.parent_objective_id,
        cycles.cycle_start_date,
        cycles.cycle_end_date,
        {{ dbt.datediff('cycles.cycle_start_date', 'cycles.cycle_end_date', 'day') }} + 1 as cycle_days  -- noqa: LT05
    from objectives
    inner join cycles on objectives.cycle_id = cycles.cycle_id
)

select * from final
