{{ okr_kpi.kpi_input(
    kpi_id='shop_orders',
    relation=ref('stg_shop__sales'),
    date_column='sold_at',
    aggregation='count',
    where='not is_refunded',
) }}
