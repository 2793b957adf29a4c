{#- The demo's source loads (var okr_kpi_source_loads): per raw table and day, the rows and the
    last row's time, so that okr_kpi's load checks judge each source against its own history
    (docs/checks.md, "Freshness and load checks"). -#}
{{ okr_kpi.source_load('orders', ref('stg_demo__orders'), 'ordered_at') }}
union all
{{ okr_kpi.source_load('leads', ref('stg_demo__leads'), 'created_at') }}
union all
{{ okr_kpi.source_load('web_sessions', ref('stg_demo__web_sessions'), 'started_at') }}
union all
{{ okr_kpi.source_load('app_requests', ref('stg_demo__app_requests'), 'requested_at') }}
union all
{{ okr_kpi.source_load('expenses', ref('stg_demo__expenses'), 'spent_on', has_time=false) }}
union all
{{ okr_kpi.source_load('support_tickets', ref('stg_demo__support_tickets'), 'opened_at') }}
union all
{{ okr_kpi.source_load('newsletter_signups', ref('stg_demo__newsletter_signups'), 'signed_up_at') }}
