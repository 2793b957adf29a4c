{#- Row-level inputs of the demo's count_distinct and percentile KPIs (kpi_id, date_day, member,
    value: one row per event), listed in the var okr_kpi_kpi_row_inputs. The package computes
    every period of every grain from these rows (a month's buying customers is not the sum of its
    days'; a week's p90 is not the average of its days'). A view: the rows are read when the
    package builds int_kpi_row_periods, not copied. -#}
{{ okr_kpi.kpi_row_input('buying_customers', ref('stg_demo__orders'), 'ordered_at',
                         member='customer_id', where="status = 'completed'") }}
union all
{{ okr_kpi.kpi_row_input('p90_response_time', ref('stg_demo__app_requests'), 'requested_at',
                         value='response_ms') }}
