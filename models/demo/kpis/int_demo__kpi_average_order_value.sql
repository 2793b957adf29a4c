{{ config(**okr_kpi.kpi_input_incremental_config()) }}

{{ okr_kpi.kpi_input(
    kpi_id='average_order_value',
    relation=ref('stg_demo__orders'),
    date_column='ordered_at',
    aggregation='ratio',
    numerator='amount',
    denominator='1',
    where="status = 'completed'",
) }}
