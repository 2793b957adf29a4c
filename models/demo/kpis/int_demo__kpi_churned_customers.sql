{{ config(**okr_kpi.kpi_input_incremental_config()) }}

{{ okr_kpi.kpi_input(
    kpi_id='churned_customers',
    relation=ref('stg_demo__subscriptions'),
    date_column='cancelled_on',
    aggregation='count',
    where='cancelled_on is not null',
) }}
