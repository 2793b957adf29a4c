"""Lint rules of the row-level KPI kinds (count_distinct, percentile): docs/lint.md.

- kpi-percentile-missing (error): a percentile KPI without a `percentile` value;
- kpi-percentile-range (error): a percentile that is neither `median` nor a number with 0 < p < 1;
- kpi-percentile-unused (warning): a `percentile` set on a KPI that is not a percentile KPI
  (the models ignore it);
- okr-cycle-to-date-row-level (error): a cycle_to_date key result on a count_distinct or
  percentile KPI (a cycle's distinct members or percentile cannot be re-aggregated from days:
  the value stays empty; use measure latest_period at the cycle's grain).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from okr_kpi.seeds import ERROR, WARNING, SeedIssue

ROW_LEVEL = ("count_distinct", "percentile")


def parse_percentile(text: str | None) -> float | None:
    """The p of a kpi_definitions.percentile cell: `median` is 0.5; None when empty or not a
    number; the range is not checked here."""
    if text is None or not str(text).strip():
        return None
    text = str(text).strip()
    if text.lower() == "median":
        return 0.5
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def row_level_issues(ctx) -> Iterable[SeedIssue]:
    """The issues of the row-level rules; ctx is lint's _Context (kpis, key_results by id)."""
    for kpi_id, kpi in ctx.kpis.items():
        raw = (kpi.raw.get("percentile") or "").strip()
        aggregation = kpi["aggregation"]
        if aggregation == "percentile":
            if not raw:
                yield kpi.issue("percentile", ERROR, "kpi-percentile-missing",
                                f"percentile KPI {kpi_id!r} has no percentile: write p with 0 < p < 1 "
                                "(0.9 for p90) or median")
                continue
            p = parse_percentile(raw)
            if p is None or not 0 < p < 1:
                yield kpi.issue("percentile", ERROR, "kpi-percentile-range",
                                f"percentile {raw!r} of KPI {kpi_id!r} must be median or a number "
                                "with 0 < p < 1 (0.9 for p90, not 90)")
        elif raw and aggregation is not None:
            yield kpi.issue("percentile", WARNING, "kpi-percentile-unused",
                            f"KPI {kpi_id!r} has percentile {raw!r} but aggregation {aggregation}: "
                            "only percentile KPIs use it")
    for kr_id, kr in ctx.key_results.items():
        kpi = ctx.kpis.get(kr["kpi_id"]) if kr["kpi_id"] is not None else None
        if kpi is not None and kr["measure"] == "cycle_to_date" and kpi["aggregation"] in ROW_LEVEL:
            yield kr.issue("measure", ERROR, "okr-cycle-to-date-row-level",
                           f"cycle_to_date key result {kr_id!r} on {kpi['aggregation']} KPI "
                           f"{kpi['kpi_id']!r}: its cycle value cannot be summed from days; use "
                           "measure latest_period")
