{#- Hours from opening to the first answer, on the day the ticket was opened; unanswered tickets are left out. -#}
{{ config(**okr_kpi.kpi_input_incremental_config()) }}

{{ okr_kpi.kpi_input(
    kpi_id='first_response_time',
    relation=ref('stg_demo__support_tickets'),
    date_column='opened_at',
    aggregation='average',
    value=dbt.datediff('opened_at', 'first_response_at', 'minute') ~ ' / 60.0',
    where='first_response_at is not null',
) }}
