{#- The OKR scoreboard on as_of_date: every objective of the cycles running that day (or ended last),
    company objectives first with their aligned team and individual objectives under them, each
    followed by its key results. One line per objective or key result, readable as it is:

        dbt compile --select okr_scoreboard --vars '{as_of_date: "2026-08-31"}'
        then run target/compiled/okr_kpi/analyses/okr_scoreboard.sql (or `dbt show --select okr_scoreboard`).

    Columns: the line (indented title), status, score and where it should be by now (expected), the
    grade once the cycle is over, and for key results the value against baseline and target, the
    forecast at cycle end with its probability, and the owner's latest confidence. -#}
with objectives as (
    select * from {{ ref('fct_objective_progress') }}
    where is_latest
),

key_results as (
    select * from {{ ref('fct_key_result_progress') }}
    where is_latest
),

-- the objective tree: the path of ids from the root, for ordering, and the depth, for indenting
tree as (
    select
        child.objective_id,
        case
            when grandparent.objective_id is not null then 2
            when parent.objective_id is not null then 1
            else 0
        end as depth,
        coalesce(grandparent.objective_id || '/', '') || coalesce(parent.objective_id || '/', '')
        || child.objective_id as path
    from objectives as child
    left join objectives as parent on child.parent_objective_id = parent.objective_id
    left join objectives as grandparent on parent.parent_objective_id = grandparent.objective_id
),

objective_lines as (
    select
        objectives.cycle_id,
        tree.path as sort_key,
        tree.depth,
        upper(objectives.level) || ': ' || objectives.title as line,
        objectives.status,
        round(objectives.score, 2) as score,
        round(objectives.expected_progress, 2) as expected,
        objectives.grade,
        cast(null as {{ dbt.type_string() }}) as value_vs_target,
        cast(null as {{ okr_kpi.type_double() }}) as forecast_value,
        cast(null as {{ okr_kpi.type_double() }}) as forecast_probability,
        cast(null as {{ okr_kpi.type_double() }}) as confidence,
        objectives.owner,
        objectives.date_day as as_of
    from objectives
    inner join tree on objectives.objective_id = tree.objective_id
),

key_result_lines as (
    select
        key_results.cycle_id,
        -- '!' sorts before letters and digits: key results right under their objective
        tree.path || '/!' || key_results.key_result_id as sort_key,
        tree.depth + 1 as depth,
        '- ' || key_results.title || ' [' || key_results.kr_type || ']' as line,
        key_results.status,
        round(key_results.score, 2) as score,
        round(key_results.expected_progress, 2) as expected,
        cast(null as {{ dbt.type_string() }}) as grade,
        coalesce(cast(round(key_results.current_value, 2) as {{ dbt.type_string() }}), 'no value')
        || ' (from ' || coalesce(cast(round(key_results.baseline, 2) as {{ dbt.type_string() }}), '?')
        || ' to ' || coalesce(cast(round(key_results.target, 2) as {{ dbt.type_string() }}), '?') || ')'
        || coalesce(' ' || key_results.no_data_reason, '') as value_vs_target,
        round(key_results.forecast_value, 2) as forecast_value,
        round(key_results.forecast_probability, 2) as forecast_probability,
        key_results.latest_confidence as confidence,
        key_results.owner,
        key_results.date_day as as_of
    from key_results
    inner join tree on key_results.objective_id = tree.objective_id
),

lines as (
    select * from objective_lines
    union all
    select * from key_result_lines
),

final as (
    select
        cycle_id,
        {{ dbt.concat(["substr('            ', 1, depth * 4)", 'line']) }} as line,
        status,
        score,
        expected,
        grade,
        value_vs_target,
        forecast_value,
        forecast_probability,
        confidence,
        owner,
        as_of
    from lines
    order by cycle_id desc, sort_key asc
)

select * from final
