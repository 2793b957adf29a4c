{{ config(**okr_kpi.kpi_input_incremental_config()) }}

{{ okr_kpi.kpi_input(
    kpi_id='revenue',
    relation=ref('stg_demo__orders'),
    date_column='ordered_at',
    aggregation='sum',
    value='amount',
    where="status = 'completed'",
) }}
