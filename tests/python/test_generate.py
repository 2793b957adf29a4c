"""`okr-kpi generate`: the demo company's raw tables.

Deterministic, typed as the contract says (okr_kpi.demo.schema.RAW_TABLES), replaced all or
nothing, and with the planted incidents where demo_incidents says -- each checked by computing
the daily metric from the raw rows here, in plain SQL, and comparing the incident day with the
same weekday of the surrounding weeks; the same test on an ordinary day (a control) must not fire.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import statistics
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from harness import DEMO_DIR, drop_postgres_schemas, require_target, target_env
from okr_kpi.demo.schema import RAW_TABLES
from okr_kpi.generate import DemoCompany, generate_into_warehouse, planned_incidents
from okr_kpi.project import OkrKpiError, Project
from okr_kpi.warehouse import STAGING_SUFFIX, DuckDBWarehouse, PostgresWarehouse

OKR_KPI = str(Path(sys.executable).parent / "okr-kpi")
ROWS = 100_000
TABLES = list(RAW_TABLES)
DUCKDB_TYPES = {"bigint": "BIGINT", "int": "INTEGER", "double": "DOUBLE", "varchar": "VARCHAR",
                "date": "DATE", "timestamp": "TIMESTAMP"}


def generate(tmp_path: Path, monkeypatch, rows=ROWS, seed=1, target="duckdb", env=None,
             **window) -> dict[str, int]:
    for key, value in (env or target_env(tmp_path, target)).items():
        monkeypatch.setenv(key, value)
    project = Project(target=target, project_dir=DEMO_DIR)
    return generate_into_warehouse(project, rows=rows, seed=seed, **window)


def table_hashes(path: Path, schema: str = "raw") -> dict[str, str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        hashes = {}
        for table in TABLES:
            frame = con.sql(f"select * from {schema}.{table} order by all").df()
            digest = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).values.tobytes())
            digest.update(repr(list(frame.dtypes.astype(str))).encode())
            hashes[table] = digest.hexdigest()
        return hashes
    finally:
        con.close()


def daily(con, sql: str) -> dict[dt.date, float]:
    return {day: value for day, value in con.execute(sql).fetchall()}


def same_weekday_median(series: dict[dt.date, float], day: dt.date) -> float:
    """Median of the 4 surrounding same weekdays (2 weeks before, 2 after), missing days as 0."""
    return statistics.median(series.get(day + dt.timedelta(weeks=w), 0.0) for w in (-2, -1, 1, 2))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo company (ROWS rows, seed 1, default window) in a DuckDB file; yields (path, summary)."""
    path = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as mp:
        summary = generate(path, mp)
    yield path / "warehouse.duckdb", summary


@pytest.fixture
def con(demo):
    con = duckdb.connect(str(demo[0]), read_only=True)
    yield con
    con.close()


# --- determinism and idempotence ------------------------------------------------------------

def test_same_seed_gives_identical_tables_and_another_seed_differs(demo, tmp_path, monkeypatch):
    first = table_hashes(demo[0])
    summary = generate(tmp_path / "again", monkeypatch, seed=1)
    assert summary == demo[1]
    assert table_hashes(tmp_path / "again" / "warehouse.duckdb") == first
    generate(tmp_path / "other", monkeypatch, seed=2)
    other = table_hashes(tmp_path / "other" / "warehouse.duckdb")
    for table in TABLES:
        if table == "demo_incidents":  # depends on the window only
            assert other[table] == first[table]
        else:
            assert other[table] != first[table], table


def test_a_second_run_replaces_the_tables(tmp_path, monkeypatch):
    generate(tmp_path, monkeypatch, rows=5_000, seed=3)
    path = tmp_path / "warehouse.duckdb"
    before = table_hashes(path)
    generate(tmp_path, monkeypatch, rows=5_000, seed=3)
    assert table_hashes(path) == before
    generate(tmp_path, monkeypatch, rows=3_000, seed=3)  # smaller: replaced, not appended
    con = duckdb.connect(str(path), read_only=True)
    assert con.execute("select count(*) from raw.app_requests").fetchone()[0] < 3_000 * 0.6
    names = [row[0] for row in con.execute("select table_name from information_schema.tables").fetchall()]
    con.close()
    assert sorted(names) == sorted(TABLES)  # no staging table left behind


# --- contract: sizes, types, values -----------------------------------------------------------

def test_total_rows_is_about_the_requested_rows(demo):
    summary = demo[1]
    assert sum(summary.values()) == pytest.approx(ROWS, rel=0.10)
    # shares: app_requests 50%, web_sessions 25%, orders 8% (Poisson noise and incidents aside)
    assert summary["app_requests"] == pytest.approx(ROWS * 0.50, rel=0.05)
    assert summary["web_sessions"] == pytest.approx(ROWS * 0.25, rel=0.05)
    assert summary["orders"] == pytest.approx(ROWS * 0.08, rel=0.08)
    assert summary["subscriptions"] == summary["customers"]  # one subscription per customer
    # 2025-01-01..2026-08-31 is 365 + 243 = 608 days, each with at least one expense
    assert summary["expenses"] >= 608


def test_columns_have_the_contract_types_and_nullability(con):
    rows = con.execute("select table_name, column_name, data_type, is_nullable "
                       "from information_schema.columns where table_schema = 'raw' "
                       "order by table_name, ordinal_position").fetchall()
    found: dict[str, list] = {}
    for table, column, data_type, is_nullable in rows:
        found.setdefault(table, []).append((column, data_type, is_nullable == "YES"))
    expected = {table: [(name, DUCKDB_TYPES[logical], nullable) for name, logical, nullable in columns]
                for table, columns in RAW_TABLES.items()}
    assert found == expected


def test_every_day_of_the_window_has_data(con):
    for table, column in [("leads", "created_at"), ("app_requests", "requested_at"),
                          ("web_sessions", "started_at"), ("expenses", "spent_on")]:
        first, last, days = con.execute(f"select min(cast({column} as date)), max(cast({column} as date)), "
                                        f"count(distinct cast({column} as date)) from raw.{table}").fetchone()
        assert (first, last) == (dt.date(2025, 1, 1), dt.date(2026, 8, 31)), table
        if table != "leads":  # a quiet Sunday can have no lead at this size
            assert days == 608, table


def test_allowed_values_and_referential_integrity(con):
    def values(sql):
        return {row[0] for row in con.execute(sql).fetchall()}

    assert values("select distinct region from raw.customers") == {"emea", "americas", "apac"}
    assert values("select distinct acquisition_channel from raw.customers") == {"organic", "paid", "referral",
                                                                                 "event"}
    assert values("select distinct plan || ':' || cast(mrr as int) from raw.subscriptions") == {
        "starter:49", "growth:199", "enterprise:999"}
    assert values("select distinct status from raw.orders") == {"completed", "refunded"}
    assert values("select distinct currency from raw.orders") == {"EUR"}
    assert values("select distinct category from raw.expenses") == {"payroll", "cloud", "marketing", "office",
                                                                    "tools"}
    assert values("select distinct channel from raw.support_tickets") == {"email", "chat", "phone"}
    assert values("select distinct source from raw.newsletter_signups") == {"blog", "homepage", "webinar"}
    assert values("select distinct satisfaction_score from raw.support_tickets "
                  "where satisfaction_score is not null") == {1, 2, 3, 4, 5}
    pages = values("select distinct landing_page from raw.web_sessions")
    assert {"/", "/pricing"} <= pages
    assert all(p in ("/", "/pricing") or p.startswith(("/blog/", "/docs/")) for p in pages)
    # ids are 1..n without gaps
    for table, key in [("orders", "order_id"), ("app_requests", "request_id"), ("customers", "customer_id")]:
        n, low, high, distinct = con.execute(f"select count(*), min({key}), max({key}), "
                                             f"count(distinct {key}) from raw.{table}").fetchone()
        assert (low, high, distinct) == (1, n, n), table
    # nothing happens before the customer exists, or in the wrong order
    assert con.execute("""
        select count(*) from raw.orders as o left join raw.customers as c using (customer_id)
        where c.customer_id is null or o.ordered_at < c.signed_up_at""").fetchone()[0] == 0
    assert con.execute("""
        select count(*) from raw.support_tickets as t left join raw.customers as c using (customer_id)
        where c.customer_id is null or t.opened_at < c.signed_up_at""").fetchone()[0] == 0
    assert con.execute("""
        select count(*) from raw.subscriptions as s join raw.customers as c using (customer_id)
        where s.started_on <> cast(c.signed_up_at as date)
           or s.cancelled_on <= s.started_on""").fetchone()[0] == 0
    assert con.execute("""
        select count(*) from raw.support_tickets
        where first_response_at < opened_at or closed_at < first_response_at
           or (closed_at is not null and first_response_at is null)
           or (satisfaction_score is not null and closed_at is null)
           or first_response_at >= timestamp '2026-09-01' or closed_at >= timestamp '2026-09-01'
    """).fetchone()[0] == 0


def test_values_are_plausible(con):
    # page loads: lognormal, mean around 900 ms (outside the regression)
    mean_load = con.execute("select avg(page_load_ms) from raw.web_sessions "
                            "where started_at < timestamp '2026-07-20'").fetchone()[0]
    assert 800 < mean_load < 1000
    # API: median ~110 ms, mean ~120-140 ms, with a tail (p99.5 well above the median); each
    # day's slowest request (the nightly export) runs into the 2.5 s cut-off
    median, mean, p995, peak_low, peak_high = con.execute("""
        with requests as (
            select
                response_ms,
                row_number() over (
                    partition by cast(requested_at as date) order by response_ms desc) as slowness
            from raw.app_requests where cast(requested_at as date) <> date '2026-06-16'
        )
        select median(response_ms), avg(response_ms) filter (where slowness > 1),
               quantile_cont(response_ms, 0.995) filter (where slowness > 1),
               min(response_ms) filter (where slowness = 1), max(response_ms) filter (where slowness = 1)
        from requests""").fetchone()
    assert 90 < median < 140 and 100 < mean < 160 and p995 > 2.5 * median
    assert 2_375 <= peak_low and peak_high <= 2_500
    # satisfaction mostly 4-5; first response within hours
    high_share, median_hours = con.execute("""
        select avg(case when satisfaction_score >= 4 then 1.0 else 0 end)
                   filter (where satisfaction_score is not null),
               median(epoch(first_response_at) - epoch(opened_at)) / 3600
        from raw.support_tickets""").fetchone()
    assert high_share > 0.7 and 1 < median_hours < 4
    # monthly churn ~2.5%: cancellations / active subscription-months, outside the spike
    cancelled, active_days = con.execute("""
        select count(cancelled_on)
                   filter (where cancelled_on not between date '2026-08-04' and date '2026-08-06'),
               sum(date_diff('day', started_on, coalesce(cancelled_on, date '2026-09-01')))
        from raw.subscriptions""").fetchone()
    assert 0.018 < cancelled / (active_days / 30.44) < 0.032
    # growth: the last 8 weeks have clearly more orders than the first 8 weeks
    first, last = con.execute("""
        select count(*) filter (where ordered_at < timestamp '2025-02-26'),
               count(*) filter (where ordered_at >= timestamp '2026-07-06')
        from raw.orders""").fetchone()
    assert last > 1.5 * first
    # B2B weekends: Saturday+Sunday leads well under two weekdays' worth
    weekend, weekday = con.execute("""
        select count(*) filter (where dayofweek(created_at) in (0, 6)) / 2,
               count(*) filter (where dayofweek(created_at) between 1 and 5) / 5
        from raw.leads""").fetchone()
    assert weekend < 0.5 * weekday


# --- planted incidents ----------------------------------------------------------------------

def test_demo_incidents_lists_the_planted_dates(con):
    rows = con.execute("select incident_id, kpi_id, start_date, end_date, factor from raw.demo_incidents "
                       "order by start_date, kpi_id").fetchall()
    d = dt.date
    # end 2026-08-31: -76 days = 2026-06-16, -70..-64 = 06-22..06-28, -42..-39 = 07-20..07-23,
    # -47 = 07-15, -27..-25 = 08-04..08-06, -19 = 08-12
    assert rows == [
        ("apdex_outage", "apdex", d(2026, 6, 16), d(2026, 6, 16), 5.0),
        ("apdex_outage", "p90_response_time", d(2026, 6, 16), d(2026, 6, 16), 5.0),
        ("apdex_outage", "peak_response_time", d(2026, 6, 16), d(2026, 6, 16), 5.0),
        ("emea_payments_outage", "revenue", d(2026, 6, 22), d(2026, 6, 28), 0.0),
        ("paid_leads_outage", "new_leads", d(2026, 7, 15), d(2026, 7, 15), 0.0),
        ("page_load_regression", "page_load_time", d(2026, 7, 20), d(2026, 7, 23), 2.5),
        ("churn_spike", "churned_customers", d(2026, 8, 4), d(2026, 8, 6), 6.0),
        ("leads_drop", "new_leads", d(2026, 8, 12), d(2026, 8, 12), 0.25),
    ]


def test_incidents_follow_the_window_and_only_whole_ones_are_planted():
    # end 2026-03-31: leads_drop at -19 days = 2026-03-12
    by_id = {i.incident_id: i for i in planned_incidents("2025-01-01", "2026-03-31")}
    assert by_id["leads_drop"].start_date == dt.date(2026, 3, 12)
    # a window starting 2026-07-21 cuts the apdex outage (06-16) and the page load regression (07-20..23)
    ids = {i.incident_id for i in planned_incidents("2026-07-21", "2026-08-31")}
    assert ids == {"churn_spike", "leads_drop"}
    company = DemoCompany(5_000, 1, "2026-07-21", "2026-08-31")
    frame = next(dict((t, f) for t, _, f in company.tables())["demo_incidents"])
    assert sorted(frame["incident_id"]) == ["churn_spike", "leads_drop"]


def test_leads_drop(con):
    leads = daily(con, "select cast(created_at as date), count(*) from raw.leads group by 1")
    incident = dt.date(2026, 8, 12)
    assert leads.get(incident, 0) < 0.5 * same_weekday_median(leads, incident)
    control = incident - dt.timedelta(weeks=3)  # an ordinary Wednesday does not look like that
    assert leads[control] >= 0.5 * same_weekday_median(leads, control)


def test_paid_leads_outage_hits_the_paid_channel_only(con):
    day = dt.date(2026, 7, 15)
    by_source = dict(con.execute(
        f"select source, count(*) from raw.leads where cast(created_at as date) = date '{day}' group by 1"
    ).fetchall())
    assert "paid" not in by_source
    for source in ("organic", "referral"):  # the larger channels: a day of the small ones may be empty
        series = daily(con, f"select cast(created_at as date), count(*) from raw.leads "
                            f"where source = '{source}' group by 1")
        assert by_source.get(source, 0) >= 0.5 * same_weekday_median(series, day), source


def test_emea_payments_outage_refunds_the_orders_of_emea_customers_only(con):
    # the week of 2026-06-22: every order of an EMEA customer refunded, the other regions as usual
    rows = con.execute("""
        select c.region, cast(o.ordered_at as date) between date '2026-06-22' and date '2026-06-28' as outage,
               count(*) as orders, avg(case when o.status = 'refunded' then 1.0 else 0.0 end) as refunded
        from raw.orders as o join raw.customers as c on o.customer_id = c.customer_id
        where cast(o.ordered_at as date) between date '2026-06-01' and date '2026-07-19'
        group by all""").fetchall()
    by = {(region, outage): (orders, refunded) for region, outage, orders, refunded in rows}
    assert by[("emea", True)][0] > 0 and by[("emea", True)][1] == 1.0
    for region in ("americas", "apac"):
        assert by[(region, True)][1] < 0.15, region
    for region in ("emea", "americas", "apac"):
        assert by[(region, False)][1] < 0.10, region  # the usual 3 % around it
    # orders (rows) are not removed: the week's order count is that of an ordinary week
    weekly = daily(con, "select date_trunc('week', ordered_at), count(*) from raw.orders group by 1")
    week = dt.datetime(2026, 6, 22)
    around = statistics.mean(weekly[week + dt.timedelta(weeks=w)] for w in (-2, -1, 1, 2))
    assert 0.75 * around < weekly[week] < 1.25 * around


def test_page_load_regression(con):
    load = daily(con, "select cast(started_at as date), avg(page_load_ms) from raw.web_sessions group by 1")
    for offset in range(4):
        day = dt.date(2026, 7, 20) + dt.timedelta(days=offset)
        control = day - dt.timedelta(weeks=3)
        assert load[day] > 2 * same_weekday_median(load, day), day
        assert load[control] <= 2 * same_weekday_median(load, control), control


def test_churn_spike(con):
    churned = daily(con, "select cancelled_on, count(*) from raw.subscriptions "
                         "where cancelled_on is not null group by 1")

    def three_days(first):
        return sum(churned.get(first + dt.timedelta(days=i), 0) for i in range(3))

    spike = dt.date(2026, 8, 4)
    around = statistics.median(three_days(spike + dt.timedelta(weeks=w)) for w in (-3, -2, -1, 2))
    assert three_days(spike) > 3 * around
    control = spike - dt.timedelta(weeks=2)
    assert three_days(control) <= 3 * statistics.median(
        three_days(control + dt.timedelta(weeks=w)) for w in (-3, -2, -1, 1))


def test_apdex_outage(con):
    # apdex with T = 500 ms: (satisfied + tolerating / 2) / all; and the day's peak response
    apdex = daily(con, """select cast(requested_at as date),
        avg(case when response_ms <= 500 then 1.0 when response_ms <= 2000 then 0.5 else 0 end)
        from raw.app_requests group by 1""")
    peak = daily(con, "select cast(requested_at as date), max(response_ms) from raw.app_requests group by 1")
    day, control = dt.date(2026, 6, 16), dt.date(2026, 6, 9)
    assert apdex[day] < same_weekday_median(apdex, day) - 0.15
    assert apdex[control] >= same_weekday_median(apdex, control) - 0.15
    assert peak[day] > 2 * same_weekday_median(peak, day)
    assert peak[control] <= 2 * same_weekday_median(peak, control)


# --- all or nothing, errors ------------------------------------------------------------------

def _failing_tables(good_rows: int):
    """Two tables: the first loads, the second raises half way."""
    def orders_then_boom():
        yield pd.DataFrame({"order_id": range(good_rows)})
        raise RuntimeError("generator crashed")

    columns = [("order_id", "bigint", False)]
    return [("leads", columns, iter([pd.DataFrame({"order_id": range(good_rows)})])),
            ("orders", columns, orders_then_boom())]


def test_a_failed_load_leaves_the_previous_tables(tmp_path, monkeypatch):
    generate(tmp_path, monkeypatch, rows=5_000, seed=4)
    path = tmp_path / "warehouse.duckdb"
    before = table_hashes(path)
    wh = DuckDBWarehouse(str(path))
    with pytest.raises(RuntimeError, match="generator crashed"):
        wh.replace_tables("raw", _failing_tables(10))
    wh.close()
    assert table_hashes(path) == before
    con = duckdb.connect(str(path), read_only=True)
    names = {row[0] for row in con.execute("select table_name from information_schema.tables").fetchall()}
    con.close()
    assert not any(name.endswith(STAGING_SUFFIX) for name in names)


def test_a_frame_without_a_contract_column_is_a_clear_error(tmp_path):
    wh = DuckDBWarehouse(str(tmp_path / "w.duckdb"))
    with pytest.raises(OkrKpiError, match=r"table leads: the data has no column source"):
        wh.load_table("raw", "leads", pd.DataFrame({"lead_id": [1]}),
                      columns=[("lead_id", "bigint", False), ("source", "varchar", False)])
    with pytest.raises(OkrKpiError, match=r"raw\.leads.*NOT NULL"):
        wh.load_table("raw", "leads", pd.DataFrame({"lead_id": [1], "source": [None]}),
                      columns=[("lead_id", "bigint", False), ("source", "varchar", False)])
    wh.close()


def test_bad_arguments_are_clear_errors():
    with pytest.raises(OkrKpiError, match="--start '2025-13-01' is not a date"):
        DemoCompany(1_000, 1, start="2025-13-01")
    with pytest.raises(OkrKpiError, match="before --start"):
        DemoCompany(1_000, 1, start="2026-01-01", end="2025-01-01")
    with pytest.raises(OkrKpiError, match="--seed"):
        DemoCompany(1_000, -1)


# --- PostgreSQL ------------------------------------------------------------------------------

@pytest.mark.postgres
def test_postgres_load_matches_duckdb_and_is_all_or_nothing(tmp_path, monkeypatch):
    require_target("postgres")
    env = target_env(tmp_path, "postgres")
    schema = env["OKR_KPI_RAW_SCHEMA"]
    try:
        summary = generate(tmp_path, monkeypatch, rows=20_000, seed=5, target="postgres", env=env)
        wh = PostgresWarehouse()
        types = {(r["table_name"], r["column_name"]): (r["data_type"], r["is_nullable"]) for r in wh.query(
            "select table_name, column_name, data_type, is_nullable from information_schema.columns "
            "where table_schema = %s", (schema,))}
        assert types[("orders", "ordered_at")] == ("timestamp without time zone", "NO")
        assert types[("subscriptions", "cancelled_on")] == ("date", "YES")
        assert types[("web_sessions", "page_load_ms")] == ("integer", "NO")
        assert types[("orders", "order_id")] == ("bigint", "NO")
        assert len(types) == sum(len(columns) for columns in RAW_TABLES.values())
        counts = {t: wh.query(f'select count(*) as n from "{schema}"."{t}"')[0]["n"] for t in TABLES}
        assert counts == summary
        # same rows as DuckDB for the same seed
        generate(tmp_path / "duck", monkeypatch, rows=20_000, seed=5)
        duck = duckdb.connect(str(tmp_path / "duck" / "warehouse.duckdb"), read_only=True)
        for table, key in [("support_tickets", "ticket_id"), ("subscriptions", "subscription_id")]:
            pg_rows = wh.query(f'select * from "{schema}"."{table}" order by {key}')
            pg_rows = [tuple(row.values()) for row in pg_rows]
            assert pg_rows == duck.execute(f"select * from raw.{table} order by {key}").fetchall(), table
        duck.close()
        # a view on a raw table (as dbt's staging views are) survives a second generate
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        wh.execute(f'create view "{schema}".v_orders as select order_id from "{schema}".orders')
        generate_into_warehouse(Project(target="postgres", project_dir=DEMO_DIR), rows=10_000, seed=6)
        assert wh.query(f'select count(*) as n from "{schema}".v_orders')[0]["n"] < summary["orders"]
        # a crash half way leaves everything as it was
        before = wh.query(f'select count(*) as n from "{schema}".leads')[0]["n"]
        with pytest.raises(RuntimeError, match="generator crashed"):
            wh.replace_tables(schema, _failing_tables(10))
        assert wh.query(f'select count(*) as n from "{schema}".leads')[0]["n"] == before
        wh.close()
    finally:
        drop_postgres_schemas(env)


# --- the command line ------------------------------------------------------------------------

def test_cli_generate(tmp_path):
    env = target_env(tmp_path)
    proc = subprocess.run([OKR_KPI, "generate", "--rows", "5000", "--seed", "1"], env=env, cwd=DEMO_DIR,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    printed = {line.split()[0]: int(line.split()[1].replace(",", "")) for line in proc.stdout.splitlines()}
    assert set(printed) == set(TABLES)
    con = duckdb.connect(env["OKR_KPI_DUCKDB_PATH"], read_only=True)
    for table, count in printed.items():
        assert con.execute(f"select count(*) from raw.{table}").fetchone()[0] == count
    con.close()
    bad = subprocess.run([OKR_KPI, "generate", "--start", "yesterday"], env=env, cwd=DEMO_DIR,
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "'--start': 'yesterday' is not a date" in bad.stderr


def test_cli_generate_on_a_locked_warehouse_says_so(tmp_path):
    env = target_env(tmp_path)
    holder = duckdb.connect(env["OKR_KPI_DUCKDB_PATH"])  # noqa: F841 - holds the write lock (same process)
    # the lock is per process: a second process is refused
    proc = subprocess.run([OKR_KPI, "generate", "--rows", "1000"], env=env, cwd=DEMO_DIR,
                          capture_output=True, text=True)
    holder.close()
    assert proc.returncode == 50, proc.stderr
    assert "in use by another process" in proc.stderr



# --- quiet outside the incidents ------------------------------------------------------------
# On the demo's own settings (make demo: 500,000 rows, seed 42), a 3-sigma detector like the dbt
# anomaly rule finds the planted incidents and nothing else.

@pytest.fixture(scope="module")
def demo_con(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo_500k")
    with pytest.MonkeyPatch.context() as mp:
        generate(path, mp, rows=500_000, seed=42)
    con = duckdb.connect(str(path / "warehouse.duckdb"), read_only=True)
    yield con
    con.close()

def _sudden_changes(series: pd.Series, bad: int, window: int = 28, min_periods: int = 12,
                    same_weekday: bool = True) -> list:
    """Periods more than 3 trailing standard deviations from the trailing mean, in the bad
    direction (+1: up is bad, -1: down is bad), against the same weekday for daily series."""
    step = 7 if same_weekday else 1
    found = []
    for i in range(len(series)):
        trailing = series.iloc[max(i - window * step, i % step):i:step]
        if len(trailing) < min_periods or trailing.std() == 0:
            continue
        z = (series.iloc[i] - trailing.mean()) / trailing.std()
        if bad * z >= 3:
            found.append(series.index[i])
    return found


@pytest.mark.parametrize("metric, sql, bad, expected", [
    ("new_leads", "select cast(created_at as date) as d, count(*) as v from raw.leads group by 1", -1,
     [dt.date(2026, 7, 15), dt.date(2026, 8, 12)]),  # paid_leads_outage (paid only), leads_drop
    ("page_load_time", "select cast(started_at as date) as d, avg(page_load_ms) as v from raw.web_sessions "
     "group by 1", 1, [dt.date(2026, 7, day) for day in (20, 21, 22, 23)]),
    ("apdex", "select cast(requested_at as date) as d, avg(case when status_code >= 500 then 0.0 "
     "when response_ms <= 300 then 1.0 when response_ms <= 1200 then 0.5 else 0.0 end) as v "
     "from raw.app_requests group by 1", -1, [dt.date(2026, 6, 16)]),
    ("peak_response_time", "select cast(requested_at as date) as d, max(response_ms) as v "
     "from raw.app_requests group by 1", 1, [dt.date(2026, 6, 16)]),
])
def test_daily_kpis_change_suddenly_only_on_incident_days(demo_con, metric, sql, bad, expected):
    series = demo_con.execute(sql).df().set_index("d")["v"].sort_index()
    series.index = [d.date() if hasattr(d, "date") else d for d in series.index]
    assert _sudden_changes(series, bad) == expected, metric


def test_weekly_churn_changes_suddenly_only_in_the_spike_week(demo_con):
    weekly = demo_con.execute("select date_trunc('week', cancelled_on) as w, count(*) as v "
                              "from raw.subscriptions where cancelled_on is not null "
                              "group by 1 order by 1").df().set_index("w")["v"]
    weekly = weekly.iloc[1:-1]  # whole weeks only
    weekly.index = [w.date() for w in weekly.index]
    assert _sudden_changes(weekly, 1, same_weekday=False) == [dt.date(2026, 8, 3)]
    # the detector itself fires on a planted change: the same series with one week doubled
    doubled = weekly.copy()
    doubled.iloc[40] *= 2
    assert weekly.index[40] in _sudden_changes(doubled, 1, same_weekday=False)
