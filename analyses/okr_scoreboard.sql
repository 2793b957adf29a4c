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

-- the objective tree: the ids from the root down (ordering) and the depth (indenting)
tree as (
    select
        child.objective_id,
        case
            when grandparent.objective_id is not null then 2
            when parent.objective_id is not null then 1
            else 0
        end as depth,
        coalesce(grandparent.objective_id, parent.objective_id, child.objective_id) as level_0_id,
        case
            when grandparent.objective_id is not null then parent.objective_id
            when parent.objective_id is not null then child.objective_id
            else ''
        end as level_1_id,
        case when grandparent.objective_id is not null then child.objective_id else '' end as level_2_id
    from objectives as child
    left join objectives as parent on child.parent_objective_id = parent.objective_id
    left join objectives as grandparent on parent.parent_objective_id = grandparent.objective_id
),

objective_lines as (
    select
        objectives.cycle_id,
        tree.level_0_id,
        tree.level_1_id,
        tree.level_2_id,
        0 as is_key_result,
        '' as key_result_id,
        tree.depth,
        upper(objectives.level) || ': ' || objectives.title as line,
        objectives.status,
        round(cast(objectives.score as {{ dbt.type_numeric() }}), 2) as score,
        round(cast(objectives.expected_progress as {{ dbt.type_numeric() }}), 2) as expected,
        objectives.grade,
        cast(null as {{ dbt.type_string() }}) as value_vs_target,
        cast(null as {{ dbt.type_numeric() }}) as forecast_value,
        cast(null as {{ dbt.type_numeric() }}) as forecast_probability,
        cast(null as {{ dbt.type_numeric() }}) as confidence,
        objectives.owner,
        objectives.date_day as as_of
    from objectives
    inner join tree on objectives.objective_id = tree.objective_id
),

key_result_lines as (
    select
        key_results.cycle_id,
        tree.level_0_id,
        tree.level_1_id,
        tree.level_2_id,
        1 as is_key_result,
        key_results.key_result_id,
        tree.depth + 1 as depth,
        '- ' || key_results.title || ' [' || key_results.kr_type || ']' as line,
        key_results.status,
        round(cast(key_results.score as {{ dbt.type_numeric() }}), 2) as score,
        round(cast(key_results.expected_progress as {{ dbt.type_numeric() }}), 2) as expected,
        cast(null as {{ dbt.type_string() }}) as grade,
        {{ dbt.concat([
            okr_kpi.number_text('key_results.current_value', "'no value'"),
            "' (from '", okr_kpi.number_text('key_results.baseline', "'?'"),
            "' to '", okr_kpi.number_text('key_results.target', "'?'"), "')'",
            "coalesce(' ' || key_results.no_data_reason, '')",
        ]) }} as value_vs_target,
        round(cast(key_results.forecast_value as {{ dbt.type_numeric() }}), 2) as forecast_value,
        round(cast(key_results.forecast_probability as {{ dbt.type_numeric() }}), 2) as forecast_probability,
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
        as_of,
        level_0_id,
        level_1_id,
        level_2_id,
        is_key_result,
        key_result_id
    from lines
)

select
    cycle_id,
    line,
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
from final
order by cycle_id desc, level_0_id asc, level_1_id asc, level_2_id asc, is_key_result asc, key_result_id asc
