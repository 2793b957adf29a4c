{#- The daily input is the day's session count; the KPI (aggregation min) takes the lowest day of a period. -#}
{{ config(**okr_kpi.kpi_input_incremental_config()) }}

{{ okr_kpi.kpi_input(
    kpi_id='min_daily_sessions',
    relation=ref('stg_demo__web_sessions'),
    date_column='started_at',
    aggregation='count',
) }}
