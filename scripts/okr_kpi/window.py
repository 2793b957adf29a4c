"""Which rows the nightly data tests read: the recent-rows window (docs/checks.md, "Recent rows").

The dbt tests on columns of raw sources and staging models (unique, not_null, accepted_values,
values_between, relationships), and their Great Expectations mirrors, read only the rows with
an event_time on or after `since` when a window is set (macros/checks/recent_rows.sql has the
exact rule). `okr-kpi run` and `okr-kpi check` choose it:

- `--full-history`, or `checks.window_days: 0`: no window, every row is read;
- `--since YYYY-MM-DD`: that day, whatever the history says (after a backfill, say);
- no earlier clean run in the warehouse's run table (`okr_kpi_runs`: a run whose dbt build
  was ok and whose checks passed): no window, so the first run checks all of history;
- else since = (as_of_date of the latest clean run, or as_of_date if earlier)
  - checks.window_days (default 7). Every row is checked by at least one run, rows arriving
  up to window_days late are checked too, and a run with failing tests does not move the
  window: its bad rows stay in the window of the next runs until a run is clean.

The window reaches dbt as the environment variable OKR_KPI_TEST_SINCE (read when a test runs,
so a new date every night does not make dbt parse the project again).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass

from okr_kpi.config import Config
from okr_kpi.project import OkrKpiError, Project

SINCE_ENV = "OKR_KPI_TEST_SINCE"
AS_OF_ENV = "OKR_KPI_AS_OF_DATE"


@dataclass(frozen=True)
class TestWindow:
    since: str | None  # 'YYYY-MM-DD', or None: all of history
    reason: str

    __test__ = False  # not a pytest class

    def describe(self) -> str:
        return f"rows since {self.since} ({self.reason})" if self.since else f"all rows ({self.reason})"


def last_clean_as_of(project: Project) -> dt.date | None:
    """as_of_date of the latest `okr-kpi run` whose dbt build was ok and whose checks passed."""
    from okr_kpi.lifecycle import RUNS
    from okr_kpi.warehouse import connected

    with connected(project) as wh:
        if not wh.table_exists(project.schema, RUNS):
            return None
        rows = wh.query(
            f"select as_of_date, summary from {wh.ident(project.schema, RUNS)} "
            "where command = 'run' and as_of_date is not null order by started_at desc"
        )
    for row in rows:
        try:
            stages = json.loads(row["summary"] or "{}").get("stages", {})
        except (TypeError, ValueError):
            continue
        if (stages.get("build") or {}).get("status") == "ok" and (stages.get("checks") or {}).get(
            "status"
        ) == "passed":
            value = row["as_of_date"]
            return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
    return None


def choose_window(
    project: Project, as_of: str, config: Config, full_history: bool = False, since: str | None = None
) -> TestWindow:
    days = config.check_window_days
    if full_history:
        return TestWindow(None, "--full-history")
    if since:
        try:
            return TestWindow(dt.date.fromisoformat(since).isoformat(), "--since")
        except ValueError:
            raise OkrKpiError(f"--since {since!r} is not a date (YYYY-MM-DD)") from None
    if days <= 0:
        return TestWindow(None, "checks.window_days is 0")
    try:
        last = last_clean_as_of(project)
    except Exception as err:  # an unreadable run table never narrows the checks
        logging.getLogger("okr_kpi").warning("checks: cannot read the run history (%s): all rows", err)
        return TestWindow(None, "the run history could not be read")
    if last is None:
        return TestWindow(None, "no earlier clean run")
    start = min(last, dt.date.fromisoformat(as_of)) - dt.timedelta(days=days)
    return TestWindow(start.isoformat(), f"last clean run as of {last}, minus {days} days")
