{{ okr_kpi.kpi_input(
    kpi_id='shop_biggest_sale',
    relation=ref('stg_shop__sales'),
    date_column='sold_at',
    aggregation='max',
    value='amount_eur',
    where='not is_refunded',
) }}
