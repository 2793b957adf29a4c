"""`okr-kpi generate`: the demo company's raw tables (contract: okr_kpi.demo.schema.RAW_TABLES).

A small B2B SaaS: customers sign up and subscribe, place orders, open support tickets; the
marketing site has sessions, leads and newsletter sign-ups; the product serves API requests;
the company has expenses.

Deterministic: every table draws from its own numpy stream seeded by (seed, table number), so
the same rows, seed and window give identical tables. Vectorised and chunked: the biggest tables
are produced a slice of days at a time, so memory stays bounded whatever --rows is.

Shape: every volume follows one smooth curve (exponential growth, a gentle yearly wave) times a
weekday profile, with Poisson noise on the daily counts and nothing else -- except the planted
incidents (okr_kpi.demo.company.INCIDENTS), placed relative to the window's last day and listed
in the table demo_incidents, so that anomaly detection has exactly these to find.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from okr_kpi.demo import company as c
from okr_kpi.demo.schema import RAW_TABLES
from okr_kpi.project import OkrKpiError, Project

SECONDS_PER_DAY = 86_400
MIN_ROWS = 100

Columns = list[tuple[str, str, bool]]
TableFrames = tuple[str, Columns, Iterator[pd.DataFrame]]


@dataclass(frozen=True)
class Incident:
    incident_id: str
    kpi_id: str
    start_date: dt.date
    end_date: dt.date
    factor: float
    description: str


def parse_day(value: str | dt.date, name: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise OkrKpiError(f"--{name} {value!r} is not a date: use YYYY-MM-DD") from None


def planned_incidents(start: str | dt.date, end: str | dt.date) -> list[Incident]:
    """The incidents planted in a window: those of INCIDENTS that lie wholly inside it."""
    start, end = parse_day(start, "start"), parse_day(end, "end")
    found = []
    for incident_id, kpi_id, first, last, factor, description in c.INCIDENTS:
        first_day, last_day = end + dt.timedelta(days=first), end + dt.timedelta(days=last)
        if start <= first_day and last_day <= end:
            found.append(Incident(incident_id, kpi_id, first_day, last_day, factor, description))
    return found


class Calendar:
    """The days of the window and the smooth expected-volume curve over them."""

    def __init__(self, start: dt.date, end: dt.date) -> None:
        self.start, self.end = start, end
        self.days = np.arange(np.datetime64(start, "D"), np.datetime64(end, "D") + 1)
        self.n = len(self.days)
        # 1970-01-01 was a Thursday: Monday = 0.
        self.weekday = (self.days.astype(np.int64) + 3) % 7
        day_of_year = (self.days - self.days.astype("datetime64[Y]")).astype(np.int64) + 1
        years = np.arange(self.n) / 365.0
        wave = 1.0 - c.SEASON_AMPLITUDE * np.cos(2 * np.pi * (day_of_year - c.SEASON_LOW_DAY) / 365.25)
        self.trend = c.GROWTH_PER_YEAR ** years * wave
        self.epoch_s = int(self.days[0].astype("datetime64[s]").astype(np.int64))

    def day_factor(self, incidents: list[Incident], incident_id: str) -> np.ndarray:
        """Per-day multiplier: the incident's factor on its days, 1 elsewhere."""
        factor = np.ones(self.n)
        for incident in incidents:
            if incident.incident_id == incident_id:
                first = (incident.start_date - self.start).days
                last = (incident.end_date - self.start).days
                factor[first:last + 1] = incident.factor
        return factor

    def timestamps(self, seconds: np.ndarray) -> np.ndarray:
        """Seconds since the window's first midnight -> datetime64[us]."""
        return (seconds + self.epoch_s).astype("datetime64[s]").astype("datetime64[us]")

    def dates(self, day_index: np.ndarray) -> np.ndarray:
        return self.days[day_index].astype("datetime64[s]")


def _probabilities(weights) -> np.ndarray:
    p = np.asarray(weights, dtype=float)
    return p / p.sum()


def _pick(rng: np.random.Generator, values, weights, n: int) -> np.ndarray:
    return np.asarray(values, dtype=object)[rng.choice(len(values), size=n, p=_probabilities(weights))]


def _frame(table: str, data: dict[str, object]) -> pd.DataFrame:
    names = [name for name, _, _ in RAW_TABLES[table]]
    if list(data) != names:  # a bug in this module, not a user error
        raise AssertionError(f"{table}: columns {list(data)} differ from the contract {names}")
    return pd.DataFrame(data, columns=names)


def _day_chunks(counts: np.ndarray, chunk_rows: int) -> list[tuple[int, int]]:
    """Split the days [0, n) into consecutive ranges of about chunk_rows rows each."""
    chunks, first, rows = [], 0, 0
    for day, count in enumerate(counts):
        rows += int(count)
        if rows >= chunk_rows:
            chunks.append((first, day + 1))
            first, rows = day + 1, 0
    if first < len(counts) or not chunks:
        chunks.append((first, len(counts)))
    return chunks


class DemoCompany:
    """All raw tables of the demo company for one (rows, seed, start, end)."""

    def __init__(self, rows: int, seed: int, start: str | dt.date = c.DEFAULT_START,
                 end: str | dt.date = c.DEFAULT_END, chunk_rows: int = c.CHUNK_ROWS) -> None:
        start, end = parse_day(start, "start"), parse_day(end, "end")
        if end < start:
            raise OkrKpiError(f"--end {end} is before --start {start}")
        if rows < MIN_ROWS:
            raise OkrKpiError(f"--rows must be at least {MIN_ROWS}, got {rows}")
        if seed < 0:
            raise OkrKpiError(f"--seed must be zero or positive, got {seed}")
        self.rows, self.seed, self.chunk_rows = int(rows), int(seed), int(chunk_rows)
        self.cal = Calendar(start, end)
        self.incidents = planned_incidents(start, end)
        self._customers: dict[str, np.ndarray] | None = None

    # --- shared helpers -----------------------------------------------------------------------
    def rng(self, table: str) -> np.random.Generator:
        return np.random.default_rng([self.seed, c.TABLE_ORDER.index(table)])

    def target_rows(self, table: str) -> float:
        return self.rows * c.TABLE_SHARES[table]

    def daily_counts(self, rng: np.random.Generator, table: str, factor: np.ndarray | None = None):
        shape = self.cal.trend * np.asarray(c.WEEKDAY_FACTORS[table])[self.cal.weekday]
        expected = self.target_rows(table) * shape / shape.sum()
        if factor is not None:
            expected = expected * factor
        return rng.poisson(expected)

    def event_seconds(self, rng: np.random.Generator, counts: np.ndarray, first_day: int, hours):
        """Sorted event times (seconds since the window's start) for counts[i] events on day first_day+i."""
        day = np.repeat(np.arange(first_day, first_day + len(counts), dtype=np.int64), counts)
        hour = rng.choice(24, size=len(day), p=_probabilities(hours))
        return np.sort(day * SECONDS_PER_DAY + hour * 3600 + rng.integers(0, 3600, size=len(day)))

    def chunked(self, counts: np.ndarray, build: Callable[[int, np.ndarray, int], pd.DataFrame]):
        """Frames of build(first_day, counts_of_the_slice, first_id) over slices of days."""
        first_id = 1
        for first, last in _day_chunks(counts, self.chunk_rows):
            yield build(first, counts[first:last], first_id)
            first_id += int(counts[first:last].sum())

    @property
    def customers(self) -> dict[str, np.ndarray]:
        """Customers drive subscriptions, orders and tickets: drawn once, kept (small)."""
        if self._customers is None:
            rng = self.rng("customers")
            counts = self.daily_counts(rng, "customers")
            counts[0] = max(counts[0], 1)  # someone to place the first day's orders
            seconds = self.event_seconds(rng, counts, 0, c.HOURS_BUSINESS)
            self._customers = {
                "counts": counts,
                "seconds": seconds,
                "region": _pick(rng, c.REGIONS, c.REGION_WEIGHTS, len(seconds)),
                "channel": _pick(rng, c.ACQUISITION_CHANNELS, c.ACQUISITION_WEIGHTS, len(seconds)),
            }
        return self._customers

    def pick_customers(self, rng: np.random.Generator, seconds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A customer (0-based index) who signed up before each event; events re-sorted if moved.

        An event on day d goes to a customer who signed up before day d; on the first day, to one
        of that day's sign-ups, and never before the sign-up itself.
        """
        customers = self.customers
        signed_before = np.concatenate([[0], np.cumsum(customers["counts"])[:-1]])
        day = seconds // SECONDS_PER_DAY
        eligible = np.where(day > 0, signed_before[day], customers["counts"][0])
        index = (rng.random(len(seconds)) * eligible).astype(np.int64)
        first_day = day == 0
        if first_day.any():
            seconds = seconds.copy()
            seconds[first_day] = np.maximum(seconds[first_day], customers["seconds"][index[first_day]])
            order = np.argsort(seconds, kind="stable")
            seconds, index = seconds[order], index[order]
        return index, seconds

    # --- tables ---------------------------------------------------------------------------------
    def customers_frames(self):
        cust = self.customers
        n = len(cust["seconds"])
        yield _frame("customers", {
            "customer_id": np.arange(1, n + 1, dtype=np.int64),
            "signed_up_at": self.cal.timestamps(cust["seconds"]),
            "region": cust["region"],
            "acquisition_channel": cust["channel"],
        })

    def subscriptions_frames(self):
        rng = self.rng("subscriptions")
        cust = self.customers
        n = len(cust["seconds"])
        start_day = cust["seconds"] // SECONDS_PER_DAY
        plan = rng.choice(len(c.PLANS), size=n, p=_probabilities(c.PLAN_WEIGHTS))
        mrr = np.asarray([c.PLAN_MRR[p] for p in c.PLANS])[plan]
        # Cancellation: a daily hazard (monthly churn), x factor on churn-spike days. A subscription
        # cancels on the first day its cumulative hazard since the start passes an Exp(1) draw.
        hazard = np.full(self.cal.n, -np.log(1.0 - c.MONTHLY_CHURN) / 30.44)
        hazard *= self.cal.day_factor(self.incidents, "churn_spike")
        cumulative = np.cumsum(hazard)
        cancel_day = np.searchsorted(cumulative, cumulative[start_day] + rng.exponential(size=n), side="left")
        cancelled = cancel_day < self.cal.n
        cancelled_on = np.full(n, np.datetime64("NaT"), dtype="datetime64[s]")
        cancelled_on[cancelled] = self.cal.dates(cancel_day[cancelled])
        yield _frame("subscriptions", {
            "subscription_id": np.arange(1, n + 1, dtype=np.int64),
            "customer_id": np.arange(1, n + 1, dtype=np.int64),
            "plan": np.asarray(c.PLANS, dtype=object)[plan],
            "mrr": mrr,
            "started_on": self.cal.dates(start_day),
            "cancelled_on": cancelled_on,
        })

    def orders_frames(self):
        rng = self.rng("orders")
        counts = self.daily_counts(rng, "orders")

        def build(first_day, day_counts, first_id):
            seconds = self.event_seconds(rng, day_counts, first_day, c.HOURS_BUSINESS)
            customer, seconds = self.pick_customers(rng, seconds)
            n = len(seconds)
            amount = np.round(c.ORDER_AMOUNT_MEDIAN * rng.lognormal(0.0, c.ORDER_AMOUNT_SIGMA, n), 2)
            refunded = rng.random(n) < c.ORDER_REFUND_RATE
            return _frame("orders", {
                "order_id": np.arange(first_id, first_id + n, dtype=np.int64),
                "customer_id": customer + 1,
                "ordered_at": self.cal.timestamps(seconds),
                "amount": np.maximum(amount, 1.0),
                "currency": np.full(n, c.CURRENCY, dtype=object),
                "status": np.where(refunded, "refunded", "completed").astype(object),
            })

        return self.chunked(counts, build)

    def leads_frames(self):
        rng = self.rng("leads")
        counts = self.daily_counts(rng, "leads", self.cal.day_factor(self.incidents, "leads_drop"))
        company_domains = [f"{stem}{suffix}.example" for stem in c.EMAIL_DOMAIN_STEMS
                           for suffix in c.EMAIL_DOMAIN_SUFFIXES]
        domains = np.asarray(company_domains + list(c.FREE_MAIL_DOMAINS), dtype=object)
        weights = ([(1 - c.FREE_MAIL_SHARE) / len(company_domains)] * len(company_domains)
                   + [c.FREE_MAIL_SHARE / len(c.FREE_MAIL_DOMAINS)] * len(c.FREE_MAIL_DOMAINS))

        def build(first_day, day_counts, first_id):
            seconds = self.event_seconds(rng, day_counts, first_day, c.HOURS_BUSINESS)
            n = len(seconds)
            return _frame("leads", {
                "lead_id": np.arange(first_id, first_id + n, dtype=np.int64),
                "created_at": self.cal.timestamps(seconds),
                "source": _pick(rng, c.LEAD_SOURCES, c.LEAD_SOURCE_WEIGHTS, n),
                "email_domain": _pick(rng, domains, weights, n),
            })

        return self.chunked(counts, build)

    def web_sessions_frames(self):
        rng = self.rng("web_sessions")
        counts = self.daily_counts(rng, "web_sessions")
        slowdown = self.cal.day_factor(self.incidents, "page_load_regression")
        pages, weights = [], []
        for page, weight in c.LANDING_WEIGHTS.items():
            slugs = {"blog": c.BLOG_SLUGS, "docs": c.DOCS_SLUGS}.get(page)
            if slugs is None:
                pages.append(page)
                weights.append(weight)
            else:
                pages += [f"/{page}/{slug}" for slug in slugs]
                weights += [weight / len(slugs)] * len(slugs)

        def build(first_day, day_counts, first_id):
            seconds = self.event_seconds(rng, day_counts, first_day, c.HOURS_WEB)
            n = len(seconds)
            load = c.PAGE_LOAD_MEDIAN_MS * rng.lognormal(0.0, c.PAGE_LOAD_SIGMA, n)
            load *= slowdown[seconds // SECONDS_PER_DAY]
            return _frame("web_sessions", {
                "session_id": np.arange(first_id, first_id + n, dtype=np.int64),
                "started_at": self.cal.timestamps(seconds),
                "channel": _pick(rng, c.WEB_CHANNELS, c.WEB_CHANNEL_WEIGHTS, n),
                "landing_page": _pick(rng, pages, weights, n),
                "page_load_ms": np.maximum(np.rint(load), 1).astype(np.int32),
            })

        return self.chunked(counts, build)

    def app_requests_frames(self):
        rng = self.rng("app_requests")
        counts = self.daily_counts(rng, "app_requests")
        outage = self.cal.day_factor(self.incidents, "apdex_outage")
        latency = np.asarray(c.ENDPOINT_LATENCY)
        endpoints = np.asarray(c.ENDPOINTS, dtype=object)
        statuses = np.asarray(c.STATUS_CODES, dtype=np.int32)

        def build(first_day, day_counts, first_id):
            seconds = self.event_seconds(rng, day_counts, first_day, c.HOURS_BUSINESS)
            n = len(seconds)
            endpoint = rng.choice(len(endpoints), size=n, p=_probabilities(c.ENDPOINT_WEIGHTS))
            response = c.RESPONSE_MEDIAN_MS * latency[endpoint] * rng.lognormal(0.0, c.RESPONSE_SIGMA, n)
            response *= np.where(rng.random(n) < c.RESPONSE_TAIL_SHARE, c.RESPONSE_TAIL_FACTOR, 1.0)
            response = np.minimum(response, c.RESPONSE_CUTOFF_MS) * outage[seconds // SECONDS_PER_DAY]
            status = statuses[rng.choice(len(statuses), size=n, p=_probabilities(c.STATUS_WEIGHTS))]
            return _frame("app_requests", {
                "request_id": np.arange(first_id, first_id + n, dtype=np.int64),
                "requested_at": self.cal.timestamps(seconds),
                "endpoint": endpoints[endpoint],
                "response_ms": np.clip(np.rint(response), 1, c.RESPONSE_MAX_MS).astype(np.int32),
                "status_code": status,
            })

        return self.chunked(counts, build)

    def expenses_frames(self):
        rng = self.rng("expenses")
        # At least one expense a day; the rest of the share follows the trend.
        extra = max(self.target_rows("expenses") - self.cal.n, 0.0)
        counts = 1 + rng.poisson(extra * self.cal.trend / self.cal.trend.sum())
        day = np.repeat(np.arange(self.cal.n), counts)
        n = len(day)
        category = rng.choice(len(c.EXPENSE_CATEGORIES), size=n, p=_probabilities(c.EXPENSE_WEIGHTS))
        median = np.asarray([c.EXPENSE_MEDIAN[name] for name in c.EXPENSE_CATEGORIES])[category]
        yield _frame("expenses", {
            "expense_id": np.arange(1, n + 1, dtype=np.int64),
            "spent_on": self.cal.dates(day),
            "category": np.asarray(c.EXPENSE_CATEGORIES, dtype=object)[category],
            "amount": np.round(median * rng.lognormal(0.0, c.EXPENSE_SIGMA, n), 2),
        })

    def support_tickets_frames(self):
        rng = self.rng("support_tickets")
        counts = self.daily_counts(rng, "support_tickets")
        cutoff = self.cal.n * SECONDS_PER_DAY  # nothing after the window's last day is known yet
        weekend = self.cal.weekday >= 5

        def build(first_day, day_counts, first_id):
            seconds = self.event_seconds(rng, day_counts, first_day, c.HOURS_BUSINESS)
            customer, seconds = self.pick_customers(rng, seconds)
            n = len(seconds)
            hours = c.FIRST_RESPONSE_MEDIAN_HOURS * rng.lognormal(0.0, c.FIRST_RESPONSE_SIGMA, n)
            hours *= np.where(weekend[seconds // SECONDS_PER_DAY], c.WEEKEND_RESPONSE_FACTOR, 1.0)
            hours = np.minimum(hours, c.FIRST_RESPONSE_MAX_HOURS)
            responded = seconds + np.rint(hours * 3600).astype(np.int64)
            answered = (rng.random(n) >= c.NEVER_ANSWERED_SHARE) & (responded < cutoff)
            closed = responded + np.rint(
                c.RESOLUTION_MEDIAN_HOURS * 3600 * rng.lognormal(0.0, c.RESOLUTION_SIGMA, n)).astype(np.int64)
            is_closed = answered & (closed < cutoff)
            surveyed = is_closed & (rng.random(n) < c.SURVEY_ANSWER_RATE)
            score = rng.choice(5, size=n, p=_probabilities(c.SATISFACTION_WEIGHTS)) + 1
            score = pd.array(score, dtype="Int32")
            score[~surveyed] = pd.NA
            nat = np.datetime64("NaT", "us")
            return _frame("support_tickets", {
                "ticket_id": np.arange(first_id, first_id + n, dtype=np.int64),
                "customer_id": customer + 1,
                "opened_at": self.cal.timestamps(seconds),
                "first_response_at": np.where(answered, self.cal.timestamps(responded), nat),
                "closed_at": np.where(is_closed, self.cal.timestamps(closed), nat),
                "satisfaction_score": score,
                "channel": _pick(rng, c.TICKET_CHANNELS, c.TICKET_CHANNEL_WEIGHTS, n),
            })

        return self.chunked(counts, build)

    def newsletter_signups_frames(self):
        rng = self.rng("newsletter_signups")
        counts = self.daily_counts(rng, "newsletter_signups")

        def build(first_day, day_counts, first_id):
            seconds = self.event_seconds(rng, day_counts, first_day, c.HOURS_WEB)
            n = len(seconds)
            return _frame("newsletter_signups", {
                "signup_id": np.arange(first_id, first_id + n, dtype=np.int64),
                "signed_up_at": self.cal.timestamps(seconds),
                "source": _pick(rng, c.NEWSLETTER_SOURCES, c.NEWSLETTER_SOURCE_WEIGHTS, n),
            })

        return self.chunked(counts, build)

    def demo_incidents_frames(self):
        incidents = self.incidents
        yield _frame("demo_incidents", {
            "incident_id": np.asarray([i.incident_id for i in incidents], dtype=object),
            "kpi_id": np.asarray([i.kpi_id for i in incidents], dtype=object),
            "start_date": np.asarray([i.start_date for i in incidents], dtype="datetime64[s]"),
            "end_date": np.asarray([i.end_date for i in incidents], dtype="datetime64[s]"),
            "factor": np.asarray([i.factor for i in incidents], dtype=float),
            "description": np.asarray([i.description for i in incidents], dtype=object),
        })

    def tables(self) -> Iterator[TableFrames]:
        """(table, columns, frames) for every raw table; frames are produced lazily."""
        for table in (*c.TABLE_ORDER, "demo_incidents"):
            yield table, RAW_TABLES[table], getattr(self, f"{table}_frames")()


def generate_frames(rows: int, seed: int, start: str = c.DEFAULT_START, end: str = c.DEFAULT_END,
                    chunk_rows: int = c.CHUNK_ROWS) -> Iterator[TableFrames]:
    """The raw tables as (table, columns, lazily produced DataFrames), for any loader."""
    return DemoCompany(rows, seed, start, end, chunk_rows).tables()


def generate_into_warehouse(project: Project, rows: int, seed: int, start: str = c.DEFAULT_START,
                            end: str = c.DEFAULT_END) -> dict[str, int]:
    """Replace the raw tables in project.raw_schema, all or nothing; returns rows per table."""
    from okr_kpi.warehouse import connected

    company = DemoCompany(rows, seed, start, end)
    if project.target == "duckdb":  # the first command to write: make the warehouse file's folder
        project.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    with connected(project) as wh:
        return wh.replace_tables(project.raw_schema, company.tables())
