{#- The warmest vaccine-fridge reading of the day, any clinic (max). -#}
{{ okr_kpi.kpi_input(
    kpi_id='vet_fridge_max_temp',
    relation=ref('stg_vet__fridge_readings'),
    date_column='logged_at',
    aggregation='max',
    value='celsius',
) }}
