{#- The OKR objectives of the project that installs the package (SPEC: seeds). -#}
{{ config(tags=['okr_kpi_seed_checks']) }}
{{ okr_kpi.seed_checks(
    okr_kpi.project_ref('okr_objectives'),
    ['objective_id', 'cycle_id', 'title', 'level', 'team', 'owner', 'parent_objective_id'],
    [
        okr_kpi._seed_rule_not_null('objective_id'),
        okr_kpi._seed_rule_unique(okr_kpi.project_ref('okr_objectives'), 'objective_id'),
        okr_kpi._seed_rule_not_null('cycle_id'),
        okr_kpi._seed_rule_link('cycle_id', okr_kpi.project_ref('okr_cycles'), 'cycle_id'),
        okr_kpi._seed_rule_not_null('title'),
        okr_kpi._seed_rule_not_null('level'),
        okr_kpi._seed_rule_accepted_values('level', ['company', 'team', 'individual']),
        okr_kpi._seed_rule_link('parent_objective_id', okr_kpi.project_ref('okr_objectives'), 'objective_id'),
    ],
) }}
