"""The report document (reports/okr_kpi.json, schema in docs/okr_kpi.schema.json) read from the marts.

Reads contract tables only (dim_kpis, fct_kpi_periods, fct_kpi_breaches, kpi_thresholds, and
for OKRs the report models rpt_okr_cycles, rpt_okr_objectives and rpt_okr_key_results, which
decide which cycles are shown) and reads their columns defensively: a missing mart makes its
section `available: false`, never a crash.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from okr_kpi.exit_codes import ExitCode
from okr_kpi.logging import redact_obj
from okr_kpi.warehouse import Warehouse

SCHEMA_VERSION = 1
GRAIN_ORDER = ["day", "week", "month", "quarter", "year"]


def jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if hasattr(value, "as_integer_ratio") and not isinstance(value, bool | int):  # Decimal
        return float(value)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def _rows(wh: Warehouse, schema: str, table: str, where: str = "", order: str = "") -> list[dict] | None:
    if not wh.table_exists(schema, table):
        return None
    sql = f"select * from {wh.ident(schema, table)}"
    if where:
        sql += f" where {where}"
    if order:
        sql += f" order by {order}"
    return [jsonable(r) for r in wh.query(sql)]


def _num(v: Any) -> float | None:
    try:
        return None if v is None else float(v)
    except (TypeError, ValueError):
        return None


MAX_SPLIT_SEGMENTS = 8  # lines per split chart; the rest are named as not shown


def collect_segments(
    wh: Warehouse, schema: str, kpi_id: str, grain: str, as_of: dt.date, periods: list[dict]
) -> list[dict[str, Any]]:
    """The KPI's series per segment value for the report's split chart: fct_kpi_segment_periods
    at the KPI's reporting grain over the periods of its trend, one entry per segment dimension
    with its segments (the MAX_SPLIT_SEGMENTS largest by volume over the window drawn, the
    others listed in `hidden`). [] for a KPI without segments."""
    if not periods or not wh.table_exists(schema, "fct_kpi_segment_periods"):
        return []
    starts = [p["period_start"] for p in periods]
    rows = wh.query(
        f"select segment_dimension, segment_value, period_start, value "
        f"from {wh.ident(schema, 'fct_kpi_segment_periods')} where kpi_id = ? and grain = ? "
        "and period_start >= ? and period_end <= ? order by segment_dimension, segment_value, period_start",
        (kpi_id, grain, dt.date.fromisoformat(str(starts[0])[:10]), as_of),
    )
    wanted = set(starts)
    by_dim: dict[str, dict[str, dict[str, float | None]]] = {}
    for r in rows:
        r = jsonable(r)
        if r["period_start"] not in wanted:
            continue
        dim = str(r["segment_dimension"])
        series = by_dim.setdefault(dim, {}).setdefault(str(r["segment_value"]), {})
        series[r["period_start"]] = _num(r["value"])
    out = []
    for dim in sorted(by_dim):
        series = by_dim[dim]
        order = sorted(series, key=lambda v: (-sum(abs(x or 0) for x in series[v].values()), v))
        out.append(
            {
                "dimension": dim,
                "segments": [
                    {
                        "segment_value": v,
                        "trend": [{"period_start": p, "value": series[v].get(p)} for p in starts],
                    }
                    for v in order[:MAX_SPLIT_SEGMENTS]
                ],
                "hidden": order[MAX_SPLIT_SEGMENTS:],
            }
        )
    return out


def collect_kpis(
    wh: Warehouse, schema: str, as_of: dt.date, trend_periods: int, breaches: list[dict] | None
) -> dict[str, Any]:
    kpis = _rows(wh, schema, "dim_kpis", order="kpi_id")
    if kpis is None:
        return {"available": False, "items": []}
    thresholds = _rows(wh, schema, "kpi_thresholds") or []
    has_periods = wh.table_exists(schema, "fct_kpi_periods")
    # The tile's comparisons (rpt_kpi_tiles): the rule that suits the grain lives in that model.
    tiles = {t.get("kpi_id"): t for t in (_rows(wh, schema, "rpt_kpi_tiles") or [])}
    items = []
    for k in kpis:
        kpi_id = k.get("kpi_id")
        grain = k.get("reporting_grain") or "day"  # dim_kpis.reporting_grain: the mapping is SQL's
        periods: list[dict] = []
        if has_periods:
            periods = wh.query(
                f"select * from {wh.ident(schema, 'fct_kpi_periods')} where kpi_id = ? and grain = ? "
                "and period_end <= ? order by period_start desc limit ?",
                (kpi_id, grain, as_of, int(trend_periods)),
            )
            periods = [jsonable(p) for p in reversed(periods)]
        periods = [p for p in periods if p.get("is_complete") in (None, True)]
        latest = periods[-1] if periods else None
        latest_out = None
        tile = tiles.get(kpi_id)
        if latest and tile and tile.get("period_start") == latest.get("period_start"):
            # the tile's latest period and its comparisons, as rpt_kpi_tiles computed them
            latest_out = {
                "period_start": tile.get("period_start"),
                "period_end": tile.get("period_end"),
                "value": _num(tile.get("value")),
                "comparison_basis": tile.get("comparison_basis"),
                "comparison_period_start": tile.get("comparison_period_start"),
                "prior_value": _num(tile.get("comparison_value")),
                "change": _num(tile.get("change")),
                "change_pct": _num(tile.get("change_pct")),
                "year_comparison_basis": tile.get("year_comparison_basis"),
                "year_comparison_period_start": tile.get("year_comparison_period_start"),
                "same_period_last_year_value": _num(tile.get("year_comparison_value")),
                "change_pct_last_year": _num(tile.get("change_pct_year")),
            }
        elif latest:
            # a report for an earlier as_of_date than the build's tiles: the period's own columns
            # (fct_kpi_periods); the change on last year is the tiles' alone, so it is left empty
            latest_out = {
                "period_start": latest.get("period_start"),
                "period_end": latest.get("period_end"),
                "value": _num(latest.get("value")),
                "prior_value": _num(latest.get("prior_value")),
                "change": _num(latest.get("change")),
                "change_pct": _num(latest.get("change_pct")),
                "same_period_last_year_value": _num(latest.get("same_period_last_year_value")),
                "change_pct_last_year": None,
                "comparison_basis": "prior_period",
                "year_comparison_basis": "same_period_last_year",
            }
        kpi_thresholds = [
            {
                "severity": t.get("severity"),
                "lower_bound": _num(t.get("lower_bound")),
                "upper_bound": _num(t.get("upper_bound")),
            }
            for t in thresholds
            if t.get("kpi_id") == kpi_id and t.get("grain") == grain
            and str(t.get("segment_dimension") or "").strip() in ("", "None")  # totals' bounds only
        ]
        first = periods[0]["period_start"] if periods else None
        kpi_breaches = [
            {
                "period_start": jsonable(b["period_start"]),
                "severity": b["severity"],
                "rule": b["rule"],
                "value": b["value"],
            }
            for b in (breaches or [])
            if b["kpi_id"] == kpi_id
            and b["grain"] == grain
            and first
            and jsonable(b["period_start"]) >= first
        ]
        items.append(
            {
                "kpi_id": kpi_id,
                "name": k.get("name") or kpi_id,
                "description": k.get("description"),
                "unit": k.get("unit"),
                "direction": k.get("direction"),
                "aggregation": k.get("aggregation"),
                "owner": k.get("owner"),
                "reporting_frequency": k.get("reporting_frequency"),
                "grain": grain,
                "latest": latest_out,
                "thresholds": kpi_thresholds,
                "trend": [
                    {
                        "period_start": p.get("period_start"),
                        "period_end": p.get("period_end"),
                        "value": _num(p.get("value")),
                    }
                    for p in periods
                ],
                "breaches": kpi_breaches,
                "segments": collect_segments(wh, schema, kpi_id, grain, as_of, periods),
                "open_breaches": sum(1 for b in (breaches or []) if b["kpi_id"] == kpi_id),
                "latest_breached": bool(latest_out)
                and any(b["period_start"] == latest_out["period_start"] for b in kpi_breaches),
            }
        )
    return {"available": True, "items": items}


def _objective_item(o: dict[str, Any], key_results: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "objective_id": o.get("objective_id"),
        "cycle_id": o.get("cycle_id"),
        "cycle_name": o.get("cycle_name"),
        "cycle_state": o.get("cycle_state"),
        "title": o.get("title"),
        "level": o.get("level"),
        "team": o.get("team"),
        "owner": o.get("owner"),
        "parent_objective_id": o.get("parent_objective_id") or None,
        "parent_title": o.get("parent_title"),
        "parent_cycle_id": o.get("parent_cycle_id"),
        "parent_cycle_name": o.get("parent_cycle_name"),
        "is_parent_shown": bool(o.get("is_parent_reported")),
        "date_day": o.get("date_day"),
        "progress": _num(o.get("progress")),
        "score": _num(o.get("score")),
        "expected_progress": _num(o.get("expected_progress")),
        "status": o.get("status"),
        "grade": o.get("grade"),
        "key_result_count": o.get("key_result_count")
        if o.get("key_result_count") is not None
        else len(key_results),
        "key_results": key_results,
    }


def _key_result_item(kr: dict[str, Any]) -> dict[str, Any]:
    return {
        "key_result_id": kr.get("key_result_id"),
        "title": kr.get("title"),
        "kr_type": kr.get("kr_type"),
        "kpi_id": kr.get("kpi_id"),
        "owner": kr.get("owner"),
        "date_day": kr.get("date_day"),
        "current_value": _num(kr.get("current_value")),
        "baseline": _num(kr.get("baseline")),
        "target": _num(kr.get("target")),
        "progress": _num(kr.get("progress")),
        "score": _num(kr.get("score")),
        "expected_progress": _num(kr.get("expected_progress")),
        "pace_ratio": _num(kr.get("pace_ratio")),
        "status": kr.get("status") or "no_data",
        "no_data_reason": kr.get("no_data_reason"),
        "forecast_value": _num(kr.get("forecast_value")),
        "forecast_probability": _num(kr.get("forecast_probability")),
        "latest_confidence": _num(kr.get("latest_confidence")),
    }


def _cycle_item(c: dict[str, Any]) -> dict[str, Any]:
    return {
        "cycle_id": c.get("cycle_id"),
        "name": c.get("cycle_name") or c.get("cycle_id"),
        "start_date": c.get("start_date"),
        "end_date": c.get("end_date"),
        "length": c.get("cycle_length"),
        "state": c.get("cycle_state"),
        "cycle_days": c.get("cycle_days"),
        "elapsed_days": c.get("elapsed_days"),
        "expected_progress": _num(c.get("expected_progress")),
        "score": _num(c.get("score")),
        "grade": c.get("grade"),
        "objective_count": c.get("objective_count"),
        "grade_counts": {
            "green": c.get("green_objective_count") or 0,
            "yellow": c.get("yellow_objective_count") or 0,
            "red": c.get("red_objective_count") or 0,
        },
    }


def tree_order(objectives: list[dict[str, Any]], cycle_order: dict[str, int]) -> list[dict[str, Any]]:
    """Objectives depth-first along parent_objective_id (across cycles), roots by level
    (company first), then cycle order, then id; children likewise. Each gets `depth` (ancestors
    shown) and `cycle_depth` (ancestors in its own cycle)."""
    ids = {o["objective_id"] for o in objectives}

    def key(o: dict[str, Any]) -> tuple:
        level = {"company": 0, "team": 1, "individual": 2}.get(str(o.get("level")), 3)
        return (level, cycle_order.get(o.get("cycle_id"), 99), str(o["objective_id"]))

    children: dict[str | None, list[dict[str, Any]]] = {}
    for o in objectives:
        parent = o.get("parent_objective_id")
        parent = parent if parent in ids and parent != o["objective_id"] else None
        children.setdefault(parent, []).append(o)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()

    def visit(o: dict[str, Any], path: list[dict[str, Any]]) -> None:
        if o["objective_id"] in seen:
            return
        seen.add(o["objective_id"])
        same = sum(1 for p in path if p.get("cycle_id") == o.get("cycle_id"))
        out.append({**o, "depth": len(path), "cycle_depth": same})
        for child in sorted(children.get(o["objective_id"], []), key=key):
            visit(child, [*path, o])

    for root in sorted(children.get(None, []), key=key):
        visit(root, [])
    for o in sorted(objectives, key=key):  # what a circle of parents left out
        visit(o, [])
    return out


KR_DAY_COLUMNS = (
    "date_day", "cycle_start_date", "cycle_end_date", "current_value", "baseline", "target",
    "expected_value", "score", "status", "check_in_value", "check_in_confidence", "check_in_note",
    "forecast_value", "forecast_low", "forecast_high", "forecast_probability",
)


def collect_okrs(wh: Warehouse, schema: str, as_of: dt.date) -> dict[str, Any]:
    """Every cycle the report shows (rpt_okr_cycles: active on as_of_date, and the latest finished
    of each length), with their objectives and key results on their latest day scored
    (rpt_okr_objectives, rpt_okr_key_results). The rule is the models'; this only selects."""
    cycles = _rows(wh, schema, "rpt_okr_cycles", where="is_reported", order="report_order")
    if cycles is None:
        return {"available": False, "scored": False, "cycle": None, "cycles": [], "objectives": []}
    objectives = _rows(wh, schema, "rpt_okr_objectives") or []
    key_results = _rows(wh, schema, "rpt_okr_key_results", order="key_result_id") or []
    # each active key result's days (rpt_key_result_days: value, expected pace, check-ins, forecast)
    days_by_kr: dict[str, list[dict]] = {}
    for d in _rows_or_none(wh, schema, "rpt_key_result_days", order="key_result_id, date_day") or []:
        days_by_kr.setdefault(d.get("key_result_id"), []).append(
            {k: d.get(k) for k in KR_DAY_COLUMNS}
        )
    krs_by_objective: dict[str, list[dict]] = {}
    for kr in key_results:
        item = _key_result_item(kr)
        if kr.get("key_result_id") in days_by_kr:
            item["days"] = days_by_kr[kr.get("key_result_id")]
        krs_by_objective.setdefault(kr.get("objective_id"), []).append(item)
    cycle_order = {c["cycle_id"]: n for n, c in enumerate(cycles)}
    ordered = tree_order(
        [_objective_item(o, krs_by_objective.get(o.get("objective_id"), [])) for o in objectives],
        cycle_order,
    )
    ordered.sort(key=lambda o: cycle_order.get(o.get("cycle_id"), 99))  # stable: tree order per cycle
    items = [_cycle_item(c) for c in cycles]
    for item in items:
        item["objective_ids"] = [o["objective_id"] for o in ordered if o["cycle_id"] == item["cycle_id"]]
    # `cycle` (schema 1's one cycle): rpt_okr_cycles.is_current (the rule is the model's)
    current = next((item for item, c in zip(items, cycles, strict=True) if c.get("is_current")), None)
    return {
        "available": True,
        "scored": wh.table_exists(schema, "rpt_okr_key_results"),
        "cycle": current,
        "cycles": items,
        "objectives": ordered,
    }


def _rows_or_none(wh: Warehouse, schema: str, table: str, order: str) -> list[dict] | None:
    """_rows, or None when the model is missing or older than this reader (a column missing)."""
    try:
        return _rows(wh, schema, table, order=order)
    except Exception:
        return None


def collect_since_last_week(wh: Warehouse, schema: str, as_of: dt.date, limit: int = 8) -> dict[str, Any]:
    """The "Since last week" section: the breach transitions the lifecycle recorded in the runs of
    the 7 days up to as_of_date (okr_kpi_breach_events, alerted ones; okr_kpi_breach_history for
    the KPI), the key results whose status changed and the biggest score moves
    (rpt_key_result_changes), and the KPIs' biggest moves against their grain's comparison
    (rpt_kpi_tiles.move_rank). The rules are the models' and the lifecycle's; this only selects."""
    from okr_kpi.lifecycle import EVENTS, HISTORY

    since = as_of - dt.timedelta(days=7)
    out: dict[str, Any] = {"since": since.isoformat(), "until": as_of.isoformat()}
    if wh.table_exists(schema, EVENTS) and wh.table_exists(schema, HISTORY):
        rows = wh.query(
            f"select e.event, e.severity, e.previous_severity, e.as_of_date, h.breach_id, h.kpi_id, "
            f"h.kpi_name, h.owner, h.grain, h.period_start, h.rule, h.value "
            f"from {wh.ident(schema, EVENTS)} e join {wh.ident(schema, HISTORY)} h "
            f"on e.breach_id = h.breach_id where e.is_alerted and e.as_of_date > ? and e.as_of_date <= ? "
            f"order by e.as_of_date desc, h.kpi_id, h.period_start",
            (since, as_of),
        )
        events = [jsonable(r) for r in rows]
        out["breaches"] = {
            "available": True,
            "counts": {
                k: sum(1 for e in events if e["event"] == k) for k in ("new", "escalated", "resolved")
            },
            "events": events[:100],
        }
    else:
        out["breaches"] = {"available": False, "counts": {}, "events": []}
    changes = _rows_or_none(wh, schema, "rpt_key_result_changes", order="move_rank")
    if changes is None:
        out["key_results"] = {"available": False, "status_changes": [], "moves": []}
    else:
        out["key_results"] = {
            "available": True,
            "status_changes": [c for c in changes if c.get("is_status_changed")],
            "moves": [c for c in changes if c.get("score_change")][:limit],
        }
    tiles = _rows_or_none(wh, schema, "rpt_kpi_tiles", order="move_rank")
    if tiles is None:
        out["kpis"] = {"available": False, "moves": []}
    else:
        out["kpis"] = {
            "available": True,
            "moves": [t for t in tiles if t.get("change_pct") is not None][:limit],
        }
    return out


def _counts(outcomes: list[dict[str, Any]]) -> dict[str, int]:
    """Data-quality expectations; threshold expectations (KPI values outside a bound) are counted
    apart: they are breaches, reported in their own section, not bad data."""
    dq = [o for o in outcomes if o.get("kind") != "threshold"]
    thresholds = [o for o in outcomes if o.get("kind") == "threshold"]
    return {
        "passed": sum(1 for o in dq if o.get("success") is True),
        "failed": sum(1 for o in dq if o.get("success") is False),
        "threshold_checks": len(thresholds),
        "threshold_checks_breached": sum(1 for o in thresholds if o.get("success") is False),
    }


def collect_data_quality(checks: Any, config_url: str | None) -> dict[str, Any]:
    """The data-quality section from a checks.CheckResult (duck-typed; None = checks skipped)."""
    if checks is None:
        return {"available": False, "status": "skipped", "data_docs": config_url, "checks": []}
    if isinstance(checks, dict):  # a previous document's section, reused by `okr-kpi report`
        outcomes = checks.get("checks") or []
        return {**checks, **_counts(outcomes)}
    outcomes = []
    for o in list(getattr(checks, "outcomes", None) or []):
        details = getattr(o, "details", None) or {}
        name = getattr(o, "expectation", None) or getattr(o, "name", None) or str(o)[:80]
        target = " ".join(str(x) for x in (getattr(o, "kpi_id", None), getattr(o, "grain", None)) if x)
        outcomes.append(
            jsonable(
                {
                    "name": name,
                    "suite": getattr(o, "suite", None),
                    "table": details.get("table") or details.get("column") or target or None,
                    "success": getattr(o, "success", None),
                    "kind": details.get("kind"),
                    "severity": details.get("severity"),
                    "details": getattr(o, "error", None)
                    or (f"{o.unexpected_count} unexpected" if getattr(o, "unexpected_count", None) else None),
                }
            )
        )
    errors = [
        f"{getattr(e, 'expectation', '')}: {getattr(e, 'error', e)}"
        for e in (getattr(checks, "errors", None) or [])
    ]
    if getattr(checks, "fatal", None):
        errors.insert(0, str(checks.fatal))
    failures = list(getattr(checks, "failures", None) or [])
    breaches = list(getattr(checks, "threshold_breaches", None) or [])
    docs = getattr(checks, "data_docs_path", None)
    code = None
    try:
        code = int(checks.exit_code())
    except Exception:
        pass
    status = "error" if errors else ("failed" if failures or code == ExitCode.DATA_QUALITY else "passed")
    return {
        "available": True,
        "status": status,
        "exit_code": code,
        **_counts(outcomes),
        "errors": errors,
        "failure_count": len(failures),
        "threshold_breach_count": len(breaches),
        "data_docs": config_url or (str(docs) if docs else None),
        "checks": outcomes,
    }


def build_document(
    wh: Warehouse,
    schema: str,
    as_of: dt.date,
    *,
    title: str,
    trend_periods: int,
    run_info: dict[str, Any],
    lifecycle: Any = None,
    delivery: Any = None,
    checks: Any = None,
    data_docs_url: str | None = None,
    history_counts: dict[str, int] | None = None,
) -> dict[str, Any]:
    from okr_kpi.lifecycle import acknowledged_breaches, read_breaches, read_drivers

    breaches = read_breaches(wh, schema)
    drivers = read_drivers(wh, schema)  # breach_id -> the segments that drove a total's breach
    code = int(run_info.get("exit_code") or 0)
    try:
        status = ExitCode(code).name.lower()
    except ValueError:
        status = str(code)
    events = []
    if lifecycle is not None:
        events = [
            {
                k: e.get(k)
                for k in (
                    "event",
                    "breach_id",
                    "kpi_id",
                    "kpi_name",
                    "owner",
                    "severity",
                    "previous_severity",
                    "rule",
                    "grain",
                    "period_start",
                    "period_end",
                    "value",
                    "bound",
                    "expected_value",
                    "affected_key_results",
                    "is_suspect",
                    "is_alerted",
                )
            }
            | {"drivers": [] if e["event"] == "resolved" else drivers.get(e["breach_id"], [])}
            for e in sorted(
                lifecycle.events,
                key=lambda e: (
                    not e["is_alerted"],
                    e["severity"] != "critical",
                    -(e["period_end"] or dt.date.min).toordinal(),
                    e["kpi_id"] or "",
                ),
            )
        ]
    recent = sorted(
        breaches or [], key=lambda b: (str(b["period_end"]), b["severity"] == "critical"), reverse=True
    )[:50]
    doc = {
        "schema_version": SCHEMA_VERSION,
        "generated_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "title": title,
        "as_of_date": as_of.isoformat(),
        "run": {**run_info, "status": status},
        "kpis": collect_kpis(wh, schema, as_of, trend_periods, breaches),
        "breaches": {
            "available": breaches is not None,
            "total": len(breaches or []),
            "by_severity": {
                s: sum(1 for b in breaches or [] if b["severity"] == s) for s in ("critical", "warning")
            },
            "lifecycle": history_counts or (lifecycle.counts if lifecycle else {}),
            "acknowledged": acknowledged_breaches(wh, schema, as_of),
            "events": events,
            "recent": [
                {
                    k: b.get(k)
                    for k in (
                        "breach_id",
                        "kpi_id",
                        "kpi_name",
                        "owner",
                        "grain",
                        "period_start",
                        "period_end",
                        "rule",
                        "severity",
                        "value",
                        "bound",
                        "expected_value",
                        "z_score",
                        "affected_key_results",
                        "is_suspect",
                    )
                }
                | {"drivers": drivers.get(b["breach_id"], [])}
                for b in recent
            ],
        },
        "okrs": collect_okrs(wh, schema, as_of),
        "since_last_week": collect_since_last_week(wh, schema, as_of),
        "data_quality": collect_data_quality(checks, data_docs_url),
        "delivery": delivery.as_dict() if delivery is not None else None,
    }
    return redact_obj(jsonable(doc))
