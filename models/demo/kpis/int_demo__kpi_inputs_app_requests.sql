{#- The application's KPIs, one scan of the requests.
    Apdex with T = 300 ms: satisfied (<= T) count 1, tolerating (<= 4T) count 1/2, the rest and errors 0. -#}
{{ config(**okr_kpi.kpi_input_incremental_config()) }}

{{ okr_kpi.kpi_inputs(
    relation=ref('stg_demo__app_requests'),
    date_column='requested_at',
    kpis=[
        {
            'kpi_id': 'apdex',
            'aggregation': 'ratio',
            'numerator': 'case when status_code >= 500 then 0.0 when response_ms <= 300 then 1.0'
                ~ ' when response_ms <= 1200 then 0.5 else 0.0 end',
            'denominator': '1',
        },
        {'kpi_id': 'peak_response_time', 'aggregation': 'max', 'value': 'response_ms'},
    ],
) }}
