{#- The KPI registry of the project that installs the package (SPEC: seeds): keys, allowed values.
    Stops the build naming the seed file, the column and the bad rows (macro seed_checks). -#}
{{ config(tags=['okr_kpi_seed_checks']) }}
{{ okr_kpi.seed_checks(
    okr_kpi.project_ref('kpi_definitions'),
    ['kpi_id', 'name', 'description', 'unit', 'direction', 'aggregation', 'owner', 'data_source',
     'reporting_frequency'],
    [
        okr_kpi._seed_rule_not_null('kpi_id'),
        okr_kpi._seed_rule_unique(okr_kpi.project_ref('kpi_definitions'), 'kpi_id'),
        okr_kpi._seed_rule_not_null('name'),
        okr_kpi._seed_rule_not_null('direction'),
        okr_kpi._seed_rule_accepted_values('direction', ['higher_is_better', 'lower_is_better', 'neutral']),
        okr_kpi._seed_rule_not_null('aggregation'),
        okr_kpi._seed_rule_accepted_values('aggregation',
            ['sum', 'count', 'ratio', 'average', 'last', 'min', 'max', 'count_distinct', 'percentile']),
        okr_kpi._seed_rule_accepted_values('reporting_frequency', ['daily', 'weekly', 'monthly', 'quarterly']),
        okr_kpi._seed_rule_percentile('percentile'),
        okr_kpi._seed_rule_number('reporting_lag_days'),
    ],
) }}
