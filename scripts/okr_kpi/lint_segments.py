"""Lint rules of segments (docs/segments.md, docs/lint.md):

- kpi-segment-dimensions (error): kpi_definitions.segment_dimensions is not a `|`-separated list
  of lowercase names (letters, digits, _; starting with a letter), or names one twice;
- segment-incomplete (error): a kpi_thresholds or okr_key_results row gives only one of
  segment_dimension and segment_value;
- segment-undeclared (error): a threshold or key result names a segment dimension its KPI does
  not declare (its segment rows never reach the segment marts: it would never fire / stay
  no_data);
- okr-segment-without-kpi (error): a key result measured by check-ins names a segment;
- okr-segment-cycle-to-date (error): a segment key result with measure cycle_to_date (segment key
  results read fct_kpi_segment_periods: use measure latest_period).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from okr_kpi.seeds import ERROR, SeedIssue

NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def parse_dimensions(text: str | None) -> list[str]:
    """The dimension names of a segment_dimensions cell ('' or None: none); not validated."""
    if text is None or not str(text).strip():
        return []
    return [part.strip() for part in str(text).split("|")]


def segment_issues(ctx: Any) -> Iterable[SeedIssue]:
    """The issues of the segment rules; ctx is lint's _Context."""
    declared: dict[str, set[str]] = {}
    for kpi_id, kpi in ctx.kpis.items():
        raw = kpi.raw.get("segment_dimensions")
        names = parse_dimensions(raw)
        declared[kpi_id] = {n for n in names if NAME.match(n)}
        bad = [n for n in names if not NAME.match(n)]
        if bad:
            shown = ", ".join(repr(n) for n in bad)
            yield kpi.issue("segment_dimensions", ERROR, "kpi-segment-dimensions",
                            f"segment_dimensions {raw!r} of KPI {kpi_id!r}: {shown} is not a dimension "
                            "name (lowercase letters, digits and _, starting with a letter; "
                            "separate names with |)")
        repeated = sorted({n for n in names if names.count(n) > 1 and NAME.match(n)})
        if repeated:
            yield kpi.issue("segment_dimensions", ERROR, "kpi-segment-dimensions",
                            f"segment_dimensions {raw!r} of KPI {kpi_id!r} names {', '.join(repeated)} "
                            "more than once")
    rows = [("threshold", row) for rows in ctx.thresholds.values() for row in rows]
    rows += [("key result", row) for row in ctx.key_results.values()]
    for kind, row in rows:
        dimension = (row.raw.get("segment_dimension") or "").strip()
        value = (row.raw.get("segment_value") or "").strip()
        if not dimension and not value:
            continue
        what = (f"{kind} {row['key_result_id']!r}" if kind == "key result"
                else f"threshold of KPI {row['kpi_id']!r}")
        if not dimension or not value:
            missing = "segment_dimension" if not dimension else "segment_value"
            yield row.issue(missing, ERROR, "segment-incomplete",
                            f"{what} gives {'segment_value' if not dimension else 'segment_dimension'} "
                            f"but no {missing}: give both (a segment) or neither (the KPI's total)")
            continue
        kpi_id = row["kpi_id"]
        if kind == "key result" and kpi_id is None:
            yield row.issue("segment_dimension", ERROR, "okr-segment-without-kpi",
                            f"{what} is measured by check-ins: a segment needs a kpi_id")
            continue
        if kpi_id in declared and dimension not in declared[kpi_id]:
            known = ", ".join(sorted(declared[kpi_id])) or "none"
            yield row.issue("segment_dimension", ERROR, "segment-undeclared",
                            f"{what} names segment dimension {dimension!r}, which KPI {kpi_id!r} does "
                            f"not declare in kpi_definitions.segment_dimensions (declared: {known})")
        if kind == "key result" and row["measure"] == "cycle_to_date":
            yield row.issue("measure", ERROR, "okr-segment-cycle-to-date",
                            f"{what} is on segment {dimension}={value}: segment key results are read "
                            "from fct_kpi_segment_periods, use measure latest_period")
