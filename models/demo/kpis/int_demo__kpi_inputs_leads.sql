{{ config(**okr_kpi.kpi_input_incremental_config()) }}

{{ okr_kpi.kpi_input(
    kpi_id='new_leads',
    relation=ref('stg_demo__leads'),
    date_column='created_at',
    aggregation='count',
) }}
