{#- The OKR key results of the project that installs the package (SPEC: seeds). -#}
{{ config(tags=['okr_kpi_seed_checks']) }}
{{ okr_kpi.seed_checks(
    okr_kpi.project_ref('okr_key_results'),
    ['key_result_id', 'objective_id', 'title', 'kr_type', 'kpi_id', 'grain', 'measure', 'baseline', 'target',
     'target_kind', 'weight', 'owner'],
    [
        okr_kpi._seed_rule_not_null('key_result_id'),
        okr_kpi._seed_rule_unique(okr_kpi.project_ref('okr_key_results'), 'key_result_id'),
        okr_kpi._seed_rule_not_null('objective_id'),
        okr_kpi._seed_rule_link('objective_id', okr_kpi.project_ref('okr_objectives'), 'objective_id'),
        okr_kpi._seed_rule_not_null('title'),
        okr_kpi._seed_rule_not_null('kr_type'),
        okr_kpi._seed_rule_accepted_values('kr_type',
            ['increase', 'decrease', 'maintain_above', 'maintain_below', 'milestone']),
        okr_kpi._seed_rule_link('kpi_id', okr_kpi.project_ref('kpi_definitions'), 'kpi_id'),
        okr_kpi._seed_rule_accepted_values('grain', ['day', 'week', 'month', 'quarter', 'year']),
        okr_kpi._seed_rule_accepted_values('measure', ['latest_period', 'cycle_to_date']),
        okr_kpi._seed_rule_number('baseline'),
        okr_kpi._seed_rule_not_null('target'),
        okr_kpi._seed_rule_number('target'),
        okr_kpi._seed_rule_not_null('target_kind'),
        okr_kpi._seed_rule_accepted_values('target_kind', ['absolute', 'relative']),
        okr_kpi._seed_rule_number('weight'),
        okr_kpi._seed_rule_accepted_values('baseline_method',
            ['last_period', 'average_of_periods', 'same_period_last_year']),
        okr_kpi._seed_rule_number('baseline_periods'),
    ],
) }}
