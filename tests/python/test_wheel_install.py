"""okr-kpi from a built wheel, in a fresh virtualenv outside the checkout (docs/install.md).

- the DuckDB-only install (no extra) gives a working `okr-kpi`, carries its package data (GX
  template, init templates, the dbt package) and holds no Spark, PostgreSQL or MetricFlow;
- a missing extra is named with the pip command that installs it (exit 2);
- `okr-kpi init` on a DuckDB file with a raw table, then `dbt deps`, `dbt build` and
  `okr-kpi run`, all from that venv with the scaffolded project as cwd: a first report, and
  marts whose values equal counts this test makes from the raw rows itself.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import subprocess
from collections import Counter
from pathlib import Path

import duckdb
import pytest
import yaml
from wheel_env import (  # noqa: F401  (registers the fixtures `wheel_env`, `wheel_env_postgres`)
    REPO,
    venv_environ,
    wheel_env_fixture,
    wheel_env_postgres_fixture,
)

AS_OF = dt.date(2026, 6, 30)
FIRST_DAY = dt.date(2025, 11, 1)


def run(bin_dir: Path, *args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(bin_dir / args[0]), *args[1:]], cwd=cwd, env=venv_environ(bin_dir, **env),
                          text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def project_version() -> str:
    import tomllib

    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


def test_the_wheel_installs_a_working_okr_kpi(wheel_env, tmp_path):
    proc = run(wheel_env, "okr-kpi", "--version", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout.strip() == f"okr-kpi, version {project_version()}"
    # The toolkit imported is the venv's, not the checkout's; its package data is there.
    probe = (
        "import json, okr_kpi, okr_kpi.resources as r; from pathlib import Path; "
        "print(json.dumps({'file': okr_kpi.__file__, 'package': str(r.dbt_package_dir()), "
        "'gx': r.gx_template_text(), "
        "'templates': sorted(p.name for p in r.init_templates_dir().iterdir())}))"
    )
    proc = run(wheel_env, "python", "-c", probe, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout
    info = json.loads(proc.stdout)
    venv_dir = wheel_env.parent
    assert Path(info["file"]).is_relative_to(venv_dir), info
    assert not Path(info["file"]).is_relative_to(REPO)
    package = Path(info["package"])
    assert package.is_relative_to(venv_dir) and package.name == "dbt_package"
    assert yaml.safe_load((package / "dbt_project.yml").read_text())["name"] == "okr_kpi"
    assert (package / "models" / "kpis" / "fct_kpi_periods.sql").is_file()
    assert (package / "macros").is_dir()
    assert "config_version: 4" in info["gx"] and "analytics_enabled: false" in info["gx"]
    assert "dbt_project.yml.j2" in info["templates"]
    # what only this repository needs is not in the wheel
    assert not (package / "scripts").exists() and not (package / "Makefile").exists()


def test_the_duckdb_only_install_holds_no_spark_postgres_or_metricflow(wheel_env, tmp_path):
    modules = ["pyspark", "psycopg2", "metricflow", "dbt_metricflow", "dbt.adapters.postgres",
               "dbt.adapters.spark", "pyhive", "pyarrow"]
    probe = ("import importlib.util, json, sys; "
             f"print(json.dumps({{m: importlib.util.find_spec(m) is not None for m in {modules!r}}}))")
    proc = run(wheel_env, "python", "-c", probe, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout
    assert json.loads(proc.stdout) == dict.fromkeys(modules, False)
    # ... but everything a DuckDB user runs
    for module in ("dbt.adapters.duckdb", "great_expectations", "duckdb_engine"):
        proc = run(wheel_env, "python", "-c", f"import {module}", cwd=tmp_path)
        assert proc.returncode == 0, proc.stdout
    assert not (wheel_env / "mf").exists()


def test_a_missing_extra_is_named_with_its_pip_command(wheel_env, tmp_path):
    code = ("import sys; from okr_kpi.extras import require\n"
            "try:\n    require('psycopg2', 'postgres')\n"
            "except Exception as err:\n    print(type(err).__name__, err.exit_code, err); sys.exit(0)\n"
            "sys.exit('no error')")
    proc = run(wheel_env, "python", "-c", code, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout.startswith("MissingExtra 2 ")
    assert "pip install 'okr-kpi[postgres]'" in proc.stdout


def test_the_postgres_extra_adds_the_postgres_adapter_and_nothing_else(wheel_env_postgres, tmp_path):
    modules = ["psycopg2", "dbt.adapters.postgres", "pyarrow", "pyspark", "metricflow", "pyhive"]
    probe = ("import importlib.util, json; from okr_kpi.extras import require; "
             "require('psycopg2', 'postgres'); "
             f"print(json.dumps({{m: importlib.util.find_spec(m) is not None for m in {modules!r}}}))")
    proc = run(wheel_env_postgres, "python", "-c", probe, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout
    assert json.loads(proc.stdout) == {"psycopg2": True, "dbt.adapters.postgres": True, "pyarrow": True,
                                       "pyspark": False, "metricflow": False, "pyhive": False}


def write_raw_table(path: Path) -> list[dt.datetime]:
    """A clinic's raw visits (schema raw), one to nine a day; returns their timestamps."""
    rng = random.Random(20261201)
    stamps = []
    day = FIRST_DAY
    while day <= AS_OF:
        for _ in range(rng.randint(1, 9)):
            stamps.append(dt.datetime.combine(day, dt.time(rng.randint(0, 23), rng.randint(0, 59))))
        day += dt.timedelta(days=1)
    con = duckdb.connect(str(path))
    con.execute("create schema raw")
    con.execute("create table raw.visits (visit_id integer, visited_at timestamp, fee double)")
    con.executemany("insert into raw.visits values (?, ?, ?)",
                    [(i, stamp, 10.0 + i % 7) for i, stamp in enumerate(stamps)])
    con.close()
    return stamps


def test_init_then_a_first_run_on_the_users_own_table(wheel_env, tmp_path):
    warehouse = tmp_path / "clinic.duckdb"
    stamps = write_raw_table(warehouse)
    project = tmp_path / "clinic_kpis"

    proc = run(wheel_env, "okr-kpi", "init", str(project), "--source", "raw.visits",
               "--date-column", "visited_at", "--duckdb", str(warehouse), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout
    seeds = sorted(p.stem for p in (project / "seeds").glob("*.csv"))
    assert seeds == ["kpi_definitions", "kpi_thresholds", "okr_check_ins", "okr_cycles",
                     "okr_key_results", "okr_objectives"]
    for seed in (project / "seeds").glob("*.csv"):
        assert len(seed.read_text().splitlines()) >= 2, f"{seed.name}: a header and an example row"
    profile = yaml.safe_load((project / "profiles.yml").read_text())
    assert list(profile) == ["clinic_kpis"]
    assert yaml.safe_load((project / "dbt_project.yml").read_text())["profile"] == "clinic_kpis"
    packages = yaml.safe_load((project / "packages.yml").read_text())["packages"]
    assert Path(packages[0]["local"]).is_relative_to(wheel_env.parent), "the package shipped in the wheel"
    assert (project / "README.md").is_file()

    proc = run(wheel_env, "okr-kpi", "lint", cwd=project)
    assert proc.returncode == 0, proc.stdout  # advice (2 key results, 3-5 recommended) only
    proc = run(wheel_env, "dbt", "deps", cwd=project)
    assert proc.returncode == 0, proc.stdout
    as_of = json.dumps({"as_of_date": AS_OF.isoformat()})
    proc = run(wheel_env, "dbt", "build", "--vars", as_of, "--log-format", "json", cwd=project)
    assert proc.returncode == 0, proc.stdout[-6000:]
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    warnings = [e["info"]["msg"] for e in events if e["info"]["level"] == "warn"]
    # The package brings no demo company and no warning: the scaffold builds with none at all.
    assert warnings == []

    # The toolkit reads the project's profile: no OKR_KPI_* variable.
    proc = run(wheel_env, "okr-kpi", "run", "--as-of", AS_OF.isoformat(), cwd=project)
    assert proc.returncode in (0, 10), proc.stdout[-6000:]
    assert not (project / "okr_kpi.duckdb").exists(), "the warehouse is the profile's DuckDB file"
    report = project / "reports" / "report.html"
    assert report.is_file()
    html = report.read_text()
    assert "Rows of visits" in html and "Make visits grow" in html

    # The marts against counts of the raw rows.
    per_day = Counter(stamp.date() for stamp in stamps)
    per_month = Counter(stamp.date().replace(day=1) for stamp in stamps)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            "select grain, period_start, value, is_complete from analytics.fct_kpi_periods "
            "where kpi_id = 'visits_rows' and grain in ('day', 'month')").fetchall()
        key_results = con.execute(
            "select key_result_id, current_value from analytics.fct_key_result_progress "
            "where date_day = ? order by key_result_id", [AS_OF]).fetchall()
    finally:
        con.close()
    days = {start: value for grain, start, value, _ in rows if grain == "day"}
    months = {start: value for grain, start, value, _ in rows if grain == "month"}
    assert days == {day: pytest.approx(n) for day, n in per_day.items()}
    assert months == {month: pytest.approx(n) for month, n in per_month.items()}
    # The example key result reads the last complete week (Monday to Sunday) before AS_OF.
    last_sunday = AS_OF - dt.timedelta(days=(AS_OF.weekday() + 1) % 7)
    week = sum(n for day, n in per_day.items() if last_sunday - dt.timedelta(days=6) <= day <= last_sunday)
    assert key_results[0] == ("co-2026-q2-kpi", pytest.approx(week))
    assert key_results[1][0] == "co-2026-q2-report"


def test_init_refuses_a_non_empty_directory_from_the_wheel(wheel_env, tmp_path):
    project = tmp_path / "taken"
    project.mkdir()
    (project / "notes.txt").write_text("mine")
    proc = run(wheel_env, "okr-kpi", "init", str(project), "--source", "raw.visits",
               "--date-column", "visited_at", cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout
    assert "is not empty" in proc.stdout
    assert sorted(p.name for p in project.iterdir()) == ["notes.txt"]
