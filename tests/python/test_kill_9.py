"""kill -9 at the build and at the checks, and a warehouse taken mid-run by a real second process
(issue 14, "Acceptance"; finding 8). Real processes on a real DuckDB file of the demo company.

Each test starts from the same warehouse: the demo after a complete `okr-kpi run --as-of
2026-08-24` that sent its digest to a local webhook receiver (built once per module). The oracle
is an uninterrupted `okr-kpi run --as-of 2026-08-31` on another copy of that warehouse: after a
run is killed (SIGKILL of the okr-kpi process, found by its own run log: a model built by dbt, or
the checks running; both run inside the okr-kpi process, issue 19) and a second run completes,
the marts, the breach history and the events equal the oracle's, the killed run sent nothing,
and the second run sent exactly the one digest the uninterrupted run would (nothing twice,
nothing lost).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from publish_helpers import (
    DEMO_AS_OF,
    DEMO_DIR,
    OKR_KPI,
    WebhookReceiver,
    demo_env,
    duck_query,
    okr_kpi,
    run_env,
)

FIRST_AS_OF = "2026-08-24"
HOOK = "/hook"

SNAPSHOT = {
    "history": "select breach_id, status, severity, first_seen_as_of, last_seen_as_of "
    "from okr_kpi.okr_kpi_breach_history order by 1",
    "events": "select breach_id, event, severity, as_of_date from okr_kpi.okr_kpi_breach_events "
    "order by 1, 2, 4",
    "outbox": "select channel, status, attempts from okr_kpi.okr_kpi_alert_outbox order by 1, 2, 3",
    "breaches": "select breach_id, severity, round(value, 6) as value, is_suspect "
    "from okr_kpi.fct_kpi_breaches order by 1",
    "freshness": "select data_source, as_of_date, covered_through, is_stale "
    "from okr_kpi.fct_kpi_freshness order by 1",
}


def snapshot(db) -> dict[str, list[dict]]:
    return {name: duck_query(db, sql) for name, sql in SNAPSHOT.items()}


def digest_events(receiver: WebhookReceiver) -> list[tuple[str, str]]:
    """(event, breach_id) of every event carried by the digests the receiver got."""
    out = []
    for body in receiver.bodies(HOOK):
        for group in body.get("groups", []):
            out.extend((e["event"], e["breach_id"]) for e in group["events"])
    return out


def descendants(pid: int) -> set[int]:
    found, todo = set(), [pid]
    while todo:
        p = todo.pop()
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                kids = {int(k) for k in (task / "children").read_text().split()}
            except OSError:
                continue
            todo.extend(kids - found)
            found |= kids
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def log_events(env) -> list[dict]:
    log = Path(env["OKR_KPI_LOG_DIR"]) / "okr_kpi_run.log"
    if not log.exists():
        return []
    out = []
    for line in log.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def start_run(env, as_of: str) -> subprocess.Popen:
    return subprocess.Popen(
        [OKR_KPI, "run", "--as-of", as_of, "--log-format", "json", "--out", env["OUT"]],
        env=env, cwd=DEMO_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def wait_for(predicate, proc: subprocess.Popen, what: str, timeout: float = 600) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        assert proc.poll() is None, f"the run ended (exit {proc.returncode}) before {what}"
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def kill_9(proc: subprocess.Popen) -> set[int]:
    """SIGKILL the okr-kpi process only (not its group); its children as they were."""
    children = descendants(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(60)
    return children


def assert_children_die(children: set[int]) -> None:
    deadline = time.time() + 60
    while time.time() < deadline and any(alive(c) for c in children):
        time.sleep(0.1)
    left = [c for c in children if alive(c)]
    assert not left, f"children of the killed run still running (they hold the DuckDB file): {left}"


def assert_lock_free(db: str) -> None:
    lock = Path(db + ".okr-kpi.lock")
    with open(lock, "a+") as handle:  # a lock left by a killed run is not held: the next run takes it
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="module")
def after_first_run(tmp_path_factory):
    """The demo warehouse after a complete run at FIRST_AS_OF (its digest sent), and the oracle:
    an uninterrupted run at DEMO_AS_OF on a copy of it, with the digest it sent."""
    base = tmp_path_factory.mktemp("kill9_base")
    receiver = WebhookReceiver().start()
    try:
        env = demo_env(base, tmp_path_factory, OKR_KPI_WEBHOOK_URL=receiver.url(HOOK))
        first = okr_kpi(env, "run", "--as-of", FIRST_AS_OF, "--out", str(base / "out"))
        assert first.returncode == 10, first.stderr[-3000:]
        first_events = digest_events(receiver)
        assert first_events and all(e == "new" for e, _ in first_events)
    finally:
        receiver.stop()
    oracle_dir = tmp_path_factory.mktemp("kill9_oracle")
    shutil.copy(base / "warehouse.duckdb", oracle_dir / "warehouse.duckdb")
    receiver = WebhookReceiver().start()
    try:
        env = run_env(oracle_dir, OKR_KPI_WEBHOOK_URL=receiver.url(HOOK))
        second = okr_kpi(env, "run", "--as-of", DEMO_AS_OF, "--out", str(oracle_dir / "out"))
        assert second.returncode == 10, second.stderr[-3000:]
        oracle_events = digest_events(receiver)
        assert len(receiver.bodies(HOOK)) == 1 and oracle_events
    finally:
        receiver.stop()
    return {
        "db": base / "warehouse.duckdb",
        "state": snapshot(str(base / "warehouse.duckdb")),
        "first_events": first_events,
        "oracle": snapshot(str(oracle_dir / "warehouse.duckdb")),
        "oracle_events": oracle_events,
    }


@pytest.fixture
def world(after_first_run, tmp_path):
    shutil.copy(after_first_run["db"], tmp_path / "warehouse.duckdb")
    receiver = WebhookReceiver().start()
    env = run_env(tmp_path, OKR_KPI_WEBHOOK_URL=receiver.url(HOOK), OUT=str(tmp_path / "out"))
    try:
        yield env, receiver, after_first_run
    finally:
        receiver.stop()


def recover(env, receiver, base) -> None:
    """A plain second run completes; everything equals the uninterrupted run's, sent once."""
    db = env["OKR_KPI_DUCKDB_PATH"]
    second = okr_kpi(env, "run", "--as-of", DEMO_AS_OF, "--out", env["OUT"], "--log-format", "json")
    assert second.returncode == 10, second.stderr[-3000:]
    after = snapshot(db)
    oracle = base["oracle"]
    for name in ("breaches", "freshness", "history", "events"):
        assert after[name] == oracle[name], name
    assert after["outbox"] == oracle["outbox"]
    # exactly one digest, the one the uninterrupted run sent: nothing twice, nothing lost
    assert len(receiver.bodies(HOOK)) == 1
    got = digest_events(receiver)
    assert sorted(got) == sorted(base["oracle_events"])
    assert not {b for e, b in got if e == "new"} & {b for _, b in base["first_events"]}


def test_kill_9_during_dbt_build_then_rerun(world):
    env, receiver, base = world
    db = env["OKR_KPI_DUCKDB_PATH"]
    proc = start_run(env, DEMO_AS_OF)
    try:
        # the build is under way: the run log's stage marker, then a model built in dbt's log
        dbt_log = Path(env["DBT_LOG_PATH"]) / "dbt.log"
        wait_for(lambda: any(e.get("event") == "build_started" for e in log_events(env))
                 and dbt_log.exists() and "OK created sql table model" in dbt_log.read_text(),
                 proc, "a model built by dbt")
        assert not any(e.get("event") == "build" for e in log_events(env)), "the build had ended"
        children = kill_9(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    # dbt runs inside the okr-kpi process (okr_kpi.dbt_invoke): the kill stopped it; any child
    # process there was dies with the run
    assert_children_die(children)  # nothing builds on alone, holding the file
    assert_lock_free(db)
    # the killed run sent nothing and left the lifecycle and the outbox as they were
    assert receiver.requests == []
    now = snapshot(db)
    for name in ("history", "events", "outbox"):
        assert now[name] == base["state"][name], name
    recover(env, receiver, base)


def test_kill_9_during_the_checks_then_rerun(world):
    env, receiver, base = world
    db = env["OKR_KPI_DUCKDB_PATH"]
    proc = start_run(env, DEMO_AS_OF)
    try:
        wait_for(lambda: any(e.get("event") == "checks_started" for e in log_events(env)),
                 proc, "the checks stage")
        # Great Expectations runs in the okr-kpi process: let it open the warehouse
        time.sleep(1.0)
        assert not any(e.get("event") == "checks" for e in log_events(env)), "the checks had ended"
        children = kill_9(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert_children_die(children)  # no process of the run keeps the DuckDB file open
    assert_lock_free(db)
    assert receiver.requests == []
    now = snapshot(db)
    for name in ("history", "events", "outbox"):
        assert now[name] == base["state"][name], name
    # the build had completed: the marts are those of the new as_of already
    assert now["breaches"] == base["oracle"]["breaches"]
    recover(env, receiver, base)


HOLDER = """
import duckdb, sys, time
while True:
    try:
        con = duckdb.connect(sys.argv[1])
        break
    except duckdb.IOException:
        time.sleep(0.02)
print("held", flush=True)
sys.stdin.readline()
"""


def test_warehouse_taken_mid_run_by_another_process_exits_40_then_rerun(world):
    env, receiver, base = world
    db = env["OKR_KPI_DUCKDB_PATH"]
    proc = start_run(env, DEMO_AS_OF)
    holder = None
    try:
        wait_for(lambda: any(e.get("event") == "build" for e in log_events(env)), proc, "the build's end")
        # dbt has let go of the file: another process (a notebook, a BI tool) opens it for writing
        holder = subprocess.Popen([sys.executable, "-c", HOLDER, db], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        assert holder.stdout.readline().strip() == "held"
        code = proc.wait(600)
    finally:
        if proc.poll() is None:
            proc.kill()
        if holder is not None:
            holder.stdin.close()
            holder.wait(60)
    events = log_events(env)
    final = [e for e in events if e.get("event") == "run_finished"][-1]
    assert any(e.get("event") == "warehouse_unavailable" for e in events), final
    assert code == final["exit_code"] == 40, final  # the build had started: never 50 ("untouched")
    assert receiver.requests == []
    now = snapshot(db)
    for name in ("history", "events", "outbox"):
        assert now[name] == base["state"][name], name
    recover(env, receiver, base)
