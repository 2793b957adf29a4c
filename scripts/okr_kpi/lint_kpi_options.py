"""Lint rules for the optional KPI and key-result columns of issue 13 (docs/lint.md):
kpi_definitions.reporting_lag_days, direction `neutral`, okr_key_results.baseline_method and
baseline_periods. Called from okr_kpi.lint.practice_issues; unknown values of the enumerated
columns (direction, baseline_method) are structural errors of okr_kpi.seeds.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from okr_kpi.seeds import ERROR, WARNING, SeedIssue

# The longest period of each reporting frequency, in days.
GRAIN_DAYS = {"daily": 1, "weekly": 7, "monthly": 31, "quarterly": 92}


def _whole(value: float) -> bool:
    return float(value).is_integer()


def _fmt(value: float) -> str:
    return f"{value:g}"


def kpi_option_issues(ctx: Any) -> Iterable[SeedIssue]:
    """Issues of the KPI options (ctx: okr_kpi.lint._Context)."""
    yield from _lag_rules(ctx)
    yield from _baseline_method_rules(ctx)
    yield from _neutral_rules(ctx)


def _lag_rules(ctx: Any) -> Iterable[SeedIssue]:
    for kpi_id, kpi in ctx.kpis.items():
        lag = kpi["reporting_lag_days"]
        if lag is None:
            continue
        if lag < 0 or not _whole(lag):
            yield kpi.issue("reporting_lag_days", ERROR, "kpi-reporting-lag",
                            f"reporting_lag_days {_fmt(lag)} of KPI {kpi_id!r} must be a whole number "
                            "of days, 0 or more (empty means 0)")
            continue
        frequency = kpi["reporting_frequency"]
        longest = GRAIN_DAYS.get(frequency)
        if longest is not None and lag > longest:
            yield kpi.issue("reporting_lag_days", WARNING, "kpi-reporting-lag-grain",
                            f"reporting_lag_days {_fmt(lag)} of KPI {kpi_id!r} is longer than its "
                            f"{frequency} reporting period ({longest} days at most): each period is "
                            "judged and scored more than one period after it ends")


def _baseline_method_rules(ctx: Any) -> Iterable[SeedIssue]:
    for kr_id, kr in ctx.key_results.items():
        method, periods = kr["baseline_method"], kr["baseline_periods"]
        if method == "average_of_periods":
            if periods is None or periods < 1 or not _whole(periods):
                shown = "empty" if periods is None else _fmt(periods)
                yield kr.issue("baseline_periods", ERROR, "okr-baseline-periods",
                               f"key result {kr_id!r} averages baseline_periods periods, which is "
                               f"{shown}: it needs a whole number of periods, 1 or more")
        elif periods is not None:
            yield kr.issue("baseline_periods", WARNING, "okr-baseline-periods-ignored",
                           f"baseline_periods {_fmt(periods)} of key result {kr_id!r} is only used by "
                           f"baseline_method average_of_periods (this one: {method or 'last_period'})")
        if method is None:
            continue
        if kr["baseline"] is not None:
            yield kr.issue("baseline_method", WARNING, "okr-baseline-method-ignored",
                           f"key result {kr_id!r} states its baseline {_fmt(kr['baseline'])}: "
                           f"baseline_method {method} is not used")
        elif method != "last_period" and (kr["kpi_id"] is None or kr["measure"] == "cycle_to_date"):
            how = "by check-ins" if kr["kpi_id"] is None else "cycle_to_date"
            yield kr.issue("baseline_method", ERROR, "okr-baseline-method-measure",
                           f"key result {kr_id!r} is measured {how}: baseline_method {method} applies "
                           "to latest_period key results only (state a baseline instead)")


def _neutral_rules(ctx: Any) -> Iterable[SeedIssue]:
    """A neutral KPI has no good direction, so an increase/decrease key result on it must state
    which way it moves: with a relative target (its sign), or with a baseline known from the seeds
    (the seed's, or the 0 of a cycle_to_date sum/count key result) that the absolute target lies
    above or below (okr-target-direction checks the side). An absolute target whose baseline is
    read from the data before the cycle states nothing: it may turn out on either side."""
    for kr_id, kr in ctx.key_results.items():
        kpi = ctx.kpis.get(kr["kpi_id"]) if kr["kpi_id"] is not None else None
        if kpi is None or kpi["direction"] != "neutral" or kr["kr_type"] not in ("increase", "decrease"):
            continue
        zero_baseline = kr["measure"] == "cycle_to_date" and kpi["aggregation"] in ("sum", "count")
        if (kr["target_kind"] == "absolute" and kr["baseline"] is None and not zero_baseline
                and "baseline" not in kr.bad):
            yield kr.issue("baseline", ERROR, "okr-neutral-kpi-direction",
                           f"{kr['kr_type']} key result {kr_id!r} on neutral KPI {kpi['kpi_id']!r} does "
                           "not state its direction: give a baseline, or a relative target")
