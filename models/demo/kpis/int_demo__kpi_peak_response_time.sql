{{ config(**okr_kpi.kpi_input_incremental_config()) }}

{{ okr_kpi.kpi_input(
    kpi_id='peak_response_time',
    relation=ref('stg_demo__app_requests'),
    date_column='requested_at',
    aggregation='max',
    value='response_ms',
) }}
