{#- The days of a cycle, one home for the OKR marts' day rows (docs/scoring.md): for each row of
    `subjects` (a relation or CTE with `id_column`, cycle_start_date and cycle_end_date), one row
    per day from its cycle's first day to the earlier of its last day and as_of_date, with
    elapsed_days counting the first day (day 1 of a 92-day quarter is 1). Emits the CTEs (without
    `with`) okr_cycle_bounds, okr_cycle_spine and okr_cycle_days (columns: id_column, date_day,
    elapsed_days, then `columns` of `subjects`). Read by int_okr_key_result_days and
    fct_objective_progress. -#}
{% macro okr_cycle_day_ctes(subjects, id_column, columns=[]) -%}
okr_cycle_bounds as (
    select
        min(cycle_start_date) as first_day,
        {{ okr_kpi.as_of_date() }} as last_day
    from {{ subjects }}
),

okr_cycle_spine as (
    {{ okr_kpi.date_spine('(select first_day from okr_cycle_bounds)', '(select last_day from okr_cycle_bounds)') }}
),

okr_cycle_days as (
    select
        subjects.{{ id_column }},
        okr_cycle_spine.date_day,
        {{ dbt.datediff('subjects.cycle_start_date', 'okr_cycle_spine.date_day', 'day') }} + 1 as elapsed_days
        {%- for column in columns %},
        subjects.{{ column }}
        {%- endfor %}
    from {{ subjects }} as subjects
    inner join okr_cycle_spine
        on
            subjects.cycle_start_date <= okr_cycle_spine.date_day
            and subjects.cycle_end_date >= okr_cycle_spine.date_day
)
{%- endmacro %}
