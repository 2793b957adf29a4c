"""The toolkit drives any dbt project: project dir, profiles dir, profile and target found as dbt
finds them, and the warehouse is the one the profile's target names.

A consumer project whose profile is `acme_warehouse` (targets `prod` and `staging`, each with its
own DuckDB file and schema; `pg` on PostgreSQL with its own schema), run with no OKR_KPI_*
variable at all: `okr-kpi run` builds, checks, runs the lifecycle and reports on that warehouse,
and no okr_kpi.duckdb appears anywhere. Bad input (unknown target, missing profile or
profiles.yml, a project without the package or not `dbt deps`-installed, a package of another
version, an unsupported adapter) exits 2 with a message naming what is missing, and writes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import duckdb
import pytest
from harness import REPO, make_consumer_project, require_target

OKR_KPI = str(Path(sys.executable).parent / "okr-kpi")
AS_OF = "2024-02-29"
FIRST = dt.date(2024, 1, 1)
DAYS = [FIRST + dt.timedelta(days=i) for i in range((dt.date.fromisoformat(AS_OF) - FIRST).days + 1)]
LOW_DAYS = {dt.date(2024, 2, 20): 20.0, dt.date(2024, 2, 27): 30.0}  # below the day threshold 60
PG_SCHEMA = f"acme_toolkit_{uuid.uuid4().hex[:8]}"


def sales(day: dt.date) -> float:
    return LOW_DAYS.get(day, 100.0 + 5 * day.weekday())


SEEDS = {
    "kpi_definitions": """
        kpi_id,name,description,unit,direction,aggregation,owner,data_source,reporting_frequency
        sales,Sales,daily sales,EUR,higher_is_better,sum,sales@acme.example,orders,daily
    """,
    "kpi_thresholds": """
        kpi_id,grain,severity,lower_bound,upper_bound
        sales,day,warning,60,
    """,
    "acme_sales": "kpi_id,date_day,numerator,denominator\n"
                  + "\n".join(f"sales,{d},{sales(d)}," for d in DAYS),
}
MODELS = {
    "acme_kpi_inputs": """
        select
            cast(kpi_id as varchar(64)) as kpi_id,
            cast(date_day as date) as date_day,
            cast(numerator as double precision) as numerator,
            cast(denominator as double precision) as denominator
        from {{ ref('acme_sales') }}
    """,
}

PROFILES = f"""
acme_warehouse:
  target: prod
  outputs:
    prod:
      type: duckdb
      path: warehouse/acme.duckdb
      schema: analytics
      threads: 1
    staging:
      type: duckdb
      path: "{{{{ env_var('ACME_STAGING_PATH', 'staging.duckdb') }}}}"
      schema: stage
      threads: 1
    pg:
      type: postgres
      host: "{{{{ env_var('PGHOST', '127.0.0.1') }}}}"
      port: "{{{{ env_var('PGPORT', '5432') | int }}}}"
      user: "{{{{ env_var('PGUSER', 'postgres') }}}}"
      password: ""
      dbname: "{{{{ env_var('PGDATABASE', 'postgres') }}}}"
      schema: {PG_SCHEMA}
      threads: 2
    lake:
      type: snowflake
      account: x
"""


def plain_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a user who never heard of OKR_KPI_* (nor set any DBT_* variable)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OKR_KPI_", "DBT_"))}
    env.update(DBT_SEND_ANONYMOUS_USAGE_STATS="false", DO_NOT_TRACK="1",
               OKR_KPI_DELIVERY_RETRIES="1", OKR_KPI_DELIVERY_BACKOFF_SECONDS="0")
    env.update(extra)
    return env


def okr_kpi(env, *args, cwd):
    return subprocess.run([OKR_KPI, *args], env=env, cwd=cwd, text=True, capture_output=True, timeout=1200)


def files_under(path: Path) -> set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*")}


def duckdb_files(path: Path) -> set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*.duckdb")}


def query(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def expected_threshold_breaches() -> set[dt.date]:
    return {d for d in DAYS if sales(d) < 60}


@pytest.fixture(scope="module")
def acme(tmp_path_factory):
    """The consumer project, with its own profile in the project dir; dbt deps done."""
    tmp = tmp_path_factory.mktemp("acme")
    project = make_consumer_project(tmp, seeds=SEEDS, models=MODELS, kpi_inputs=["acme_kpi_inputs"])
    root = project.path
    yml = root / "dbt_project.yml"
    # its own profile; header-only seeds typed for DuckDB and PostgreSQL alike
    yml.write_text(yml.read_text().replace("profile: okr_kpi", "profile: acme_warehouse")
                   .replace(": double\n", ": double precision\n"))
    (root / "profiles.yml").write_text(PROFILES)
    # vars (the consumer's own KPI inputs) in dbt_project.yml, as a real project keeps them
    with yml.open("a") as f:
        f.write(textwrap.dedent("""\
            vars:
              okr_kpi:
                okr_kpi_enable_demo: false
                okr_kpi_kpi_inputs: ['acme_kpi_inputs']
            """))
    (root / "models" / "marts").mkdir()
    return tmp, root


def test_run_from_outside_with_dbt_project_dir_uses_the_profiles_warehouse(acme):
    tmp, root = acme
    outside = tmp / "elsewhere"
    outside.mkdir(exist_ok=True)
    env = plain_env(tmp, DBT_PROJECT_DIR=str(root))
    proc = okr_kpi(env, "run", "--as-of", AS_OF, "--skip-publish", cwd=outside)
    assert proc.returncode == 10, proc.stderr[-4000:]  # new breaches found
    assert "target prod" in proc.stderr and "acme.duckdb" in proc.stderr
    db = root / "warehouse" / "acme.duckdb"
    assert db.is_file()
    assert duckdb_files(tmp) == {"consumer/warehouse/acme.duckdb"}  # no okr_kpi.duckdb anywhere
    assert not files_under(outside)
    # marts, breaches and the toolkit's own tables are all in the profile's schema `analytics`
    tables = {r[0] for r in query(db, "select table_name from information_schema.tables "
                                      "where table_schema = 'analytics'")}
    assert {"fct_kpi_periods", "fct_kpi_breaches", "okr_kpi_breach_history", "okr_kpi_runs"} <= tables
    breached = {r[0] for r in query(db, "select period_start from analytics.fct_kpi_breaches "
                                        "where grain = 'day' and rule = 'threshold'")}
    assert breached == expected_threshold_breaches()
    history = query(db, "select count(*), count(distinct breach_id) from analytics.okr_kpi_breach_history")
    total = query(db, "select count(*) from analytics.fct_kpi_breaches")[0][0]
    assert history[0] == (total, total) and total >= len(expected_threshold_breaches())
    runs = query(db, "select command, exit_code from analytics.okr_kpi_runs")
    assert runs == [("run", 10)]
    # the checks ran on that warehouse (GX read the thresholds and fct_kpi_periods from the same file)
    assert "checks: passed" in proc.stderr, proc.stderr[-3000:]
    report = json.loads((root / "reports" / "okr_kpi.json").read_text())
    assert report["as_of_date"] == AS_OF


def test_report_from_a_subdirectory_reads_the_same_warehouse(acme):
    tmp, root = acme
    sub = root / "models" / "marts"
    before = files_under(tmp)
    proc = okr_kpi(plain_env(tmp), "report", "--out", str(tmp / "sub_reports"), cwd=sub)
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads((tmp / "sub_reports" / "okr_kpi.json").read_text())
    assert doc["as_of_date"] == AS_OF  # the as_of_date of the run recorded in analytics.okr_kpi_runs
    assert duckdb_files(tmp) == {"consumer/warehouse/acme.duckdb"}
    assert all(f.startswith("sub_reports") for f in files_under(tmp) - before)


def test_target_selects_the_second_output(acme):
    tmp, root = acme
    staging = tmp / "stage_files" / "acme_staging.duckdb"
    env = plain_env(tmp, ACME_STAGING_PATH=str(staging))
    proc = okr_kpi(env, "run", "--target", "staging", "--as-of", AS_OF, "--skip-publish",
                   "--out", str(tmp / "stage_reports"), cwd=root / "models")
    assert proc.returncode == 10, proc.stderr[-4000:]
    assert staging.is_file()
    breached = {r[0] for r in query(staging, "select period_start from stage.fct_kpi_breaches "
                                             "where grain = 'day' and rule = 'threshold'")}
    assert breached == expected_threshold_breaches()
    assert query(staging, "select command from stage.okr_kpi_runs") == [("run",)]
    # DBT_TARGET does the same as --target; the prod warehouse keeps its single run
    assert query(root / "warehouse" / "acme.duckdb", "select count(*) from analytics.okr_kpi_runs")[0][0] == 1
    assert "okr_kpi.duckdb" not in " ".join(duckdb_files(tmp))


def test_run_on_postgres_uses_the_profiles_schema(acme):
    require_target("postgres")
    import psycopg2

    tmp, root = acme
    proc = okr_kpi(plain_env(tmp, DBT_TARGET="pg"), "run", "--as-of", AS_OF, "--skip-publish",
                   "--out", str(tmp / "pg_reports"), cwd=root)
    con = psycopg2.connect(host=os.environ.get("PGHOST", "127.0.0.1"), port=os.environ.get("PGPORT", "5432"),
                           user=os.environ.get("PGUSER", "postgres"),
                           dbname=os.environ.get("PGDATABASE", "postgres"))
    con.autocommit = True
    try:
        assert proc.returncode == 10, proc.stderr[-4000:]
        with con.cursor() as cur:
            cur.execute(f"select period_start from {PG_SCHEMA}.fct_kpi_breaches "
                        "where grain = 'day' and rule = 'threshold'")
            assert {r[0] for r in cur.fetchall()} == expected_threshold_breaches()
            cur.execute(f"select command, exit_code from {PG_SCHEMA}.okr_kpi_runs")
            assert cur.fetchall() == [("run", 10)]
            cur.execute(f"select count(*) from {PG_SCHEMA}.okr_kpi_breach_history")
            assert cur.fetchone()[0] >= len(expected_threshold_breaches())
        assert "okr_kpi.duckdb" not in " ".join(duckdb_files(tmp))
    finally:
        with con.cursor() as cur:
            cur.execute("select nspname from pg_namespace where nspname = %s or starts_with(nspname, %s)",
                        (PG_SCHEMA, PG_SCHEMA + "_"))
            for (schema,) in cur.fetchall():
                cur.execute(f'drop schema if exists "{schema}" cascade')
        con.close()


# --- bad input: exit 2, a message naming what is missing, nothing written ----------------------

def fake_project(root: Path, *, profile: str = "acme_warehouse", packages: bool = True,
                 installed_version: str | None = None, profiles: str | None = PROFILES) -> Path:
    """A dbt project on disk (no dbt run): its profile, packages.yml and (optionally) an
    installed okr_kpi package of some version under dbt_packages/."""
    root.mkdir(parents=True)
    (root / "dbt_project.yml").write_text(f"name: acme\nversion: '1.0.0'\nconfig-version: 2\n"
                                          f"profile: {profile}\n")
    if profiles is not None:
        (root / "profiles.yml").write_text(profiles)
    if packages:
        (root / "packages.yml").write_text(f"packages:\n  - local: {REPO}\n")
    if installed_version is not None:
        pkg = root / "dbt_packages" / "okr_kpi"
        pkg.mkdir(parents=True)
        (pkg / "dbt_project.yml").write_text(f"name: okr_kpi\nversion: '{installed_version}'\n"
                                             "config-version: 2\n")
    return root


def current_version() -> str:
    from okr_kpi import __version__

    return __version__


BAD_INPUT = {
    # case: (project kwargs, command args, extra env, words the message must hold)
    "unknown_target": ({"installed_version": "current"}, ["run", "--target", "nope"], {},
                       ["nope", "prod", "staging", "acme_warehouse"]),
    "unknown_target_env": ({"installed_version": "current"}, ["report"], {"DBT_TARGET": "qa"},
                           ["'qa'", "acme_warehouse"]),
    "missing_profile": ({"profile": "acme_missing", "installed_version": "current"}, ["run"], {},
                        ["acme_missing", "profiles.yml"]),
    "missing_profiles_yml": ({"profiles": None, "installed_version": "current"}, ["check"], {},
                             ["profiles.yml", "acme_warehouse"]),
    "no_package": ({"packages": False}, ["run"], {},
                   ["does not install the okr_kpi package", "packages.yml"]),
    "not_deps_installed": ({}, ["report"], {}, ["dbt deps"]),
    "version_mismatch": ({"installed_version": "9.9.0"}, ["run"], {}, ["9.9.0", "version"]),
    "unsupported_adapter": ({"installed_version": "current"}, ["publish", "--target", "lake"], {},
                            ["snowflake", "lake"]),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_exits_2_and_writes_nothing(tmp_path, case):
    kwargs, args, extra, words = BAD_INPUT[case]
    if kwargs.get("installed_version") == "current":
        kwargs = {**kwargs, "installed_version": current_version()}
    root = fake_project(tmp_path / "acme", **kwargs)
    before = files_under(tmp_path)
    proc = okr_kpi(plain_env(tmp_path, **extra), *args, cwd=root)
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-3000:])
    for word in words:
        assert word in proc.stderr, (word, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert files_under(tmp_path) == before  # no okr_kpi.duckdb, no reports, no logs, no lock files


def test_no_project_anywhere_is_a_clear_error(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = okr_kpi(plain_env(tmp_path), "run", cwd=empty)
    assert proc.returncode == 2 and "dbt_project.yml" in proc.stderr and "--project-dir" in proc.stderr
    # DBT_PROJECT_DIR pointing at a directory without dbt_project.yml: the same, never the checkout
    proc = okr_kpi(plain_env(tmp_path, DBT_PROJECT_DIR=str(empty)), "report", cwd=REPO)
    assert proc.returncode == 2 and str(empty) in proc.stderr, proc.stderr
    assert files_under(tmp_path) == {"empty"}


def test_profiles_dir_flag_and_env_win_over_the_project_profile(tmp_path, monkeypatch):
    from okr_kpi.project import Project

    root = fake_project(tmp_path / "acme", installed_version=current_version())
    other = tmp_path / "profiles"
    other.mkdir()
    (other / "profiles.yml").write_text(PROFILES.replace("schema: analytics", "schema: elsewhere"))
    for key in [k for k in os.environ if k.startswith(("OKR_KPI_", "DBT_"))]:
        monkeypatch.delenv(key)
    p = Project(project_dir=root)
    assert (p.profiles_dir, p.profile_name, p.target) == (root, "acme_warehouse", "prod")
    assert p.adapter_type == "duckdb"
    assert p.schema == "analytics" and p.duckdb_path == root / "warehouse" / "acme.duckdb"
    assert p.database == "acme"
    assert p.dbt_args("build")[1:8] == ["build", "--project-dir", str(root), "--profiles-dir", str(root),
                                        "--target", "prod"]
    assert Project(project_dir=root, profiles_dir=other).schema == "elsewhere"
    monkeypatch.setenv("DBT_PROFILES_DIR", str(other))
    monkeypatch.setenv("DBT_TARGET", "staging")
    p = Project(project_dir=root)
    assert (p.profiles_dir, p.target, p.schema) == (other, "staging", "stage")
    monkeypatch.delenv("DBT_TARGET")
    monkeypatch.setenv("OKR_KPI_TARGET", "pg")  # the deprecated alias
    assert Project(project_dir=root).adapter_type == "postgres"
    assert Project(project_dir=root, target="prod").target == "prod"  # --target beats both
    assert not (root / "warehouse").exists()  # resolving writes nothing


def test_spark_thrift_target_is_accepted(tmp_path, monkeypatch):
    from okr_kpi.project import OkrKpiError, Project
    from okr_kpi.warehouse import WarehouseUnavailable, connect

    profiles = PROFILES + (
        "    cluster:\n"
        "      type: spark\n"
        "      method: thrift\n"
        "      host: 127.0.0.1\n"
        "      port: 9\n"
        "      user: acme\n"
        "      schema: acme_lake\n"
    )
    root = fake_project(tmp_path / "acme", installed_version=current_version(), profiles=profiles)
    for key in [k for k in os.environ if k.startswith(("OKR_KPI_", "DBT_"))]:
        monkeypatch.delenv(key)
    try:
        import pyhive.hive  # noqa: F401
    except ImportError:
        with pytest.raises(OkrKpiError, match=r"okr-kpi\[spark\]"):
            Project(project_dir=root, target="cluster")
        return
    p = Project(project_dir=root, target="cluster")
    assert (p.adapter_type, p.adapter.method, p.schema) == ("spark", "thrift", "acme_lake")
    with pytest.raises(WarehouseUnavailable, match="127.0.0.1:9"):
        connect(p)
    # without PyHive: an OkrKpiError (exit 2) naming the extra, not a traceback
    monkeypatch.setitem(sys.modules, "pyhive", None)
    monkeypatch.setitem(sys.modules, "pyhive.hive", None)
    with pytest.raises(OkrKpiError, match=r"okr-kpi\[spark\]") as err:
        connect(Project(project_dir=root, target="cluster"))
    assert not isinstance(err.value, WarehouseUnavailable)


def test_a_spark_session_target_of_any_name_reads_its_paths_from_the_profile(tmp_path, monkeypatch):
    from okr_kpi.project import Project

    profiles = PROFILES + (
        "    local_lake:\n"
        "      type: spark\n"
        "      method: session\n"
        "      host: localhost\n"
        "      schema: lake\n"
        "      server_side_parameters:\n"
        "        spark.sql.warehouse.dir: data/wh\n"
        "        spark.hadoop.javax.jdo.option.ConnectionURL:\n"
        "          'jdbc:derby:;databaseName=meta/db;create=true'\n"
        "        spark.driver.memory: 1g\n"
    )
    root = fake_project(tmp_path / "acme", installed_version=current_version(), profiles=profiles)
    for key in [k for k in os.environ if k.startswith(("OKR_KPI_", "DBT_"))]:
        monkeypatch.delenv(key)
    p = Project(project_dir=root, target="local_lake")
    assert (p.adapter_type, p.adapter.method, p.schema) == ("spark", "session", "lake")
    assert p.adapter.warehouse_dir == root / "data" / "wh"
    assert p.adapter.metastore_dir == root / "meta" / "db"
    assert p.adapter.lock_path == root / "meta" / "db.okr-kpi.lock"
    assert p.adapter.parameters["spark.driver.memory"] == "1g"
    assert p.dbt_args("build")[-2:] == ["--target", "local_lake"]
    assert not (root / "data").exists() and not (root / "meta").exists()
