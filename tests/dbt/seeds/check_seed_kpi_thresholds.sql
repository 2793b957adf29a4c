{#- The KPI thresholds of the project that installs the package (SPEC: seeds). -#}
{{ config(tags=['okr_kpi_seed_checks']) }}
{{ okr_kpi.seed_checks(
    okr_kpi.project_ref('kpi_thresholds'),
    ['kpi_id', 'grain', 'severity', 'lower_bound', 'upper_bound'],
    [
        okr_kpi._seed_rule_not_null('kpi_id'),
        okr_kpi._seed_rule_link('kpi_id', okr_kpi.project_ref('kpi_definitions'), 'kpi_id'),
        okr_kpi._seed_rule_not_null('grain'),
        okr_kpi._seed_rule_accepted_values('grain', ['day', 'week', 'month', 'quarter', 'year']),
        okr_kpi._seed_rule_not_null('severity'),
        okr_kpi._seed_rule_accepted_values('severity', ['warning', 'critical']),
        okr_kpi._seed_rule_number('lower_bound'),
        okr_kpi._seed_rule_number('upper_bound'),
    ],
) }}
