"""The Great Expectations checks on Spark (local session), and `okr-kpi run --target spark` end to end.

ONE expensive build for the module: the demo company (`okr-kpi generate --target spark --rows
20000 --seed 42`) loaded into a fresh warehouse dir + Derby metastore under pytest's tmp dir, then
the real `okr-kpi run --target spark --as-of 2026-08-31` (dbt build -> GX checks on Spark -> breach
lifecycle -> publish). The later tests reuse that warehouse:

- the run exits 10 (new breaches) or 0 and writes report.html, its checks stage passed;
- GX on Spark finds exactly the threshold breaches of fct_kpi_breaches and of the dbt warning test
  (its stored failures and its failure count in run_results.json), with no engine error, and every
  source mirror passes on the clean data;
- a customer duplicated with the unknown region 'mars' makes `unique(customer_id)` fail with 2
  unexpected rows (the original and its copy share the id) as a data-quality failure and
  `accepted_values(region)` with 1 (only the copy is 'mars') as a warning, as their dbt
  severities say (exit 30).

Skips without Java/pyspark (fails under CI=true). Measured on the 2-core machine: see docs/checks.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from harness import (
    DEMO_DIR,
    assert_corrupt_customer_detected,
    release_spark,
    require_target,
    spark_query,
    target_env,
)
from okr_kpi.checks import run_checks
from okr_kpi.exit_codes import ExitCode
from okr_kpi.project import Project

pytestmark = pytest.mark.spark
AS_OF = "2026-08-31"
OKR_KPI = str(Path(sys.executable).parent / "okr-kpi")


def okr_kpi(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([OKR_KPI, *args], env=env, cwd=DEMO_DIR, text=True, capture_output=True,
                          timeout=1800)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    require_target("spark")
    tmp = tmp_path_factory.mktemp("checks_spark")
    env = target_env(tmp, "spark")
    for name in ("OKR_KPI_SLACK_WEBHOOK_URL", "OKR_KPI_WEBHOOK_URL", "OKR_KPI_CONFIG"):
        env.pop(name, None)  # publish to files only
    env.update(
        {
            "OKR_KPI_PROJECT_DIR": str(DEMO_DIR),
            "OKR_KPI_GX_DIR": str(tmp / "gx"),
            "OKR_KPI_LOG_DIR": str(tmp / "logs"),
        }
    )
    out = tmp / "out"
    release_spark()  # this process must not hold a Spark metastore while others use theirs
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        try:
            generated = okr_kpi(env, "generate", "--target", "spark", "--rows", "20000", "--seed", "42")
            assert generated.returncode == 0, generated.stdout + generated.stderr[-3000:]
            started = time.time()
            run = okr_kpi(
                env, "run", "--target", "spark", "--as-of", AS_OF, "--out", str(out), "--log-format", "json"
            )
            seconds = round(time.time() - started)
            yield {
                "project": Project(target="spark", project_dir=DEMO_DIR),
                "env": env,
                "run": run,
                "run_seconds": seconds,
                "out": out,
                "tmp": tmp,
            }
        finally:
            release_spark()


def query(demo, sql: str) -> list[dict]:
    sql = sql.replace("{schema}", demo["env"]["OKR_KPI_SCHEMA"]).replace(
        "{raw}", demo["env"]["OKR_KPI_RAW_SCHEMA"]
    )
    try:
        return spark_query(demo["env"], sql)
    finally:
        release_spark()  # the GX worker and okr-kpi need the metastore next


def test_okr_kpi_run_on_spark_end_to_end(demo):
    run = demo["run"]
    assert run.returncode in (ExitCode.OK, ExitCode.BREACHES), (
        f"okr-kpi run --target spark exited {run.returncode} after {demo['run_seconds']}s:\n"
        f"{run.stderr[-6000:]}"
    )
    assert (demo["out"] / "report.html").is_file()
    # --log-format json: one JSON object per log line (the JVM's own lines on stderr are not JSON)
    records = [json.loads(line) for line in run.stderr.splitlines() if line.startswith("{")]
    finished = [r for r in records if r.get("event") == "run_finished"]
    assert finished and finished[-1]["exit_code"] == run.returncode, run.stderr[-3000:]
    stages = finished[-1]["stages"] if finished else None
    assert stages, run.stderr[-3000:]
    # raw data in, marts built (dbt's tests may warn), GX ran on Spark without an engine error
    assert stages["build"]["status"] == "ok", stages["build"]
    assert stages["checks"]["status"] == "passed", stages["checks"]
    assert ", 0 engine errors" in stages["checks"]["detail"]
    assert stages["lifecycle"]["status"] == "ok"


def test_gx_on_spark_agrees_with_the_mart_and_dbt(demo):
    result = run_checks(demo["project"], as_of=AS_OF)
    assert result.fatal is None and result.errors == [], result.fatal or result.errors[:3]
    sources = [o for o in result.outcomes if o.kind == "source"]
    assert len(sources) >= 40 and all(o.success for o in sources), [o for o in sources if not o.success]
    mart = query(
        demo,
        "select kpi_id, grain, cast(period_start as string) as period_start "
        "from {schema}.fct_kpi_breaches where rule = 'threshold'",
    )
    from_mart = {(r["kpi_id"], r["grain"], r["period_start"]) for r in mart}
    audit = query(
        demo,
        "select kpi_id, grain, cast(period_start as string) as period_start "
        "from {schema}_dbt_test__audit.okr_kpi_kpi_thresholds_fct_kpi_periods_",
    )
    from_dbt = {(r["kpi_id"], r["grain"], r["period_start"]) for r in audit}
    assert from_mart, "no threshold breach on the demo: the comparison would be vacuous"
    assert result.threshold_breaches == from_mart == from_dbt
    # the planted page-load regression (2026-07-20..23) is among them
    assert {("page_load_time", "day", f"2026-07-{d}") for d in (20, 21, 22, 23)} <= from_mart
    run_results = json.loads((Path(demo["env"]["DBT_TARGET_PATH"]) / "run_results.json").read_text())
    [test] = [
        r for r in run_results["results"] if r["unique_id"].startswith("test.okr_kpi.okr_kpi_kpi_thresholds")
    ]
    assert (test["status"], test["failures"]) == ("warn", len(from_mart))
    assert result.exit_code() == ExitCode.BREACHES


def test_a_corrupted_source_fails_on_spark(demo):
    # one existing customer copied with region 'mars': its id is now on 2 rows, 'mars' on 1 row
    query(
        demo,
        "insert into {raw}.customers select customer_id, signed_up_at, 'mars', acquisition_channel "
        "from {raw}.customers order by customer_id limit 1",
    )
    result = run_checks(demo["project"], as_of=AS_OF)
    assert result.fatal is None
    assert_corrupt_customer_detected(result)
    # the nightly window's batches (a semi-join and an anti-join) in Spark SQL: from the demo's
    # first day they read every row, so the verdict is the same
    result = run_checks(demo["project"], as_of=AS_OF, since="2025-01-01")
    assert result.fatal is None
    assert_corrupt_customer_detected(result)
