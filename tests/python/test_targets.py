"""The same package gives the same marts on DuckDB and PostgreSQL (and on a Spark cluster: there
the comparison runs in test_checks_spark.py, on the demo its `okr-kpi run` built, so that the
cluster builds the demo once for both modules).

The demo company (a small `okr-kpi generate --rows 20000 --seed 42`) is loaded into each
warehouse by the product's own loader and built with the whole project (`dbt build`, demo on,
as_of_date pinned). The marts BI reads are then compared row by row against DuckDB, the
reference (mart_compare.py): keys, texts, dates and booleans must be identical; floats may
differ by rounding only.

(The hand-computed KPI values run on every target in test_kpi_aggregation.py; this module proves
that everything else -- OKR scoring, thresholds, anomalies, breach ids -- agrees as well.)
"""

from __future__ import annotations

import pytest
from harness import TARGETS, drop_postgres_schemas, start_target
from mart_compare import MARTS, assert_mart_equal, assert_same_raw_data, build_demo, rows_by_key, same


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return build_demo("duckdb", tmp_path_factory.mktemp("demo_duckdb"))


@pytest.fixture(scope="module", params=[p for p in TARGETS if p.values[0] == "postgres"])
def other(request, tmp_path_factory):
    """The demo built once on PostgreSQL (cleaned up after its tests)."""
    target = start_target(request)
    project = None
    try:
        project = build_demo(target, tmp_path_factory.mktemp(f"demo_{target}"))
        yield project
    finally:
        if project is not None:
            drop_postgres_schemas(project.env)


def test_same_demo_data_on_every_target(reference, other):
    assert_same_raw_data(reference, other)


@pytest.mark.parametrize("mart", list(MARTS))
def test_marts_equal_across_warehouses(reference, other, mart):
    assert_mart_equal(reference, other, mart)


def test_the_comparison_notices_a_difference(reference):
    # The comparison is not vacuous: a changed value, a changed type of null and a lost row all count.
    want = rows_by_key(reference, "fct_kpi_periods")
    key, row = next((k, r) for k, r in want.items() if isinstance(r["value"], float) and r["value"])
    assert same(row["value"], row["value"] * (1 + 1e-12))
    assert not same(row["value"], row["value"] * (1 + 1e-6))
    assert not same(row["value"], None)
    assert not same(True, None)

    class Altered:
        """The reference with one row of fct_kpi_periods lost, or one value changed."""
        target = "altered"

        def __init__(self, change):
            self.change = change

        def query(self, sql):
            return self.change(reference.query(sql))

    lose_last = Altered(lambda rows: rows[:-1])
    with pytest.raises(AssertionError, match="1 rows missing"):
        assert_mart_equal(reference, lose_last, "fct_kpi_periods")

    def bump(rows):
        rows = [dict(r) for r in rows]
        first = next(r for r in rows if isinstance(r.get("value"), float) and r["value"])
        first["value"] *= 1.001
        return rows
    with pytest.raises(AssertionError, match="1 values differ"):
        assert_mart_equal(reference, Altered(bump), "fct_kpi_periods")
