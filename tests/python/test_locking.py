"""One run at a time: a second `okr-kpi run` fails fast (exit 50) and touches nothing."""

from __future__ import annotations

import subprocess
import sys
import time

from publish_helpers import DEMO_AS_OF, DEMO_DIR, OKR_KPI, demo_env, duck_query, okr_kpi

SNAPSHOT = {
    "history": "select breach_id, status, severity, last_run_id from okr_kpi.okr_kpi_breach_history"
    " order by 1",
    "breaches": "select breach_id, severity, value from okr_kpi.fct_kpi_breaches order by 1",
    "runs": "select run_id, exit_code from okr_kpi.okr_kpi_runs order by 1",
}


def snapshot(db):
    return {name: duck_query(db, sql) for name, sql in SNAPSHOT.items()}


def test_second_run_while_the_duckdb_file_is_held_fails_fast(tmp_path, tmp_path_factory):
    env = demo_env(tmp_path, tmp_path_factory)
    out = tmp_path / "reports"
    first = okr_kpi(env, "run", "--as-of", DEMO_AS_OF, "--out", str(out))
    assert first.returncode in (0, 10), first.stderr[-3000:]
    db = env["OKR_KPI_DUCKDB_PATH"]
    before = snapshot(db)
    assert before["history"] and before["runs"]

    # Another process (a notebook, a BI tool, a dbt command) holds the DuckDB file for writing.
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
         "print('held', flush=True); time.sleep(120)", db],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        # (No timed assertion: it stops before dbt starts, which leaves nothing written below.)
        second = okr_kpi(env, "run", "--as-of", DEMO_AS_OF, "--out", str(tmp_path / "second"))
        assert second.returncode == 50, second.stderr[-3000:]
        assert "is in use by another process" in second.stderr
        assert "okr-kpi run: exit 50 (warehouse_unavailable)" in second.stderr
        assert not (tmp_path / "second").exists()  # nothing published
    finally:
        holder.kill()
        holder.wait()
    assert snapshot(db) == before


def test_second_run_while_a_run_is_going_fails_fast(tmp_path, tmp_path_factory):
    env = demo_env(tmp_path, tmp_path_factory)
    out = tmp_path / "reports"
    lock = tmp_path / "warehouse.duckdb.okr-kpi.lock"
    running = subprocess.Popen([OKR_KPI, "run", "--as-of", DEMO_AS_OF, "--out", str(out)], env=env,
                               cwd=DEMO_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not (lock.exists() and "pid" in lock.read_text()):
            time.sleep(0.2)
        assert "pid" in lock.read_text()
        # The first run holds the lock while dbt builds; the second stops at once.
        second = okr_kpi(env, "run", "--as-of", DEMO_AS_OF, "--out", str(tmp_path / "second"))
        assert second.returncode == 50, second.stderr[-3000:]
        assert f"another okr-kpi run (pid {running.pid}" in second.stderr
        assert running.poll() is None, "the first run was still going"
    finally:
        _, err = running.communicate(timeout=600)
    # The first run was not disturbed.
    assert running.returncode in (0, 10), err[-3000:]
    runs = duck_query(env["OKR_KPI_DUCKDB_PATH"], "select count(*) as n from okr_kpi.okr_kpi_runs")
    assert runs == [{"n": 1}]
