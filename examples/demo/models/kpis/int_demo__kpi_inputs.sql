-- sqlfluff:ignore:parsing
-- (sqlfluff 4.4's duckdb dialect cannot parse GROUP BY GROUPING SETS, which kpi_inputs with
-- segments compiles to; the rest of the file is still linted: docs/segments.md)
{#- One row per KPI per day with data: the daily inputs of the demo company's 15 KPIs
    (kpi_id, date_day, numerator, denominator), one scan per raw table; by segment
    (segment_dimension, segment_value: docs/segments.md): new_leads by lead channel, revenue and
    average_order_value by the customer's region, churned_customers by plan.

    Incremental (macro kpi_input_incremental_config): a nightly run rebuilds only the days from
    the window start on (macro kpi_input_window_start: the latest built day minus var
    okr_kpi_lookback_days), so it reads only the recent rows of the raw tables; a full build or
    --full-refresh reads everything. One model rather than one per KPI or per table: each model
    costs dbt a fixed set of statements per run, more than the recent rows cost to read. -#}
{{ config(**okr_kpi.kpi_input_incremental_config()) }}

{%- set window_start = okr_kpi.kpi_input_window_start() %}
{#- A full build reads every subscription change: no day is before 1900. #}
{%- set first_day = window_start or "cast('1900-01-01' as date)" %}
{%- set double = okr_kpi.type_double() %}

{#- The orders with their customer's region (every order has its customer: a left join keeps
    every order, so the regions partition the total). #}
{%- set orders_with_region -%}
(
    select
        orders.*,
        customers.region
    from {{ ref('stg_demo__orders') }} as orders
    left join {{ ref('stg_demo__customers') }} as customers
        on orders.customer_id = customers.customer_id
)
{%- endset %}

with orders as (
    {#- Sales, from completed orders. #}
    {{ okr_kpi.kpi_inputs(
        window_start=window_start,
        relation=orders_with_region,
        date_column='ordered_at',
        kpis=[
            {'kpi_id': 'revenue', 'aggregation': 'sum', 'value': 'amount', 'where': "status = 'completed'"},
            {
                'kpi_id': 'average_order_value',
                'aggregation': 'ratio',
                'numerator': 'amount',
                'denominator': '1',
                'where': "status = 'completed'",
            },
        ],
        segments=['region'],
    ) }}
),

leads as (
    {{ okr_kpi.kpi_inputs(
        window_start=window_start,
        relation=ref('stg_demo__leads'),
        date_column='created_at',
        kpis=[{'kpi_id': 'new_leads', 'aggregation': 'count'}],
        segments={'lead_channel': 'lead_source'},
    ) }}
),

web_sessions as (
    {#- min_daily_sessions: the daily input is the day's session count; the KPI (aggregation
        min) takes the lowest day of a period. #}
    {{ okr_kpi.kpi_inputs(
        window_start=window_start,
        relation=ref('stg_demo__web_sessions'),
        date_column='started_at',
        kpis=[
            {'kpi_id': 'organic_visits', 'aggregation': 'count', 'where': "channel = 'organic'"},
            {'kpi_id': 'blog_visits', 'aggregation': 'count', 'where': "landing_page like '/blog%'"},
            {'kpi_id': 'min_daily_sessions', 'aggregation': 'count'},
            {'kpi_id': 'page_load_time', 'aggregation': 'average', 'value': 'page_load_ms'},
        ],
    ) }}
),

app_requests as (
    {#- Apdex with T = 300 ms: satisfied (<= T) count 1, tolerating (<= 4T) count 1/2, the rest
        and errors 0. #}
    {{ okr_kpi.kpi_inputs(
        window_start=window_start,
        relation=ref('stg_demo__app_requests'),
        date_column='requested_at',
        kpis=[
            {
                'kpi_id': 'apdex',
                'aggregation': 'ratio',
                'numerator': 'case when status_code >= 500 then 0.0 when response_ms <= 300 then 1.0'
                    ~ ' when response_ms <= 1200 then 0.5 else 0.0 end',
                'denominator': '1',
            },
            {'kpi_id': 'peak_response_time', 'aggregation': 'max', 'value': 'response_ms'},
        ],
    ) }}
),

expenses as (
    {{ okr_kpi.kpi_inputs(
        window_start=window_start,
        relation=ref('stg_demo__expenses'),
        date_column='spent_on',
        time_zone='UTC',
        kpis=[{'kpi_id': 'burn', 'aggregation': 'sum', 'value': 'amount'}],
    ) }}
),

support_tickets as (
    {#- On the day each ticket was opened. first_response_time: hours from opening to the first
        answer; unanswered tickets are left out. #}
    {{ okr_kpi.kpi_inputs(
        window_start=window_start,
        relation=ref('stg_demo__support_tickets'),
        date_column='opened_at',
        kpis=[
            {'kpi_id': 'csat', 'aggregation': 'average', 'value': 'satisfaction_score'},
            {
                'kpi_id': 'first_response_time',
                'aggregation': 'average',
                'value': okr_kpi.seconds_between('opened_at', 'first_response_at') ~ ' / 3600',
                'where': 'first_response_at is not null',
            },
        ],
    ) }}
),

newsletter_signups as (
    {{ okr_kpi.kpi_inputs(
        window_start=window_start,
        relation=ref('stg_demo__newsletter_signups'),
        date_column='signed_up_at',
        kpis=[{'kpi_id': 'newsletter_signups', 'aggregation': 'count'}],
    ) }}
),

subscriptions as (
    {#- Customers, from the subscriptions.
        churned_customers: subscriptions cancelled on the day (a row only on days with
        cancellations). active_customers: a stock, subscriptions active at the end of each day
        on which the count changed (counting from started_on, no longer from cancelled_on);
        fct_kpi_daily carries it forward over days without changes. Incrementally, the window's
        days start from the stock of the last day before the window, read from this table, plus
        the window's changes. #}
    select
        started_on,
        cancelled_on,
        plan
    from {{ ref('stg_demo__subscriptions') }}
    where started_on >= {{ first_day }} or cancelled_on >= {{ first_day }}
),

subscription_changes as (
    select
        started_on as date_day,
        1 as delta,
        0 as cancelled
    from subscriptions
    where started_on >= {{ first_day }}
    union all
    select
        cancelled_on as date_day,
        -1 as delta,
        1 as cancelled
    from subscriptions
    where cancelled_on >= {{ first_day }}
),

daily_subscription_changes as (
    select
        date_day,
        sum(delta) as net_change,
        sum(cancelled) as cancellations
    from subscription_changes
    group by date_day
),

opening_stock as (
    {%- if window_start is not none %}
    select coalesce(sum(numerator), 0) as stock
    from {{ this }}
    where
        kpi_id = 'active_customers'
        and date_day = (
            select max(date_day) from {{ this }}
            where kpi_id = 'active_customers' and date_day < {{ window_start }}
        )
    {%- else %}
    select 0 as stock
    {%- endif %}
),

active_customers as (
    select
        cast('active_customers' as {{ dbt.type_string() }}) as kpi_id,
        daily_subscription_changes.date_day,
        cast(
            opening_stock.stock
            + sum(daily_subscription_changes.net_change)
                over (order by daily_subscription_changes.date_day rows between unbounded preceding and current row)
            as {{ double }}
        ) as numerator,
        cast(null as {{ double }}) as denominator
    from daily_subscription_changes
    cross join opening_stock
),

churned_customers as (
    select
        cast('churned_customers' as {{ dbt.type_string() }}) as kpi_id,
        date_day,
        cast(cancellations as {{ double }}) as numerator,
        cast(null as {{ double }}) as denominator
    from daily_subscription_changes
    where cancellations > 0
),

churned_customers_by_plan as (
    {#- The same cancellations by the subscription's plan (every subscription has one). #}
    select
        cast('churned_customers' as {{ dbt.type_string() }}) as kpi_id,
        cancelled_on as date_day,
        cast(count(*) as {{ double }}) as numerator,
        cast(null as {{ double }}) as denominator,
        cast('plan' as {{ dbt.type_string() }}) as segment_dimension,
        plan as segment_value
    from subscriptions
    where cancelled_on >= {{ first_day }}
    group by cancelled_on, plan
),

{#- The leads and orders are cut by segment in kpi_inputs, the cancellations above
    (docs/segments.md): the other inputs' rows are totals. #}
{%- set no_segment = 'cast(null as ' ~ dbt.type_string() ~ ')' %}

unioned as (
    select * from orders
    union all
    select * from leads
    union all
    select *, {{ no_segment }} as segment_dimension, {{ no_segment }} as segment_value from web_sessions
    union all
    select *, {{ no_segment }} as segment_dimension, {{ no_segment }} as segment_value from app_requests
    union all
    select *, {{ no_segment }} as segment_dimension, {{ no_segment }} as segment_value from expenses
    union all
    select *, {{ no_segment }} as segment_dimension, {{ no_segment }} as segment_value from support_tickets
    union all
    select *, {{ no_segment }} as segment_dimension, {{ no_segment }} as segment_value from newsletter_signups
    union all
    select *, {{ no_segment }} as segment_dimension, {{ no_segment }} as segment_value from active_customers
    union all
    select *, {{ no_segment }} as segment_dimension, {{ no_segment }} as segment_value from churned_customers
    union all
    select * from churned_customers_by_plan
)

select * from unioned
