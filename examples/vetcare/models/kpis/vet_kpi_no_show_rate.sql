{#- No-show rate (ratio): no-shows per appointment that was not cancelled in advance. -#}
{{ okr_kpi.kpi_input(
    kpi_id='vet_no_show_rate',
    relation=ref('stg_vet__appointments'),
    date_column='scheduled_at',
    aggregation='ratio',
    numerator="case when outcome = 'no_show' then 1 else 0 end",
    denominator='1',
    where="outcome != 'cancelled'",
) }}
