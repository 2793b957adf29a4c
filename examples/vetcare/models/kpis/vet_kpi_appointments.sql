-- sqlfluff:ignore:parsing
{#- Three KPIs from one scan of the appointments: revenue (sum), visits (count) and the average
    waiting time (average) of completed appointments, each also by clinic and by species
    (docs/segments.md). Only the dimensions a KPI declares in kpi_definitions.segment_dimensions
    reach the segment marts: visits by clinic and species, the waiting time by clinic. -#}
{{ okr_kpi.kpi_inputs(
    relation=ref('stg_vet__appointments'),
    date_column='scheduled_at',
    kpis=[
        {'kpi_id': 'vet_revenue', 'aggregation': 'sum', 'value': 'invoice_eur', 'where': "outcome = 'completed'"},
        {'kpi_id': 'vet_visits', 'aggregation': 'count', 'where': "outcome = 'completed'"},
        {'kpi_id': 'vet_wait_minutes', 'aggregation': 'average', 'value': 'wait_minutes',
         'where': "outcome = 'completed'"},
    ],
    segments={'clinic': 'clinic_code', 'species': 'species'},
) }}
