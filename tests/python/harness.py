"""Test harness: throw-away consumer dbt projects that install okr_kpi from this repository.

A consumer project is how a real user meets the package, so the integration tests use one:
its own seeds (KPI registry, thresholds, OKRs), its own KPI input models, its own vars, and a
fresh warehouse (a DuckDB file in tmp_path, or a fresh PostgreSQL schema).
"""

from __future__ import annotations

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
DBT = str(Path(sys.executable).parent / "dbt")


def postgres_available() -> bool:
    try:
        import psycopg2

        psycopg2.connect(host=os.environ.get("PGHOST", "127.0.0.1"), port=os.environ.get("PGPORT", "5432"),
                         user=os.environ.get("PGUSER", "postgres"), dbname=os.environ.get("PGDATABASE", "postgres"),
                         connect_timeout=5).close()
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
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_LOG_PATH": str(tmp_path / "logs"),
        "DBT_PROFILES_DIR": str(REPO),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
    })
    return env


def drop_postgres_schemas(env: dict[str, str]) -> None:
    import psycopg2

    con = psycopg2.connect(host=env.get("PGHOST", "127.0.0.1"), port=env.get("PGPORT", "5432"),
                           user=env.get("PGUSER", "postgres"), dbname=env.get("PGDATABASE", "postgres"))
    con.autocommit = True
    with con.cursor() as cur:
        for schema in (env["OKR_KPI_SCHEMA"], env["OKR_KPI_RAW_SCHEMA"]):
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
        sql = sql.replace("{schema}", self.env["OKR_KPI_SCHEMA"]).replace("{raw}", self.env["OKR_KPI_RAW_SCHEMA"])
        if self.target == "duckdb":
            import duckdb

            con = duckdb.connect(self.env["OKR_KPI_DUCKDB_PATH"], read_only=True)
            try:
                cur = con.execute(sql)
                cols = [d[0] for d in cur.description]
                return [dict(zip(cols, r)) for r in cur.fetchall()]
            finally:
                con.close()
        if self.target == "postgres":
            import psycopg2

            con = psycopg2.connect(host=self.env.get("PGHOST", "127.0.0.1"), port=self.env.get("PGPORT", "5432"),
                                   user=self.env.get("PGUSER", "postgres"),
                                   dbname=self.env.get("PGDATABASE", "postgres"))
            try:
                with con.cursor() as cur:
                    cur.execute(sql)
                    cols = [d[0] for d in cur.description]
                    return [dict(zip(cols, r)) for r in cur.fetchall()]
            finally:
                con.close()
        raise NotImplementedError(self.target)


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
    all_vars = {"okr_kpi_enable_demo": False, "okr_kpi_kpi_inputs": kpi_inputs or [], **(vars or {})}
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
          okr_kpi:
            demo:
              +enabled: false
        seeds:
          okr_kpi:
            demo:
              +enabled: false
        """))
    (root / "packages.yml").write_text(f"packages:\n  - local: {REPO}\n")
    for name, text in seeds.items():
        (root / "seeds" / f"{name}.csv").write_text(textwrap.dedent(text).strip() + "\n")
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
            cast(numerator as double precision) as numerator,
            cast(denominator as double precision) as denominator
        from {{{{ ref('{seed_name}') }}}}
    """
