"""Nightly data tests read recent rows (macros/checks/recent_rows.sql, okr_kpi.window).

Fixture: the demo company (okr-kpi generate --rows 20000 --seed 42, last day 2026-08-31), built
once, then these rows added to raw.customers (worked out by hand; the window starts 2026-08-24):

  id        signed_up_at          region     what it is
  900001    2025-02-03 10:00      mars       old row, unknown region           (outside the window)
  900002    2026-08-30 10:00      atlantis   recent row, unknown region        (inside)
  <K>       2026-08-30 11:00      emea       recent row repeating the old customer id K
  900003    null                  emea       no sign-up time                   (always read)
  900004    2025-03-01 09:00      emea       old duplicate pair ...            (outside)
  900004    2025-03-02 09:00      emea       ... of a new id

and two orders of customers that do not exist, to raw.orders (a test on a staging model):

  order     ordered_at            customer
  990001    2025-02-03 10:00      990001       old orphan order                   (outside)
  990002    2026-08-30 10:00      990002       recent orphan order                (inside)

With the window: accepted_values(region) finds 1 value (atlantis); unique(customer_id) finds
1 duplicated id (K: the new row and the old one it repeats), not 900004; not_null(signed_up_at)
finds 1 row; relationships(stg_demo__orders.customer_id -> customers) finds 1 orphan (990002).
With all of history: 2 values (mars, atlantis), 2 duplicated ids, 1 null, 2 orphans. The GX
mirrors count rows: in_set 1 / 2, unique 2 / 4, not null 1 / 1. The row count reads the whole
table either way (20,000-row demo: its customers plus the 6 rows).
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import duckdb
import pytest
from harness import DEMO_DIR, demo_company, target_env
from okr_kpi.checks import run_checks
from okr_kpi.config import load_config
from okr_kpi.lifecycle import now, record_run
from okr_kpi.project import Project
from okr_kpi.warehouse import connected
from okr_kpi.window import choose_window

AS_OF = "2026-08-31"
SINCE = "2026-08-24"


@pytest.fixture(scope="module")
def corrupted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("test_window")
    with demo_company(tmp, rows=20_000) as (project, env):
        for args in (("seed",), ("run", "--select", "path:models/staging +int_kpi_threshold_candidates")):
            proc = project.dbt(*args, vars={"as_of_date": AS_OF}, capture=True)
            assert proc.returncode == 0, proc.stdout[-3000:]
    con = duckdb.connect(env["OKR_KPI_DUCKDB_PATH"])
    old_id = con.execute(
        "select customer_id from raw.customers where signed_up_at < '2025-06-01' order by customer_id limit 1"
    ).fetchone()[0]
    columns = [r[0] for r in con.execute("describe raw.customers").fetchall()]
    con.execute("alter table raw.customers alter column signed_up_at drop not null")  # a loose loader
    rows = [
        (900001, "2025-02-03 10:00:00", "mars"),
        (900002, "2026-08-30 10:00:00", "atlantis"),
        (old_id, "2026-08-30 11:00:00", "emea"),
        (900003, None, "emea"),
        (900004, "2025-03-01 09:00:00", "emea"),
        (900004, "2025-03-02 09:00:00", "emea"),
    ]
    for customer_id, signed_up_at, region in rows:
        values = {c: None for c in columns}
        values.update(customer_id=customer_id, signed_up_at=signed_up_at, region=region,
                      acquisition_channel="organic")
        con.execute(
            f"insert into raw.customers ({', '.join(columns)}) values ({', '.join('?' for _ in columns)})",
            [values[c] for c in columns],
        )
    order_columns = [r[0] for r in con.execute("describe raw.orders").fetchall()]
    for order_id, ordered_at in ((990001, "2025-02-03 10:00:00"), (990002, "2026-08-30 10:00:00")):
        values = {c: None for c in order_columns}
        values.update(order_id=order_id, customer_id=order_id, ordered_at=ordered_at, amount=10.0,
                      currency="EUR", status="completed")
        con.execute(
            f"insert into raw.orders ({', '.join(order_columns)}) "
            f"values ({', '.join('?' for _ in order_columns)})",
            [values[c] for c in order_columns],
        )
    total = con.execute("select count(*) from raw.customers").fetchone()[0]
    con.close()
    return {"tmp": tmp, "env": env, "old_id": old_id, "total": total}


def dbt_failures(corrupted, monkeypatch, since: str | None) -> dict[tuple[str, str], int]:
    """(where, test name, column) -> dbt's failures count, for the tests on customers (source and
    staging) and on the staging orders."""
    for key, value in corrupted["env"].items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("OKR_KPI_TEST_SINCE", since or "")
    monkeypatch.setenv("OKR_KPI_AS_OF_DATE", AS_OF)
    project = Project(target="duckdb", project_dir=DEMO_DIR)
    project.dbt("test", "--select", "source:demo.customers stg_demo__customers stg_demo__orders",
                "--indirect-selection", "cautious", capture=True)
    target = corrupted["tmp"] / "target"
    manifest = json.loads((target / "manifest.json").read_text())
    out = {}
    for r in json.loads((target / "run_results.json").read_text())["results"]:
        node = manifest["nodes"][r["unique_id"]]
        on_source = any(d.startswith("source.") for d in node["depends_on"]["nodes"])
        where = "source" if on_source else "staging"
        out[(where, node["test_metadata"]["name"], node.get("column_name"))] = r["failures"]
    return out


def test_dbt_column_tests_read_the_window_and_everything_without_it(corrupted, monkeypatch):
    windowed = dbt_failures(corrupted, monkeypatch, SINCE)
    assert windowed[("source", "accepted_values", "region")] == 1  # atlantis, not mars
    assert windowed[("source", "unique", "customer_id")] == 1  # the repeated old id, not 900004
    assert windowed[("staging", "relationships", "customer_id")] == 1  # 990002, not 990001
    assert windowed[("source", "not_null", "signed_up_at")] == 1  # null times are always read
    assert windowed[("source", "row_count_between", None)] == 0
    full = dbt_failures(corrupted, monkeypatch, None)
    assert full[("source", "accepted_values", "region")] == 2
    assert full[("source", "unique", "customer_id")] == 2
    assert full[("staging", "relationships", "customer_id")] == 2
    assert full[("source", "not_null", "signed_up_at")] == 1


def gx_counts(corrupted, monkeypatch, since: str | None) -> dict[str, int]:
    for key, value in corrupted["env"].items():
        monkeypatch.setenv(key, value)
    project = Project(target="duckdb", project_dir=DEMO_DIR)
    result = run_checks(project, as_of=AS_OF, since=since)
    assert result.fatal is None and result.errors == []
    return {
        o.expectation: o.unexpected_count if o.unexpected_count is not None else o.details["observed_value"]
        for o in result.outcomes
        if o.kind == "source" and o.details["source"] == "demo.customers"
    }


def test_gx_mirrors_read_the_same_rows_as_dbt(corrupted, monkeypatch):
    windowed = gx_counts(corrupted, monkeypatch, SINCE)
    assert windowed["expect_column_values_to_be_in_set(region)"] == 1
    assert windowed["expect_column_values_to_be_unique(customer_id)"] == 2  # the new row and the old
    assert windowed["expect_column_values_to_not_be_null(signed_up_at)"] == 1
    assert windowed["expect_table_row_count_to_be_between"] == corrupted["total"]
    full = gx_counts(corrupted, monkeypatch, None)
    assert full["expect_column_values_to_be_in_set(region)"] == 2
    assert full["expect_column_values_to_be_unique(customer_id)"] == 4
    assert full["expect_column_values_to_not_be_null(signed_up_at)"] == 1
    assert full["expect_table_row_count_to_be_between"] == corrupted["total"]


_RECORDED: list[str] = []


def _record(project, as_of: str, build: str, checks: str) -> None:
    """A run row as `okr-kpi run` writes it, started a minute after the one before."""
    _RECORDED.append(as_of)
    started = now() + dt.timedelta(minutes=len(_RECORDED))
    with connected(project) as wh:
        stages = {"build": {"status": build}, "checks": {"status": checks}}
        record_run(wh, project.schema, f"run-{as_of}-{build}", "run", dt.date.fromisoformat(as_of),
                   started, 0, {"stages": stages})


def test_the_window_follows_the_last_clean_run(tmp_path, monkeypatch):
    for key, value in target_env(tmp_path, "duckdb").items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("OKR_KPI_CHECK_WINDOW_DAYS", raising=False)
    project = Project(target="duckdb", project_dir=DEMO_DIR)
    config = load_config(DEMO_DIR)
    assert config.check_window_days == 7
    duckdb.connect(str(project.duckdb_path)).close()
    # no run yet: all of history
    assert choose_window(project, "2026-08-31", config).since is None
    _record(project, "2026-08-20", "ok", "passed")
    assert choose_window(project, "2026-08-21", config).since == "2026-08-13"
    # a run whose tests failed does not move the window: its bad rows stay in it
    _record(project, "2026-08-21", "tests_failed", "failed")
    _record(project, "2026-08-22", "ok", "failed")
    assert choose_window(project, "2026-08-23", config).since == "2026-08-13"
    _record(project, "2026-08-23", "ok", "passed")
    assert choose_window(project, "2026-08-24", config).since == "2026-08-16"
    # runs skipped for a while: the window reaches back to the last clean run
    assert choose_window(project, "2026-09-30", config).since == "2026-08-16"
    # re-running an earlier day: the window is counted from that day
    assert choose_window(project, "2026-08-10", config).since == "2026-08-03"
    assert choose_window(project, "2026-08-24", config, full_history=True).since is None
    assert choose_window(project, "2026-08-24", config, since="2026-01-05").since == "2026-01-05"
    monkeypatch.setenv("OKR_KPI_CHECK_WINDOW_DAYS", "0")
    assert choose_window(project, "2026-08-24", load_config(DEMO_DIR)).since is None


def test_a_nightly_run_with_a_new_as_of_keeps_dbt_partial_parsing(tmp_path):
    cli = [sys.executable, "-m", "okr_kpi.cli", "run", "--skip-publish", "--out", str(tmp_path / "reports")]
    log = tmp_path / "logs" / "dbt.log"
    with demo_company(tmp_path, rows=20_000) as (project, env):
        for as_of, expected_window in (("2026-08-30", "all rows (no earlier clean run)"),
                                       ("2026-08-31", "rows since 2026-08-23")):
            size = log.stat().st_size if log.exists() else 0
            proc = subprocess.run([*cli, "--as-of", as_of], env={**env}, cwd=DEMO_DIR, capture_output=True,
                                  text=True)
            assert proc.returncode in (0, 10), proc.stdout[-3000:] + proc.stderr[-3000:]
            text = (tmp_path / "logs" / "okr_kpi_run.log").read_text()
            assert f"data tests read {expected_window}" in text
            with connected(project, read_only=True) as wh:
                last = wh.query(f"select max(date_day) as d from {wh.ident(project.schema, 'fct_kpi_daily')}")
            assert str(last[0]["d"]) == as_of  # as_of_date reached dbt (environment, not --vars)
            this_run = log.read_text()[size:]
    # the second night: same project, a new as_of_date, and dbt did not parse the project again
    assert "Starting full parse" not in this_run
    assert "Unable to do partial parsing" not in this_run
    compiled = next((tmp_path / "target" / "compiled").rglob("source_unique_demo_orders_order_id.sql"))
    assert "cast('2026-08-23' as timestamp)" in compiled.read_text()


@pytest.mark.parametrize("value", ["-1", "seven", "true"])
def test_a_bad_window_in_the_config_file_is_refused_naming_file_and_key(tmp_path, monkeypatch, value):
    from okr_kpi.project import OkrKpiError

    monkeypatch.delenv("OKR_KPI_CHECK_WINDOW_DAYS", raising=False)
    (tmp_path / "okr_kpi.yml").write_text(f"checks:\n  window_days: {value}\n")
    with pytest.raises(OkrKpiError, match=r"okr_kpi\.yml: checks\.window_days must be a whole number"):
        load_config(tmp_path)
    (tmp_path / "okr_kpi.yml").write_text("checks:\n  window_days: 3\n")
    assert load_config(tmp_path).check_window_days == 3
