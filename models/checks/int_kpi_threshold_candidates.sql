{#- The periods a KPI threshold judges: complete, fully covered periods (is_full_period) with a
    value, up to as_of_date. Great Expectations' threshold suites (okr-kpi check / run) read this
    relation, one batch per KPI and grain, instead of filtering fct_kpi_periods with SQL of their
    own (issue 19: one definition per rule). A view: nothing is stored twice. -#}
{{ config(materialized='view') }}

select
    kpi_id,
    grain,
    period_start,
    period_end,
    value,
    is_full_period
from {{ ref('fct_kpi_periods') }}
where
    is_full_period
    and value is not null
