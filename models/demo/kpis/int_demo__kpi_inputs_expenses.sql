{{ config(**okr_kpi.kpi_input_incremental_config()) }}

{{ okr_kpi.kpi_input(
    kpi_id='burn',
    relation=ref('stg_demo__expenses'),
    date_column='spent_on',
    aggregation='sum',
    value='amount',
) }}
