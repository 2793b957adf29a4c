{{ config(**okr_kpi.kpi_input_incremental_config()) }}

{{ okr_kpi.kpi_input(
    kpi_id='page_load_time',
    relation=ref('stg_demo__web_sessions'),
    date_column='started_at',
    aggregation='average',
    value='page_load_ms',
) }}
