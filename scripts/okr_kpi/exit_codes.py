"""Exit codes of `okr-kpi run` (and the other commands), for cron, Airflow or Dagster.

The most serious condition wins: a build failure hides a delivery failure, and so on.
Documented in README.md ("Exit codes").
"""

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0  # everything built, checked and delivered; no new or escalated breach
    ERROR = 1  # unexpected error (a bug): see the log
    USAGE = 2  # bad command line or bad configuration / seed file
    BREACHES = 10  # ran fine; new or escalated KPI breaches were found and reported
    # stale data: a source stopped (or its latest load is incomplete); its periods were not judged
    STALE_DATA = 15
    DELIVERY_FAILED = 20  # ran fine, but a channel could not be reached: kept, retried next run
    DATA_QUALITY = 30  # a data-quality check failed (dbt error-severity test or GX expectation)
    BUILD_FAILED = 40  # dbt build failed: marts may be stale
    WAREHOUSE_UNAVAILABLE = 50  # the warehouse is locked by another process or unreachable


def worst(*codes: int) -> int:
    """The most serious of several codes (higher is more serious, ERROR aside)."""
    codes = [c for c in codes if c is not None]
    if ExitCode.ERROR in codes:
        return ExitCode.ERROR
    return max(codes, default=ExitCode.OK)
