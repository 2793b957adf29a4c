"""Checks before anything is built: the definition seeds and the paths a run writes to.

`okr-kpi run` calls `preflight(project)` first — before the warehouse lock, before dbt, before the
run log is touched — and refuses with exit 2 (ExitCode.USAGE) when

- a definition seed has a lint error (okr_kpi.lint: structure from okr_kpi.seeds — types, enums,
  dates, keys, links, identifiers — and the practice rules — cycle order, weights, parent circles,
  target equal to baseline, threshold bounds, ...). Every rule has one home, in seeds.py or lint.py;
  this module only runs them. Warnings are logged and do not stop the run;
- a path the run writes to (--out, the run log's directory, the Great Expectations directory)
  cannot be written.

Nothing is created or changed by these checks, so a refused run leaves the warehouse, the breach
history, the outbox, the reports and the run log exactly as they were (docs/lint.md, "What
`okr-kpi run` refuses").
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from okr_kpi.exit_codes import ExitCode
from okr_kpi.project import OkrKpiError, Project
from okr_kpi.seeds import ERROR, SeedIssue


class PreflightError(OkrKpiError):
    """The run is refused before anything is built (exit 2); the message lists every problem."""

    exit_code = ExitCode.USAGE

    def __init__(self, message: str, issues: list[SeedIssue] | None = None, lines: list[str] | None = None):
        self.issues = issues or []
        self.lines = lines or []
        super().__init__(message)


@dataclass
class PreflightResult:
    seeds_dir: Path | None = None
    warnings: list[SeedIssue] = field(default_factory=list)


def check_seeds(project_dir: Path) -> PreflightResult:
    """Lint the project's definition seeds (as `okr-kpi lint` finds them); PreflightError on errors."""
    from okr_kpi.lint import format_issue, lint_seeds, project_seeds_dir

    seeds_dir = project_seeds_dir(project_dir)
    issues = lint_seeds(seeds_dir)  # OkrKpiError (exit 2) for no seeds / a seed file found twice
    errors = [i for i in issues if i.level == ERROR]
    if errors:
        lines = [format_issue(i) for i in errors]
        shown = "\n".join(f"  {line}" for line in lines[:50])
        more = f"\n  ... and {len(lines) - 50} more (okr-kpi lint lists them all)" if len(lines) > 50 else ""
        raise PreflightError(
            f"the definition seeds under {seeds_dir} have {len(errors)} error(s); nothing was built, "
            f"checked or sent (fix them; `okr-kpi lint` shows them with the warnings):\n{shown}{more}",
            issues=errors, lines=lines)
    return PreflightResult(seeds_dir, [i for i in issues if i.level != ERROR])


def writable_dir_problem(path: Path) -> str | None:
    """Why the directory `path` cannot be written (or created), else None. Creates nothing."""
    path = Path(path)
    if path.exists():
        if not path.is_dir():
            return f"{path} exists and is not a directory"
        if not os.access(path, os.W_OK | os.X_OK):
            return f"{path} is not writable"
        return None
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        return f"{path} cannot be created: {parent} is not a directory"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"{path} cannot be created: {parent} is not writable"
    return None


def check_paths(paths: dict[str, Path | None]) -> None:
    """PreflightError (exit 2) naming each path (by its option or role) that cannot be written."""
    problems = []
    for role, path in paths.items():
        if path is None:
            continue
        problem = writable_dir_problem(path)
        if problem:
            problems.append(f"{role}: {problem}")
    if problems:
        raise PreflightError("cannot write where the run writes; nothing was built, checked or sent:\n"
                             + "\n".join(f"  {p}" for p in problems), lines=problems)


def check_lock(project: Project):
    """The run lock for `okr-kpi check` (a warehouse held by a run or another process: exit 50),
    except for a DuckDB file that does not exist yet (the checks say so; no empty file is made)."""
    import contextlib

    path = getattr(project.adapter, "path", None)
    if project.adapter_type == "duckdb" and path is not None and not Path(path).exists():
        return contextlib.nullcontext()
    return project.adapter.run_lock()


def run_paths(project: Project, log_file: Path | None = None) -> dict[str, Path | None]:
    """The directories `okr-kpi run` writes to."""
    from okr_kpi.checks.runner import gx_dir

    try:
        gx = gx_dir(project)
    except Exception:  # noqa: BLE001 (no GX directory to check: the checks report it)
        gx = None
    return {
        "--out (published results)": project.out_dir,
        "the run log (OKR_KPI_LOG_DIR)": Path(log_file).parent if log_file else None,
        "the Great Expectations directory (OKR_KPI_GX_DIR)": gx,
    }


def seed_preflight(project: Project) -> PreflightResult:
    """The seeds' part of the preflight: PreflightError on lint errors; the warnings are logged."""
    from okr_kpi.lint import format_issue
    from okr_kpi.logging import log_event

    result = check_seeds(project.project_dir)
    for issue in result.warnings:
        log_event(logging.WARNING, "seed_warning", format_issue(issue), rule=issue.rule,
                  file=str(issue.path), line=issue.line, column=issue.column)
    return result


def preflight(project: Project, log_file: Path | None = None) -> PreflightResult:
    """Everything `okr-kpi run` checks before it takes the lock: the paths, then the seeds.
    Raises PreflightError (exit 2) when the run must not start."""
    check_paths(run_paths(project, log_file))
    return seed_preflight(project)


# --- seeds whose columns changed -----------------------------------------------------------------

def changed_seed_columns(project: Project) -> list[str]:
    """The definition seeds whose header no longer matches the columns of their table in the
    warehouse (a column added, such as an extra column docs/lint.md allows, or removed). dbt loads
    a seed into its existing table, so such a seed fails to load unless it is refreshed in full.
    Call it under the run lock; [] when it cannot tell (no table yet, a header-only table, ...)."""
    import contextlib

    from okr_kpi.lint import project_seeds_dir
    from okr_kpi.seeds import SPECS, find_seed_files, read_seed
    from okr_kpi.warehouse import connect

    if project.adapter_type == "spark":
        return []  # a local Spark session only for this costs more than it saves: dbt's error stands
    try:
        files = find_seed_files(project_seeds_dir(project.project_dir))
    except OkrKpiError:
        return []
    changed = []
    try:
        wh = connect(project, read_only=True)
    except Exception:  # noqa: BLE001 (the build reports an unreachable warehouse)
        return []
    with contextlib.closing(wh):
        for name, path in files.items():
            header = [h.lower() for h in read_seed(path, SPECS[name]).header]
            try:
                if not wh.table_exists(project.schema, name):
                    continue
                rows = wh.query(f"select * from {wh.ident(project.schema, name)} limit 1")
            except Exception:  # noqa: BLE001 (a custom schema or a view: leave it to dbt)
                continue
            if rows and header and sorted(c.lower() for c in rows[0]) != sorted(header):
                changed.append(name)
    return changed


def refresh_seeds(project: Project, names: list[str]) -> int:
    """`dbt seed --full-refresh` of the named seeds (their tables are created anew); dbt's exit code."""
    from okr_kpi.logging import log_event

    if not names:
        return 0
    log_event(logging.INFO, "seed_refresh",
              f"the columns of {', '.join(names)} changed: reloading {'it' if len(names) == 1 else 'them'} "
              "in full (dbt seed --full-refresh)", seeds=names)
    from okr_kpi.dbt_invoke import invoke

    inv = invoke(project, "seed", "--full-refresh", "--select", *names)  # in this process
    if not inv.ok:
        log_event(logging.ERROR, "seed_refresh",
                  "dbt seed --full-refresh failed:\n" + "\n".join(inv.messages)[-3000:])
    return inv.exit_code
