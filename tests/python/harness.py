"""Test harness: throw-away consumer dbt projects that install okr_kpi from this repository.

A consumer project is how a real user meets the package, so the integration tests use one:
its own seeds (KPI registry, thresholds, OKRs), its own KPI input models, its own vars, and a
fresh warehouse (a DuckDB file in tmp_path, or a fresh PostgreSQL schema).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import textwrap
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# The demo company: an example dbt project of its own that installs the package (local: ../..).
DEMO_DIR = REPO / "examples" / "demo"
DBT = str(Path(sys.executable).parent / "dbt")


def ensure_demo_deps() -> Path:
    """`dbt deps` in the demo project, once (the package is a link to this checkout, so later
    edits are seen without running it again); safe when several test processes start together."""
    import fcntl

    installed = DEMO_DIR / "dbt_packages" / "okr_kpi"
    if installed.exists():
        return DEMO_DIR
    with open(DEMO_DIR / ".dbt-deps.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not installed.exists():
            env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}
            env.pop("DBT_TARGET_PATH", None)
            cmd = [DBT, "deps", "--project-dir", str(DEMO_DIR), "--profiles-dir", str(DEMO_DIR)]
            proc = subprocess.run(cmd, cwd=DEMO_DIR, env=env, text=True, capture_output=True)
            if proc.returncode != 0:
                raise RuntimeError(f"dbt deps in {DEMO_DIR} failed:\n{proc.stdout[-3000:]}\n{proc.stderr}")
    return DEMO_DIR


def demo_profiles_dir() -> Path:
    """The directory of the repository's profiles.yml (profile okr_kpi: targets duckdb, postgres,
    spark, spark_thrift, configured through OKR_KPI_* variables)."""
    for candidate in (REPO / "examples" / "demo", REPO):
        if (candidate / "profiles.yml").is_file():
            return candidate
    raise FileNotFoundError("no profiles.yml in the repository")


def write_profile_project(path: Path, profile: str = "okr_kpi") -> Path:
    """A minimal dbt project in `path` for tests that only need a warehouse (Project(project_dir=
    path)): a dbt_project.yml naming the repository's profile, and a copy of its profiles.yml."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "dbt_project.yml").write_text(f"name: okr_kpi_test\nversion: '1.0.0'\nconfig-version: 2\n"
                                          f"profile: {profile}\n")
    shutil.copy(demo_profiles_dir() / "profiles.yml", path / "profiles.yml")
    return path


def postgres_available() -> bool:
    try:
        import psycopg2

        psycopg2.connect(host=os.environ.get("PGHOST", "127.0.0.1"), port=os.environ.get("PGPORT", "5432"),
                         user=os.environ.get("PGUSER", "postgres"),
                         dbname=os.environ.get("PGDATABASE", "postgres"), connect_timeout=5).close()
        return True
    except Exception:
        return False


def require_target(target: str) -> None:
    """Skip (or fail under CI=true) when a target's server is not reachable."""
    if target == "postgres" and not postgres_available():
        msg = "PostgreSQL is not reachable at PGHOST/PGPORT (default 127.0.0.1:5432)"
        if os.environ.get("CI") == "true":
            pytest.fail(msg + " and CI=true: every target must run in CI")
        pytest.skip(msg)
    if target == CLUSTER and not os.environ.get("OKR_KPI_SPARK_PORT"):
        pytest.fail("target cluster: the test must use the spark_cluster fixture (conftest.py), "
                    "which starts the cluster and sets OKR_KPI_SPARK_HOST/PORT")
    if target in ("spark", CLUSTER) and not spark_available():
        msg = "Spark needs Java 17+ (java on PATH or JAVA_HOME) and pyspark"
        if os.environ.get("CI") == "true":
            pytest.fail(msg + " and CI=true: every target must run in CI")
        pytest.skip(msg)


def target_env(tmp_path: Path, target: str = "duckdb") -> dict[str, str]:
    """Environment for dbt and okr-kpi on a fresh warehouse: own DuckDB file / schema, target dir, logs."""
    env = dict(os.environ)
    suffix = uuid.uuid4().hex[:8]
    env.update({
        "OKR_KPI_TARGET": target,
        "OKR_KPI_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
        "OKR_KPI_SCHEMA": f"okr_test_{suffix}" if target != "duckdb" else "okr_kpi",
        "OKR_KPI_RAW_SCHEMA": f"okr_test_{suffix}_raw" if target != "duckdb" else "raw",
        "OKR_KPI_SPARK_WAREHOUSE": str(tmp_path / "spark-warehouse"),
        "OKR_KPI_SPARK_METASTORE": str(tmp_path / "metastore_db"),
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_LOG_PATH": str(tmp_path / "logs"),
        "DBT_PROFILES_DIR": str(DEMO_DIR),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
    })
    return env


@contextlib.contextmanager
def demo_company(tmp: Path, rows: int, seed: int = 42):
    """The demo company generated into a fresh DuckDB warehouse under `tmp`, with its own GX
    context; its environment is set in os.environ while the block runs. Yields (project, env)."""
    from okr_kpi.generate import generate_into_warehouse
    from okr_kpi.project import Project

    env = target_env(tmp, "duckdb")
    env["OKR_KPI_GX_DIR"] = str(tmp / "gx")
    # the demo's project, also for `okr-kpi` started in another directory (run it with cwd=DEMO_DIR
    # too: a toolkit that reads dbt's own DBT_PROJECT_DIR or the cwd finds it either way)
    env["OKR_KPI_PROJECT_DIR"] = env["DBT_PROJECT_DIR"] = str(DEMO_DIR)
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        project = Project(target="duckdb", project_dir=ensure_demo_deps())
        generate_into_warehouse(project, rows=rows, seed=seed)
        yield project, env


def drop_postgres_schemas(env: dict[str, str]) -> None:
    import psycopg2

    con = psycopg2.connect(host=env.get("PGHOST", "127.0.0.1"), port=env.get("PGPORT", "5432"),
                           user=env.get("PGUSER", "postgres"), dbname=env.get("PGDATABASE", "postgres"))
    con.autocommit = True
    with con.cursor() as cur:
        # the models' schema, the raw schema, and the ones dbt derives from the models' schema
        # (<schema>_dbt_test__audit for stored test failures, custom schemas)
        cur.execute("select nspname from pg_namespace where nspname = %s or nspname = %s "
                    "or starts_with(nspname, %s)",
                    (env["OKR_KPI_SCHEMA"], env["OKR_KPI_RAW_SCHEMA"], env["OKR_KPI_SCHEMA"] + "_"))
        for (schema,) in cur.fetchall():
            cur.execute(f'drop schema if exists "{schema}" cascade')
    con.close()


@dataclass
class ConsumerProject:
    """A dbt project in `path` that depends on okr_kpi (packages.yml, local: the repository)."""

    path: Path
    env: dict[str, str]
    target: str = "duckdb"
    vars: dict = field(default_factory=dict)

    def dbt(self, *args: str, check: bool = True, vars: dict | None = None) -> subprocess.CompletedProcess:
        all_vars = {**self.vars, **(vars or {})}
        if self.target == "spark":
            release_spark()  # dbt's own Spark needs the Derby metastore: one process at a time
        cmd = [DBT, *args, "--project-dir", str(self.path), "--target", self.target]
        if all_vars and args and args[0] not in ("deps", "clean"):
            cmd += ["--vars", json.dumps(all_vars)]
        proc = subprocess.run(cmd, cwd=self.path, env=self.env, text=True, capture_output=True)
        if check and proc.returncode != 0:
            raise AssertionError(f"dbt {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-6000:]}\n"
                                 f"{proc.stderr[-2000:]}")
        return proc

    def query(self, sql: str) -> list[dict]:
        """Run SQL against the project's warehouse; `{schema}` is replaced by the models' schema."""
        sql = sql.replace("{schema}", self.env["OKR_KPI_SCHEMA"])
        sql = sql.replace("{raw}", self.env["OKR_KPI_RAW_SCHEMA"])
        if self.target == "duckdb":
            import duckdb

            con = duckdb.connect(self.env["OKR_KPI_DUCKDB_PATH"], read_only=True)
            try:
                cur = con.execute(sql)
                cols = [d[0] for d in cur.description]
                return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
            finally:
                con.close()
        if self.target == "postgres":
            import psycopg2

            con = psycopg2.connect(host=self.env.get("PGHOST", "127.0.0.1"),
                                   port=self.env.get("PGPORT", "5432"),
                                   user=self.env.get("PGUSER", "postgres"),
                                   dbname=self.env.get("PGDATABASE", "postgres"))
            try:
                with con.cursor() as cur:
                    cur.execute(sql)
                    cols = [d[0] for d in cur.description]
                    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
            finally:
                con.close()
        if self.target == "spark":
            return spark_query(self.env, sql)
        if self.target == CLUSTER:
            return cluster_query(self.env, sql)
        raise NotImplementedError(self.target)


# The definition seeds the package refs (a consumer project holds them) and their columns.
PACKAGE_SEED_HEADERS = {
    "kpi_definitions": "kpi_id,name,description,unit,direction,aggregation,owner,data_source,"
                       "reporting_frequency",
    "kpi_thresholds": "kpi_id,grain,severity,lower_bound,upper_bound",
    "okr_cycles": "cycle_id,name,start_date,end_date",
    "okr_objectives": "objective_id,cycle_id,title,level,team,owner,parent_objective_id",
    "okr_key_results": "key_result_id,objective_id,title,kr_type,kpi_id,grain,measure,baseline,target,"
                       "target_kind,weight,owner",
    "okr_check_ins": "key_result_id,check_in_date,value,confidence,note",
}


# Column types of header-only seeds (with no rows to infer from, PostgreSQL would make every
# column an integer): dates, numbers, and text for the rest.
_DATE_COLUMNS = {"start_date", "end_date", "check_in_date"}
_NUMBER_COLUMNS = {"lower_bound", "upper_bound", "baseline", "target", "weight", "value", "confidence"}
_SQL_TYPES = {"duckdb": ("varchar", "double"), "postgres": ("text", "double precision"),
              "spark": ("string", "double"), "cluster": ("string", "double")}


def _empty_seed_column_types(seeds: dict[str, str], target: str) -> str:
    """YAML lines (under the project's `seeds:`) typing the columns of every header-only seed."""
    text_type, number_type = _SQL_TYPES.get(target, _SQL_TYPES["duckdb"])
    lines = []
    for name, text in seeds.items():
        rows = [line for line in textwrap.dedent(text).strip().splitlines() if line.strip()]
        if len(rows) != 1:
            continue
        lines.append(f"    {name}:\n      +column_types:")
        for column in rows[0].split(","):
            column = column.strip()
            kind = ("date" if column in _DATE_COLUMNS
                    else number_type if column in _NUMBER_COLUMNS else text_type)
            lines.append(f"        {column}: {kind}")
    return "seeds:\n  okr_kpi_fixture:\n" + "\n".join(lines) + "\n" if lines else ""


def make_consumer_project(
    tmp_path: Path,
    *,
    seeds: dict[str, str],
    models: dict[str, str] | None = None,
    vars: dict | None = None,
    kpi_inputs: list[str] | None = None,
    target: str = "duckdb",
    extra_files: dict[str, str] | None = None,
) -> ConsumerProject:
    """Write a consumer project: `seeds` maps seed names to CSV text, `models` names to SQL."""
    require_target(target)
    root = tmp_path / "consumer"
    if root.exists():
        shutil.rmtree(root)
    (root / "seeds").mkdir(parents=True)
    (root / "models").mkdir()
    all_vars = {"okr_kpi_kpi_inputs": kpi_inputs or [], **(vars or {})}
    (root / "dbt_project.yml").write_text(textwrap.dedent("""\
        name: okr_kpi_fixture
        version: "1.0.0"
        config-version: 2
        profile: okr_kpi
        flags:
          send_anonymous_usage_stats: false
        models:
          okr_kpi_fixture:
            +materialized: table
        """))
    (root / "packages.yml").write_text(f"packages:\n  - local: {REPO}\n")
    # Every seed the package refs must exist (dbt refuses refs to missing nodes even when they
    # are not selected): the ones a test does not give are written with their header only.
    for name, header in PACKAGE_SEED_HEADERS.items():
        seeds = {name: header, **seeds}
    for name, text in seeds.items():
        (root / "seeds" / f"{name}.csv").write_text(textwrap.dedent(text).strip() + "\n")
    with (root / "dbt_project.yml").open("a") as project_yml:
        project_yml.write(_empty_seed_column_types(seeds, target))
    for name, text in (models or {}).items():
        (root / "models" / f"{name}.sql").write_text(textwrap.dedent(text))
    for rel, text in (extra_files or {}).items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text))
    env = target_env(tmp_path, target)
    project = ConsumerProject(path=root, env=env, target=target, vars=all_vars)
    project.dbt("deps")
    return project


def fixture_inputs_model(seed_name: str = "fixture_kpi_inputs") -> str:
    """A KPI input model reading a seed of (kpi_id, date_day, numerator, denominator)."""
    return f"""
        select
            kpi_id,
            cast(date_day as date) as date_day,
            cast(numerator as {{{{ okr_kpi.type_double() }}}}) as numerator,
            cast(denominator as {{{{ okr_kpi.type_double() }}}}) as denominator
        from {{{{ ref('{seed_name}') }}}}
    """


# --- Spark (local session) ---------------------------------------------------------------------

def spark_query(env: dict[str, str], sql: str) -> list[dict]:
    """Run SQL in this process's local Spark session on the warehouse and metastore of `env`."""
    from okr_kpi.spark import local_session

    session = local_session(Path(env["OKR_KPI_SPARK_WAREHOUSE"]), Path(env["OKR_KPI_SPARK_METASTORE"]))
    return [row.asDict(recursive=True) for row in session.sql(sql).collect()]


def release_spark() -> None:
    """Stop this process's Spark session and JVM (before dbt runs, or at the end of a module)."""
    from okr_kpi.spark import release_local_session

    release_local_session()


def spark_available() -> bool:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return False
    home = os.environ.get("JAVA_HOME")
    java = Path(home) / "bin" / "java" if home else shutil.which("java")
    return bool(java) and Path(java).exists()


# --- Spark (a cluster's Thrift server) --------------------------------------------------------

# The profile target (examples/demo/profiles.yml) of the local standalone cluster that the
# session fixture `spark_cluster` (conftest.py) starts once: type spark, method thrift.
CLUSTER = "cluster"


def cluster_query(env: dict[str, str], sql: str) -> list[dict]:
    """Run SQL on the cluster through its Thrift server (PyHive); rows as dicts."""
    from okr_kpi.adapters.spark import close_thrift
    from pyhive import hive

    con = hive.connect(host=env.get("OKR_KPI_SPARK_HOST", "127.0.0.1"), port=int(env["OKR_KPI_SPARK_PORT"]),
                       username="okr")
    try:
        cur = con.cursor()
        cur.execute(sql)
        if not cur.description:
            return []
        from okr_kpi.adapters.spark import thrift_rows

        return thrift_rows(cur)  # dates and timestamps as Python values, as the local session
    finally:
        close_thrift(con)


def drop_cluster_schemas(env: dict[str, str]) -> None:
    """Drop a test's databases on the cluster: the models', the raw one and <schema>_* (dbt's)."""
    schema = env["OKR_KPI_SCHEMA"]
    names = {r["namespace"] if "namespace" in r else next(iter(r.values()))
             for r in cluster_query(env, f"show databases like '{schema}*'")}
    names.add(env["OKR_KPI_RAW_SCHEMA"])
    for name in sorted(names):
        if name == schema or name.startswith(schema + "_"):
            cluster_query(env, f"drop database if exists `{name}` cascade")


# --- the same tests on every target ------------------------------------------------------------

# Parameters for a target-parametrized fixture: `@pytest.fixture(scope="module", params=TARGETS)`.
# Spark runs on the cluster (started once per test session, conftest.py: spark_cluster); the
# local session (method session) keeps a small subset of its own (SPARK_SESSION).
TARGETS = [
    pytest.param("duckdb", id="duckdb"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    pytest.param(CLUSTER, id="cluster", marks=pytest.mark.spark),
]
SPARK_SESSION = pytest.param("spark", id="spark_session", marks=pytest.mark.spark)


def start_target(request) -> str:
    """The target of a target-parametrized fixture, its server started first (the cluster: the
    session fixture spark_cluster, started once). Returns the target name."""
    if request.param == CLUSTER:
        request.getfixturevalue("spark_cluster")
    return request.param


@contextlib.contextmanager
def consumer_project_on(target: str, tmp_path: Path, **kwargs):
    """make_consumer_project on `target`, cleaned up afterwards (PostgreSQL schemas dropped,
    the Spark session of this process stopped). Skips (fails under CI=true) when unreachable."""
    project = make_consumer_project(tmp_path, target=target, **kwargs)
    try:
        yield project
    finally:
        if target == "postgres":
            drop_postgres_schemas(project.env)
        if target == "spark":
            release_spark()
        if target == CLUSTER:
            drop_cluster_schemas(project.env)


def assert_corrupt_customer_detected(result) -> None:
    """The checks' verdict after one customer row was copied with region 'mars' (any warehouse):
    `unique(customer_id)` fails with 2 unexpected rows (an error-severity failure) and
    `in_set(region)` with 1 (a warning); the run's exit code is DATA_QUALITY."""
    from okr_kpi.exit_codes import ExitCode

    assert result.errors == []
    failed = {
        (o.suite, o.expectation): o for o in result.outcomes if o.success is False and o.kind == "source"
    }
    assert set(failed) == {
        ("source__customers", "expect_column_values_to_be_unique(customer_id)"),
        ("source__customers", "expect_column_values_to_be_in_set(region)"),
    }
    assert (
        failed[("source__customers", "expect_column_values_to_be_unique(customer_id)")].unexpected_count == 2
    )
    assert failed[("source__customers", "expect_column_values_to_be_in_set(region)")].unexpected_count == 1
    assert [o.expectation for o in result.failures] == ["expect_column_values_to_be_unique(customer_id)"]
    assert [o.expectation for o in result.warnings] == ["expect_column_values_to_be_in_set(region)"]
    assert result.exit_code() == ExitCode.DATA_QUALITY


def as_date(value) -> dt.date:
    """A date from what a warehouse returns for a date column: a date, or a datetime or text
    (Spark through Thrift, pandas) cut to its day."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    return dt.date.fromisoformat(str(value)[:10])
