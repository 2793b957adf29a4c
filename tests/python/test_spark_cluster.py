"""The run lock, the breach lifecycle and the outbox on a Spark cluster, with real processes.

A cluster of this module's own, started and stopped through the script's command line
(`python -m okr_kpi.spark_cluster start|status|stop`: a standalone master, one one-core worker
and a Thrift server), so that restarting its Thrift server disturbs no other test (under
pytest-xdist the session's cluster serves other modules meanwhile); a consumer project on target
`cluster` (type spark, method thrift), a real webhook receiver on 127.0.0.1. One sequence, so
that the cluster builds the project only twice in full:

1. run A holds the lock (the table <schema>.okr_kpi_run_lock): a second run B is refused at once
   (exit 50, naming A's pid) and writes nothing;
2. A is killed with SIGKILL in the middle of its build: its lock stays behind; run C sees that
   A's process is gone, takes the lock over and finishes, delivering every breach in the alert
   window once;
3. a new breach appears in the data; run D is cut off by a restart of the Thrift server in the
   middle of its build (it fails and sends nothing); run E recovers and delivers only the new
   breach: nothing lost, nothing sent twice.

Then `stop` leaves no process of the cluster behind.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from harness import CLUSTER, cluster_query, drop_cluster_schemas, fixture_inputs_model, make_consumer_project
from okr_kpi.exit_codes import ExitCode
from publish_helpers import WebhookReceiver

pytestmark = pytest.mark.spark
OKR_KPI = str(Path(sys.executable).parent / "okr-kpi")
AS_OF = "2024-02-05"
LOCK = "okr_kpi_run_lock"

KPI_DEFINITIONS = """
    kpi_id,name,description,unit,direction,aggregation,owner,data_source,reporting_frequency
    rev,Revenue,sum KPI,EUR,higher_is_better,sum,a@x.example,orders,daily
"""
# Revenue per day; the threshold says a day under 5 is a warning.
INPUTS = {"2024-01-29": 9, "2024-01-30": 3, "2024-01-31": 8, "2024-02-01": 4, "2024-02-02": 7,
          "2024-02-03": 6, "2024-02-04": 10, "2024-02-05": 12}
THRESHOLDS = "kpi_id,grain,severity,lower_bound,upper_bound\nrev,day,warning,5,\n"


def inputs_csv(values: dict[str, float]) -> str:
    return "kpi_id,date_day,numerator,denominator\n" + "".join(f"rev,{d},{v},\n" for d, v in values.items())


CLI = [sys.executable, "-m", "okr_kpi.spark_cluster"]


def cli(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def own_cluster(tmp_path_factory):
    from harness import require_target
    from okr_kpi.spark_cluster import Cluster

    require_target("spark")
    home = tmp_path_factory.mktemp("own_cluster")
    started = cli("start", "--dir", str(home), "--workers", "1")
    assert started.returncode == 0, started.stderr[-3000:]
    cluster = Cluster.load(home)
    assert f"Thrift server 127.0.0.1:{cluster.thrift_port}" in started.stdout
    assert set(cluster.pids) == {"master", "worker1", "thrift"}
    try:
        yield cluster
    finally:
        if cluster.pids:
            Cluster.load(home).stop()


@pytest.fixture
def project(own_cluster, tmp_path, monkeypatch):
    monkeypatch.setenv("OKR_KPI_SPARK_HOST", "127.0.0.1")
    monkeypatch.setenv("OKR_KPI_SPARK_PORT", str(own_cluster.thrift_port))
    p = make_consumer_project(
        tmp_path, target=CLUSTER,
        seeds={"kpi_definitions": KPI_DEFINITIONS, "fixture_kpi_inputs": inputs_csv(INPUTS),
               "kpi_thresholds": THRESHOLDS},
        models={"fixture_inputs": fixture_inputs_model()}, kpi_inputs=["fixture_inputs"])
    # `okr-kpi run` passes only as_of_date to dbt: the project's own vars name its KPI inputs
    with (p.path / "dbt_project.yml").open("a") as project_yml:
        project_yml.write("vars:\n  okr_kpi_kpi_inputs: [fixture_inputs]\n")
    server = WebhookReceiver().start()
    (tmp_path / "okr_kpi.yml").write_text("alerts:\n  lookback_days: 31\n")
    for name in ("OKR_KPI_SLACK_WEBHOOK_URL",):
        p.env.pop(name, None)
    p.env.update({"OKR_KPI_PROJECT_DIR": str(p.path), "DBT_PROJECT_DIR": str(p.path),
                  "OKR_KPI_WEBHOOK_URL": server.url("/hook"), "OKR_KPI_CONFIG": str(tmp_path / "okr_kpi.yml"),
                  "OKR_KPI_GX_DIR": str(tmp_path / "gx"), "OKR_KPI_LOG_DIR": str(tmp_path / "okr-logs"),
                  "OKR_KPI_DELIVERY_RETRIES": "1", "OKR_KPI_DELIVERY_BACKOFF_SECONDS": "0.01",
                  "OKR_KPI_DELIVERY_TIMEOUT_SECONDS": "5"})
    try:
        yield p, server, own_cluster
    finally:
        server.stop()
        drop_cluster_schemas(p.env)


def start_run(p, out: Path) -> subprocess.Popen:
    return subprocess.Popen([OKR_KPI, "run", "--target", CLUSTER, "--as-of", AS_OF, "--out", str(out)],
                            cwd=p.path, env=p.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def run(p, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([OKR_KPI, "run", "--target", CLUSTER, "--as-of", AS_OF, "--out", str(out)],
                          cwd=p.path, env=p.env, capture_output=True, text=True, timeout=1800)


def lock_holder(p) -> str | None:
    schema = p.env["OKR_KPI_SCHEMA"]
    if not cluster_query(p.env, f"show databases like '{schema}'"):
        return None
    if not cluster_query(p.env, f"show tables in `{schema}` like '{LOCK}'"):
        return None
    rows = cluster_query(p.env, f"show tblproperties `{schema}`.`{LOCK}` ('okr_kpi.holder')")
    return str(list(rows[0].values())[-1]) if rows else ""


def wait_until(condition, timeout: float, what: str, proc: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"the run ended ({proc.returncode}) before {what}:\n{err[-4000:]}")
        time.sleep(0.5)
    raise AssertionError(f"no {what} after {timeout:.0f}s")


def dbt_started_building(p) -> bool:
    """dbt's log shows a model of the build done (the run is well inside `dbt build`)."""
    log = Path(p.env["DBT_LOG_PATH"]) / "dbt.log"
    return log.is_file() and " of " in log.read_text(errors="replace") and "OK created" in log.read_text(
        errors="replace")


def delivered(server) -> list[tuple[str, str]]:
    """(breach_id, event) of every event the receiver got, in order."""
    return [(e["breach_id"], e["event"])
            for body in server.bodies() for g in body["groups"] for e in g["events"]]


def alert_window_breaches(p) -> set[str]:
    schema = p.env["OKR_KPI_SCHEMA"]
    rows = cluster_query(p.env, f"select breach_id, period_end from `{schema}`.fct_kpi_breaches")
    start = dt.date.fromisoformat(AS_OF) - dt.timedelta(days=31)
    return {r["breach_id"] for r in rows if dt.date.fromisoformat(str(r["period_end"])[:10]) >= start}


def breach_days(p) -> set[str]:
    schema = p.env["OKR_KPI_SCHEMA"]
    rows = cluster_query(p.env, f"select cast(period_start as string) as d from `{schema}`.fct_kpi_breaches "
                                "where kpi_id = 'rev' and grain = 'day' and rule = 'threshold'")
    return {r["d"] for r in rows}


def test_lock_kill_and_thrift_restart_on_the_cluster(project, tmp_path):
    p, server, cluster = project

    # 1. Two runs at once: the second is refused and touches nothing.
    a = start_run(p, tmp_path / "a")
    try:
        holder = wait_until(lambda: lock_holder(p), 300, "lock table of run A", a)
        assert holder.startswith(f"pid {a.pid} on "), holder
        b = run(p, tmp_path / "b")
        assert b.returncode == ExitCode.WAREHOUSE_UNAVAILABLE, b.stderr[-3000:]
        assert f"another okr-kpi run (pid {a.pid} on" in b.stderr
        assert not (tmp_path / "b").exists()
        assert a.poll() is None, "run A was still going"
        # 2. A is killed in the middle of its build (SIGKILL: no clean-up at all).
        wait_until(lambda: dbt_started_building(p), 600, "model built by run A", a)
        os.killpg(a.pid, signal.SIGKILL)
        a.wait(timeout=60)
    finally:
        if a.poll() is None:
            os.killpg(a.pid, signal.SIGKILL)
            a.wait()
    assert lock_holder(p) == holder, "the killed run's lock should still be there"
    assert server.requests == []

    c = run(p, tmp_path / "c")
    assert c.returncode == ExitCode.BREACHES, c.stderr[-4000:]
    assert "is taken over" in c.stderr and f"pid {a.pid} on" in c.stderr
    assert lock_holder(p) is None
    # the threshold breaches are the days under 5, worked out from the inputs
    assert breach_days(p) == {d for d, v in INPUTS.items() if v < 5} == {"2024-01-30", "2024-02-01"}
    first = alert_window_breaches(p)
    assert len(first) == 2 and sorted(delivered(server)) == sorted((b, "new") for b in first)

    # 3. A new breach (2024-02-03 falls to 2); run D loses the Thrift server mid-build.
    seed = p.path / "seeds" / "fixture_kpi_inputs.csv"
    seed.write_text(inputs_csv({**INPUTS, "2024-02-03": 2}))
    log = Path(p.env["DBT_LOG_PATH"]) / "dbt.log"
    log.write_text("")  # so that dbt_started_building sees D's own progress
    d = start_run(p, tmp_path / "d")
    try:
        wait_until(lambda: dbt_started_building(p), 600, "model built by run D", d)
        cluster.stop_thrift()
        _, d_err = d.communicate(timeout=900)
    finally:
        if d.poll() is None:
            os.killpg(d.pid, signal.SIGKILL)
            d.wait()
        if "thrift" not in cluster.pids:
            cluster.start_thrift()  # same port, same metastore and warehouse
    assert d.returncode not in (ExitCode.OK, ExitCode.BREACHES), d_err[-3000:]
    assert len(server.requests) == 1, "run D sent nothing"

    e = run(p, tmp_path / "e")
    assert e.returncode == ExitCode.BREACHES, e.stderr[-4000:]
    assert lock_holder(p) is None
    assert breach_days(p) == {"2024-01-30", "2024-02-01", "2024-02-03"}
    new = alert_window_breaches(p) - first
    assert len(new) == 1
    # every breach delivered exactly once over all runs: the first two by C, the new one by E
    assert sorted(delivered(server)) == sorted((b, "new") for b in first | new)
    assert len(server.requests) == 2
    outbox = cluster_query(p.env, f"select status from `{p.env['OKR_KPI_SCHEMA']}`.okr_kpi_alert_outbox")
    assert outbox and {r["status"] for r in outbox} == {"sent"}


def test_cluster_script_status_and_stop(own_cluster):
    """`status` reports the running cluster; a query runs on the worker's executor; `stop`
    kills every process group and leaves no process of the cluster behind."""
    from okr_kpi.spark_cluster import Cluster, _group_members, thrift_query

    home = str(own_cluster.dir)
    status = cli("status", "--dir", home, timeout=120)
    assert status.returncode == 0, status.stderr
    state = json.loads(status.stdout)
    assert state["answers"] is True and all(p["alive"] for p in state["processes"].values())
    assert thrift_query(own_cluster.thrift_port, "select sum(id) from range(0, 101, 1, 3)") == [(5050,)]
    pids = dict(Cluster.load(own_cluster.dir).pids)  # the Thrift server was restarted above
    stopped = cli("stop", "--dir", home, timeout=300)
    assert stopped.returncode == 0, stopped.stderr
    assert "no process left" in stopped.stdout
    for name, pid in pids.items():
        assert not _group_members(pid), f"{name} (process group {pid}) left processes behind"
    own_cluster.pids = {}
    again = cli("status", "--dir", home, timeout=120)
    assert again.returncode == 1  # nothing answers any more
