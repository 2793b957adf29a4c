{#- One row per objective per day of its cycle, from the cycle's first day to the earlier of its
    last day and as_of_date (docs/scoring.md, "Objectives").

    score = progress = weight-averaged score of the objective's key results (key results without a
    score yet are left out), where every aligned child objective (parent_objective_id) counts as one
    more key result of weight 1 scored with the child's own rolled-up score. Trees up to
    okr_kpi_rollup_depth + 1 levels deep roll up fully (default 3: company > team > individual > ...).
    status: the key results' pace rule on progress / expected_progress. grade: at the cycle's last
    day, red / yellow / green by score (vars okr_kpi_grade_yellow, okr_kpi_grade_green); null before. -#}
{%- set depth = var('okr_kpi_rollup_depth', 3) | int -%}
{%- set double = okr_kpi.type_double() -%}

with objectives as (
    select * from {{ ref('int_okr_objectives') }}
),

key_results as (
    select
        key_result_id,
        objective_id,
        date_day,
        weight,
        score
    from {{ ref('fct_key_result_progress') }}
),

{{ okr_kpi.okr_cycle_day_ctes('objectives', 'objective_id') }},

objective_days as (
    select * from okr_cycle_days
),

own as (
    select
        objective_days.objective_id,
        objective_days.date_day,
        objective_days.elapsed_days,
        count(key_results.key_result_id) as key_result_count,
        count(key_results.score) as scored_key_result_count,
        coalesce(sum(case when key_results.score is not null then key_results.weight * key_results.score end), 0)
            as own_weighted_score,
        coalesce(sum(case when key_results.score is not null then key_results.weight end), 0) as own_weight
    from objective_days
    left join key_results
        on
            objective_days.objective_id = key_results.objective_id
            and objective_days.date_day = key_results.date_day
    group by objective_days.objective_id, objective_days.date_day, objective_days.elapsed_days
),

rollup_0 as (
    select
        objective_id,
        date_day,
        own_weighted_score / nullif(own_weight, 0) as score,
        0 as child_objective_count,
        0 as scored_child_objective_count
    from own
),
{%- for level in range(1, depth + 1) %}

rollup_{{ level }} as (
    select
        own.objective_id,
        own.date_day,
        (own.own_weighted_score + coalesce(sum(child.score), 0))
        / nullif(own.own_weight + count(child.score), 0) as score,
        count(children.objective_id) as child_objective_count,
        count(child.score) as scored_child_objective_count
    from own
    left join objectives as children on own.objective_id = children.parent_objective_id
    left join rollup_{{ level - 1 }} as child
        on
            children.objective_id = child.objective_id
            and own.date_day = child.date_day
    group by own.objective_id, own.date_day, own.own_weighted_score, own.own_weight
),
{%- endfor %}

scored as (
    select
        objectives.objective_id,
        own.date_day,
        objectives.cycle_id,
        objectives.title,
        objectives.level,
        objectives.team,
        objectives.owner,
        objectives.parent_objective_id,
        objectives.cycle_start_date,
        objectives.cycle_end_date,
        objectives.cycle_days,
        own.elapsed_days,
        own.key_result_count,
        own.scored_key_result_count,
        rolled.child_objective_count,
        rolled.scored_child_objective_count,
        own.own_weighted_score / nullif(own.own_weight, 0) as key_result_score,
        -- -0.0 is 0
        case when rolled.score = 0 then 0.0 else rolled.score end as progress,
        case when rolled.score = 0 then 0.0 else rolled.score end as score,
        cast(own.elapsed_days as {{ double }}) / objectives.cycle_days as expected_progress
    from own
    inner join objectives on own.objective_id = objectives.objective_id
    inner join rollup_{{ depth }} as rolled
        on
            own.objective_id = rolled.objective_id
            and own.date_day = rolled.date_day
),

final as (
    select
        cast(objective_id as {{ dbt.type_string() }}) as objective_id,
        cast(date_day as date) as date_day,
        cast(cycle_id as {{ dbt.type_string() }}) as cycle_id,
        cast(title as {{ dbt.type_string() }}) as title,
        cast(level as {{ dbt.type_string() }}) as level,
        cast(team as {{ dbt.type_string() }}) as team,
        cast(owner as {{ dbt.type_string() }}) as owner,
        cast(parent_objective_id as {{ dbt.type_string() }}) as parent_objective_id,
        cast(cycle_start_date as date) as cycle_start_date,
        cast(cycle_end_date as date) as cycle_end_date,
        cast(cycle_days as integer) as cycle_days,
        cast(elapsed_days as integer) as elapsed_days,
        cast(key_result_count as integer) as key_result_count,
        cast(scored_key_result_count as integer) as scored_key_result_count,
        cast(child_objective_count as integer) as child_objective_count,
        cast(scored_child_objective_count as integer) as scored_child_objective_count,
        cast(key_result_score as {{ double }}) as key_result_score,
        cast(progress as {{ double }}) as progress,
        cast(score as {{ double }}) as score,
        cast(expected_progress as {{ double }}) as expected_progress,
        cast(progress / expected_progress as {{ double }}) as pace_ratio,
        cast(
            case
                when progress is null then 'no_data'
                else {{ okr_kpi.okr_pace_status('progress', 'progress / expected_progress') }}
            end
            as {{ dbt.type_string() }}
        ) as status,
        cast(
            case
                when date_day >= cycle_end_date then {{ okr_kpi.okr_grade('score') }}
            end
            as {{ dbt.type_string() }}
        ) as grade,
        cast(date_day = {{ okr_kpi.as_of_date() }} or date_day = cycle_end_date as boolean) as is_latest
    from scored
)

select * from final
