{#- Sales KPIs from completed orders, one scan of the orders. -#}
{{ config(**okr_kpi.kpi_input_incremental_config()) }}

{{ okr_kpi.kpi_inputs(
    relation=ref('stg_demo__orders'),
    date_column='ordered_at',
    kpis=[
        {'kpi_id': 'revenue', 'aggregation': 'sum', 'value': 'amount', 'where': "status = 'completed'"},
        {
            'kpi_id': 'average_order_value',
            'aggregation': 'ratio',
            'numerator': 'amount',
            'denominator': '1',
            'where': "status = 'completed'",
        },
    ],
) }}
