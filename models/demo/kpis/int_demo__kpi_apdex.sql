{#- Apdex with T = 300 ms: satisfied (<= T) count 1, tolerating (<= 4T) count 1/2, the rest and errors 0. -#}
{{ config(**okr_kpi.kpi_input_incremental_config()) }}

{{ okr_kpi.kpi_input(
    kpi_id='apdex',
    relation=ref('stg_demo__app_requests'),
    date_column='requested_at',
    aggregation='ratio',
    numerator='case when status_code >= 500 then 0.0 when response_ms <= 300 then 1.0'
        ~ ' when response_ms <= 1200 then 0.5 else 0.0 end',
    denominator='1',
) }}
