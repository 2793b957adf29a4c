"""Incremental KPI inputs: an incremental build after new and late rows equals a full refresh.

The demo company (small, three months) is built in full, one new day of raw data is appended
together with a late row for the day before the last (inside the lookback window of 3 days),
the project is built incrementally, and a second DuckDB file with the same raw data is built
from scratch: fct_kpi_daily and fct_kpi_periods must be equal. With a lookback of 0 days the
late row is missed, and the test sees the difference (the check fails when it should).
"""

from __future__ import annotations

import datetime as dt
import math
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from harness import DBT, REPO, target_env
from okr_kpi.bench import append_day, compare_daily, run_floor

LAST_DAY = dt.date(2026, 8, 31)
NEW_DAY = LAST_DAY + dt.timedelta(days=1)
LATE_DAY = LAST_DAY - dt.timedelta(days=1)
SELECT = ["--select", "+fct_kpi_periods", "--resource-type", "model", "--resource-type", "seed"]


def dbt_build(env: dict[str, str], as_of: dt.date, *extra: str, lookback: int = 3) -> None:
    cmd = [DBT, "build", "--project-dir", str(REPO), "--profiles-dir", str(REPO), "--target", "duckdb",
           *SELECT, *extra, "--vars", f'{{as_of_date: "{as_of}", okr_kpi_lookback_days: {lookback}}}']
    proc = subprocess.run(cmd, cwd=REPO, env=env, text=True, capture_output=True)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]


def generate(env: dict[str, str]) -> None:
    cmd = [sys.executable, "-m", "okr_kpi.cli", "generate", "--rows", "4000", "--seed", "7",
           "--start", "2026-06-01", "--end", str(LAST_DAY)]
    proc = subprocess.run(cmd, cwd=REPO, env=env, text=True, capture_output=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def rows(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def daily_value(db: Path, kpi_id: str, day: dt.date) -> float:
    found = rows(db, f"select numerator from okr_kpi.fct_kpi_daily where kpi_id = '{kpi_id}' "
                     f"and date_day = cast('{day}' as date)")
    assert len(found) == 1, (kpi_id, day, found)
    return found[0][0]


def table(db: Path, name: str, keys: str) -> list[tuple]:
    return rows(db, f"select * from okr_kpi.{name} order by {keys}")


def differences(a: list[tuple], b: list[tuple]) -> list[tuple]:
    """Rows that differ (floats compared to 1e-9 relative: sums may add up in another order)."""
    def same(x, y) -> bool:
        if isinstance(x, float) and isinstance(y, float):
            return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9)
        return x == y

    if len(a) != len(b):
        return [("row count", len(a), len(b))]
    return [(ra, rb) for ra, rb in zip(a, b, strict=True)
            if not all(same(x, y) for x, y in zip(ra, rb, strict=True))]


def active_on(subscriptions: list[tuple], day: dt.date) -> int:
    """Active at the end of `day`: started on or before it, not cancelled on or before it."""
    return sum(1 for started, cancelled in subscriptions
               if started <= day and (cancelled is None or cancelled > day))


def incremental_history(tmp_path: Path, lookback: int) -> tuple[dict[str, str], Path, dict]:
    """Full build, new day + late row, incremental build; returns env, DuckDB file and facts."""
    env = target_env(tmp_path)
    db = Path(env["OKR_KPI_DUCKDB_PATH"])
    generate(env)
    dbt_build(env, LAST_DAY, lookback=lookback)
    facts = {"leads_late_before": daily_value(db, "new_leads", LATE_DAY)}

    con = duckdb.connect(str(db))
    try:
        added = append_day(con, NEW_DAY, LATE_DAY, late_rows=1)
        facts["leads_on_last_day"] = con.execute(
            f"select count(*) from raw.leads where cast(created_at as date) = cast('{LAST_DAY}' as date)"
        ).fetchone()[0]
        facts["subscriptions"] = con.execute(
            "select started_on, cancelled_on from raw.subscriptions").fetchall()
    finally:
        con.close()
    assert added["leads"] == facts["leads_on_last_day"] + 1  # the copied day plus one late lead
    dbt_build(env, NEW_DAY, lookback=lookback)
    return env, db, facts


def full_refresh_copy(tmp_path: Path, db: Path) -> Path:
    """Another DuckDB file with the same raw tables and no models, built from scratch."""
    env = target_env(tmp_path / "fresh")
    fresh = Path(env["OKR_KPI_DUCKDB_PATH"])
    fresh.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(db, fresh)
    con = duckdb.connect(str(fresh))
    con.execute("drop schema okr_kpi cascade")
    con.close()
    dbt_build(env, NEW_DAY, "--full-refresh")
    return fresh


@pytest.fixture(scope="module")
def with_lookback(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("lookback3")
    env, db, facts = incremental_history(tmp_path, lookback=3)
    return db, full_refresh_copy(tmp_path, db), facts


def test_incremental_equals_full_refresh(with_lookback):
    incremental, fresh, _ = with_lookback
    assert differences(table(incremental, "fct_kpi_daily", "kpi_id, date_day"),
                       table(fresh, "fct_kpi_daily", "kpi_id, date_day")) == []
    assert differences(table(incremental, "fct_kpi_periods", "kpi_id, grain, period_start"),
                       table(fresh, "fct_kpi_periods", "kpi_id, grain, period_start")) == []


def test_incremental_picks_up_new_day_and_late_row(with_lookback):
    incremental, _, facts = with_lookback
    # The late lead lands on LATE_DAY: one more than before the append.
    assert daily_value(incremental, "new_leads", LATE_DAY) == facts["leads_late_before"] + 1
    # The new day is a copy of the last day's leads.
    assert daily_value(incremental, "new_leads", NEW_DAY) == facts["leads_on_last_day"]
    # The stock (a running sum over all history) counted by hand from the raw subscriptions,
    # including the late subscription (started on LATE_DAY) and the cancellations on NEW_DAY.
    for day in (LATE_DAY, LAST_DAY, NEW_DAY):
        assert daily_value(incremental, "active_customers", day) == active_on(facts["subscriptions"], day)


def test_kpi_inputs_equal_the_plain_sql_floor(with_lookback):
    """The bench's floor (plain DuckDB SQL over the raw tables, written apart from the dbt models)
    gives the same fct_kpi_daily as dbt."""
    _, fresh, _ = with_lookback
    run_floor(str(fresh), str(NEW_DAY))
    con = duckdb.connect(str(fresh))
    try:
        assert con.execute("select count(*) from bench_floor.fct_kpi_daily").fetchone()[0] > 0
        assert compare_daily(con, "bench_floor.fct_kpi_daily", "okr_kpi.fct_kpi_daily") == 0
    finally:
        con.close()


def test_without_lookback_the_late_row_is_missed(with_lookback, tmp_path):
    """Lookback 0: only the last built day and later are rebuilt, so the late row is missed and
    the incremental result differs from a full refresh -- the comparison above can fail.
    (Same generator seed and appended rows as the fixture, so its full refresh is the reference.)"""
    _, fresh, reference = with_lookback
    _, incremental, facts = incremental_history(tmp_path, lookback=0)
    assert facts["leads_late_before"] == reference["leads_late_before"]
    assert daily_value(incremental, "new_leads", LATE_DAY) == facts["leads_late_before"]
    assert daily_value(fresh, "new_leads", LATE_DAY) == facts["leads_late_before"] + 1
    assert differences(table(incremental, "fct_kpi_daily", "kpi_id, date_day"),
                       table(fresh, "fct_kpi_daily", "kpi_id, date_day")) != []
