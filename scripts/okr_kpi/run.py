"""`okr-kpi run`: the scheduled job. For now: dbt build (checks and publishing are added by later issues)."""

from __future__ import annotations

from okr_kpi.exit_codes import ExitCode
from okr_kpi.project import Project


def run_job(project: Project, as_of: str | None = None, quiet: bool = False, log_format: str = "text",
            publish: bool = True) -> int:
    vars = {"as_of_date": as_of} if as_of else None
    proc = project.dbt("build", vars=vars)
    return ExitCode.OK if proc.returncode == 0 else ExitCode.BUILD_FAILED
