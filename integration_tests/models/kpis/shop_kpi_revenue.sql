{{ okr_kpi.kpi_input(
    kpi_id='shop_revenue',
    relation=ref('stg_shop__sales'),
    date_column='sold_at',
    aggregation='sum',
    value='amount_eur',
    where='not is_refunded',
) }}
