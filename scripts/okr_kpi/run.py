"""`okr-kpi run`: the scheduled job.

    lock -> dbt build (var as_of_date) -> checks (Great Expectations) -> breach lifecycle -> publish

- One run at a time per warehouse: the adapter's lock (okr_kpi.adapters: an exclusive lock file
  next to the DuckDB file and a test that it can be opened for writing, a PostgreSQL advisory
  lock, a lock file next to a local Spark metastore), taken before anything else. A second run
  fails fast with exit 50 and touches nothing.
- A dbt build failure publishes nothing new (no lifecycle, no new digest) but still retries
  pending messages and writes the reports with the failure on top.
- The exit status is the most serious of the stages (okr_kpi.exit_codes; README "Exit codes").
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import time
from pathlib import Path
from typing import Any

from okr_kpi.config import load_config
from okr_kpi.exit_codes import ExitCode, worst
from okr_kpi.logging import Progress, add_log_file, log_event, redact, rotate_log, setup_logging
from okr_kpi.project import OkrKpiError, Project, pinned_var
from okr_kpi.warehouse import WarehouseUnavailable, connect
from okr_kpi.window import choose_window


def lock_path(project: Project) -> Path | None:
    """The lock file of a file-based warehouse (None where the warehouse locks itself)."""
    return getattr(project.adapter, "lock_path", None)


def run_lock(project: Project):
    """Hold the warehouse for this run; WarehouseUnavailable at once if another run holds it
    (the adapter's lock: a file next to the DuckDB file or the Spark metastore, a PostgreSQL
    advisory lock)."""
    return project.adapter.run_lock()


def run_dbt_build(
    project: Project, as_of: str, progress: Progress, since: str | None = None
) -> dict[str, Any]:
    """Run `dbt build` in this process (okr_kpi.dbt_invoke); progress from dbt's structured log
    events, the outcome from its result objects.

    as_of and the tests' window (since) reach dbt as environment variables, not --vars: dbt
    reads them when a node runs, so a new date every night keeps dbt's partial parsing.
    """
    from okr_kpi.dbt_invoke import invoke
    from okr_kpi.window import AS_OF_ENV, SINCE_ENV

    started = time.time()
    log_event(logging.INFO, "build_started", "dbt build: started", as_of_date=as_of)

    def tick(step) -> None:
        progress.update(f"dbt build {step.index}/{step.total} {step.status} {step.description}")

    inv = invoke(project, "build", env={AS_OF_ENV: as_of, SINCE_ENV: since or ""}, on_step=tick)
    progress.done()
    seconds = round(time.time() - started, 1)
    counts: dict[str, int] = {}
    build_errors: list[str] = []
    test_failures: list[str] = []
    for r in inv.results:
        status = str(getattr(r.status, "value", r.status))
        counts[status] = counts.get(status, 0) + 1
        uid = r.node.unique_id
        # "fail": a test found bad rows (data quality); "error": a node could not run at all
        # (a model's SQL, a missing relation, a test's query): the build itself failed.
        if status == "error" or (status == "fail" and not uid.startswith(("test.", "unit_test."))):
            build_errors.append(uid)
        elif status == "fail":
            test_failures.append(uid)
    rc = inv.exit_code
    if rc == 0:
        status, code = "ok", ExitCode.OK
    elif build_errors or not counts:
        status, code = "failed", ExitCode.BUILD_FAILED
    else:
        status, code = "tests_failed", ExitCode.DATA_QUALITY
    detail = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or f"dbt exited {rc}"
    result = {
        "status": status,
        "exit_code": int(code),
        "dbt_exit": rc,
        "seconds": seconds,
        "detail": detail,
        "errors": build_errors[:20],
        "test_failures": test_failures[:50],
    }
    if code == ExitCode.OK:
        log_event(logging.INFO, "build", f"dbt build: ok ({detail}) in {seconds}s", **result)
    else:
        log_event(
            logging.ERROR,
            "build",
            f"dbt build: {status} ({detail}) in {seconds}s; "
            f"failed: {', '.join((build_errors + test_failures)[:8]) or 'see below'}",
            **result,
        )
        if code == ExitCode.BUILD_FAILED:
            tail = inv.messages[-25:]
            if inv.exception is not None:
                tail.append(redact(str(inv.exception)))
            for line in tail:
                for part in line.splitlines():
                    log_event(logging.ERROR, "dbt_output", f"  dbt| {part}")
    return result


def _raise_if_taken(project: Project) -> None:
    """After the checks could not run: WarehouseUnavailable if the warehouse is now held by another
    process (the run then stops with exit 40, not the checks' 1, nor 50)."""
    if project.adapter_type != "duckdb":  # a server (or Spark's session) is not held by a file
        return
    try:
        wh = connect(project)  # raises WarehouseUnavailable when another process holds the file
    except WarehouseUnavailable:
        raise
    except Exception:  # anything else: the checks' own error stands
        return
    wh.close()


def run_checks_stage(
    project: Project, as_of: str, since: str | None = None, keep_runs: int | None = None
) -> tuple[dict[str, Any], Any]:
    try:
        from okr_kpi.checks import run_checks
    except ImportError:
        log_event(logging.WARNING, "checks", "checks: skipped (okr_kpi.checks is not available)")
        return {"status": "skipped", "exit_code": 0, "detail": "okr_kpi.checks not available"}, None
    started = time.time()
    log_event(logging.INFO, "checks_started", "checks: started", as_of_date=as_of)
    try:
        result = run_checks(project, as_of, since=since, keep_runs=keep_runs)
    except WarehouseUnavailable:
        raise  # the file was taken after the build: the run stops with the build's 40, never 50
    except Exception as err:  # the checks must not stop the lifecycle and the publishing
        _raise_if_taken(project)
        logging.getLogger("okr_kpi").exception("checks: could not run: %s", err, extra={"event": "checks"})
        return {
            "status": "error",
            "exit_code": int(ExitCode.ERROR),
            "detail": f"checks could not run: {err}",
        }, None
    if getattr(result, "fatal", None):
        _raise_if_taken(project)  # e.g. the GX worker found the file locked by another process
    code = int(result.exit_code())
    # Threshold breaches are the lifecycle's business (exit 10 only for new or escalated ones);
    # every breached period of history is one here, so it does not make the checks fail.
    if code == ExitCode.BREACHES:
        code = ExitCode.OK
    failures = len(getattr(result, "failures", None) or [])
    errors = len(getattr(result, "errors", None) or [])
    outcomes = len(getattr(result, "outcomes", None) or [])
    breaches = len(getattr(result, "threshold_breaches", None) or [])
    fatal = getattr(result, "fatal", None)
    status = "passed" if code == ExitCode.OK else ("error" if code == ExitCode.ERROR else "failed")
    detail = (
        f"{outcomes} expectations, {failures} failed, {errors} engine errors, {breaches} breached periods"
    )
    if fatal:
        detail += f"; {fatal}"
    for message in getattr(result, "not_built", None) or []:
        detail += f"; {message}"
    info = {
        "status": status,
        "exit_code": code,
        "detail": detail,
        "seconds": round(time.time() - started, 1),
        "data_docs": str(getattr(result, "data_docs_path", "") or "") or None,
    }
    level = logging.INFO if status == "passed" else logging.ERROR
    log_event(level, "checks", f"checks: {status} ({detail})", **info)
    return info, result


def _validate_as_of(as_of: str | None, project: Project) -> str:
    """The as_of_date: --as-of, else the project's pinned var as_of_date, else yesterday; a date
    after today (the later of the machine's and UTC's date) is refused, exit 2, before anything
    is touched (docs/publishing.md, "Backfills")."""
    name = f"--as-of {as_of}"
    if not as_of:
        as_of, source = project.default_as_of()
        name = f"as_of_date {as_of} ({source})"
        if source != "yesterday":
            log_event(logging.INFO, "as_of_default", f"as_of_date {as_of}: {source} (--as-of overrides it)",
                      as_of=as_of)
        elif pinned_var(project.project_config, "as_of_date") is not None:
            log_event(logging.WARNING, "as_of_default",
                      f"dbt_project.yml sets as_of_date with a template okr-kpi cannot read: the run uses "
                      f"yesterday, {as_of} (give --as-of to choose)", as_of=as_of)
    try:
        day = dt.date.fromisoformat(as_of)
    except ValueError:
        raise OkrKpiError(f"--as-of {as_of!r} is not a date (YYYY-MM-DD)") from None
    today = max(dt.date.today(), dt.datetime.now(dt.UTC).date())
    if day > today:
        raise OkrKpiError(
            f"{name} is in the future (today is {today}): as_of_date is the last day with "
            "complete data; nothing was built or sent"
        )
    return day.isoformat()


def run_log_path(project: Project) -> Path:
    base = (
        os.environ.get("OKR_KPI_LOG_DIR")
        or os.environ.get("DBT_LOG_PATH")
        or str(project.project_dir / "logs")
    )
    return Path(base) / "okr_kpi_run.log"


def _rotate_under_lock(log_file: Path, handler: logging.Handler | None, log_format: str) -> bool:
    """Rotate a run log grown past its limit, by the run that holds the lock (reopens the handler)."""
    import os as _os

    from okr_kpi.logging import LOG_ROTATE_BYTES

    try:
        if handler is None or _os.path.getsize(log_file) <= LOG_ROTATE_BYTES:
            return False
    except OSError:
        return False
    logger = logging.getLogger("okr_kpi")
    logger.removeHandler(handler)
    handler.close()
    rotate_log(log_file)
    add_log_file(log_file, log_format)
    return True


def run_job(
    project: Project,
    as_of: str | None = None,
    quiet: bool = False,
    log_format: str = "text",
    publish: bool = True,
    full_history: bool = False,
    since: str | None = None,
    force_lifecycle: bool = False,
) -> int:
    from okr_kpi.lifecycle import new_run_id, now, record_run
    from okr_kpi.preflight import changed_seed_columns, check_paths, refresh_seeds, run_paths, seed_preflight
    from okr_kpi.publish import publish_stage

    log_file = run_log_path(project)
    log_handler = None
    setup_logging(quiet=quiet, log_format=log_format)  # the run log: once its directory is checked
    run_id = new_run_id()
    started = now()
    stages: dict[str, Any] = {}
    code: int = ExitCode.OK
    paths: dict[str, str] = {}
    build_started = False
    try:
        config = load_config(project.project_dir)
        # Before the lock and dbt: the paths written to, then every definition seed (exit 2, nothing
        # touched). The run log is appended to, never truncated (a refused run adds its lines).
        check_paths(run_paths(project, log_file))
        log_handler = add_log_file(log_file, log_format)
        as_of = _validate_as_of(as_of, project)  # a refused as_of (e.g. in the future) is in the run log too
        seed_preflight(project)
        log_event(
            logging.INFO,
            "run_started",
            f"okr-kpi run {run_id}: {project.describe()}, as_of_date {as_of}",
            run_id=run_id,
            target=project.target,
            profile=project.profile_name,
            adapter=project.adapter_type,
            as_of_date=as_of,
        )
        with run_lock(project):
            _rotate_under_lock(log_file, log_handler, log_format)
            build_started = True
            window = choose_window(project, as_of, config, full_history=full_history, since=since)
            log_event(logging.INFO, "window", f"data tests read {window.describe()}", since=window.since)
            progress = Progress(enabled=not quiet and log_format == "text")
            refresh_seeds(project, changed_seed_columns(project))  # e.g. an extra column added
            stages["build"] = run_dbt_build(project, as_of, progress, since=window.since)
            stages["build"]["tests_read"] = window.describe()
            built = stages["build"]["exit_code"] != ExitCode.BUILD_FAILED
            checks = None
            if built:
                stages["checks"], checks = run_checks_stage(
                    project, as_of, since=window.since, keep_runs=config.keep_runs
                )
            else:
                stages["checks"] = {"status": "skipped", "exit_code": 0, "detail": "dbt build failed"}
            code = worst(stages["build"]["exit_code"], stages["checks"]["exit_code"])
            with contextlib.closing(connect(project)) as wh:
                if built:
                    from okr_kpi.freshness import freshness_stage

                    stages["freshness"] = freshness_stage(wh, project.schema)
                    code = worst(code, stages["freshness"]["exit_code"])
                result = publish_stage(
                    project,
                    wh,
                    dt.date.fromisoformat(as_of),
                    run_id,
                    config,
                    run_info={
                        "run_id": run_id,
                        "command": "run",
                        "target": project.target,
                        "exit_code": code,
                        "stages": stages,
                    },
                    checks=checks,
                    update=built,
                    deliver=publish,
                    force_lifecycle=force_lifecycle,
                )
                lc = result.lifecycle
                # breaches only: the stale-data alerts are counted apart (stale_data_alerts)
                ev = {
                    k: sum(1 for e in (lc.events if lc else [])
                           if e["event"] == k and e.get("rule") != "stale_data")
                    for k in ("new", "escalated", "resolved")
                }
                ev["stale_data_alerts"] = sum(1 for e in (lc.events if lc else [])
                                              if e["event"] == "new" and e.get("rule") == "stale_data")
                stages["lifecycle"] = {
                    "status": ("backfill" if lc.backfill_of else "ok") if lc else "skipped",
                    "exit_code": 0,
                    "detail": (
                        f"{ev['new']} new, {ev['escalated']} escalated, {ev['resolved']} resolved"
                        if lc
                        else "not updated"
                    ),
                    **ev,
                }
                d = result.delivery
                stages["delivery"] = {
                    "status": "skipped"
                    if not publish
                    else ("failed" if d.failed else ("uncertain" if d.uncertain else "ok")),
                    "exit_code": int(d.exit_code),
                    "detail": f"{len(d.sent)} sent, {len(d.failed)} failed"
                    + (f", {len(d.uncertain)} may have arrived (not re-sent)" if d.uncertain else ""),
                }
                code = worst(code, result.exit_code)
                paths = result.paths
                record_run(
                    wh,
                    project.schema,
                    run_id,
                    "run",
                    dt.date.fromisoformat(as_of),
                    started,
                    code,
                    {"stages": stages, "seed_hashes": result.seed_hashes},
                )
    except WarehouseUnavailable as err:
        if build_started:
            # 50 means "nothing was touched": once the build started, the marts may have changed.
            log_event(logging.ERROR, "warehouse_unavailable",
                      f"{err} (taken after the build started: the run stopped; nothing new was sent)")
            code = worst(code, ExitCode.BUILD_FAILED)
        else:
            log_event(logging.ERROR, "warehouse_unavailable", str(err))
            code = ExitCode.WAREHOUSE_UNAVAILABLE
    except OkrKpiError as err:
        log_event(logging.ERROR, "error", str(err))
        code = int(getattr(err, "exit_code", ExitCode.USAGE))
    except Exception as err:  # a bug: keep the traceback (redacted) in the log
        logging.getLogger("okr_kpi").exception("unexpected error: %s", err, extra={"event": "crash"})
        code = ExitCode.ERROR
    name = ExitCode(code).name.lower() if code in ExitCode._value2member_map_ else str(code)
    summary = " · ".join(f"{k} {v.get('status')}" for k, v in stages.items())
    where = f" · report: {paths['html']}" if paths.get("html") else ""
    log_event(
        logging.INFO,
        "run_finished",
        f"okr-kpi run: exit {int(code)} ({name}){' · ' if summary else ''}{summary}{where}",
        always=True,
        run_id=run_id,
        exit_code=int(code),
        status=name,
        stages=stages,
        report=paths.get("html"),
    )
    return int(code)
