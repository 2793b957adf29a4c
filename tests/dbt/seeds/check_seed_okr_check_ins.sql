{#- The OKR check-ins of the project that installs the package (SPEC: seeds). -#}
{{ config(tags=['okr_kpi_seed_checks']) }}
{{ okr_kpi.seed_checks(
    okr_kpi.project_ref('okr_check_ins'),
    ['key_result_id', 'check_in_date', 'value', 'confidence', 'note'],
    [
        okr_kpi._seed_rule_unique_combination(okr_kpi.project_ref('okr_check_ins'), ['key_result_id', 'check_in_date']),
        okr_kpi._seed_rule_not_null('key_result_id'),
        okr_kpi._seed_rule_link('key_result_id', okr_kpi.project_ref('okr_key_results'), 'key_result_id'),
        okr_kpi._seed_rule_not_null('check_in_date'),
        okr_kpi._seed_rule_date('check_in_date'),
        okr_kpi._seed_rule_not_null('value'),
        okr_kpi._seed_rule_number('value'),
        okr_kpi._seed_rule_number('confidence'),
    ],
) }}
