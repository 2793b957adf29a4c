"""The Great Expectations workaround for DuckDB really computes results.

GX's SQL engine fetches results after closing the connection; with the stock duckdb_engine
dialect the result is gone and every expectation "fails" with the cause hidden in
exception_info (GX issues #10738, #11579). okr_kpi.checks.duckdb_buffered registers
`duckdb+buffered://`, whose cursor buffers the result at execute time.

Fixture: a table of the values 1..10 and one null, worked out by hand:
- between 0 and 7   -> 3 unexpected (8, 9, 10) out of 10 non-null values: must FAIL;
- between 0 and 100 -> 0 unexpected: must PASS;
- not null          -> 1 unexpected (the null): must FAIL.
"""

from __future__ import annotations

import duckdb
import great_expectations as gx
import great_expectations.expectations as gxe
import pytest
from okr_kpi.checks import duckdb_buffered
from okr_kpi.checks.runner import CheckResult, Outcome
from okr_kpi.checks.worker import _error_of
from okr_kpi.exit_codes import ExitCode


@pytest.fixture(scope="module")
def db_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("gx_duckdb") / "fixture.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema s")
    con.execute("create table s.t as select range::integer as v from range(1, 11) union all select null")
    con.close()
    return path


def validate(url: str, expectation):
    context = gx.get_context(mode="ephemeral")
    datasource = context.data_sources.add_sql(name="wh", connection_string=url)
    asset = datasource.add_query_asset(name="q", query="select v from s.t")
    batch = asset.add_batch_definition_whole_table("all").get_batch()
    return batch.validate(expectation)


def test_buffered_dialect_fails_a_check_that_must_fail(db_path):
    duckdb_buffered.register()
    result = validate(
        duckdb_buffered.connection_string(str(db_path)),
        gxe.ExpectColumnValuesToBeBetween(column="v", min_value=0, max_value=7),
    )
    assert _error_of(result) is None
    assert result.success is False
    assert result.result["unexpected_count"] == 3
    assert result.result["element_count"] == 11


def test_buffered_dialect_passes_a_check_that_must_pass(db_path):
    duckdb_buffered.register()
    result = validate(
        duckdb_buffered.connection_string(str(db_path)),
        gxe.ExpectColumnValuesToBeBetween(column="v", min_value=0, max_value=100),
    )
    assert _error_of(result) is None
    assert result.success is True
    assert result.result["unexpected_count"] == 0


def test_buffered_dialect_counts_nulls(db_path):
    duckdb_buffered.register()
    result = validate(
        duckdb_buffered.connection_string(str(db_path)), gxe.ExpectColumnValuesToNotBeNull(column="v")
    )
    assert (result.success, result.result["unexpected_count"]) == (False, 1)


def test_stock_dialect_error_is_reported_as_an_error_not_a_pass_or_breach(db_path):
    # Without the workaround the engine error hides in exception_info; okr-kpi surfaces it.
    result = validate(
        f"duckdb:///{db_path}?access_mode=read_only",
        gxe.ExpectColumnValuesToBeBetween(column="v", min_value=0, max_value=100),
    )
    error = _error_of(result)
    if error is None:  # GX or duckdb_engine fixed upstream: the workaround is then harmless
        pytest.skip("the stock duckdb dialect works with this GX version")
    assert result.success is False  # GX's own verdict would read as a failure ...
    outcome = Outcome(
        suite="s",
        expectation="between(v)",
        kpi_id="k",
        grain="day",
        success=None,
        unexpected_count=None,
        error=error,
        details={"kind": "threshold"},
    )
    checked = CheckResult(outcomes=[outcome])
    # ... okr-kpi reports it as an engine error: no breach, no data-quality failure, exit ERROR.
    assert checked.errors == [outcome]
    assert checked.threshold_breaches == set()
    assert checked.failures == []
    assert checked.exit_code() == ExitCode.ERROR


@pytest.fixture()
def small_cap(monkeypatch):
    monkeypatch.setattr(duckdb_buffered, "MAX_BUFFERED_ROWS", 1000)
    return 1000


@pytest.fixture(scope="module")
def big_path(tmp_path_factory):
    """5,000 rows (more than the small cap): v = 1..5000, every 100th value null (50 nulls)."""
    path = tmp_path_factory.mktemp("gx_duckdb_big") / "big.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema s")
    con.execute(
        "create table s.t as select case when i % 100 = 0 then null else i end as v "
        "from range(1, 5001) r(i)"
    )
    con.close()
    return path


def test_a_batch_larger_than_the_buffer_is_still_checked_in_the_warehouse(big_path, small_cap):
    # GX runs the batch query itself to read its column names: with the cap, that no longer
    # pulls the table into memory, and the metrics (aggregates) are still exact.
    duckdb_buffered.register()
    url = duckdb_buffered.connection_string(str(big_path))
    result = validate(url, gxe.ExpectColumnValuesToNotBeNull(column="v"))
    assert _error_of(result) is None
    assert (result.success, result.result["unexpected_count"], result.result["element_count"]) == (
        False,
        50,
        5000,
    )
    result = validate(url, gxe.ExpectColumnValuesToBeBetween(column="v", min_value=1, max_value=4900))
    assert (result.success, result.result["unexpected_count"]) == (False, 99)  # 4901..5000 minus 5000


def test_reading_past_the_buffer_is_an_error_never_a_short_result(big_path, small_cap):
    import sqlalchemy as sa

    duckdb_buffered.register()
    engine = sa.create_engine(duckdb_buffered.connection_string(str(big_path)))
    with engine.connect() as con:
        head = con.execute(sa.text("select v from s.t order by v nulls last")).fetchmany(10)
        assert [r[0] for r in head] == list(range(1, 11))
        assert len(con.execute(sa.text("select v from s.t limit 1000")).fetchall()) == 1000
        with pytest.raises(duckdb_buffered.ResultTooLarge, match="more than 1,000 rows"):
            con.execute(sa.text("select v from s.t")).fetchall()
    engine.dispose()


def test_old_results_and_their_pages_are_pruned(tmp_path):
    from okr_kpi.checks.worker import prune_results

    runs = ["20261101T060000.000000Z", "20261102T060000.000000Z", "20261103T060000.000000Z"]
    results = tmp_path / "uncommitted" / "validations"
    pages = tmp_path / "uncommitted" / "data_docs" / "local_site" / "validations"
    for suite in ("source__orders", "kpi_thresholds__revenue__week"):
        for run_time in runs:
            (results / suite / "okr_kpi_check" / run_time).mkdir(parents=True)
            (results / suite / "okr_kpi_check" / run_time / "batch.json").write_text("{}")
            (pages / suite / "okr_kpi_check" / run_time).mkdir(parents=True)
            (pages / suite / "okr_kpi_check" / run_time / "batch.html").write_text("<html/>")
    # a suite that only ran on the oldest day: nothing of it is left afterwards
    (results / "source__gone" / "okr_kpi_check" / runs[0]).mkdir(parents=True)
    assert prune_results(tmp_path, keep_runs=2) == [runs[0]]
    for root in (results, pages):
        left = sorted(p.relative_to(root).as_posix() for p in root.glob("*/*/*"))
        assert left == [
            f"{suite}/okr_kpi_check/{run_time}"
            for suite in ("kpi_thresholds__revenue__week", "source__orders")
            for run_time in runs[1:]
        ]
    assert not (results / "source__gone").exists()
    assert prune_results(tmp_path, keep_runs=2) == []  # nothing more to do
