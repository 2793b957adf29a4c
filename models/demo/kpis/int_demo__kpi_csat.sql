{{ config(**okr_kpi.kpi_input_incremental_config()) }}

{{ okr_kpi.kpi_input(
    kpi_id='csat',
    relation=ref('stg_demo__support_tickets'),
    date_column='opened_at',
    aggregation='average',
    value='satisfaction_score',
) }}
