"""Freshness inside `okr-kpi run`: one stale-data alert per source whose latest data is missing,
stale or incomplete, read from the mart dbt built (`fct_kpi_freshness`).

The rules live in SQL (models/checks/int_kpi_load_days.sql, docs/checks.md "Freshness and load
checks"): a source's uncovered days make their periods not full, so they are never judged for
thresholds or anomalies. This module only reads the result, logs one `stale_data` event per stale
source and gives the stage's exit code: 15 (ExitCode.STALE_DATA) when any source is stale.

An as_of_date past the data (later than the last day any source has rows, not in the future:
a future one is refused before the run, exit 2) is neither refused nor clamped: the run goes on,
every source after its last data is stale (exit 15, its periods not judged, so no false breach),
and one `as_of_past_data` warning says by how much ("as_of 2026-11-30 is 91 days past the last
data (2026-08-31) of sources a, b: periods after it are not judged"); it is in the run's summary
(stages.freshness.detail). docs/checks.md, "An as_of_date past the data".
"""

from __future__ import annotations

import logging
from typing import Any

from okr_kpi.exit_codes import ExitCode
from okr_kpi.logging import log_event

TABLE = "fct_kpi_freshness"


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def stale_sources(wh, schema: str) -> list[dict[str, Any]] | None:
    """The stale sources (one dict per source, sorted by name); None when the mart is missing
    (a project built before this model existed: nothing is judged stale)."""
    if not wh.table_exists(schema, TABLE):
        return None
    rows = wh.query(f"select * from {wh.ident(schema, TABLE)}")
    stale = []
    for row in rows:
        if not row.get("is_stale") or str(row.get("is_stale")).lower() in ("false", "0"):
            continue
        stale.append({
            "data_source": str(row["data_source"]),
            "kpi_ids": [k for k in str(row.get("kpi_ids") or "").split(",") if k],
            "last_data_date": _text(row.get("last_data_date")),
            "last_row_at": _text(row.get("last_row_at")),
            "covered_through": _text(row.get("covered_through")),
            "stale_since": _text(row.get("stale_since")),
            "stale_days": int(row.get("stale_days") or 0),
            "reason": row.get("stale_reason"),
            "as_of_date": _text(row.get("as_of_date")),
        })
    return sorted(stale, key=lambda s: s["data_source"])


def past_data(wh, schema: str, stale: list[dict[str, Any]]) -> dict[str, Any] | None:
    """When as_of_date is later than the last day with data of every source: the gap, the latest
    data day and the sources (stale ones, which all are then); None otherwise."""
    rows = wh.query(
        f"select max(last_data_date) as last_data, max(as_of_date) as as_of from {wh.ident(schema, TABLE)}"
    )
    if not rows or rows[0]["last_data"] is None or rows[0]["as_of"] is None:
        return None
    last, as_of = _text(rows[0]["last_data"])[:10], _text(rows[0]["as_of"])[:10]
    import datetime as dt

    days = (dt.date.fromisoformat(as_of) - dt.date.fromisoformat(last)).days
    if days <= 0:
        return None
    sources = [s["data_source"] for s in stale if s["last_data_date"]]
    text = (
        f"as_of {as_of} is {days} day(s) past the last data ({last}) of source(s) "
        f"{', '.join(sources) or 'none'}: periods after it are not judged"
    )
    return {"as_of_date": as_of, "last_data_date": last, "days_past": days, "sources": sources, "text": text}


def alert_text(source: dict[str, Any]) -> str:
    kpis = ", ".join(source["kpi_ids"]) or "no KPI"
    last = source["last_row_at"] or source["last_data_date"] or "never"
    return (
        f"stale data: source {source['data_source']} is not complete from {source['stale_since']} "
        f"({source['stale_days']} day(s) up to as_of {source['as_of_date']}; {source['reason']}; "
        f"last row {last}): those periods of {kpis} were not judged"
    )


def freshness_stage(wh, schema: str) -> dict[str, Any]:
    """The run's freshness stage: one WARNING `stale_data` event per stale source; exit 15 if any."""
    stale = stale_sources(wh, schema)
    if stale is None:
        log_event(logging.INFO, "freshness", f"freshness: skipped ({TABLE} not built)")
        return {"status": "skipped", "exit_code": 0, "detail": f"{TABLE} not built", "stale": []}
    past = past_data(wh, schema, stale) if stale else None
    if past:
        fields = {k: v for k, v in past.items() if k != "text"}
        log_event(logging.WARNING, "as_of_past_data", past["text"], **fields)
    for source in stale:
        log_event(logging.WARNING, "stale_data", alert_text(source), **source)
    if stale:
        detail = f"{len(stale)} stale source(s): " + ", ".join(s["data_source"] for s in stale)
        if past:
            detail = f"{past['text']}; {detail}"
        return {"status": "stale", "exit_code": int(ExitCode.STALE_DATA), "detail": detail, "stale": stale,
                "as_of_past_data": past}
    log_event(logging.INFO, "freshness", "freshness: every source is complete up to as_of_date")
    return {"status": "ok", "exit_code": 0, "detail": "every source complete", "stale": []}
