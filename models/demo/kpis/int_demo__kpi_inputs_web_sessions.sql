{#- The website's KPIs, one scan of the sessions. min_daily_sessions: the daily input is the
    day's session count; the KPI (aggregation min) takes the lowest day of a period. -#}
{{ config(**okr_kpi.kpi_input_incremental_config()) }}

{{ okr_kpi.kpi_inputs(
    relation=ref('stg_demo__web_sessions'),
    date_column='started_at',
    kpis=[
        {'kpi_id': 'organic_visits', 'aggregation': 'count', 'where': "channel = 'organic'"},
        {'kpi_id': 'blog_visits', 'aggregation': 'count', 'where': "landing_page like '/blog%'"},
        {'kpi_id': 'min_daily_sessions', 'aggregation': 'count'},
        {'kpi_id': 'page_load_time', 'aggregation': 'average', 'value': 'page_load_ms'},
    ],
) }}
