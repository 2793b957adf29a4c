"""Where the dbt project, the warehouse and the outputs are, and how dbt is invoked.

Everything the toolkit does goes through `Project`: it resolves paths once, builds the
environment for dbt (so that `profiles.yml` reads it), and runs dbt in a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

TARGETS = ("duckdb", "postgres", "spark")


class OkrKpiError(Exception):
    """An error the user can act on; the CLI prints its message without a traceback."""


def find_project_dir(start: Path | None = None) -> Path:
    """The directory holding dbt_project.yml: OKR_KPI_PROJECT_DIR, the cwd or a parent, else the repo."""
    env = os.environ.get("OKR_KPI_PROJECT_DIR")
    if env:
        return Path(env).resolve()
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "dbt_project.yml").is_file():
            return candidate
    repo = Path(__file__).resolve().parents[2]
    if (repo / "dbt_project.yml").is_file():
        return repo
    raise OkrKpiError("no dbt_project.yml found: run okr-kpi from the project or set OKR_KPI_PROJECT_DIR")


@dataclass
class Project:
    target: str = "duckdb"
    project_dir: Path = field(default_factory=find_project_dir)
    out_dir: Path | None = None

    def __post_init__(self) -> None:
        if self.target not in TARGETS and not self.target.startswith("spark"):
            raise OkrKpiError(f"unknown target {self.target!r}: choose one of {', '.join(TARGETS)}")
        self.project_dir = Path(self.project_dir).resolve()
        self.out_dir = Path(self.out_dir or self.project_dir / "reports").resolve()

    # --- locations -------------------------------------------------------------------------
    @property
    def duckdb_path(self) -> Path:
        path = Path(os.environ.get("OKR_KPI_DUCKDB_PATH", "okr_kpi.duckdb"))
        return path if path.is_absolute() else (self.project_dir / path).resolve()

    @property
    def schema(self) -> str:
        default = "main" if self.target == "duckdb" else "okr_kpi"
        return os.environ.get("OKR_KPI_SCHEMA", default)

    @property
    def raw_schema(self) -> str:
        return os.environ.get("OKR_KPI_RAW_SCHEMA", "raw")

    @property
    def target_path(self) -> Path:
        return Path(os.environ.get("DBT_TARGET_PATH", self.project_dir / "target")).resolve()

    def env(self) -> dict[str, str]:
        """The environment dbt runs in: the caller's, with paths made absolute."""
        env = dict(os.environ)
        env["OKR_KPI_TARGET"] = self.target
        env["OKR_KPI_DUCKDB_PATH"] = str(self.duckdb_path)
        env.setdefault("DBT_PROFILES_DIR", str(self.project_dir))
        env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
        env.setdefault("DO_NOT_TRACK", "1")
        spark_wh = env.get("OKR_KPI_SPARK_WAREHOUSE", "spark-warehouse")
        if not Path(spark_wh).is_absolute():
            env["OKR_KPI_SPARK_WAREHOUSE"] = str(self.project_dir / spark_wh)
        return env

    # --- dbt -------------------------------------------------------------------------------
    def dbt_executable(self) -> str:
        local = Path(sys.executable).parent / "dbt"
        return str(local) if local.exists() else "dbt"

    def dbt_args(self, command: str, *args: str, vars: dict | None = None) -> list[str]:
        cmd = [self.dbt_executable(), command, "--project-dir", str(self.project_dir),
               "--profiles-dir", self.env()["DBT_PROFILES_DIR"], "--target", self.target, *args]
        if vars:
            import json

            cmd += ["--vars", json.dumps(vars)]
        return cmd

    def dbt(self, command: str, *args: str, vars: dict | None = None, capture: bool = False,
            check: bool = False) -> subprocess.CompletedProcess:
        """Run a dbt command in the project; returns the completed process."""
        if self.target == "spark":
            # dbt's Spark opens the embedded Derby metastore: this process must let go of it first.
            from okr_kpi.spark import release_local_session

            release_local_session()
        proc = subprocess.run(
            self.dbt_args(command, *args, vars=vars),
            cwd=self.project_dir,
            env=self.env(),
            text=True,
            stdout=subprocess.PIPE if capture else None,
            stderr=subprocess.STDOUT if capture else None,
        )
        if check and proc.returncode != 0:
            tail = (proc.stdout or "")[-4000:] if capture else ""
            raise OkrKpiError(f"dbt {command} failed (exit {proc.returncode})\n{tail}")
        return proc
