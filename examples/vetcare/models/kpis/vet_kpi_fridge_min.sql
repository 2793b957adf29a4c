{#- The coldest vaccine-fridge reading of the day, any clinic (min). -#}
{{ okr_kpi.kpi_input(
    kpi_id='vet_fridge_min_temp',
    relation=ref('stg_vet__fridge_readings'),
    date_column='logged_at',
    aggregation='min',
    value='celsius',
) }}
