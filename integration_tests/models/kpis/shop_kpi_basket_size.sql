{{ okr_kpi.kpi_input(
    kpi_id='shop_basket_size',
    relation=ref('stg_shop__sales'),
    date_column='sold_at',
    aggregation='average',
    value='amount_eur',
    where='not is_refunded',
) }}
