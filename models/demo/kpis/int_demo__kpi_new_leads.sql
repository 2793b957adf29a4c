{{ okr_kpi.kpi_input(
    kpi_id='new_leads',
    relation=ref('stg_demo__leads'),
    date_column='created_at',
    aggregation='count',
) }}
