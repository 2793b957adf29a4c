"""The same package gives the same marts on DuckDB, PostgreSQL and a Spark cluster (over thrift).

The demo company (a small `okr-kpi generate --rows 20000 --seed 42`) is loaded into each
warehouse by the product's own loader and built with the whole project (`dbt build`, demo on,
as_of_date pinned). The marts BI reads are then compared row by row against DuckDB, the
reference: keys, texts, dates and booleans must be identical; floats may differ by rounding only.

(The hand-computed KPI values run on every target in test_kpi_aggregation.py; this module proves
that everything else -- OKR scoring, thresholds, anomalies, breach ids -- agrees as well.)
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import subprocess
import sys
from pathlib import Path

import pytest
from harness import (
    CLUSTER,
    DEMO_DIR,
    TARGETS,
    ConsumerProject,
    drop_cluster_schemas,
    drop_postgres_schemas,
    release_spark,
    require_target,
    start_target,
    target_env,
)

DEMO_ROWS = 20_000
DEMO_SEED = 42
AS_OF = "2026-08-31"
OKR_KPI = str(Path(sys.executable).parent / "okr-kpi")

# Each mart and the columns that identify a row.
MARTS = {
    "fct_kpi_periods": ("kpi_id", "grain", "period_start"),
    "fct_key_result_progress": ("key_result_id", "date_day"),
    "fct_kpi_breaches": ("kpi_id", "grain", "period_start", "rule"),
}
REL_TOL = 1e-9
ABS_TOL = 1e-9


def build_demo(target: str, tmp_path: Path) -> ConsumerProject:
    """Generate the demo company into `target` and build the whole project on it."""
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


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return build_demo("duckdb", tmp_path_factory.mktemp("demo_duckdb"))


@pytest.fixture(scope="module", params=[p for p in TARGETS if p.values[0] != "duckdb"])
def other(request, tmp_path_factory):
    """The demo built once on PostgreSQL, once on the Spark cluster (each cleaned up after its tests)."""
    target = start_target(request)
    project = None
    try:
        project = build_demo(target, tmp_path_factory.mktemp(f"demo_{target}"))
        yield project
    finally:
        if target == "postgres" and project is not None:
            drop_postgres_schemas(project.env)
        if target == "spark":
            release_spark()
        if target == CLUSTER and project is not None:
            drop_cluster_schemas(project.env)


def normalized(value):
    """A value in a form comparable across drivers (dates as ISO text, decimals as floats)."""
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def rows_by_key(project: ConsumerProject, mart: str) -> dict[tuple, dict]:
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


def test_same_demo_data_on_every_target(reference, other):
    # The raw tables (loaded by each warehouse's own loader) hold the same rows.
    counts = ("select count(*) as n, sum(amount) as amount, min(ordered_at) as first_at "
              "from {raw}.orders")
    want, got = reference.query(counts)[0], other.query(counts)[0]
    assert want["n"] > 0 and got["n"] == want["n"]
    assert same(float(got["amount"]), float(want["amount"]))
    assert normalized(got["first_at"]) == normalized(want["first_at"])


@pytest.mark.parametrize("mart", list(MARTS))
def test_marts_equal_across_warehouses(reference, other, mart):
    want = rows_by_key(reference, mart)
    got = rows_by_key(other, mart)
    assert want, f"{mart} is empty on duckdb: nothing would be compared"
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
                diffs.append(f"{key} {column}: duckdb {row[column]!r}, {other.target} {got[key][column]!r}")
    assert not diffs, f"{mart}: {len(diffs)} values differ on {other.target}:\n" + "\n".join(diffs[:20])


def test_the_comparison_notices_a_difference(reference):
    # The comparison is not vacuous: a changed value, a changed type of null and a lost row all count.
    want = rows_by_key(reference, "fct_kpi_periods")
    key, row = next((k, r) for k, r in want.items() if isinstance(r["value"], float) and r["value"])
    assert same(row["value"], row["value"] * (1 + 1e-12))
    assert not same(row["value"], row["value"] * (1 + 1e-6))
    assert not same(row["value"], None)
    assert not same(True, None)
