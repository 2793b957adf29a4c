"""Runs the Great Expectations suites of one `okr-kpi check` or `okr-kpi run`: in the caller's
process (`run_safely(spec)`, what runner.run_checks does: the context and suites built once per
run), or in a process of its own:

    python -m okr_kpi.checks.worker SPEC.json RESULT.json

SPEC (written by runner.py): the adapter's datasource (okr_kpi.adapters: Adapter.gx_datasource:
dialect, engine "sql" or "spark", setup: a module whose register() runs first; for the spark
engine `spark`: warehouse_dir, metastore_dir, conf), gx_dir, relations (threshold_candidates,
kpi_thresholds), as_of, source_expectations (mirrors of the dbt source tests). The connection
string of the SQL engine is read from the
environment variable OKR_KPI_GX_CONNECTION_STRING, so it never lands in a file.
RESULT: {"outcomes": [...], "data_docs_path": ...}; an exception outside the expectations is
reported as {"fatal": message}. As a process of its own it exits with os._exit after flushing,
so that nothing the DuckDB extension prints at interpreter shutdown reaches the user.

On Spark (engine "spark") the worker opens the local session of okr_kpi.spark -- the warehouse
directory and Derby metastore dbt uses -- and GX's Spark datasource (SparkDFExecutionEngine)
reuses it: every batch is a DataFrame asset whose data is `spark.sql(query)`, a lazy Spark
DataFrame, so each metric is computed by Spark (nothing is collected into pandas). In the run's
process the session stays open for the publishing step; a worker process stops it and its JVM
before it exits, releasing the metastore for its parent.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sys
import traceback
from pathlib import Path

CONNECTION_ENV = "OKR_KPI_GX_CONNECTION_STRING"
DATASOURCE = "okr_kpi_warehouse"
THRESHOLD_SUITE_PREFIX = "kpi_thresholds"
MAX_UNEXPECTED_PERIODS = 100_000
# Validation results (and their Data Docs pages) of this many runs are kept; older ones are
# deleted, so the context does not grow with every nightly run (spec "keep_runs"; config
# checks.keep_runs).
DEFAULT_KEEP_RUNS = 30
RUN_NAME = "okr_kpi_check"


def _sql_literal(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _error_of(result) -> str | None:
    """The engine error hidden in an ExpectationValidationResult's exception_info, if any."""
    info = result.exception_info or {}
    candidates = [info] if "raised_exception" in info else list(info.values())
    for item in candidates:
        if isinstance(item, dict) and item.get("raised_exception"):
            return str(item.get("exception_message") or "unknown engine error")
    return None


_SPARK_ERROR = "okr_kpi_error"  # batch parameters of a Spark query that could not be planned


def _failed_suite(vd, message: str):
    """A suite whose batch could not be built: every expectation of it is an engine error."""
    from types import SimpleNamespace

    return SimpleNamespace(
        suite_name=vd.suite.name,
        results=[
            SimpleNamespace(
                expectation_config=e.configuration,
                exception_info={"raised_exception": True, "exception_message": message},
                result={},
                success=False,
            )
            for e in vd.suite.expectations
        ],
    )


def read_thresholds(engine, relation: str, spark=None) -> list[dict]:
    """The threshold rows, through a SQLAlchemy `engine` or (the spark dialect) a SparkSession."""
    sql = f"select * from {relation} order by kpi_id, grain, severity"
    if spark is not None:
        rows = [row.asDict() for row in spark.sql(sql).collect()]
    else:
        import sqlalchemy as sa

        with engine.connect() as con:
            rows = con.execute(sa.text(sql)).mappings().all()
    out = []
    for row in rows:
        if str(row.get("segment_dimension") or "").strip() not in ("", "None"):
            continue  # a segment's threshold (docs/segments.md): not a bound of the KPI's total

        def num(v):
            return None if v is None or str(v).strip() == "" else float(v)

        out.append(
            {
                "kpi_id": str(row["kpi_id"]),
                "grain": str(row["grain"]),
                "severity": str(row["severity"]),
                "lower_bound": num(row["lower_bound"]),
                "upper_bound": num(row["upper_bound"]),
            }
        )
    return out


UNIQUE = "ExpectColumnValuesToBeUnique"


def source_batches(spec: dict) -> dict[tuple[str, str, str], tuple[str, list[dict]]]:
    """(schema, table, suite suffix) -> (batch query, expectations) of the source expectations.

    Without a window (spec "since" empty) or for a table without event_time: one batch of the
    whole table, suite `source__<table>`. With a window, the rule of the dbt tests
    (macros/checks/recent_rows.sql), in one batch per table for the column expectations (suite
    `source__<table>`): the recent rows, the rows whose event_time is null, and the rows whose
    value of a uniqueness-tested column appears on a recent row (so a new row that repeats an
    old key still fails the uniqueness expectation). Table-level expectations (row counts) read
    the whole table, in a batch of their own (`source__<table>__all_rows`).
    """
    since = spec.get("since")
    grouped: dict[tuple[str, str, str], list[dict]] = {}
    for item in spec.get("source_expectations", []):
        windowed = bool(since and item.get("event_time"))
        part = "__all_rows" if windowed and not item["kwargs"].get("column") else ""
        grouped.setdefault((item["schema"], item["table"], part), []).append(item)
    batches: dict[tuple[str, str, str], tuple[str, list[dict]]] = {}
    for key, items in grouped.items():
        relation, event_time = items[0]["relation"], items[0].get("event_time")
        query = f"select * from {relation}"
        if since and event_time and not key[2]:
            unique = sorted({i["kwargs"]["column"] for i in items if i["expectation"] == UNIQUE})
            query = recent_rows_query(relation, event_time, since, unique)
        batches[key] = (query, items)
    return batches


def recent_rows_query(relation: str, event_time: str, since: str, unique: list[str]) -> str:
    """The rows a windowed batch reads: recent rows R (event_time >= since), rows with a null
    event_time N, and rows whose value of a uniqueness-tested column appears in R (K).

    With one such column, R ∪ N ∪ K as two disjoint parts joined by `union all`: the rows whose
    key is among R's keys (K, which holds every row of R with a key), then the others that are
    in N, or in R without a key. The warehouse runs that as a semi-join and an anti-join, about
    5× faster on DuckDB than the equivalent `or` of the three conditions (measured at 10M rows:
    0.04 s against 0.2 s per metric query); with several such columns the `or` form is used."""
    recent = f"{event_time} >= cast({_sql_literal(since)} as timestamp)"
    if not unique:
        return f"select * from {relation} where {recent} or {event_time} is null"
    if len(unique) == 1:
        # `not exists` (not `not in` under an `or`): PostgreSQL and Spark plan it as an anti-join
        column, recent_s = unique[0], f"s.{event_time} >= cast({_sql_literal(since)} as timestamp)"
        return (
            f"select * from {relation} where {column} in (select {column} from {relation} where {recent}) "
            f"union all select r.* from {relation} r "
            f"where (r.{event_time} is null or (r.{recent} and r.{column} is null)) "
            f"and not exists (select 1 from {relation} s where {recent_s} and s.{column} = r.{column})"
        )
    keep = [recent, f"{event_time} is null"]
    keep += [f"{c} in (select {c} from {relation} where {recent})" for c in unique]
    return f"select * from {relation} where " + " or ".join(f"({c})" for c in keep)


def run(spec: dict) -> dict:
    """Run the suites; great_expectations.yml is restored afterwards (GX writes the run's datasource
    into it), so the committed context config does not change with every run. Every connection
    the suites opened is closed afterwards (they ran in the caller's process)."""
    import warnings

    config = Path(spec["gx_dir"]) / "great_expectations.yml"
    original = config.read_text()
    try:
        with warnings.catch_warnings():
            # e.g. SQLAlchemy's "will not make use of SQL compilation caching" for duckdb_engine:
            # the user sees the checks' summary, not the libraries' warnings
            warnings.simplefilter("ignore")
            return _run(spec)
    finally:
        config.write_text(original)
        if spec.get("setup"):
            import importlib

            closer = getattr(importlib.import_module(spec["setup"]), "close_all", None)
            if closer is not None:
                closer()


def _run(spec: dict) -> dict:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    if spec.get("setup"):  # the adapter's SQLAlchemy setup (DuckDB: the buffered dialect)
        import importlib

        importlib.import_module(spec["setup"]).register()
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.core.run_identifier import RunIdentifier

    # Suites, validation definitions and checkpoints are rebuilt from the seeds and the manifest on
    # every run: start from empty stores (results and Data Docs are kept).
    for derived in ("expectations", "validation_definitions", "checkpoints"):
        shutil.rmtree(Path(spec["gx_dir"]) / "uncommitted" / derived, ignore_errors=True)
    context = gx.get_context(mode="file", context_root_dir=spec["gx_dir"])
    try:
        context.data_sources.delete(DATASOURCE)
    except Exception:
        pass
    spark = None
    if spec.get("engine") == "spark":
        from okr_kpi.adapters.spark import local_session

        # The session of okr_kpi.spark (dbt's warehouse dir and metastore); GX reuses the active
        # session (an empty spark_config changes nothing in it).
        spark = local_session(Path(spec["spark"]["warehouse_dir"]), Path(spec["spark"]["metastore_dir"]),
                              spec["spark"].get("conf"))
        datasource = context.data_sources.add_spark(name=DATASOURCE)
        engine = None
    else:
        import sqlalchemy as sa

        datasource = context.data_sources.add_sql(
            name=DATASOURCE, connection_string="${" + CONNECTION_ENV + "}"
        )
        engine = sa.create_engine(os.environ[CONNECTION_ENV])

    def add_batch(name: str, query: str):
        """(batch definition, batch parameters) of the result of `query`, computed in the warehouse."""
        if spark is not None:
            asset = datasource.add_dataframe_asset(name=name)
            batch_definition = asset.add_batch_definition_whole_dataframe("all")
            try:
                # a lazy DataFrame: GX's metrics become Spark jobs on it
                return batch_definition, {"dataframe": spark.sql(query)}
            except Exception as err:  # e.g. a missing table: an engine error of this suite only
                reason = (str(err).strip().splitlines() or [type(err).__name__])[0]
                return batch_definition, {_SPARK_ERROR: f"Spark SQL failed: {reason}"}
        asset = datasource.add_query_asset(name=name, query=query)
        return asset.add_batch_definition_whole_table("all"), None

    plans = []  # (kind, suite name, batch definition, batch parameters, [(expectation, meta)])

    # 1. KPI thresholds: one query asset per (kpi, grain), one expectation per severity row. A
    #    relation they read that is not built (a partial `dbt build --select ...`) is reported
    #    once, and the threshold suites are left out (not one catalog error per suite).
    not_built = missing_relations(spec, engine, spark)
    thresholds = [] if not_built else read_thresholds(engine, spec["relations"]["kpi_thresholds"], spark)
    by_kpi_grain: dict[tuple[str, str], list[dict]] = {}
    for row in thresholds:
        if row["lower_bound"] is None and row["upper_bound"] is None:
            continue
        by_kpi_grain.setdefault((row["kpi_id"], row["grain"]), []).append(row)
    as_of_filter = (
        f" and period_end <= cast({_sql_literal(spec['as_of'])} as date)" if spec.get("as_of") else ""
    )
    for (kpi_id, grain), rows in sorted(by_kpi_grain.items()):
        batch_definition, batch_parameters = add_batch(
            f"periods__{kpi_id}__{grain}",
            # the periods dbt's int_kpi_threshold_candidates judges (the rule's one definition):
            # this query only picks the KPI's and grain's rows
            f"select kpi_id, grain, period_start, value from {spec['relations']['threshold_candidates']} "
            f"where kpi_id = {_sql_literal(kpi_id)} and grain = {_sql_literal(grain)}{as_of_filter}",
        )
        expectations = []
        for row in rows:
            expectations.append(
                (
                    gxe.ExpectColumnValuesToBeBetween(
                        column="value",
                        min_value=row["lower_bound"],
                        max_value=row["upper_bound"],
                        meta={"okr_kpi": {"kind": "threshold", **row}},
                    ),
                    row,
                )
            )
        plans.append(
            (
                "threshold",
                f"{THRESHOLD_SUITE_PREFIX}__{kpi_id}__{grain}",
                batch_definition,
                batch_parameters,
                expectations,
            )
        )

    # 2. Source expectations: mirrors of the dbt source tests, one query asset per source table
    #    (and, with a window, per part of it: see source_batches).
    for (schema, table, part), (query, items) in sorted(source_batches(spec).items()):
        # A query asset rather than a table asset: GX's table assets drop the schema on DuckDB.
        batch_definition, batch_parameters = add_batch(f"source__{schema}__{table}{part}", query)
        expectations = []
        for item in items:
            cls = getattr(gxe, item["expectation"])
            expectations.append(
                (
                    cls(
                        **item["kwargs"],
                        meta={
                            "okr_kpi": {
                                "kind": "source",
                                **{k: item[k] for k in ("test_name", "test_id", "severity", "source")},
                            }
                        },
                    ),
                    item,
                )
            )
        plans.append(("source", f"source__{table}{part}", batch_definition, batch_parameters, expectations))

    validation_definitions: dict[str, list] = {"threshold": [], "source": []}
    # The stores of suites, validation definitions and checkpoints were emptied above, and every
    # name below is used once per run: each is added, never replaced.
    for kind, suite_name, batch_definition, batch_parameters, expectations in plans:
        suite = context.suites.add(
            gx.ExpectationSuite(
                name=suite_name, expectations=[expectation for expectation, _ in expectations]
            )
        )
        name = f"vd__{suite_name}"
        validation_definitions[kind].append(
            (
                context.validation_definitions.add(
                    gx.ValidationDefinition(name=name, data=batch_definition, suite=suite)
                ),
                batch_parameters,
            )
        )

    # Thresholds need every unexpected period (COMPLETE, indexed by period_start); sources a summary.
    result_formats = {
        # GX caps the unexpected index list at partial_unexpected_count, even with COMPLETE.
        "threshold": {
            "result_format": "COMPLETE",
            "unexpected_index_column_names": ["period_start"],
            "partial_unexpected_count": MAX_UNEXPECTED_PERIODS,
        },
        "source": {"result_format": "SUMMARY"},
    }
    outcomes = []
    data_docs_path = None
    run_id = RunIdentifier(run_name=RUN_NAME, run_time=dt.datetime.now(dt.UTC))
    for kind, definitions in validation_definitions.items():
        if not definitions:
            continue
        if spark is not None:
            # Batch parameters (the DataFrame) are per validation definition, a checkpoint's are
            # shared: run each definition (its result is stored), build Data Docs once at the end.
            suite_results = [
                _failed_suite(vd, batch_parameters[_SPARK_ERROR])
                if _SPARK_ERROR in batch_parameters
                else vd.run(
                    batch_parameters=batch_parameters, result_format=result_formats[kind], run_id=run_id
                )
                for vd, batch_parameters in definitions
            ]
        else:
            checkpoint = context.checkpoints.add(
                gx.Checkpoint(
                    name=f"okr_kpi_check__{kind}",
                    validation_definitions=[vd for vd, _ in definitions],
                    # no UpdateDataDocsAction: it rebuilt the site once per suite; Data Docs are
                    # built once below, for this run's results only
                    actions=[],
                    result_format=result_formats[kind],
                )
            )
            suite_results = list(checkpoint.run(run_id=run_id).run_results.values())
        for suite_result in suite_results:
            suite_name = suite_result.suite_name
            for r in suite_result.results:
                meta = (r.expectation_config.meta or {}).get("okr_kpi", {})
                error = _error_of(r)
                res = r.result or {}
                details = {k: v for k, v in meta.items() if k not in ("kpi_id", "grain")}
                details["element_count"] = res.get("element_count")
                if meta.get("kind") == "threshold" and not error:
                    details["unexpected_period_starts"] = sorted(
                        str(i.get("period_start"))[:10]
                        for i in (res.get("unexpected_index_list") or [])
                        if isinstance(i, dict)
                    )
                    details["unexpected_values"] = res.get("unexpected_list") or []
                    if len(details["unexpected_period_starts"]) != (res.get("unexpected_count") or 0):
                        # never undercount breaches silently: an incomplete list is an engine error
                        error = (
                            f"GX listed {len(details['unexpected_period_starts'])} of "
                            f"{res.get('unexpected_count')} unexpected periods"
                        )
                if meta.get("kind") == "source":
                    details["observed_value"] = res.get("observed_value")
                    details["partial_unexpected_list"] = [
                        str(v) for v in (res.get("partial_unexpected_list") or [])
                    ][:10]
                kwargs = r.expectation_config.kwargs
                outcomes.append(
                    {
                        "suite": suite_name,
                        "expectation": r.expectation_config.type
                        + (f"({kwargs['column']})" if kwargs.get("column") else ""),
                        "kpi_id": meta.get("kpi_id"),
                        "grain": meta.get("grain"),
                        "success": None if error else bool(r.success),
                        "unexpected_count": None if error else res.get("unexpected_count"),
                        "error": error,
                        "details": details,
                    }
                )
    if outcomes:
        prune_results(Path(spec["gx_dir"]), int(spec.get("keep_runs") or DEFAULT_KEEP_RUNS))
        build_data_docs(context, run_id, [suite_name for _, suite_name, *_ in plans])
        sites = context.get_docs_sites_urls(site_name="local_site")
        if sites:
            data_docs_path = sites[0].get("site_url")
    if spark is None:
        engine.dispose()
        _dispose_gx_engine(datasource)
    return {"outcomes": outcomes, "data_docs_path": data_docs_path, "not_built": not_built}


# What to run when a relation the threshold suites read is missing (spec "tables").
BUILD_HINT = {
    "threshold_candidates": "`dbt build` (or `dbt build --select +int_kpi_threshold_candidates`)",
    "kpi_thresholds": "`dbt build` (or `dbt seed --select kpi_thresholds`)",
}


def relation_exists(engine, spark, schema: str, name: str) -> bool | None:
    """Whether the table or view exists; None when the warehouse cannot say (the suites then run
    and report what they find)."""
    try:
        if spark is not None:
            return bool(spark.catalog.tableExists(f"{schema}.{name}"))
        import sqlalchemy as sa

        inspector = sa.inspect(engine)
        if inspector.has_table(name, schema=schema):
            return True
        return name in inspector.get_view_names(schema=schema)
    except Exception:
        return None


def missing_relations(spec: dict, engine, spark) -> list[str]:
    """One message per relation of the threshold suites (spec "tables": key -> schema, name) that
    is not built, e.g. "int_kpi_threshold_candidates is not built in okr_kpi: run `dbt build` (or
    `dbt build --select +int_kpi_threshold_candidates`) first"."""
    out = []
    for key, table in (spec.get("tables") or {}).items():
        if relation_exists(engine, spark, table["schema"], table["name"]) is False:
            hint = BUILD_HINT.get(key, "`dbt build`")
            out.append(f"{table['name']} is not built in {table['schema']}: run {hint} first")
    return out


def _dispose_gx_engine(datasource) -> None:
    """Close the SQLAlchemy engine GX's datasource keeps: in the run's process the DuckDB file is
    opened next by the toolkit itself (for writing), which DuckDB refuses while a read-only
    instance of the same file is open in the process."""
    engine = getattr(datasource, "_cached_engine", None) or getattr(datasource, "_engine", None)
    if engine is not None:
        try:
            engine.dispose()
        except Exception:
            pass


def _run_folders(root: Path) -> dict[str, list[Path]]:
    """run_time folder name -> its folders, under root/<suite>/<run_name>/<run_time>."""
    runs: dict[str, list[Path]] = {}
    if root.is_dir():
        for folder in root.glob("*/*/*"):
            if folder.is_dir():
                runs.setdefault(folder.name, []).append(folder)
    return runs


def prune_results(gx_dir: Path, keep_runs: int) -> list[str]:
    """Delete the validation results and Data Docs pages of all but the newest `keep_runs` runs
    (run_time folders sort by time: GX names them YYYYMMDDTHHMMSS.ffffffZ). Returns the run
    times deleted."""
    results = gx_dir / "uncommitted" / "validations"
    pages = gx_dir / "uncommitted" / "data_docs" / "local_site" / "validations"
    stored = _run_folders(results)
    old = sorted(stored)[: max(len(stored) - max(keep_runs, 1), 0)]
    shown = _run_folders(pages)
    for run_time in old:
        for folder in stored.get(run_time, []) + shown.get(run_time, []):
            shutil.rmtree(folder, ignore_errors=True)
    for root in (results, pages):  # suites and run names left without runs
        for folder in sorted(root.glob("*/*"), reverse=True) + sorted(root.glob("*")):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
    return old


def build_data_docs(context, run_id, suite_names: list[str]) -> None:
    """Data Docs for this run: its suites' and validation results' pages, and the index. Only
    these pages are rendered (a full rebuild renders every stored result again)."""
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
    )

    run_time = run_id.run_time
    identifiers = [
        key for key in context.validation_results_store.list_keys() if key.run_id.run_time == run_time
    ]
    identifiers += [ExpectationSuiteIdentifier(name=name) for name in suite_names]
    context.build_data_docs(site_names=["local_site"], resource_identifiers=identifiers)


def run_safely(spec: dict, release_spark: bool = False) -> dict:
    """run(spec), with an exception outside the expectations reported as {"fatal": message} (an
    engine error, never a pass). release_spark: stop the Spark session afterwards (a process of
    its own, whose parent opens the same Derby metastore next); in the run's process the session
    stays for the stages after the checks."""
    try:
        return run(spec)
    except Exception as err:  # reported as an engine error, never as a pass
        message = f"{type(err).__name__}: {err}"
        if spec.get("engine") == "spark" and ("MetaStoreClient" in message or "XSDB6" in message):
            message = (
                f"the Spark metastore {spec['spark']['metastore_dir']} is in use by another process "
                "(an embedded Derby metastore allows one process at a time): wait for it to finish, "
                f"then run again ({message.splitlines()[0][:300]})"
            )
        return {"fatal": message, "traceback": traceback.format_exc()}
    finally:
        if release_spark and spec.get("engine") == "spark":
            from okr_kpi.adapters.spark import release_local_session

            try:
                release_local_session()
            except Exception:
                pass


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[1]).read_text())
    result = run_safely(spec, release_spark=True)
    Path(argv[2]).write_text(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    code = main(sys.argv)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
