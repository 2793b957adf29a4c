"""`okr-kpi generate`: the demo company's raw tables (contract: okr_kpi.demo.schema.RAW_TABLES).

A small B2B SaaS: customers sign up and subscribe, place orders, open support tickets; the
marketing site has sessions, leads and newsletter sign-ups; the product serves API requests;
the company has expenses.

Deterministic: every table draws from its own numpy stream seeded by (seed, table number), so
the same rows, seed and window give identical tables. Vectorised and chunked: the biggest tables
are produced a slice of days at a time, so memory stays bounded whatever --rows is.

Shape: every volume follows one smooth curve (exponential growth, a gentle yearly wave) times a
weekday profile, plus noise -- and nothing else except the planted incidents
(okr_kpi.demo.company.INCIDENTS), placed relative to the window's last day and listed in the table
demo_incidents, so that anomaly detection has exactly these to find.

Quiet noise: a 3-sigma detector flags about 0.3% of ordinary days of any Gaussian or Poisson
series -- a dozen false alarms in a demo. So the noise here has the natural scale (a daily count
varies by sqrt(expected), as a Poisson count does; a daily average by sd/sqrt(n)) but a bounded,
uniform shape (never beyond 1.73 of its sd), and the values of the rows are drawn by stratified
sampling within each day (each day's rows cover the distribution's quantiles evenly), so daily
shares, averages, ratios and the peak vary only by that bounded day-level noise.
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
        # Period numbers per day, for noise drawn per period (weeks start on Monday).
        self.periods = {
            "day": np.arange(self.n),
            "week": (self.days.astype(np.int64) + 3) // 7,
            "month": self.days.astype("datetime64[M]").astype(np.int64),
        }

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


def _bounded(rng: np.random.Generator, size) -> np.ndarray:
    """Uniform noise with mean 0 and standard deviation 1 (so never beyond +-1.73)."""
    return np.sqrt(3.0) * (2.0 * rng.random(size) - 1.0)


def quiet_counts(rng: np.random.Generator, expected: np.ndarray, period: np.ndarray | None = None):
    """Counts around `expected` (one per day) with bounded noise of a Poisson count's size.

    period: the period (day index, week or month number) each day belongs to; the noise is drawn
    per period -- the period's total varies by sqrt(its expected total), as a Poisson count does,
    and is spread over its days in proportion -- so the KPI read at that grain moves by one bounded
    term. Default: per day. Rounding carries over from day to day (the counts are the steps of the
    rounded running total), so small daily numbers do not all round the same way.
    """
    expected = np.asarray(expected, dtype=float)
    if period is None:
        period = np.arange(len(expected))
    local = period - period.min()
    total = np.bincount(local, weights=expected)
    relative = _bounded(rng, len(total)) / np.sqrt(np.maximum(total, 1e-9))
    noisy = np.maximum(expected * (1.0 + relative[local]), 0.0)
    return np.diff(np.rint(np.cumsum(noisy)), prepend=0.0).astype(np.int64)


def stratified_u(rng: np.random.Generator, group: np.ndarray) -> np.ndarray:
    """Probabilities in (0, 1), stratified within each group (e.g. day): a group of n rows gets the
    midpoints 0.5/n, 1.5/n, ... (n-0.5)/n in random order, so its shares and quantiles match the
    target distribution to within 1/n, and no unbounded draw from a distribution's tail can move
    the group's mean (the day-level noise is added separately, bounded)."""
    group = np.asarray(group, dtype=np.int64)
    if len(group) == 0:
        return np.zeros(0)
    low = group.min()
    local = group - low
    sizes = np.bincount(local)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    order = np.argsort(local + rng.random(len(local)), kind="stable")
    rank = np.empty(len(local), dtype=np.int64)
    rank[order] = np.arange(len(local)) - starts[local[order]]
    return (rank + 0.5) / sizes[local]


def _index_u(weights, u: np.ndarray) -> np.ndarray:
    """The index of the category whose cumulative-weight interval holds u (stratified u: exact shares)."""
    return np.searchsorted(np.cumsum(_probabilities(weights))[:-1], u, side="right")


def _pick_u(values, weights, u: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=object)[_index_u(weights, u)]


def norm_ppf(u: np.ndarray) -> np.ndarray:
    """Standard normal quantile (P. J. Acklam's rational approximation, relative error < 1.2e-9)."""
    a = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02, 1.383577518672690e02,
         -3.066479806614716e01, 2.506628277459239e00)
    b = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02, 6.680131188771972e01,
         -1.328068155288572e01)
    cc = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00, -2.549732539343734e00,
          4.374664141464968e00, 2.938163982698783e00)
    d = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00)
    u = np.asarray(u, dtype=float)
    z = np.empty_like(u)
    low, high = u < 0.02425, u > 1 - 0.02425
    mid = ~(low | high)
    q = u[mid] - 0.5
    r = q * q
    z[mid] = ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
              / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1))
    for mask, sign, tail in ((low, 1.0, u[low]), (high, -1.0, 1 - u[high])):
        q = np.sqrt(-2 * np.log(tail))
        z[mask] = sign * ((((((cc[0] * q + cc[1]) * q + cc[2]) * q + cc[3]) * q + cc[4]) * q + cc[5])
                          / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1))
    return z


def period_noise(rng: np.random.Generator, counts: np.ndarray, period: np.ndarray, cv: float) -> np.ndarray:
    """Per-day factor 1 + bounded noise shared by the days of a period (day, week, month), with the
    natural sd of the average of the period's n values of coefficient of variation cv: cv / sqrt(n)."""
    local = period - period.min()
    sizes = np.bincount(local, weights=counts)
    noise = 1.0 + cv / np.sqrt(np.maximum(sizes, 1.0)) * _bounded(rng, len(sizes))
    return noise[local]


def _lognormal_cv(sigma: float) -> float:
    return float(np.sqrt(np.exp(sigma ** 2) - 1.0))


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

    def daily_counts(self, rng: np.random.Generator, table: str, factor: np.ndarray | None = None,
                     scale: float = 1.0):
        shape = self.cal.trend * np.asarray(c.WEEKDAY_FACTORS[table])[self.cal.weekday]
        expected = self.target_rows(table) * scale * shape / shape.sum()
        if factor is not None:
            expected = expected * factor
        return quiet_counts(rng, expected, self.cal.periods[c.NOISE_PERIOD[table]])

    def strata(self, day: np.ndarray, key: str) -> np.ndarray:
        """The period (per c.NOISE_PERIOD[key]) of each row's day: the groups for stratified_u."""
        return self.cal.periods[c.NOISE_PERIOD[key]][day]

    def value_noise(self, rng: np.random.Generator, counts: np.ndarray, key: str, cv: float) -> np.ndarray:
        """Per-day factor for a table's values, drawn per the period of c.NOISE_PERIOD[key]."""
        return period_noise(rng, counts, self.cal.periods[c.NOISE_PERIOD[key]], cv)

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
            # The installed base, moved to the new billing system at midnight of the first day, then
            # the sign-ups of the window.
            installed = max(int(round(self.target_rows("customers") * c.INSTALLED_BASE_SHARE)), 1)
            counts = self.daily_counts(rng, "customers", scale=1 - c.INSTALLED_BASE_SHARE)
            seconds = np.concatenate([np.zeros(installed, dtype=np.int64),
                                      self.event_seconds(rng, counts, 0, c.HOURS_BUSINESS)])
            counts[0] += installed
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
        plan = _index_u(c.PLAN_WEIGHTS, stratified_u(rng, self.strata(start_day, "customers")))
        mrr = np.asarray([c.PLAN_MRR[p] for p in c.PLANS])[plan]
        # Cancellations: each day, about active x daily hazard (monthly churn; x factor on churn-spike
        # days) subscriptions started before that day, picked at random among the active ones.
        hazard = np.full(self.cal.n, -np.log(1.0 - c.MONTHLY_CHURN) / 30.44)
        base_hazard = float(hazard[0]) if self.cal.n else 0.0
        hazard *= self.cal.day_factor(self.incidents, "churn_spike")
        started_before = np.searchsorted(start_day, np.arange(self.cal.n), side="left")
        active = np.zeros(n, dtype=bool)
        cancel_day = np.full(n, self.cal.n, dtype=np.int64)
        # bounded noise drawn per period (see quiet_counts): a period of about `days` x today's
        # expected cancellations varies by sqrt of that
        period = self.cal.periods[c.NOISE_PERIOD["churn"]]
        days = np.bincount(period - period.min())[period - period.min()]
        noise = _bounded(rng, period.max() - period.min() + 1)[period - period.min()]
        wanted = emitted = 0.0  # running totals, so that rounding carries over from day to day
        for day in range(1, self.cal.n):
            active[started_before[day - 1]:started_before[day]] = True
            candidates = np.flatnonzero(active[:started_before[day]])
            expected = len(candidates) * hazard[day]
            usual = max(len(candidates) * base_hazard * days[day], 1e-9)
            # the noise is that of the usual cancellations: an incident's extra ones come on top
            wanted += max(expected + len(candidates) * base_hazard * noise[day] / np.sqrt(usual), 0.0)
            count = min(max(int(np.rint(wanted - emitted)), 0), len(candidates))
            emitted += count
            if count:
                leaving = rng.choice(candidates, size=count, replace=False)
                active[leaving] = False
                cancel_day[leaving] = day
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
        amount_noise = self.value_noise(rng, counts, "order_amount", _lognormal_cv(c.ORDER_AMOUNT_SIGMA))
        outage = self.cal.day_factor(self.incidents, "emea_payments_outage")

        def build(first_day, day_counts, first_id):
            seconds = self.event_seconds(rng, day_counts, first_day, c.HOURS_BUSINESS)
            customer, seconds = self.pick_customers(rng, seconds)
            n = len(seconds)
            day = seconds // SECONDS_PER_DAY
            z = norm_ppf(stratified_u(rng, self.strata(day, "order_amount")))
            amount = c.ORDER_AMOUNT_MEDIAN * np.exp(c.ORDER_AMOUNT_SIGMA * z)
            amount = np.round(amount * amount_noise[day], 2)
            refunded = stratified_u(rng, self.strata(day, "orders")) < c.ORDER_REFUND_RATE
            # emea_payments_outage hits one region only (docs/segments.md): on its days every order
            # of an EMEA customer is refunded (no random numbers drawn: the other rows are unchanged)
            refunded |= (outage[day] != 1) & (self.customers["region"][customer] == c.PAYMENTS_OUTAGE_REGION)
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
        # paid_leads_outage hits one segment only (docs/segments.md): paid leads x its factor on its
        # days, the other channels as usual, so the total falls by the paid share of the drop
        paid = c.LEAD_SOURCES.index("paid")
        paid_factor = self.cal.day_factor(self.incidents, "paid_leads_outage")
        total_factor = (self.cal.day_factor(self.incidents, "leads_drop")
                        * (1 - c.LEAD_SOURCE_WEIGHTS[paid] * (1 - paid_factor)))
        counts = self.daily_counts(rng, "leads", total_factor)
        # the outage days' channels come from a stream of their own: the other days keep theirs
        outage_rng = np.random.default_rng([self.seed, len(c.TABLE_ORDER), paid])
        outage_weights = np.asarray(c.LEAD_SOURCE_WEIGHTS, dtype=float)
        outage_weights[paid] *= paid_factor.min()
        outage_weights /= outage_weights.sum()
        company_domains = [f"{stem}{suffix}.example" for stem in c.EMAIL_DOMAIN_STEMS
                           for suffix in c.EMAIL_DOMAIN_SUFFIXES]
        domains = np.asarray(company_domains + list(c.FREE_MAIL_DOMAINS), dtype=object)
        weights = ([(1 - c.FREE_MAIL_SHARE) / len(company_domains)] * len(company_domains)
                   + [c.FREE_MAIL_SHARE / len(c.FREE_MAIL_DOMAINS)] * len(c.FREE_MAIL_DOMAINS))

        def build(first_day, day_counts, first_id):
            seconds = self.event_seconds(rng, day_counts, first_day, c.HOURS_BUSINESS)
            n = len(seconds)
            sources = _pick(rng, c.LEAD_SOURCES, c.LEAD_SOURCE_WEIGHTS, n)
            days = first_day + np.repeat(np.arange(len(day_counts)), day_counts)
            on_outage = paid_factor[days] != 1
            if on_outage.any():
                sources[on_outage] = _pick(outage_rng, c.LEAD_SOURCES, tuple(outage_weights),
                                           int(on_outage.sum()))
            return _frame("leads", {
                "lead_id": np.arange(first_id, first_id + n, dtype=np.int64),
                "created_at": self.cal.timestamps(seconds),
                "source": sources,
                "email_domain": _pick(rng, domains, weights, n),
            })

        return self.chunked(counts, build)

    def web_sessions_frames(self):
        rng = self.rng("web_sessions")
        counts = self.daily_counts(rng, "web_sessions")
        load_noise = self.value_noise(rng, counts, "page_load", _lognormal_cv(c.PAGE_LOAD_SIGMA))
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
            day = seconds // SECONDS_PER_DAY
            week = self.strata(day, "web_sessions")
            load = c.PAGE_LOAD_MEDIAN_MS * np.exp(c.PAGE_LOAD_SIGMA * norm_ppf(stratified_u(rng, day)))
            load *= load_noise[day] * slowdown[day]
            return _frame("web_sessions", {
                "session_id": np.arange(first_id, first_id + n, dtype=np.int64),
                "started_at": self.cal.timestamps(seconds),
                "channel": _pick_u(c.WEB_CHANNELS, c.WEB_CHANNEL_WEIGHTS, stratified_u(rng, week)),
                "landing_page": _pick_u(pages, weights, stratified_u(rng, week)),
                "page_load_ms": np.maximum(np.rint(load), 1).astype(np.int32),
            })

        return self.chunked(counts, build)

    def app_requests_frames(self):
        rng = self.rng("app_requests")
        counts = self.daily_counts(rng, "app_requests")
        response_noise = self.value_noise(rng, counts, "response", c.RESPONSE_DAY_CV)
        outage = self.cal.day_factor(self.incidents, "apdex_outage")
        endpoints = np.asarray(c.ENDPOINTS, dtype=object)
        statuses = np.asarray(c.STATUS_CODES, dtype=np.int32)

        def build(first_day, day_counts, first_id):
            seconds = self.event_seconds(rng, day_counts, first_day, c.HOURS_BUSINESS)
            n = len(seconds)
            day = seconds // SECONDS_PER_DAY
            endpoint = _index_u(c.ENDPOINT_WEIGHTS, stratified_u(rng, day))
            # lognormal body, heavier tail above the RESPONSE_TAIL_Z quantile; stratified per day
            z = norm_ppf(stratified_u(rng, day))
            response = c.RESPONSE_MEDIAN_MS * np.exp(
                c.RESPONSE_SIGMA * z + c.RESPONSE_TAIL_SLOPE * np.maximum(z - c.RESPONSE_TAIL_Z, 0.0))
            response *= response_noise[day]
            # the day's slowest request (the nightly export) runs into the query cut-off
            response = np.minimum(response, c.RESPONSE_CUTOFF_MS * (1 - c.RESPONSE_PEAK_SPREAD))
            ends = np.cumsum(day_counts)[day_counts > 0] - 1
            slowest = np.lexsort((response, day))[ends]
            response[slowest] = c.RESPONSE_CUTOFF_MS * (1 - c.RESPONSE_PEAK_SPREAD * rng.random(len(ends)))
            response *= outage[day]
            status = statuses[_index_u(c.STATUS_WEIGHTS, stratified_u(rng, day))]
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
        # Costs grow slower than the business (EXPENSE_GROWTH_PER_YEAR).
        extra = max(self.target_rows("expenses") - self.cal.n, 0.0)
        shape = c.EXPENSE_GROWTH_PER_YEAR ** (np.arange(self.cal.n) / 365.0)
        period = self.cal.periods[c.NOISE_PERIOD["expenses"]]
        counts = 1 + quiet_counts(rng, extra * shape / shape.sum(), period)
        amount_noise = self.value_noise(rng, counts, "expense_amount", _lognormal_cv(c.EXPENSE_SIGMA))
        day = np.repeat(np.arange(self.cal.n), counts)
        n = len(day)
        month = self.strata(day, "expenses")
        category = _index_u(c.EXPENSE_WEIGHTS, stratified_u(rng, month))
        median = np.asarray([c.EXPENSE_MEDIAN[name] for name in c.EXPENSE_CATEGORIES])[category]
        amount = median * np.exp(c.EXPENSE_SIGMA * norm_ppf(stratified_u(rng, month * 8 + category)))
        yield _frame("expenses", {
            "expense_id": np.arange(1, n + 1, dtype=np.int64),
            "spent_on": self.cal.dates(day),
            "category": np.asarray(c.EXPENSE_CATEGORIES, dtype=object)[category],
            "amount": np.round(amount * amount_noise[day], 2),
        })

    def support_tickets_frames(self):
        rng = self.rng("support_tickets")
        counts = self.daily_counts(rng, "support_tickets")
        response_noise = self.value_noise(rng, counts, "first_response",
                                          _lognormal_cv(c.FIRST_RESPONSE_SIGMA))
        # satisfaction: a bounded shift of the score quantiles per period (0.01 moves the mean ~0.04)
        answers = counts * c.SURVEY_ANSWER_RATE
        score_shift = self.value_noise(rng, answers, "satisfaction", c.SATISFACTION_SPREAD) - 1
        cutoff = self.cal.n * SECONDS_PER_DAY  # nothing after the window's last day is known yet
        weekend = self.cal.weekday >= 5

        def build(first_day, day_counts, first_id):
            seconds = self.event_seconds(rng, day_counts, first_day, c.HOURS_BUSINESS)
            customer, seconds = self.pick_customers(rng, seconds)
            n = len(seconds)
            day = seconds // SECONDS_PER_DAY
            hours = c.FIRST_RESPONSE_MEDIAN_HOURS * np.exp(
                c.FIRST_RESPONSE_SIGMA * norm_ppf(stratified_u(rng, self.strata(day, "first_response"))))
            hours *= response_noise[day]
            hours *= np.where(weekend[day], c.WEEKEND_RESPONSE_FACTOR, 1.0)
            hours = np.minimum(hours, c.FIRST_RESPONSE_MAX_HOURS)
            responded = seconds + np.rint(hours * 3600).astype(np.int64)
            month = self.strata(day, "satisfaction")
            answered = (stratified_u(rng, month) >= c.NEVER_ANSWERED_SHARE) & (responded < cutoff)
            closed = responded + np.rint(
                c.RESOLUTION_MEDIAN_HOURS * 3600 * rng.lognormal(0.0, c.RESOLUTION_SIGMA, n)).astype(np.int64)
            is_closed = answered & (closed < cutoff)
            surveyed = is_closed & (stratified_u(rng, month * 2 + is_closed) < c.SURVEY_ANSWER_RATE)
            score_u = np.clip(stratified_u(rng, month * 2 + surveyed) + score_shift[day], 1e-9, 1 - 1e-9)
            score = _index_u(c.SATISFACTION_WEIGHTS, score_u) + 1
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
    project.adapter.prepare_write()  # the first command to write: e.g. the DuckDB file's folder
    with connected(project) as wh:
        return wh.replace_tables(project.raw_schema, company.tables())
