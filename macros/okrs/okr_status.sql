{#- The OKR status and grade rules (SPEC: scoring rules), one home each: key results
    (fct_key_result_progress), objectives (fct_objective_progress) and cycles (rpt_okr_cycles)
    call these macros rather than writing the thresholds again (docs/scoring.md). -#}

{#- Pace status of a progress against the expected pace: achieved (progress >= 1), on_track
    (pace_ratio >= var okr_kpi_on_track_pace, default 0.7), at_risk (>= okr_kpi_at_risk_pace,
    default 0.5), else off_track. `progress` may be the score (progress clamped to [0, 1]): both
    reach 1 together. -#}
{% macro okr_pace_status(progress, pace_ratio) -%}
    case
        when {{ progress }} >= 1 then 'achieved'
        when {{ pace_ratio }} >= {{ var('okr_kpi_on_track_pace', 0.7) }} then 'on_track'
        when {{ pace_ratio }} >= {{ var('okr_kpi_at_risk_pace', 0.5) }} then 'at_risk'
        else 'off_track'
    end
{%- endmacro %}

{#- OKR grade of a final score: green (>= var okr_kpi_grade_green, default 0.7), yellow
    (>= okr_kpi_grade_yellow, default 0.4), else red; null when the score is null. -#}
{% macro okr_grade(score) -%}
    case
        when {{ score }} >= {{ var('okr_kpi_grade_green', 0.7) }} then 'green'
        when {{ score }} >= {{ var('okr_kpi_grade_yellow', 0.4) }} then 'yellow'
        when {{ score }} is not null then 'red'
    end
{%- endmacro %}
