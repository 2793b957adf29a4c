"""Every command on a Spark cluster through its Thrift server, and the Great Expectations checks there.

The cluster is the local standalone one of okr_kpi.spark_cluster (a master, two one-core workers,
a Thrift server submitted to the master), started once per test session (conftest.py:
spark_cluster); the profile target is `cluster` (type spark, method thrift: any name works).

ONE expensive build for the module: the demo company (`okr-kpi generate --target cluster --rows
20000 --seed 42`, loaded through the Thrift server) and the real `okr-kpi run --target cluster
--as-of 2026-08-31` (dbt build on the cluster -> GX checks through the Thrift server ->
breach lifecycle -> publish). The later tests reuse that warehouse:

- the run exits 10 (new breaches) or 0 and writes report.html, its checks stage passed;
- GX (SQLAlchemy's Hive dialect from PyHive, GX's SQL engine: every metric a Spark SQL query on
  the cluster) finds exactly the threshold breaches of fct_kpi_breaches and of the dbt warning
  test, with no engine error, and every source mirror passes on the clean data;
- the marts BI reads equal, row by row, the demo built on DuckDB (mart_compare.py; this is
  test_targets' comparison for the cluster, run here so that the cluster builds the demo once);
- `okr-kpi check`, `publish` and `report` on the same target;
- a customer duplicated with the unknown region 'mars' makes `unique(customer_id)` fail with 2
  unexpected rows and `accepted_values(region)` with 1 (exit 30), full history and nightly window.

(The local session's own GX engine is covered by test_kpi_aggregation's spark_session subset.)
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from harness import (
    CLUSTER,
    DEMO_DIR,
    ConsumerProject,
    assert_corrupt_customer_detected,
    cluster_query,
    drop_cluster_schemas,
    target_env,
)
from mart_compare import DEMO_ROWS, DEMO_SEED, MARTS, assert_mart_equal, assert_same_raw_data, build_demo
from okr_kpi.checks import run_checks
from okr_kpi.exit_codes import ExitCode
from okr_kpi.project import Project

pytestmark = pytest.mark.spark
AS_OF = "2026-08-31"  # = mart_compare.AS_OF: the DuckDB reference is built on the same day
OKR_KPI = str(Path(sys.executable).parent / "okr-kpi")


def okr_kpi(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([OKR_KPI, *args], env=env, cwd=DEMO_DIR, text=True, capture_output=True,
                          timeout=1800)


@pytest.fixture(scope="module")
def demo(spark_cluster, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("checks_cluster")
    env = target_env(tmp, CLUSTER)
    for name in ("OKR_KPI_SLACK_WEBHOOK_URL", "OKR_KPI_WEBHOOK_URL", "OKR_KPI_CONFIG"):
        env.pop(name, None)  # publish to files only
    env.update({"OKR_KPI_PROJECT_DIR": str(DEMO_DIR), "OKR_KPI_GX_DIR": str(tmp / "gx"),
                "OKR_KPI_LOG_DIR": str(tmp / "logs")})
    out = tmp / "out"
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        try:
            generated = okr_kpi(env, "generate", "--target", CLUSTER, "--rows", str(DEMO_ROWS),
                                "--seed", str(DEMO_SEED))
            assert generated.returncode == 0, generated.stdout + generated.stderr[-3000:]
            run = okr_kpi(env, "run", "--target", CLUSTER, "--as-of", AS_OF, "--out", str(out),
                          "--log-format", "json")
            yield {"project": Project(target=CLUSTER, project_dir=DEMO_DIR), "env": env, "run": run,
                   "out": out, "tmp": tmp,
                   "warehouse": ConsumerProject(path=DEMO_DIR, env=env, target=CLUSTER)}
        finally:
            drop_cluster_schemas(env)


def query(demo, sql: str) -> list[dict]:
    env = demo["env"]
    sql = sql.replace("{schema}", env["OKR_KPI_SCHEMA"]).replace("{raw}", env["OKR_KPI_RAW_SCHEMA"])
    return cluster_query(demo["env"], sql)


def test_okr_kpi_run_on_the_cluster_end_to_end(demo):
    run = demo["run"]
    assert run.returncode in (ExitCode.OK, ExitCode.BREACHES), (
        f"okr-kpi run --target cluster exited {run.returncode}:\n{run.stderr[-6000:]}")
    assert (demo["out"] / "report.html").is_file()
    records = [json.loads(line) for line in run.stderr.splitlines() if line.startswith("{")]
    finished = [r for r in records if r.get("event") == "run_finished"]
    assert finished and finished[-1]["exit_code"] == run.returncode, run.stderr[-3000:]
    stages = finished[-1]["stages"]
    assert stages["build"]["status"] == "ok", stages["build"]
    # GX ran on the cluster (not skipped), without an engine error
    assert stages["checks"]["status"] == "passed", stages["checks"]
    assert ", 0 engine errors" in stages["checks"]["detail"]
    assert stages["lifecycle"]["status"] == "ok"
    started = [r for r in records if r.get("event") == "run_started"]
    assert "Spark Thrift server 127.0.0.1:" in started[0]["message"]
    # the run's lock table is gone once the run is over
    tables = {r["tableName"] for r in query(demo, "show tables in {schema}")}
    assert "okr_kpi_run_lock" not in tables and "fct_kpi_periods" in tables


def test_gx_on_the_cluster_agrees_with_the_mart_and_dbt(demo):
    result = run_checks(demo["project"], as_of=AS_OF)
    assert result.fatal is None and result.errors == [], result.fatal or result.errors[:3]
    sources = [o for o in result.outcomes if o.kind == "source"]
    assert len(sources) >= 40 and all(o.success for o in sources), [o for o in sources if not o.success]
    assert all(o.success is not None for o in result.outcomes), "an expectation was not evaluated"
    mart = query(demo, "select kpi_id, grain, cast(period_start as string) as period_start "
                       "from {schema}.fct_kpi_breaches where rule = 'threshold'")
    from_mart = {(r["kpi_id"], r["grain"], r["period_start"]) for r in mart}
    audit = query(demo, "select kpi_id, grain, cast(period_start as string) as period_start "
                        "from {schema}_dbt_test__audit.okr_kpi_kpi_thresholds_fct_kpi_periods_")
    from_dbt = {(r["kpi_id"], r["grain"], r["period_start"]) for r in audit}
    assert from_mart, "no threshold breach on the demo: the comparison would be vacuous"
    assert result.threshold_breaches == from_mart == from_dbt
    assert {("page_load_time", "day", f"2026-07-{d}") for d in (20, 21, 22, 23)} <= from_mart
    assert result.exit_code() == ExitCode.BREACHES


@pytest.fixture(scope="module")
def duckdb_reference(tmp_path_factory):
    """The same demo company built on DuckDB (`dbt build`, as test_targets builds its reference)."""
    return build_demo("duckdb", tmp_path_factory.mktemp("demo_duckdb_reference"))


def test_same_demo_data_as_duckdb(demo, duckdb_reference):
    assert_same_raw_data(duckdb_reference, demo["warehouse"])


@pytest.mark.parametrize("mart", list(MARTS))
def test_marts_equal_to_duckdb(demo, duckdb_reference, mart):
    assert demo["run"].returncode in (ExitCode.OK, ExitCode.BREACHES), "the cluster's run failed"
    assert_mart_equal(duckdb_reference, demo["warehouse"], mart)


def test_check_publish_report_commands_on_the_cluster(demo):
    env = demo["env"]
    out = demo["tmp"] / "commands"
    check = okr_kpi(env, "check", "--target", CLUSTER, "--as-of", AS_OF, "--out", str(out))
    assert check.returncode == ExitCode.BREACHES, check.stdout + check.stderr[-4000:]
    assert "engine error" not in check.stdout.replace("0 engine errors", "")
    # the run already published this as_of: nothing new to send
    publish = okr_kpi(env, "publish", "--target", CLUSTER, "--out", str(out))
    assert publish.returncode == ExitCode.OK, publish.stdout + publish.stderr[-4000:]
    report = okr_kpi(env, "report", "--target", CLUSTER, "--out", str(out))
    assert report.returncode == 0, report.stdout + report.stderr[-4000:]
    html = (out / "report.html").read_text()
    kpis = query(demo, "select count(distinct kpi_id) as n from {schema}.fct_kpi_periods")[0]["n"]
    assert kpis > 0 and "page_load_time" in html


def test_a_corrupted_source_fails_on_the_cluster(demo):
    query(demo, "insert into {raw}.customers select customer_id, signed_up_at, 'mars', acquisition_channel "
                "from {raw}.customers order by customer_id limit 1")
    result = run_checks(demo["project"], as_of=AS_OF)
    assert result.fatal is None
    assert_corrupt_customer_detected(result)
    result = run_checks(demo["project"], as_of=AS_OF, since="2025-01-01")
    assert result.fatal is None
    assert_corrupt_customer_detected(result)
