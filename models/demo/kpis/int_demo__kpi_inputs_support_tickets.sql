{#- Support KPIs, one scan of the tickets, on the day each ticket was opened.
    first_response_time: hours from opening to the first answer; unanswered tickets are left out. -#}
{{ config(**okr_kpi.kpi_input_incremental_config()) }}

{{ okr_kpi.kpi_inputs(
    relation=ref('stg_demo__support_tickets'),
    date_column='opened_at',
    kpis=[
        {'kpi_id': 'csat', 'aggregation': 'average', 'value': 'satisfaction_score'},
        {
            'kpi_id': 'first_response_time',
            'aggregation': 'average',
            'value': okr_kpi.seconds_between('opened_at', 'first_response_at') ~ ' / 3600',
            'where': 'first_response_at is not null',
        },
    ],
) }}
