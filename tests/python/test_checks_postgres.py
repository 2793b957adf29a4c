"""The Great Expectations checks on PostgreSQL, on the demo company (fresh schemas, small data).

Skips when PostgreSQL is unreachable (fails under CI=true). The same suites as on DuckDB: the
threshold breaches agree with fct_kpi_breaches, the source mirrors pass on clean data, and a
duplicated customer with an unknown region fails `unique` (2 rows share the id) as a
data-quality failure and `accepted_values` (1 row) as a warning, as their dbt severities say.
"""

from __future__ import annotations

import pytest
from harness import (
    DEMO_DIR,
    assert_corrupt_customer_detected,
    drop_postgres_schemas,
    require_target,
    target_env,
)
from okr_kpi.checks import run_checks
from okr_kpi.generate import generate_into_warehouse
from okr_kpi.project import Project

pytestmark = pytest.mark.postgres
AS_OF = "2026-08-31"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    require_target("postgres")
    tmp = tmp_path_factory.mktemp("checks_postgres")
    env = {**target_env(tmp, "postgres"), "OKR_KPI_GX_DIR": str(tmp / "gx")}
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        project = Project(target="postgres", project_dir=DEMO_DIR)
        try:
            generate_into_warehouse(project, rows=20_000, seed=7)
            proc = project.dbt(
                "build",
                "--select",
                "+fct_kpi_breaches",
                "--indirect-selection",
                "cautious",
                vars={"as_of_date": AS_OF},
                capture=True,
            )
            assert proc.returncode == 0, proc.stdout[-5000:]
            yield project, env
        finally:
            drop_postgres_schemas(env)


def pg(env, sql):
    import psycopg2

    con = psycopg2.connect(
        host=env.get("PGHOST", "127.0.0.1"),
        port=env.get("PGPORT", "5432"),
        user=env.get("PGUSER", "postgres"),
        dbname=env.get("PGDATABASE", "postgres"),
    )
    con.autocommit = True
    try:
        with con.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall() if cur.description else []
    finally:
        con.close()


def test_checks_run_in_postgres_and_agree_with_the_mart(demo):
    project, env = demo
    result = run_checks(project, as_of=AS_OF)
    assert result.fatal is None and result.errors == []
    sources = [o for o in result.outcomes if o.kind == "source"]
    assert len(sources) >= 40 and all(o.success for o in sources)
    mart = pg(
        env,
        f'select kpi_id, grain, cast(period_start as text) from "{env["OKR_KPI_SCHEMA"]}".fct_kpi_breaches '
        "where rule = 'threshold'",
    )
    assert result.threshold_breaches == {tuple(r) for r in mart}


def test_a_corrupted_source_fails_in_postgres(demo):
    project, env = demo
    raw = env["OKR_KPI_RAW_SCHEMA"]
    pg(
        env,
        f"insert into \"{raw}\".customers select customer_id, signed_up_at, 'mars', acquisition_channel "
        f'from "{raw}".customers order by customer_id limit 1',
    )
    assert_corrupt_customer_detected(run_checks(project, as_of=AS_OF))
    # The nightly window (okr_kpi.window) in PostgreSQL's SQL: from the demo's first day it reads
    # every row (the same verdict); from 2026-08-01 it reads neither copy of the old customer.
    assert_corrupt_customer_detected(run_checks(project, as_of=AS_OF, since="2025-01-01"))
    recent = run_checks(project, as_of=AS_OF, since="2026-08-01")
    assert (recent.errors, recent.failures, recent.warnings) == ([], [], [])
