"""The demo company's raw tables: the contract between `okr-kpi generate` and examples/demo.

Types are logical: bigint, int, double, varchar, date, timestamp, boolean. Nullable columns
are marked. The dbt sources in examples/demo/models/staging/_demo__sources.yml describe the same tables.
"""

from __future__ import annotations

RAW_TABLES: dict[str, list[tuple[str, str, bool]]] = {
    # (column, type, nullable)
    "customers": [
        ("customer_id", "bigint", False),
        ("signed_up_at", "timestamp", False),
        ("region", "varchar", False),  # emea | americas | apac
        ("acquisition_channel", "varchar", False),  # organic | paid | referral | event
    ],
    "subscriptions": [
        ("subscription_id", "bigint", False),
        ("customer_id", "bigint", False),
        ("plan", "varchar", False),  # starter | growth | enterprise
        ("mrr", "double", False),
        ("started_on", "date", False),
        ("cancelled_on", "date", True),  # null while active
    ],
    "orders": [
        ("order_id", "bigint", False),
        ("customer_id", "bigint", False),
        ("ordered_at", "timestamp", False),
        ("amount", "double", False),
        ("currency", "varchar", False),  # always EUR in the demo
        ("status", "varchar", False),  # completed | refunded
    ],
    "leads": [
        ("lead_id", "bigint", False),
        ("created_at", "timestamp", False),
        ("source", "varchar", False),  # organic | paid | referral | event
        ("email_domain", "varchar", False),
    ],
    "web_sessions": [
        ("session_id", "bigint", False),
        ("started_at", "timestamp", False),
        ("channel", "varchar", False),  # organic | paid | direct | referral | email
        ("landing_page", "varchar", False),  # /, /pricing, /blog/<slug>, /docs/<slug>
        ("page_load_ms", "int", False),
    ],
    "app_requests": [
        ("request_id", "bigint", False),
        ("requested_at", "timestamp", False),
        ("endpoint", "varchar", False),
        ("response_ms", "int", False),
        ("status_code", "int", False),
    ],
    "expenses": [
        ("expense_id", "bigint", False),
        ("spent_on", "date", False),
        ("category", "varchar", False),  # payroll | cloud | marketing | office | tools
        ("amount", "double", False),
    ],
    "support_tickets": [
        ("ticket_id", "bigint", False),
        ("customer_id", "bigint", False),
        ("opened_at", "timestamp", False),
        ("first_response_at", "timestamp", True),  # null when never answered
        ("closed_at", "timestamp", True),
        ("satisfaction_score", "int", True),  # 1..5, null when no survey answer
        ("channel", "varchar", False),  # email | chat | phone
    ],
    "newsletter_signups": [
        ("signup_id", "bigint", False),
        ("signed_up_at", "timestamp", False),
        ("source", "varchar", False),  # blog | homepage | webinar
    ],
    # Written by the generator: where the incidents were planted.
    "demo_incidents": [
        ("incident_id", "varchar", False),
        ("kpi_id", "varchar", False),
        ("start_date", "date", False),
        ("end_date", "date", False),
        ("factor", "double", False),  # multiplier applied to the driving quantity
        ("description", "varchar", False),
    ],
}
