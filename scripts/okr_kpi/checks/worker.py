"""Runs the Great Expectations suites of one `okr-kpi check` (in a subprocess: see runner.py).

    python -m okr_kpi.checks.worker SPEC.json RESULT.json

SPEC (written by runner.py): gx_dir, dialect, relations (fct_kpi_periods, kpi_thresholds),
as_of, source_expectations (mirrors of the dbt source tests). The connection string is read from
the environment variable OKR_KPI_GX_CONNECTION_STRING, so it never lands in a file.
RESULT: {"outcomes": [...], "data_docs_path": ...}; an exception outside the expectations is
reported as {"fatal": message}. Exits with os._exit after flushing, so that nothing the DuckDB
extension prints at interpreter shutdown reaches the user.
"""

from __future__ import annotations

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


def read_thresholds(engine, relation: str) -> list[dict]:
    import sqlalchemy as sa

    with engine.connect() as con:
        rows = (
            con.execute(
                sa.text(
                    "select kpi_id, grain, severity, lower_bound, upper_bound "
                    f"from {relation} order by kpi_id, grain, severity"
                )
            )
            .mappings()
            .all()
        )
    out = []
    for row in rows:

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


def run(spec: dict) -> dict:
    """Run the suites; great_expectations.yml is restored afterwards (GX writes the run's datasource
    into it), so the committed context config does not change with every run."""
    config = Path(spec["gx_dir"]) / "great_expectations.yml"
    original = config.read_text()
    try:
        return _run(spec)
    finally:
        config.write_text(original)


def _run(spec: dict) -> dict:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    if spec["dialect"] == "duckdb":
        from okr_kpi.checks import duckdb_buffered

        duckdb_buffered.register()
    import great_expectations as gx
    import great_expectations.expectations as gxe
    import sqlalchemy as sa
    from great_expectations.checkpoint import UpdateDataDocsAction

    # Suites, validation definitions and checkpoints are rebuilt from the seeds and the manifest on
    # every run: start from empty stores (results and Data Docs are kept).
    for derived in ("expectations", "validation_definitions", "checkpoints"):
        shutil.rmtree(Path(spec["gx_dir"]) / "uncommitted" / derived, ignore_errors=True)
    context = gx.get_context(mode="file", context_root_dir=spec["gx_dir"])
    try:
        context.data_sources.delete(DATASOURCE)
    except Exception:
        pass
    datasource = context.data_sources.add_sql(name=DATASOURCE, connection_string="${" + CONNECTION_ENV + "}")
    engine = sa.create_engine(os.environ[CONNECTION_ENV])

    plans = []  # (kind, suite name, batch definition, [(expectation, meta)])

    # 1. KPI thresholds: one query asset per (kpi, grain), one expectation per severity row.
    thresholds = read_thresholds(engine, spec["relations"]["kpi_thresholds"])
    by_kpi_grain: dict[tuple[str, str], list[dict]] = {}
    for row in thresholds:
        if row["lower_bound"] is None and row["upper_bound"] is None:
            continue
        by_kpi_grain.setdefault((row["kpi_id"], row["grain"]), []).append(row)
    as_of_filter = (
        f" and period_end <= cast({_sql_literal(spec['as_of'])} as date)" if spec.get("as_of") else ""
    )
    for (kpi_id, grain), rows in sorted(by_kpi_grain.items()):
        asset = datasource.add_query_asset(
            name=f"periods__{kpi_id}__{grain}",
            query=(
                f"select kpi_id, grain, period_start, value from {spec['relations']['fct_kpi_periods']} "
                f"where kpi_id = {_sql_literal(kpi_id)} and grain = {_sql_literal(grain)} "
                f"and is_complete and is_fully_covered{as_of_filter}"
            ),
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
                asset.add_batch_definition_whole_table("all"),
                expectations,
            )
        )

    # 2. Source expectations: mirrors of the dbt source tests, one table asset per source table.
    tables: dict[tuple[str, str], list[dict]] = {}
    for item in spec.get("source_expectations", []):
        tables.setdefault((item["schema"], item["table"]), []).append(item)
    for (schema, table), items in sorted(tables.items()):
        # A query asset rather than a table asset: GX's table assets drop the schema on DuckDB.
        asset = datasource.add_query_asset(
            name=f"source__{schema}__{table}", query=f"select * from {items[0]['relation']}"
        )
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
        plans.append(
            ("source", f"source__{table}", asset.add_batch_definition_whole_table("all"), expectations)
        )

    validation_definitions: dict[str, list] = {"threshold": [], "source": []}
    for kind, suite_name, batch_definition, expectations in plans:
        try:
            context.suites.delete(suite_name)
        except Exception:
            pass
        suite = context.suites.add(
            gx.ExpectationSuite(
                name=suite_name, expectations=[expectation for expectation, _ in expectations]
            )
        )
        name = f"vd__{suite_name}"
        try:
            context.validation_definitions.delete(name)
        except Exception:
            pass
        validation_definitions[kind].append(
            context.validation_definitions.add(
                gx.ValidationDefinition(name=name, data=batch_definition, suite=suite)
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
    for kind, definitions in validation_definitions.items():
        if not definitions:
            continue
        checkpoint_name = f"okr_kpi_check__{kind}"
        try:
            context.checkpoints.delete(checkpoint_name)
        except Exception:
            pass
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=checkpoint_name,
                validation_definitions=definitions,
                actions=[UpdateDataDocsAction(name="update_data_docs")],
                result_format=result_formats[kind],
            )
        )
        result = checkpoint.run()
        for suite_result in result.run_results.values():
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
        sites = context.get_docs_sites_urls(site_name="local_site")
        if sites:
            data_docs_path = sites[0].get("site_url")
    engine.dispose()
    return {"outcomes": outcomes, "data_docs_path": data_docs_path}


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[1]).read_text())
    try:
        result = run(spec)
    except Exception as err:  # reported to the parent as an engine error, never as a pass
        result = {"fatal": f"{type(err).__name__}: {err}", "traceback": traceback.format_exc()}
    Path(argv[2]).write_text(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    code = main(sys.argv)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
