"""The report document (reports/okr_kpi.json, schema in docs/okr_kpi.schema.json) read from the marts.

Reads contract tables only (dim_kpis, fct_kpi_periods, fct_kpi_breaches, kpi_thresholds,
fct_key_result_progress, fct_objective_progress, okr_objectives, okr_key_results) and reads
their columns defensively: a missing mart makes its section `available: false`, never a crash.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from okr_kpi.exit_codes import ExitCode
from okr_kpi.logging import redact_obj
from okr_kpi.warehouse import Warehouse

SCHEMA_VERSION = 1
FREQUENCY_GRAIN = {
    "daily": "day",
    "weekly": "week",
    "monthly": "month",
    "quarterly": "quarter",
    "yearly": "year",
}
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


def collect_kpis(
    wh: Warehouse, schema: str, as_of: dt.date, trend_periods: int, breaches: list[dict] | None
) -> dict[str, Any]:
    kpis = _rows(wh, schema, "dim_kpis", order="kpi_id")
    if kpis is None:
        return {"available": False, "items": []}
    thresholds = _rows(wh, schema, "kpi_thresholds") or []
    has_periods = wh.table_exists(schema, "fct_kpi_periods")
    items = []
    for k in kpis:
        kpi_id = k.get("kpi_id")
        grain = FREQUENCY_GRAIN.get(str(k.get("reporting_frequency") or "daily"), "day")
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
        if latest:
            ly = _num(latest.get("same_period_last_year_value"))
            value = _num(latest.get("value"))
            latest_out = {
                "period_start": latest.get("period_start"),
                "period_end": latest.get("period_end"),
                "value": value,
                "prior_value": _num(latest.get("prior_value")),
                "change": _num(latest.get("change")),
                "change_pct": _num(latest.get("change_pct")),
                "same_period_last_year_value": ly,
                "change_pct_last_year": (value - ly) / abs(ly)
                if value is not None and ly not in (None, 0)
                else None,
            }
        kpi_thresholds = [
            {
                "severity": t.get("severity"),
                "lower_bound": _num(t.get("lower_bound")),
                "upper_bound": _num(t.get("upper_bound")),
            }
            for t in thresholds
            if t.get("kpi_id") == kpi_id and t.get("grain") == grain
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
                "open_breaches": sum(1 for b in (breaches or []) if b["kpi_id"] == kpi_id),
                "latest_breached": bool(latest_out)
                and any(b["period_start"] == latest_out["period_start"] for b in kpi_breaches),
            }
        )
    return {"available": True, "items": items}


def _latest_day(wh: Warehouse, schema: str, table: str, as_of: dt.date) -> list[dict] | None:
    if not wh.table_exists(schema, table):
        return None
    ident = wh.ident(schema, table)
    cols = {c.lower() for c in (wh.query(f"select * from {ident} limit 1") or [{}])[0]}
    if "date_day" not in cols:
        return [jsonable(r) for r in wh.query(f"select * from {ident}")]
    key = "key_result_id" if "key_result_id" in cols else "objective_id"
    # The latest scored day of each row on or before as_of (cycles that ended keep their last day).
    return [
        jsonable(r)
        for r in wh.query(
            f"select t.* from {ident} as t inner join (select {key} as k, max(date_day) as d from {ident} "
            f"where date_day <= ? group by {key}) as latest on t.{key} = latest.k and t.date_day = latest.d",
            (as_of,),
        )
    ]


def collect_okrs(wh: Warehouse, schema: str, as_of: dt.date) -> dict[str, Any]:
    objectives = _rows(wh, schema, "okr_objectives") or []
    key_results = _rows(wh, schema, "okr_key_results") or []
    cycles = {c.get("cycle_id"): c for c in (_rows(wh, schema, "okr_cycles") or [])}
    kr_progress = _latest_day(wh, schema, "fct_key_result_progress", as_of)
    obj_progress = _latest_day(wh, schema, "fct_objective_progress", as_of)
    if not objectives and not kr_progress:
        return {"available": False, "scored": False, "cycle": None, "objectives": []}
    krp = {r.get("key_result_id"): r for r in (kr_progress or [])}
    objp = {r.get("objective_id"): r for r in (obj_progress or [])}
    # The cycle shown: the one containing as_of, else the latest that started before it.
    current = None
    for c in sorted(cycles.values(), key=lambda c: str(c.get("start_date"))):
        if str(c.get("start_date")) <= as_of.isoformat():
            current = c
    krs_by_obj: dict[str, list[dict]] = {}
    for kr in key_results:
        p = krp.get(kr.get("key_result_id"), {})
        krs_by_obj.setdefault(kr.get("objective_id"), []).append(
            {
                "key_result_id": kr.get("key_result_id"),
                "title": kr.get("title"),
                "kr_type": kr.get("kr_type"),
                "kpi_id": kr.get("kpi_id"),
                "owner": kr.get("owner"),
                "date_day": p.get("date_day"),
                "current_value": _num(p.get("current_value")),
                "baseline": _num(p.get("baseline")),
                "target": _num(p.get("target")),
                "progress": _num(p.get("progress")),
                "score": _num(p.get("score")),
                "expected_progress": _num(p.get("expected_progress")),
                "pace_ratio": _num(p.get("pace_ratio")),
                "status": p.get("status") or ("no_data" if kr_progress is not None else None),
                "forecast_value": _num(p.get("forecast_value")),
                "forecast_probability": _num(p.get("forecast_probability")),
            }
        )
    out = []
    for o in objectives:
        p = objp.get(o.get("objective_id"), {})
        out.append(
            {
                "objective_id": o.get("objective_id"),
                "cycle_id": o.get("cycle_id"),
                "title": o.get("title"),
                "level": o.get("level"),
                "team": o.get("team"),
                "owner": o.get("owner"),
                "parent_objective_id": o.get("parent_objective_id") or None,
                "progress": _num(p.get("progress")),
                "score": _num(p.get("score")),
                "expected_progress": _num(p.get("expected_progress")),
                "status": p.get("status"),
                "key_result_count": p.get("key_result_count", len(krs_by_obj.get(o.get("objective_id"), []))),
                "key_results": krs_by_obj.get(o.get("objective_id"), []),
            }
        )
    return {"available": True, "scored": kr_progress is not None, "cycle": current, "objectives": out}


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
    from okr_kpi.lifecycle import read_breaches

    breaches = read_breaches(wh, schema)
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
                for b in recent
            ],
        },
        "okrs": collect_okrs(wh, schema, as_of),
        "data_quality": collect_data_quality(checks, data_docs_url),
        "delivery": delivery.as_dict() if delivery is not None else None,
    }
    return redact_obj(jsonable(doc))
