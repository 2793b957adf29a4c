"""`okr-kpi check`: the Great Expectations suites, run inside the warehouse, and their summary.

Suites are built on every run from the same definitions dbt uses:
- kpi_thresholds (the seed, read from the warehouse): one expect_column_values_to_be_between per
  threshold row, on the batch of that KPI and grain of int_kpi_threshold_candidates, the periods
  dbt's model says a threshold judges (complete, fully covered, with a value) -- GX adds no
  filter of its own;
- the dbt source tests of the manifest (not_null, unique, accepted_values and okr_kpi's
  values_between / row_count_between), mirrored one for one.

GX runs in this process (worker.py: `run_safely`), the context and the suites built once per run;
its progress bars are off (okr_kpi/checks/great_expectations.yml), so the user only sees the
summary. (`python -m okr_kpi.checks.worker SPEC RESULT` still runs the same code in a process of
its own.)

The datasource comes from the adapter (okr_kpi.adapters: Adapter.gx_datasource): duckdb and
postgres through SQLAlchemy (GX's SQL datasource); spark (the local session: dbt's warehouse dir
and Derby metastore) through GX's Spark datasource on this process's session (okr_kpi.adapters.spark).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from okr_kpi.exit_codes import ExitCode
from okr_kpi.project import OkrKpiError, Project
from okr_kpi.resources import gx_template_text

CONNECTION_ENV = "OKR_KPI_GX_CONNECTION_STRING"

# dbt generic test -> (GX expectation, kwargs builder)
_MIRRORS = {
    "not_null": ("ExpectColumnValuesToNotBeNull", lambda kw: {"column": kw["column_name"]}),
    "unique": ("ExpectColumnValuesToBeUnique", lambda kw: {"column": kw["column_name"]}),
    "accepted_values": (
        "ExpectColumnValuesToBeInSet",
        lambda kw: {"column": kw["column_name"], "value_set": list(kw["values"])},
    ),
    "values_between": (
        "ExpectColumnValuesToBeBetween",
        lambda kw: {
            "column": kw["column_name"],
            "min_value": kw.get("min_value"),
            "max_value": kw.get("max_value"),
        },
    ),
    "row_count_between": (
        "ExpectTableRowCountToBeBetween",
        lambda kw: {"min_value": kw.get("min_value"), "max_value": kw.get("max_value")},
    ),
}


@dataclass
class Outcome:
    """One expectation's result. success is None when the engine failed (see error)."""

    suite: str
    expectation: str
    kpi_id: str | None
    grain: str | None
    success: bool | None
    unexpected_count: int | None
    error: str | None
    details: dict = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.details.get("kind", "")

    @property
    def severity(self) -> str:
        return str(self.details.get("severity") or "error").lower()


@dataclass
class CheckResult:
    outcomes: list[Outcome]
    data_docs_path: str | None = None
    fatal: str | None = None  # the run itself failed (GX could not start, warehouse unreachable ...)
    # a relation the threshold suites read is not built (a partial dbt build): one message each;
    # the threshold suites did not run, the source suites did
    not_built: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Outcome]:
        """Engine errors: the expectation could not be computed. Never a pass, never a breach."""
        return [o for o in self.outcomes if o.error is not None]

    @property
    def failures(self) -> list[Outcome]:
        """Data-quality failures: source expectations of error severity that failed."""
        return [
            o for o in self.outcomes if o.kind != "threshold" and o.success is False and o.severity == "error"
        ]

    @property
    def warnings(self) -> list[Outcome]:
        """Source expectations of warn severity that failed (reported, not failing)."""
        return [
            o for o in self.outcomes if o.kind != "threshold" and o.success is False and o.severity != "error"
        ]

    @property
    def threshold_breaches(self) -> set[tuple[str, str, str]]:
        """(kpi_id, grain, period_start 'YYYY-MM-DD') of every period outside a threshold."""
        found = set()
        for o in self.outcomes:
            if o.kind == "threshold" and o.success is False:
                for start in o.details.get("unexpected_period_starts", []):
                    found.add((o.kpi_id, o.grain, start))
        return found

    def exit_code(self) -> int:
        """ERROR (1) for an engine error, a failed run or a relation not built, DATA_QUALITY (30)
        for failures, BREACHES (10) for threshold breaches, else OK (0). The most serious wins."""
        if self.fatal or self.errors or self.not_built:
            return ExitCode.ERROR
        if self.failures:
            return ExitCode.DATA_QUALITY
        if self.threshold_breaches:
            return ExitCode.BREACHES
        return ExitCode.OK


def gx_dir(project: Project) -> Path:
    return Path(os.environ.get("OKR_KPI_GX_DIR", project.project_dir / "gx")).resolve()


def connection_string(project: Project) -> tuple[str, str]:
    """(dialect, SQLAlchemy URL or "") of the project's warehouse. The URL may hold a password:
    never print it."""
    spec = project.adapter.gx_datasource()
    return spec["dialect"], spec["url"]


def load_manifest(project: Project) -> dict:
    path = project.target_path / "manifest.json"
    if not path.exists():
        from okr_kpi.dbt_invoke import invoke

        inv = invoke(project, "parse", debug_log=False)  # in this process
        if not inv.ok:
            raise OkrKpiError(f"dbt parse failed (exit {inv.exit_code})\n{inv.error_text()[-4000:]}")
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise OkrKpiError(f"cannot read the dbt manifest {path}: {err}") from None


def _node(manifest: dict, name: str, resource_type: str) -> dict:
    for node in manifest.get("nodes", {}).values():
        if (
            node.get("resource_type") == resource_type
            and node.get("name") == name
            and node.get("relation_name")
        ):
            return node
    raise OkrKpiError(f"the dbt manifest has no {resource_type} {name!r}: is okr_kpi installed and built?")


def _relation(manifest: dict, name: str, resource_type: str) -> str:
    return _node(manifest, name, resource_type)["relation_name"]


def _table(manifest: dict, name: str, resource_type: str) -> dict[str, str]:
    """{"schema", "name"} of a node's relation in the warehouse (its alias, if it has one)."""
    node = _node(manifest, name, resource_type)
    return {"schema": str(node.get("schema") or ""), "name": str(node.get("alias") or node["name"])}


def source_expectations(manifest: dict) -> list[dict]:
    """The dbt tests on sources that GX mirrors (see _MIRRORS), as plain dicts."""
    sources = manifest.get("sources", {})
    out = []
    for node in manifest.get("nodes", {}).values():
        meta = node.get("test_metadata") or {}
        if node.get("resource_type") != "test" or meta.get("name") not in _MIRRORS:
            continue
        deps = [d for d in node.get("depends_on", {}).get("nodes", []) if d.startswith("source.")]
        if len(deps) != 1 or deps[0] not in sources:
            continue
        source = sources[deps[0]]
        expectation, build = _MIRRORS[meta["name"]]
        kwargs = {k: v for k, v in (meta.get("kwargs") or {}).items() if k != "model"}
        if "column_name" in kwargs:
            kwargs["column_name"] = str(kwargs["column_name"]).strip('"')
        out.append(
            {
                "event_time": (source.get("config") or {}).get("event_time"),
                "schema": source["schema"],
                "table": source.get("identifier") or source["name"],
                "relation": source["relation_name"],
                "source": f"{source['source_name']}.{source['name']}",
                "test_name": node["name"],
                "test_id": node["unique_id"],
                "severity": str(node.get("config", {}).get("severity", "error")).lower(),
                "expectation": expectation,
                "kwargs": build(kwargs),
            }
        )
    return sorted(out, key=lambda i: (i["table"], i["test_name"]))


def run_checks(
    project: Project, as_of: str | None = None, since: str | None = None, keep_runs: int | None = None
) -> CheckResult:
    """Run every GX suite on what is built; never raises for an expectation's engine error.

    since ('YYYY-MM-DD'): the source expectations on columns read only the recent rows of tables
    with an event_time (okr_kpi.window; the same rule as the dbt tests); None reads everything.
    """
    datasource = project.adapter.gx_datasource()  # the adapter's GX datasource (dialect, url, ...)
    url = datasource.pop("url")
    manifest = load_manifest(project)
    spec = {
        **datasource,
        "gx_dir": str(gx_dir(project)),
        "as_of": as_of,
        "since": since,
        "keep_runs": keep_runs,
        "relations": {
            "threshold_candidates": _relation(manifest, "int_kpi_threshold_candidates", "model"),
            "kpi_thresholds": _relation(manifest, "kpi_thresholds", "seed"),
        },
        # checked before the threshold suites run (worker.missing_relations)
        "tables": {
            "threshold_candidates": _table(manifest, "int_kpi_threshold_candidates", "model"),
            "kpi_thresholds": _table(manifest, "kpi_thresholds", "seed"),
        },
        "source_expectations": source_expectations(manifest),
    }
    _ensure_gx_dir(Path(spec["gx_dir"]))
    from okr_kpi.checks import worker

    # In this process (issue 19): the GX context and its suites are built once per run, next to
    # the dbt build that ran here too. The connection string reaches GX through the environment
    # (its config substitutes ${OKR_KPI_GX_CONNECTION_STRING}), never a file; it is removed after.
    saved = {k: os.environ.get(k) for k in (CONNECTION_ENV, "GX_ANALYTICS_ENABLED")}
    os.environ[CONNECTION_ENV] = url
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    try:
        data = worker.run_safely(spec)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    if "fatal" in data:
        fatal = data["fatal"].replace(url, "<connection>") if url else data["fatal"]
        return CheckResult(outcomes=[], fatal=fatal)
    return CheckResult(
        outcomes=[Outcome(**o) for o in data["outcomes"]],
        data_docs_path=data.get("data_docs_path"),
        not_built=list(data.get("not_built") or []),
    )


def _ensure_gx_dir(path: Path) -> None:
    """A project without a GX context config gets the toolkit's template (package data)."""
    if (path / "great_expectations.yml").exists():
        return
    path.mkdir(parents=True, exist_ok=True)
    (path / "great_expectations.yml").write_text(gx_template_text())


def summary_lines(result: CheckResult) -> list[str]:
    lines = []
    if result.fatal:
        return [f"ERROR  the checks could not run: {result.fatal}"]
    total = len(result.outcomes)
    passed = sum(1 for o in result.outcomes if o.success is True)
    lines.append(
        f"Great Expectations: {total} expectations, {passed} passed, {len(result.failures)} data-quality "
        f"failures, {len(result.warnings)} warnings, {len(result.threshold_breaches)} threshold breaches, "
        f"{len(result.errors)} engine errors"
    )
    for message in result.not_built:
        lines.append(f"ERROR    the threshold suites did not run: {message}")
    for o in result.errors:
        lines.append(f"ERROR    {o.suite}: {o.expectation}: {o.error}")
    for o in result.failures:
        lines.append(
            f"FAIL     {o.suite}: {o.expectation}: {o.unexpected_count} unexpected "
            f"(dbt test {o.details.get('test_name')})"
        )
    for o in result.warnings:
        lines.append(f"WARN     {o.suite}: {o.expectation}: {o.unexpected_count} unexpected")
    for o in result.outcomes:
        if o.kind == "threshold" and o.success is False:
            d = o.details
            bounds = (
                f"[{'' if d.get('lower_bound') is None else d['lower_bound']}, "
                f"{'' if d.get('upper_bound') is None else d['upper_bound']}]"
            )
            lines.append(
                f"BREACH   {o.kpi_id} {o.grain} ({d.get('severity')}) outside {bounds}: "
                + ", ".join(d.get("unexpected_period_starts", []))
            )
    if result.data_docs_path:
        lines.append(f"Data Docs: {result.data_docs_path}")
    return lines


def run_checks_command(
    project: Project, as_of: str | None = None, full_history: bool = False, since: str | None = None
) -> int:

    import click

    from okr_kpi.config import load_config
    from okr_kpi.window import choose_window

    config = load_config(project.project_dir)
    # the default of every command (Project.default_as_of); a plain "yesterday" is not passed on:
    # the threshold suites then judge the marts as they were built
    window_as_of, source = (as_of, "--as-of") if as_of else project.default_as_of()
    as_of = None if source == "yesterday" else window_as_of
    window = choose_window(project, window_as_of, config, full_history=full_history, since=since)
    click.echo(f"Source expectations read {window.describe()}")
    result = run_checks(project, as_of=as_of, since=window.since, keep_runs=config.keep_runs)
    from okr_kpi.logging import click_colour

    for line in summary_lines(result):
        color = {"ERROR": "red", "FAIL": "red", "WARN": "yellow", "BREACH": "yellow"}.get(line.split(" ")[0])
        bold = False
        if line.startswith("BREACH") and "(critical)" in line:
            color, bold = "red", True  # a critical breach never looks like a warning
        click.secho(line, fg=color, bold=bold, err=color == "red", color=click_colour())
    return int(result.exit_code())
