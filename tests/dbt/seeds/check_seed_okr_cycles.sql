{#- The OKR cycles of the project that installs the package (SPEC: seeds). -#}
{{ config(tags=['okr_kpi_seed_checks']) }}
{{ okr_kpi.seed_checks(
    okr_kpi.project_ref('okr_cycles'),
    ['cycle_id', 'name', 'start_date', 'end_date'],
    [
        okr_kpi._seed_rule_not_null('cycle_id'),
        okr_kpi._seed_rule_unique(okr_kpi.project_ref('okr_cycles'), 'cycle_id'),
        okr_kpi._seed_rule_not_null('name'),
        okr_kpi._seed_rule_not_null('start_date'),
        okr_kpi._seed_rule_date('start_date'),
        okr_kpi._seed_rule_not_null('end_date'),
        okr_kpi._seed_rule_date('end_date'),
    ],
) }}
