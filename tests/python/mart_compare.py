"""Row-by-row comparison of the marts BI reads between two warehouses (test_targets: PostgreSQL
against DuckDB; test_checks_spark: the Spark cluster against DuckDB, on the demo that module's
`okr-kpi run` built, so that the cluster builds the demo once for both).

Keys, texts, dates and booleans must be identical; floats may differ by rounding only.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import subprocess
import sys
from pathlib import Path

from harness import DEMO_DIR, ConsumerProject, release_spark, require_target, target_env

DEMO_ROWS = 20_000
DEMO_SEED = 42
AS_OF = "2026-08-31"
OKR_KPI = str(Path(sys.executable).parent / "okr-kpi")



def build_demo(target: str, tmp_path: Path) -> ConsumerProject:
    """Generate the demo company (20,000 rows, seed 42) into `target` and `dbt build` the whole
    project on it, as_of 2026-08-31."""
    require_target(target)
    env = target_env(tmp_path, target)
    env["OKR_KPI_PROJECT_DIR"] = str(DEMO_DIR)
    project = ConsumerProject(path=DEMO_DIR, env=env, target=target, vars={"as_of_date": AS_OF})
    if target == "spark":
        release_spark()
    proc = subprocess.run([OKR_KPI, "generate", "--target", target, "--rows", str(DEMO_ROWS),
                           "--seed", str(DEMO_SEED)], cwd=DEMO_DIR, env=env, text=True, capture_output=True)
    assert proc.returncode == 0, f"okr-kpi generate --target {target} failed:\n{proc.stdout}\n{proc.stderr}"
    project.dbt("build")
    return project


# Each mart and the columns that identify a row.
MARTS = {
    "fct_kpi_periods": ("kpi_id", "grain", "period_start"),
    "fct_key_result_progress": ("key_result_id", "date_day"),
    "fct_kpi_breaches": ("kpi_id", "grain", "period_start", "rule"),
}
REL_TOL = 1e-9
ABS_TOL = 1e-9


def normalized(value):
    """A value in a form comparable across drivers (dates as ISO text, decimals as floats)."""
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def rows_by_key(project, mart: str) -> dict[tuple, dict]:
    """`project`: anything with .query(sql) ({schema} replaced) and .target (harness.ConsumerProject)."""
    rows = project.query(f"select * from {{schema}}.{mart}")
    keys = MARTS[mart]
    out = {}
    for row in rows:
        row = {name.lower(): normalized(value) for name, value in row.items()}
        key = tuple(row[k] for k in keys)
        assert key not in out, f"{mart}: key {key} twice on {project.target}"
        out[key] = row
    return out


def same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is None and b is None
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b and (a is None) == (b is None)
    return a == b


def assert_same_raw_data(reference, other) -> None:
    """The raw tables (loaded by each warehouse's own loader) hold the same rows."""
    counts = ("select count(*) as n, sum(amount) as amount, min(ordered_at) as first_at "
              "from {raw}.orders")
    want, got = reference.query(counts)[0], other.query(counts)[0]
    assert want["n"] > 0 and got["n"] == want["n"]
    assert same(float(got["amount"]), float(want["amount"]))
    assert normalized(got["first_at"]) == normalized(want["first_at"])


def assert_mart_equal(reference, other, mart: str) -> None:
    want = rows_by_key(reference, mart)
    got = rows_by_key(other, mart)
    assert want, f"{mart} is empty on {reference.target}: nothing would be compared"
    missing = sorted(set(want) - set(got))[:5]
    extra = sorted(set(got) - set(want))[:5]
    assert not missing and not extra, (
        f"{mart} on {other.target}: {len(set(want) - set(got))} rows missing (e.g. {missing}), "
        f"{len(set(got) - set(want))} extra (e.g. {extra})")
    columns = set(next(iter(want.values())))
    assert set(next(iter(got.values()))) == columns, f"{mart}: columns differ on {other.target}"
    diffs = []
    for key, row in want.items():
        for column in sorted(columns):
            if not same(row[column], got[key][column]):
                diffs.append(f"{key} {column}: {reference.target} {row[column]!r}, "
                             f"{other.target} {got[key][column]!r}")
    assert not diffs, f"{mart}: {len(diffs)} values differ on {other.target}:\n" + "\n".join(diffs[:20])
