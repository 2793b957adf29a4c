{#- One row per OKR cycle (okr_cycles), classified against as_of_date for the report
    (docs/publishing.md, "What the report shows about cycles").

    cycle_state: upcoming (starts after as_of_date), active (as_of_date inside it) or finished
    (ended before as_of_date). cycle_length names the length from cycle_days: month (28-31 days),
    quarter (89-92), half_year (181-184), year (365-366), else other. is_reported: every active
    cycle, and the okr_kpi_report_finished_cycles (default 1) most recently ended finished cycles
    of each cycle_length. score: the mean score of the cycle's top objectives (no parent in the
    same cycle) on their latest day scored (for a finished cycle, its last day); grade: that final
    score's OKR grade (macro okr_grade: vars okr_kpi_grade_green / okr_kpi_grade_yellow), finished
    cycles only. is_current: the one cycle the report leads with (the active cycle that started
    last, the shortest of those; else the finished cycle that ended last). -#}
{%- set finished_reported = var('okr_kpi_report_finished_cycles', 1) | int -%}
{%- set double = okr_kpi.type_double() -%}

with cycles as (
    select
        {{ okr_kpi.to_text('cycle_id') }} as cycle_id,
        {{ okr_kpi.to_text('name') }} as cycle_name,
        {{ okr_kpi.to_date('start_date') }} as start_date,
        {{ okr_kpi.to_date('end_date') }} as end_date
    from {{ okr_kpi.project_ref('okr_cycles') }}
),

as_of as (
    select {{ okr_kpi.as_of_date() }} as as_of_date
),

measured as (
    select
        cycles.cycle_id,
        cycles.cycle_name,
        cycles.start_date,
        cycles.end_date,
        as_of.as_of_date,
        {{ dbt.datediff('cycles.start_date', 'cycles.end_date', 'day') }} + 1 as cycle_days,  -- noqa: LT05
        {{ dbt.datediff('cycles.start_date', 'as_of.as_of_date', 'day') }} + 1 as days_to_as_of  -- noqa: LT05
    from cycles
    cross join as_of
),

classified as (
    select
        cycle_id,
        cycle_name,
        start_date,
        end_date,
        as_of_date,
        cycle_days,
        case
            when as_of_date < start_date then 0
            when as_of_date > end_date then cycle_days
            else days_to_as_of
        end as elapsed_days,
        case
            when as_of_date < start_date then 'upcoming'
            when as_of_date > end_date then 'finished'
            else 'active'
        end as cycle_state,
        case
            when cycle_days between 28 and 31 then 'month'
            when cycle_days between 89 and 92 then 'quarter'
            when cycle_days between 181 and 184 then 'half_year'
            when cycle_days between 365 and 366 then 'year'
            else 'other'
        end as cycle_length
    from measured
),

ranked as (
    select
        *,
        row_number() over (
            partition by cycle_state, cycle_length
            order by end_date desc, start_date desc, cycle_id asc
        ) as recency_rank
    from classified
),

objective_latest as (
    select
        objectives.objective_id,
        objectives.cycle_id,
        objectives.parent_objective_id,
        latest.score,
        latest.grade
    from {{ ref('int_okr_objectives') }} as objectives
    left join {{ ref('fct_objective_progress') }} as latest
        on
            objectives.objective_id = latest.objective_id
            and latest.is_latest
),

objectives as (
    select
        objective_latest.cycle_id,
        objective_latest.score,
        objective_latest.grade,
        case when parent.objective_id is null then 1 else 0 end as is_top
    from objective_latest
    left join objective_latest as parent
        on
            objective_latest.parent_objective_id = parent.objective_id
            and objective_latest.cycle_id = parent.cycle_id
),

scores as (
    select
        cycle_id,
        count(*) as objective_count,
        avg(case when is_top = 1 then score end) as score,
        sum(case when grade = 'green' then 1 else 0 end) as green_count,
        sum(case when grade = 'yellow' then 1 else 0 end) as yellow_count,
        sum(case when grade = 'red' then 1 else 0 end) as red_count
    from objectives
    group by cycle_id
),

final as (
    select
        cast(ranked.cycle_id as {{ dbt.type_string() }}) as cycle_id,
        cast(ranked.cycle_name as {{ dbt.type_string() }}) as cycle_name,
        cast(ranked.start_date as date) as start_date,
        cast(ranked.end_date as date) as end_date,
        cast(ranked.as_of_date as date) as as_of_date,
        cast(ranked.cycle_days as integer) as cycle_days,
        cast(ranked.cycle_length as {{ dbt.type_string() }}) as cycle_length,
        cast(ranked.cycle_state as {{ dbt.type_string() }}) as cycle_state,
        cast(ranked.elapsed_days as integer) as elapsed_days,
        cast(ranked.elapsed_days as {{ double }}) / ranked.cycle_days as expected_progress,
        cast(ranked.recency_rank as integer) as recency_rank,
        cast(
            ranked.cycle_state = 'active'
            or (ranked.cycle_state = 'finished' and ranked.recency_rank <= {{ finished_reported }})
            as boolean
        ) as is_reported,
        cast(coalesce(scores.objective_count, 0) as integer) as objective_count,
        cast(scores.score as {{ double }}) as score,
        cast(
            case
                when ranked.cycle_state = 'finished' then {{ okr_kpi.okr_grade('scores.score') }}
            end
            as {{ dbt.type_string() }}
        ) as grade,
        cast(coalesce(scores.green_count, 0) as integer) as green_objective_count,
        cast(coalesce(scores.yellow_count, 0) as integer) as yellow_objective_count,
        cast(coalesce(scores.red_count, 0) as integer) as red_objective_count,
        -- the order the report lists cycles in: active ones longest first, then finished ones
        -- most recently ended first, then upcoming ones soonest first
        cast(row_number() over (
            order by
                case ranked.cycle_state when 'active' then 0 when 'finished' then 1 else 2 end,
                case when ranked.cycle_state = 'active' then 0 - ranked.cycle_days else 0 end,
                case when ranked.cycle_state = 'finished' then ranked.end_date end desc,
                ranked.start_date asc,
                ranked.cycle_id asc
        ) as integer) as report_order,
        -- the report's current cycle: the active cycle that started last (the shortest of those),
        -- else the finished cycle that ended last
        cast(
            ranked.cycle_state in ('active', 'finished')
            and row_number() over (
                order by
                    case ranked.cycle_state when 'active' then 0 when 'finished' then 1 else 2 end,
                    case when ranked.cycle_state = 'active' then ranked.start_date end desc,
                    case when ranked.cycle_state = 'active' then ranked.cycle_days end asc,
                    case when ranked.cycle_state = 'finished' then ranked.end_date end desc,
                    ranked.start_date asc,
                    ranked.cycle_id asc
            ) = 1
            as boolean
        ) as is_current
    from ranked
    left join scores on ranked.cycle_id = scores.cycle_id
)

select * from final
