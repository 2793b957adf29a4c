{{ config(**okr_kpi.kpi_input_incremental_config()) }}

{{ okr_kpi.kpi_input(
    kpi_id='blog_visits',
    relation=ref('stg_demo__web_sessions'),
    date_column='started_at',
    aggregation='count',
    where="landing_page like '/blog%'",
) }}
