{{ config(**okr_kpi.kpi_input_incremental_config()) }}

{{ okr_kpi.kpi_input(
    kpi_id='newsletter_signups',
    relation=ref('stg_demo__newsletter_signups'),
    date_column='signed_up_at',
    aggregation='count',
) }}
