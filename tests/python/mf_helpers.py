"""Run `mf query` (MetricFlow) on a dbt project built by a test, and compare with fct_kpi_periods."""

from __future__ import annotations

import csv
import math
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

from harness import DEMO_DIR

MF = str(Path(sys.executable).parent / "mf")


def mf_query(project_dir: Path, env: dict[str, str], metrics: list[str], group_by: list[str],
             where: str | None = None) -> list[dict]:
    """Run `mf query` on a built dbt project; rows as dicts ('' -> None, numbers as float).

    mf reads the semantic manifest from <project>/target and ignores DBT_TARGET_PATH, so it runs
    in a shadow project directory: a copy of dbt_project.yml and a `target` link to
    env["DBT_TARGET_PATH"] (run `dbt parse` or `dbt build` first).
    """
    target = Path(env["DBT_TARGET_PATH"])
    shadow = target.parent / f"mf_project_{target.name}"
    shadow.mkdir(parents=True, exist_ok=True)
    shutil.copy(Path(project_dir) / "dbt_project.yml", shadow / "dbt_project.yml")
    link = shadow / "target"
    if not link.exists():
        link.symlink_to(target, target_is_directory=True)
    out = shadow / f"result_{uuid.uuid4().hex[:8]}.csv"
    cmd = [MF, "query", "--metrics", ",".join(metrics), "--group-by", ",".join(group_by), "--csv", str(out),
           "--quiet"]
    if where:
        cmd += ["--where", where]
    mf_env = {**env, "DBT_PROJECT_DIR": str(shadow)}
    mf_env.setdefault("DBT_PROFILES_DIR", str(DEMO_DIR))
    proc = subprocess.run(cmd, cwd=shadow, env=mf_env, text=True, capture_output=True)
    if proc.returncode != 0 or not out.exists():
        raise AssertionError(f"mf query failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout[-4000:]}\n"
                             f"{proc.stderr[-2000:]}")
    with out.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    out.unlink()

    def value(key: str, text: str):
        if text == "":
            return None
        if key.startswith("metric_time") or "__" in key:
            return text
        return float(text)

    return [{k: value(k, v) for k, v in row.items()} for row in rows]


GRAINS = ("day", "week", "month", "quarter", "year")


def periods_by_metric(rows: list[dict], grain: str) -> dict[tuple[str, str], float | None]:
    """mf rows (one per period, one column per metric) as {(metric, period_start): value}."""
    out: dict[tuple[str, str], float | None] = {}
    time_key = f"metric_time__{grain}"
    for row in rows:
        start = row[time_key][:10]
        for key, value in row.items():
            if key != time_key:
                out[(key, start)] = value
    return out


def mismatches(mf_values: dict, mart_values: dict, rel: float = 1e-9) -> list[tuple]:
    """Keys whose values differ between the two dicts (None == None; floats compared up to rounding)."""
    bad = []
    for key in sorted(set(mf_values) | set(mart_values)):
        a, b = mf_values.get(key, "missing"), mart_values.get(key, "missing")
        if a is None and b is None:
            continue
        numbers = isinstance(a, float) and isinstance(b, int | float)
        if numbers and math.isclose(a, b, rel_tol=rel, abs_tol=1e-9):
            continue
        bad.append((key, a, b))
    return bad
