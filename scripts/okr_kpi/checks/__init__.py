"""Checks: the Great Expectations side of data quality and KPI thresholds (docs/checks.md)."""

from okr_kpi.checks.runner import CheckResult, Outcome, run_checks, run_checks_command

__all__ = ["CheckResult", "Outcome", "run_checks", "run_checks_command"]
