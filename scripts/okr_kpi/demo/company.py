"""Constants of the demo company (a small B2B SaaS), used by `okr_kpi.generate`.

Changing any value here changes the generated tables (and so the demo's numbers):
tests pin the shape, not the exact values.
"""

from __future__ import annotations

DEFAULT_START = "2025-01-01"
DEFAULT_END = "2026-08-31"

# Share of the requested total rows per table (sums to 1).
TABLE_SHARES: dict[str, float] = {
    "app_requests": 0.50,
    "web_sessions": 0.25,
    "orders": 0.08,
    "leads": 0.05,
    "support_tickets": 0.03,
    "newsletter_signups": 0.03,
    "customers": 0.025,
    "subscriptions": 0.025,  # one per customer, so always equal to customers
    "expenses": 0.01,  # and at least one row a day
}

# Order of generation; also the order of the per-table random streams (never reorder: it changes data).
TABLE_ORDER = (
    "customers", "subscriptions", "orders", "leads", "web_sessions", "app_requests",
    "expenses", "support_tickets", "newsletter_signups",
)

# Tables written in chunks of about this many rows (bounded memory).
CHUNK_ROWS = 1_000_000

# --- smooth shape shared by every volume ---------------------------------------------------------
# Growth: volumes multiply by this factor every 365 days (continuous, no steps).
GROWTH_PER_YEAR = 1.5
# Gentle yearly seasonality: cos wave on the day of the year, lowest around SEASON_LOW_DAY (mid-August).
SEASON_AMPLITUDE = 0.06
SEASON_LOW_DAY = 225

# Weekday factors, Monday..Sunday (B2B: quiet weekends).
WEEKDAY_FACTORS: dict[str, tuple[float, ...]] = {
    "customers": (1.10, 1.15, 1.15, 1.10, 1.00, 0.30, 0.25),
    "orders": (1.10, 1.15, 1.15, 1.10, 1.00, 0.35, 0.30),
    "leads": (1.10, 1.15, 1.15, 1.10, 1.00, 0.35, 0.30),
    "web_sessions": (1.05, 1.10, 1.10, 1.05, 0.95, 0.65, 0.60),
    "app_requests": (1.10, 1.15, 1.15, 1.10, 1.00, 0.35, 0.30),
    "expenses": (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0),
    "support_tickets": (1.15, 1.10, 1.10, 1.05, 1.00, 0.40, 0.35),
    "newsletter_signups": (1.05, 1.05, 1.05, 1.00, 0.95, 0.80, 0.80),
}

# Noise is drawn per period, at the grain the demo's KPIs read each quantity (a daily KPI: per
# day; a weekly one: per week ...), so each KPI moves by one bounded term (see okr_kpi.generate).
NOISE_PERIOD: dict[str, str] = {
    "customers": "week",
    "orders": "week",  # revenue (weekly)
    "order_amount": "month",  # average order value (monthly)
    "leads": "day",  # new leads (daily)
    "web_sessions": "week",  # organic / blog visits (weekly), weakest day (monthly)
    "page_load": "day",  # page load time (daily)
    "app_requests": "day",
    "response": "day",  # apdex, peak response time (daily)
    "expenses": "month",  # burn (monthly)
    "expense_amount": "month",
    "support_tickets": "week",
    "first_response": "week",  # first response time (weekly)
    "satisfaction": "month",  # csat (monthly)
    "newsletter_signups": "week",  # newsletter sign-ups (weekly)
    "churn": "week",  # churned customers (weekly)
}

# Hour-of-day profiles (24 relative weights, UTC). Business hours for B2B, evenings for the web.
HOURS_BUSINESS = (1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 14, 13, 11, 12, 13, 13, 12, 9, 6, 4, 3, 2, 2, 1)
HOURS_WEB = (3, 2, 2, 2, 2, 3, 5, 7, 9, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 9, 8, 6, 4)

# --- customers and subscriptions ----------------------------------------------------------------
REGIONS = ("emea", "americas", "apac")
REGION_WEIGHTS = (0.45, 0.40, 0.15)
ACQUISITION_CHANNELS = ("organic", "paid", "referral", "event")
ACQUISITION_WEIGHTS = (0.40, 0.30, 0.20, 0.10)
PLANS = ("starter", "growth", "enterprise")
PLAN_WEIGHTS = (0.62, 0.30, 0.08)
PLAN_MRR = {"starter": 49.0, "growth": 199.0, "enterprise": 999.0}
# Share of the customers that exist on the first day: the installed base, moved into the billing
# system at midnight of the window's first day (so churn starts from a real base, not from zero).
INSTALLED_BASE_SHARE = 0.5
# Monthly churn (share of active subscriptions cancelling in a 30.44-day month).
MONTHLY_CHURN = 0.025

# --- orders -------------------------------------------------------------------------------------
ORDER_AMOUNT_MEDIAN = 120.0  # EUR, lognormal
ORDER_AMOUNT_SIGMA = 0.8
ORDER_REFUND_RATE = 0.03
CURRENCY = "EUR"
# The region of the planted incident emea_payments_outage: its orders are refunded on its days.
PAYMENTS_OUTAGE_REGION = "emea"

# --- leads --------------------------------------------------------------------------------------
LEAD_SOURCES = ("organic", "paid", "referral", "event")
LEAD_SOURCE_WEIGHTS = (0.35, 0.45, 0.12, 0.08)  # paid: the segment of paid_leads_outage
# Made-up company domains (reserved .example TLD) plus a few free-mail ones.
EMAIL_DOMAIN_STEMS = (
    "acme", "northwind", "globex", "initech", "umbrella", "hooli", "vandelay", "stark", "wayne",
    "tyrell", "cyberdyne", "soylent", "wonka", "gringotts", "oscorp", "aperture", "blackmesa",
    "massive", "monarch", "nakatomi",
)
EMAIL_DOMAIN_SUFFIXES = ("", "-labs", "-group", "-systems", "-digital")
FREE_MAIL_DOMAINS = ("gmail.com", "outlook.com", "proton.me")
FREE_MAIL_SHARE = 0.15

# --- web sessions -------------------------------------------------------------------------------
WEB_CHANNELS = ("organic", "paid", "direct", "referral", "email")
WEB_CHANNEL_WEIGHTS = (0.38, 0.22, 0.22, 0.10, 0.08)
BLOG_SLUGS = ("okrs-101", "kpi-vs-okr", "north-star-metric", "weekly-reviews", "dashboards-that-work",
              "churn-playbook", "pricing-experiments", "remote-teams")
DOCS_SLUGS = ("getting-started", "api", "integrations", "billing", "sso", "webhooks")
LANDING_WEIGHTS = {"/": 0.35, "/pricing": 0.15, "blog": 0.30, "docs": 0.20}
PAGE_LOAD_MEDIAN_MS = 850.0  # lognormal: mean ~900 ms
PAGE_LOAD_SIGMA = 0.35

# --- app requests -------------------------------------------------------------------------------
ENDPOINTS = ("/api/v1/dashboards", "/api/v1/kpis", "/api/v1/objectives", "/api/v1/key-results",
             "/api/v1/check-ins", "/api/v1/reports", "/api/v1/auth/session", "/api/v1/search")
ENDPOINT_WEIGHTS = (0.22, 0.20, 0.12, 0.14, 0.08, 0.04, 0.12, 0.08)
RESPONSE_MEDIAN_MS = 110.0
RESPONSE_SIGMA = 0.55
# The tail: above the RESPONSE_TAIL_Z quantile of the body (the slowest ~2%: cache misses, cold
# starts) the log-latency grows RESPONSE_TAIL_SLOPE faster.
RESPONSE_TAIL_Z = 2.05
RESPONSE_TAIL_SLOPE = 1.2
# Day-to-day variation of the latency scale: sd = RESPONSE_DAY_CV / sqrt(requests of the day), so
# that a day's apdex varies about as much as a binomial share would (load, cache warmth ...).
RESPONSE_DAY_CV = 2.0
# Queries are cut off at this many ms; each day's slowest request (the nightly export) runs into
# the cut-off, give or take RESPONSE_PEAK_SPREAD, so the daily peak is steady in normal times.
# The planted outage multiplies after the cut-off, up to the load balancer's timeout.
RESPONSE_CUTOFF_MS = 2_500
RESPONSE_PEAK_SPREAD = 0.05
RESPONSE_MAX_MS = 60_000
STATUS_CODES = (200, 201, 204, 400, 401, 404, 500, 503)
STATUS_WEIGHTS = (0.925, 0.03, 0.015, 0.01, 0.005, 0.01, 0.004, 0.001)

# --- expenses -----------------------------------------------------------------------------------
EXPENSE_CATEGORIES = ("payroll", "cloud", "marketing", "office", "tools")
EXPENSE_WEIGHTS = (0.20, 0.25, 0.25, 0.15, 0.15)
EXPENSE_MEDIAN = {"payroll": 1500.0, "cloud": 400.0, "marketing": 500.0, "office": 150.0, "tools": 100.0}
EXPENSE_SIGMA = 0.35
EXPENSE_GROWTH_PER_YEAR = 1.15

# --- support tickets ----------------------------------------------------------------------------
TICKET_CHANNELS = ("email", "chat", "phone")
TICKET_CHANNEL_WEIGHTS = (0.50, 0.38, 0.12)
FIRST_RESPONSE_MEDIAN_HOURS = 2.0  # lognormal
FIRST_RESPONSE_SIGMA = 0.6
FIRST_RESPONSE_MAX_HOURS = 24.0  # the support SLA: everything answered within a day
WEEKEND_RESPONSE_FACTOR = 1.5  # slower first answers at weekends
NEVER_ANSWERED_SHARE = 0.02
RESOLUTION_MEDIAN_HOURS = 20.0  # after the first response, lognormal
RESOLUTION_SIGMA = 0.9
SURVEY_ANSWER_RATE = 0.40
SATISFACTION_WEIGHTS = (0.03, 0.05, 0.12, 0.35, 0.45)  # scores 1..5
# Month-to-month variation of the scores: the quantiles shift by a bounded amount of sd
# SATISFACTION_SPREAD / sqrt(answers of the month) (0.25: about a binomial share's variation).
SATISFACTION_SPREAD = 0.25

# --- newsletter ---------------------------------------------------------------------------------
NEWSLETTER_SOURCES = ("blog", "homepage", "webinar")
NEWSLETTER_SOURCE_WEIGHTS = (0.55, 0.35, 0.10)

# --- planted incidents: (incident_id, kpi_id, first day, last day as offsets from `end`, factor,
# description). Only incidents wholly inside the window are planted. With the default window:
# leads_drop 2026-08-12, page_load_regression 2026-07-20..23, churn_spike 2026-08-04..06,
# paid_leads_outage 2026-07-15 (paid leads only), emea_payments_outage 2026-06-22..28 (orders of
# EMEA customers only), apdex_outage 2026-06-16 (one row per incident
# per KPI it shows in).
INCIDENTS = (
    ("leads_drop", "new_leads", -19, -19, 0.25,
     "Lead form broken for a day: new leads x0.25"),
    ("page_load_regression", "page_load_time", -42, -39, 2.5,
     "Unoptimised images shipped: page_load_ms x2.5 for four days"),
    ("churn_spike", "churned_customers", -27, -25, 6.0,
     "Billing migration cancels subscriptions: cancellations x6 for three days"),
    ("paid_leads_outage", "new_leads", -47, -47, 0.0,
     "Paid search account suspended for a day: paid leads x0 (one segment only; new leads -45 %)"),
    ("emea_payments_outage", "revenue", -70, -64, 0.0,
     "Card payments of EMEA customers declined for a week: their orders refunded, EMEA revenue x0"
     " (one segment only; revenue about -45 %)"),
    ("apdex_outage", "apdex", -76, -76, 5.0,
     "Database failover: response_ms x5 for a day"),
    ("apdex_outage", "peak_response_time", -76, -76, 5.0,
     "Database failover: response_ms x5 for a day"),
    ("apdex_outage", "p90_response_time", -76, -76, 5.0,
     "Database failover: response_ms x5 for a day"),
)
