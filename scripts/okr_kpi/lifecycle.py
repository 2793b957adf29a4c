"""The breach lifecycle and the alert outbox, kept in the warehouse next to the marts.

Python owns four small tables with a fixed schema in the models' schema (created if missing):

- `okr_kpi_breach_history`: one row per breach ever seen (breach_id from fct_kpi_breaches) with
  its current status: `new` (first run it appears), `ongoing` (still there), `escalated`
  (severity went up: warning -> critical), `resolved` (gone from fct_kpi_breaches);
- `okr_kpi_breach_events`: one row per transition (new, escalated, resolved), append-only,
  with the idempotency key of the digest that carries it;
- `okr_kpi_alert_outbox`: one row per digest message per channel: where (host only, never the
  secret URL), status (`pending` -> `sending` -> `sent`; `unknown` when a try may have arrived
  at a receiver that cannot deduplicate, never re-sent; `skipped`), attempts, when sent, the
  last error, the payload;
- `okr_kpi_runs`: one row per `okr-kpi run` / `okr-kpi publish` with its as_of_date and outcome.

Only new, escalated and resolved breaches are alerted, one digest per run and channel. A rerun
of the same day finds no transitions and queues nothing. Every try is recorded before the
request leaves (`sending`) and after it (`sent` on a 2xx / SMTP 250). A message that certainly
did not arrive goes back to `pending` and is retried by the next run (or `okr-kpi publish`); its
idempotency key never changes. A try that may have arrived (sent, then no answer, or the run was
killed) is retried with the same key only on a channel whose receiver honours it (the generic
webhook); elsewhere (Slack, email) it becomes `unknown` and is not sent again: at most once.

Breaches of periods that ended more than `alerts.lookback_days` before as_of_date are
recorded but not alerted (a first run over years of history would otherwise flood people);
a breach that was never alerted is resolved silently too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from okr_kpi.warehouse import Warehouse

HISTORY = "okr_kpi_breach_history"
EVENTS = "okr_kpi_breach_events"
OUTBOX = "okr_kpi_alert_outbox"
RUNS = "okr_kpi_runs"
ACKS = "okr_kpi_breach_acks"

SEVERITY_RANK = {"warning": 1, "critical": 2}
PAYLOAD_SCHEMA_VERSION = 1

# Fixed schemas: (column, logical type); each warehouse maps the types (okr_kpi.adapters).
BREACH_COLUMNS = [
    ("breach_id", "varchar"),
    ("kpi_id", "varchar"),
    ("kpi_name", "varchar"),
    ("owner", "varchar"),
    ("grain", "varchar"),
    ("period_start", "date"),
    ("period_end", "date"),
    ("rule", "varchar"),
    ("severity", "varchar"),
    ("value", "double"),
    ("lower_bound", "double"),
    ("upper_bound", "double"),
    ("bound", "double"),
    ("expected_value", "double"),
    ("z_score", "double"),
    ("affected_key_results", "varchar"),
    ("is_suspect", "boolean"),
    ("suspect_reason", "varchar"),
]
TABLES: dict[str, list[tuple[str, str]]] = {
    HISTORY: BREACH_COLUMNS
    + [
        ("status", "varchar"),
        ("is_alertable", "boolean"),
        ("first_seen_as_of", "date"),
        ("first_seen_at", "timestamp"),
        ("last_seen_as_of", "date"),
        ("last_seen_at", "timestamp"),
        ("status_changed_at", "timestamp"),
        ("resolved_at", "timestamp"),
        ("last_run_id", "varchar"),
    ],
    EVENTS: [
        ("event_id", "varchar"),
        ("run_id", "varchar"),
        ("breach_id", "varchar"),
        ("event", "varchar"),
        ("severity", "varchar"),
        ("previous_severity", "varchar"),
        ("as_of_date", "date"),
        ("occurred_at", "timestamp"),
        ("is_alerted", "boolean"),
        ("message_key", "varchar"),
    ],
    OUTBOX: [
        ("message_key", "varchar"),
        ("channel", "varchar"),
        ("destination", "varchar"),
        ("run_id", "varchar"),
        ("as_of_date", "date"),
        ("created_at", "timestamp"),
        ("status", "varchar"),
        ("attempts", "int"),
        ("last_attempt_at", "timestamp"),
        ("sent_at", "timestamp"),
        ("last_error", "varchar"),
        ("event_count", "int"),
        ("breach_ids", "varchar"),
        ("payload", "varchar"),
    ],
    # one row per `okr-kpi ack` / `okr-kpi unack` (append-only); a breach's latest row is its state
    ACKS: [
        ("breach_id", "varchar"),
        ("action", "varchar"),
        ("acked_by", "varchar"),
        ("acked_at", "timestamp"),
        ("until_date", "date"),
        ("note", "varchar"),
        ("severity", "varchar"),
    ],
    RUNS: [
        ("run_id", "varchar"),
        ("command", "varchar"),
        ("as_of_date", "date"),
        ("started_at", "timestamp"),
        ("finished_at", "timestamp"),
        ("exit_code", "int"),
        ("summary", "varchar"),
    ],
}


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def new_run_id() -> str:
    """A run's id, in the order runs started: UTC time to the microsecond, then 8 random hex digits.
    Event times are to the second (now()), so two runs within one second (a quick backfill, a
    test) are ordered by their ids (usual_new_count)."""
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f") + "-" + uuid.uuid4().hex[:8]


def _columns(table: str) -> list[tuple[str, str, bool]]:
    return [(c, t, True) for c, t in TABLES[table]]


def ensure_tables(wh: Warehouse, schema: str) -> None:
    """Create the lifecycle tables if missing (idempotent)."""
    wh.create_tables(schema, {table: _columns(table) for table in TABLES})


def read_table(wh: Warehouse, schema: str, table: str) -> list[dict[str, Any]]:
    if not wh.table_exists(schema, table):
        return []
    return wh.query(f"select * from {wh.ident(schema, table)}")


def insert_rows(wh: Warehouse, schema: str, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert rows (dicts) into one of the lifecycle tables, columns in the fixed order."""
    if not rows:
        return
    columns = [c for c, _ in TABLES[table]]
    wh.insert_rows(schema, table, columns, [tuple(row.get(c) for c in columns) for row in rows])


def rewrite_tables(wh: Warehouse, schema: str, tables: dict[str, list[dict[str, Any]]]) -> None:
    """A warehouse without UPDATE/DELETE (Spark): write the tables' full new contents, swapped in
    together (staging tables, then drop + rename)."""
    wh.rewrite_tables(schema, {table: (_columns(table), rows) for table, rows in tables.items()})


# --- reading the breaches -------------------------------------------------------------------------


def _num(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _date(value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "t")
    return bool(value)


def normalise_breach(row: dict[str, Any]) -> dict[str, Any]:
    """One fct_kpi_breaches row with the columns of BREACH_COLUMNS, typed; missing ones are null."""
    out: dict[str, Any] = {}
    for column, kind in BREACH_COLUMNS:
        value = row.get(column)
        if kind == "double":
            value = _num(value)
        elif kind == "date":
            value = _date(value)
        elif kind == "boolean":
            value = _bool(value)
        elif value is not None:
            value = str(value)
        out[column] = value
    out["affected_key_results"] = out["affected_key_results"] or ""
    out["severity"] = (out["severity"] or "warning").lower()
    out["kpi_name"] = out["kpi_name"] or out["kpi_id"]
    out["owner"] = out["owner"] or "(no owner)"
    return out


def read_breaches(wh: Warehouse, schema: str) -> list[dict[str, Any]] | None:
    """fct_kpi_breaches as normalised dicts; None when the mart does not exist."""
    if not wh.table_exists(schema, "fct_kpi_breaches"):
        return None
    return [normalise_breach(r) for r in wh.query(f"select * from {wh.ident(schema, 'fct_kpi_breaches')}")]


DRIVERS = "rpt_kpi_breach_drivers"
DRIVER_COLUMNS = (
    "segment_dimension", "segment_value", "value", "prior_value", "change", "change_pct",
    "contribution", "share_of_change", "rate_share", "mix_share", "direction", "is_exact_share",
)


def read_drivers(wh: Warehouse, schema: str) -> dict[str, list[dict[str, Any]]]:
    """breach_id -> the drivers the digest names (rpt_kpi_breach_drivers, in driver_rank order):
    the model selects and ranks them, this only reads. {} when the model is not built (a project
    older than segments, or a build that left it out): no breach then names drivers."""
    if not wh.table_exists(schema, DRIVERS):
        return {}
    try:
        rows = wh.query(f"select * from {wh.ident(schema, DRIVERS)} order by breach_id, driver_rank")
    except Exception:  # an older build of the model (a column missing): no drivers, never a crash
        return {}
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        d: dict[str, Any] = {}
        for c in DRIVER_COLUMNS:
            v = r.get(c)
            if c == "is_exact_share":
                v = _bool(v)
            elif c in ("segment_dimension", "segment_value", "direction"):
                v = None if v is None else str(v)
            else:
                v = _num(v)
            d[c] = v
        d["rank"] = int(r.get("driver_rank") or len(out.get(str(r["breach_id"]), [])) + 1)
        out.setdefault(str(r["breach_id"]), []).append(d)
    return out


# --- the lifecycle ----------------------------------------------------------------------------------


@dataclass
class LifecycleResult:
    run_id: str
    as_of_date: dt.date
    events: list[dict[str, Any]] = field(default_factory=list)  # this run's transitions (with breach data)
    counts: dict[str, int] = field(default_factory=dict)  # status -> number of breaches after this run
    queued: list[dict[str, Any]] = field(default_factory=list)  # outbox rows queued by this run
    backfill_of: dt.date | None = None  # a backfill: the latest run's (later) as_of_date
    flood: dict[str, Any] | None = None  # the flood summary sent instead of the list, if any

    @property
    def alerted_events(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e["is_alerted"]]

    @property
    def reminded(self) -> int:
        return sum(1 for e in self.alerted_events if e["event"] == "reminder")

    @property
    def new_or_escalated(self) -> int:
        return sum(1 for e in self.alerted_events if e["event"] in ("new", "escalated"))


def is_alertable(breach: dict[str, Any], as_of: dt.date, lookback_days: int, include_suspect: bool) -> bool:
    if breach.get("is_suspect") and not include_suspect:
        return False
    end = breach.get("period_end") or breach.get("period_start")
    return end is None or end >= as_of - dt.timedelta(days=lookback_days)


def compute_transitions(
    current: list[dict[str, Any]],
    history: dict[str, dict[str, Any]],
    as_of: dt.date,
    run_id: str,
    at: dt.datetime,
    lookback_days: int = 31,
    include_suspect: bool = True,
    horizon: dt.date | None = None,
    reminders: dict[str, int] | None = None,
    last_alerted: dict[str, dt.date] | None = None,
    acks: dict[str, dict[str, Any]] | None = None,
) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """The new history (breach_id -> row) and the transitions, from the current breaches.

    Reminders: an alertable breach still open (`ongoing`) gets a `reminder` event when
    `reminders[severity]` days (0: never) have passed since it was last alerted
    (`last_alerted`: breach_id -> as_of_date of its latest new/escalated/reminder event).
    Acknowledged (`acks`: breach_id -> its latest ack row, action `ack`): no reminder until the
    snooze ends (`until_date`: from that day on, a reminder at once, then the cadence) or, without
    a snooze, at all; an escalation above the acknowledged severity is alerted as always and ends
    the acknowledgement; a resolution is alerted as always.

    `horizon` (a backfill: this as_of is earlier than the latest run's): breaches of periods
    ending after it are neither resolved nor re-opened nor alerted; their history is kept as is.

    Pure function: no warehouse, so the rules are easy to test and to read.
    """

    def after_horizon(row: dict[str, Any]) -> bool:
        end = _date(row.get("period_end")) or _date(row.get("period_start"))
        return horizon is not None and end is not None and end > horizon

    new_history: dict[str, dict[str, Any]] = {}
    events: list[dict[str, Any]] = []
    seen: set[str] = set()

    def event(kind: str, row: dict[str, Any], previous_severity: str | None, alerted: bool) -> None:
        key = f"{run_id}|{row['breach_id']}|{kind}"
        events.append(
            {
                **{c: row.get(c) for c, _ in BREACH_COLUMNS},
                "event_id": hashlib.sha256(key.encode()).hexdigest()[:32],
                "run_id": run_id,
                "event": kind,
                "previous_severity": previous_severity,
                "as_of_date": as_of,
                "occurred_at": at,
                "is_alerted": alerted,
                "message_key": None,
                "first_seen_as_of": row.get("first_seen_as_of"),
            }
        )

    for breach in sorted(current, key=lambda b: b["breach_id"]):
        bid = breach["breach_id"]
        if bid in seen:  # the mart promises one row per breach; keep the first if not
            continue
        if after_horizon(breach) and bid in history:
            continue  # a backfill does not touch what later runs saw
        seen.add(bid)
        old = history.get(bid)
        alertable = is_alertable(breach, as_of, lookback_days, include_suspect)
        row = {
            **breach,
            "last_seen_as_of": as_of,
            "last_seen_at": at,
            "last_run_id": run_id,
            "resolved_at": None,
        }
        if old is None or old.get("status") == "resolved":
            row.update(
                status="new",
                is_alertable=alertable,
                first_seen_as_of=as_of,
                first_seen_at=at,
                status_changed_at=at,
            )
            event("new", row, None, alertable)
        elif SEVERITY_RANK.get(breach["severity"], 0) > SEVERITY_RANK.get(old.get("severity"), 0):
            alertable = alertable or _bool(old.get("is_alertable"))
            row.update(
                status="escalated",
                is_alertable=alertable,
                first_seen_as_of=old.get("first_seen_as_of"),
                first_seen_at=old.get("first_seen_at"),
                status_changed_at=at,
            )
            event("escalated", row, old.get("severity"), alertable)
        else:
            row.update(
                status="ongoing",
                is_alertable=_bool(old.get("is_alertable")),
                first_seen_as_of=old.get("first_seen_as_of"),
                first_seen_at=old.get("first_seen_at"),
                status_changed_at=old.get("status_changed_at") if old.get("status") == "ongoing" else at,
            )
            if row["is_alertable"] and reminder_due(row, as_of, reminders, last_alerted, acks):
                event("reminder", row, None, True)
        new_history[bid] = row

    for bid, old in history.items():
        if bid in seen:
            continue
        row = dict(old)
        if after_horizon(old):
            new_history[bid] = row
            continue
        if old.get("status") != "resolved":
            row.update(status="resolved", resolved_at=at, status_changed_at=at, last_run_id=run_id)
            event("resolved", row, old.get("severity"), _bool(old.get("is_alertable")))
        new_history[bid] = row
    return new_history, events


def effective_ack(ack: dict[str, Any] | None, severity: str | None) -> dict[str, Any] | None:
    """The acknowledgement in force: the latest row is an `ack` and the breach has not escalated
    above the severity it was acknowledged at."""
    if not ack or ack.get("action") != "ack":
        return None
    if SEVERITY_RANK.get(severity, 0) > SEVERITY_RANK.get(ack.get("severity"), 0):
        return None
    return ack


def reminder_due(
    row: dict[str, Any],
    as_of: dt.date,
    reminders: dict[str, int] | None,
    last_alerted: dict[str, dt.date] | None,
    acks: dict[str, dict[str, Any]] | None,
) -> bool:
    """Whether an ongoing breach is reminded this run (see compute_transitions)."""
    if not reminders or row.get("rule") == "stale_data":  # stale data: once per episode
        return False
    every = int(reminders.get(row["severity"], 0) or 0)
    last = (last_alerted or {}).get(row["breach_id"])
    ack = effective_ack((acks or {}).get(row["breach_id"]), row["severity"])
    if ack is not None:
        until = _date(ack.get("until_date"))
        if until is None or as_of < until:
            return False  # acknowledged, or snoozed until a later day
        if last is None or last < until:
            return True  # the snooze ended: remind at once
    if every <= 0 or last is None:
        return False
    return (as_of - last).days >= every


def message_key(run_id: str, channel: str) -> str:
    """The idempotency key of one digest on one channel: stable across retries."""
    return hashlib.sha256(f"okr-kpi|{run_id}|{channel}".encode()).hexdigest()[:32]


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def active_key_results(
    ids: list[str], key_results: dict[str, dict[str, Any]] | None, as_of: dt.date
) -> list[str]:
    """Titles of the key results (of `ids`) whose cycle is active on as_of; without the registry
    (no okr_key_results in the warehouse) the ids themselves."""
    if key_results is None:
        return list(ids)
    out = []
    for k in ids:
        kr = key_results.get(k)
        if kr is None:
            continue
        start, end = _date(kr.get("cycle_start")), _date(kr.get("cycle_end"))
        if start is not None and end is not None and not (start <= as_of <= end):
            continue  # a finished (or future) cycle's key result is not news
        out.append(str(kr.get("title") or k))
    return out


def kpi_link(report: str, kpi_id: str) -> str:
    """The KPI's card in the report (the report's `#kpi-<id>` anchors)."""
    return f"{report.split('#')[0]}#kpi-{kpi_id}"


def digest_payload(
    events: list[dict[str, Any]],
    run_id: str,
    as_of: dt.date,
    key: str,
    report_path: str | None = None,
    flood: dict[str, Any] | None = None,
    mentions: dict[str, dict[str, Any]] | None = None,
    destination: str | None = None,
    key_results: dict[str, dict[str, Any]] | None = None,
    drivers: dict[str, list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """The generic digest (the JSON webhook's payload; other channels render it). Documented in
    docs/publishing.md and docs/okr_kpi_digest.schema.json; `schema_version` changes on breaking edits."""
    order = {"critical": 0, "warning": 1}
    kinds = {"new": 0, "escalated": 1, "reminder": 2, "open": 3, "resolved": 4}
    rules = {"threshold": 0, "anomaly": 1}
    items = []
    for e in sorted(
        events,
        key=lambda e: (
            e["owner"] or "",
            kinds[e["event"]],
            e["kpi_id"] or "",
            str(e["period_start"]),
            rules.get(e["rule"], 9),
        ),
    ):
        krs = [k for k in (e["affected_key_results"] or "").split(",") if k]
        items.append(
            {
                "event": e["event"],
                "breach_id": e["breach_id"],
                "kpi_id": e["kpi_id"],
                "kpi_name": e["kpi_name"],
                "owner": e["owner"],
                "severity": e["severity"],
                "previous_severity": e.get("previous_severity"),
                "rule": e["rule"],
                "grain": e["grain"],
                "period_start": e["period_start"],
                "period_end": e["period_end"],
                "value": e["value"],
                "lower_bound": e["lower_bound"],
                "upper_bound": e["upper_bound"],
                "bound": e["bound"],
                "expected_value": e["expected_value"],
                "z_score": e["z_score"],
                "affected_key_results": krs,
                "key_results": active_key_results(krs, key_results, as_of),
                "is_suspect": bool(e["is_suspect"]),
                "suspect_reason": e["suspect_reason"],
                # the segments that explain a total's breach (rpt_kpi_breach_drivers); [] for a
                # segment's breach, a KPI without segments, a resolution
                "drivers": [] if e["event"] == "resolved" else list((drivers or {}).get(e["breach_id"], [])),
                **({"link": kpi_link(report_path, e["kpi_id"])} if report_path else {}),
                **(
                    {"first_seen_as_of": e.get("first_seen_as_of")}
                    if e["event"] in ("reminder", "open")
                    else {}
                ),
            }
        )
    # One line per owner, event, KPI and period with every rule that fired; its severity is the
    # worst of them. A segment's breach (its kpi_name names the segment) has a line of its own,
    # so that it reads apart from the total's. Groups: critical first, then by owner.
    lines: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for item in items:
        line_key = (
            item["owner"], item["event"], item["kpi_id"], item["kpi_name"], item["grain"],
            str(item["period_start"]),
        )
        lines.setdefault(line_key, []).append(item)
    by_group: dict[tuple[str, str], list[list[dict[str, Any]]]] = {}
    for members in lines.values():
        severity = max((m["severity"] for m in members), key=lambda v: SEVERITY_RANK.get(v, 0))
        by_group.setdefault((members[0]["owner"], severity), []).append(members)
    groups: list[dict[str, Any]] = []
    for owner, severity in sorted(by_group, key=lambda g: (order.get(g[1], 9), g[0] or "")):
        group: dict[str, Any] = {"owner": owner, "severity": severity, "events": [], "lines": []}
        mention = {k: v for k, v in ((mentions or {}).get(owner) or {}).items() if v}
        if mention:
            group["mention"] = mention
        for members in by_group[(owner, severity)]:
            first = members[0]
            group["events"] += members
            titles: list[str] = []
            for m in members:
                titles += [t for t in m["key_results"] if t not in titles]
            # the line names the drivers of one of its rules: the anomaly's (against the expected
            # value) when it has any, else the threshold's (against the prior period)
            named = sorted((m for m in members if m["drivers"]), key=lambda m: m["rule"] != "anomaly")
            group["lines"].append(
                {
                    "event": first["event"],
                    "kpi_id": first["kpi_id"],
                    "kpi_name": first["kpi_name"],
                    "grain": first["grain"],
                    "period_start": first["period_start"],
                    "severity": severity,
                    "rules": [m["rule"] for m in members],
                    "breach_ids": [m["breach_id"] for m in members],
                    "key_results": titles,
                    "drivers": named[0]["drivers"] if named else [],
                    **({"drivers_rule": named[0]["rule"]} if named else {}),
                    **({"link": first["link"]} if first.get("link") else {}),
                }
            )
        groups.append(group)
    counts = {k: sum(1 for i in items if i["event"] == k) for k in ("new", "escalated", "resolved")}
    for extra in ("reminder", "open"):  # schema_version 1 keeps its three counts
        if any(i["event"] == extra for i in items):
            counts[extra] = sum(1 for i in items if i["event"] == extra)
    if flood:  # one summary instead of the list (flood_guard); the breaches are in the report
        groups = []
    payload = {
        "schema_version": PAYLOAD_SCHEMA_VERSION,
        "type": "okr_kpi.breach_digest",
        "idempotency_key": key,
        "run_id": run_id,
        "as_of_date": as_of.isoformat(),
        "generated_at": now().isoformat() + "Z",
        "counts": counts,
        "groups": groups,
    }
    if report_path:
        payload["report"] = report_path
    if destination:
        payload["destination"] = destination
    if flood:
        payload["flood"] = flood
    return json.loads(json.dumps(payload, default=_json_default))


def update_lifecycle(
    wh: Warehouse,
    schema: str,
    breaches: list[dict[str, Any]],
    as_of: dt.date,
    run_id: str,
    channels: list[tuple[str, str]] | None = None,
    lookback_days: int = 31,
    include_suspect: bool = True,
    report_path: str | None = None,
    force_lifecycle: bool = False,
    flood_settings: dict[str, Any] | None = None,
    seed_hashes: dict[str, str] | None = None,
    router: Any = None,
    mentions: dict[str, dict[str, Any]] | None = None,
    key_results: dict[str, dict[str, Any]] | None = None,
    reminders: dict[str, int] | None = None,
    backlog: str = "open",
) -> LifecycleResult:
    """Apply this run's breaches to the history and queue one digest per channel, atomically.

    `channels` is a list of (channel name, safe destination description): each gets every alerted
    event. `router(alerted)` (okr_kpi.publish.routing) instead returns (name, description, events)
    per destination: each destination's digest holds only what was routed to it, and gets its own
    outbox row and idempotency key. Returns the transitions.
    An as_of earlier than the latest run's is a backfill (see compute_transitions' `horizon`)
    unless `force_lifecycle`. `flood_settings` (alerts.flood_*): see flood_guard.
    """
    ensure_tables(wh, schema)
    at = now()
    history = {r["breach_id"]: r for r in read_table(wh, schema, HISTORY)}
    latest = max_as_of(wh, schema)
    horizon = as_of if (latest is not None and as_of < latest and not force_lifecycle) else None
    new_history, events = compute_transitions(
        breaches,
        history,
        as_of,
        run_id,
        at,
        lookback_days,
        include_suspect,
        horizon=horizon,
        reminders=reminders,
        last_alerted=last_alerted_dates(wh, schema),
        acks=current_acks(wh, schema),
    )
    alerted = [e for e in events if e["is_alerted"]]
    flood = (
        flood_guard(wh, schema, events, alerted, history, flood_settings or {}, seed_hashes)
        if alerted
        else None
    )
    queued: list[dict[str, Any]] = []
    if router is not None:
        routed = router(alerted) if alerted else []
    else:
        routed = [(c, d, alerted) for c, d in (channels or [])] if alerted else []
    if router is not None and backlog == "open" and history:
        routed, extra = add_backlog(wh, schema, routed, router, new_history, alerted, run_id, as_of, at)
        events += extra
        alerted += extra
    carried: dict[str, list[str]] = {}
    drivers = read_drivers(wh, schema) if any(mine for _, _, mine in routed) else {}
    for channel, destination, mine in routed:
        if not mine:
            continue
        key = message_key(run_id, channel)
        for e in mine:
            carried.setdefault(e["event_id"], []).append(key)
        payload = digest_payload(
            mine,
            run_id,
            as_of,
            key,
            report_path,
            flood=flood,
            mentions=mentions,
            destination=channel if router is not None else None,
            key_results=key_results,
            drivers=drivers,
        )
        queued.append(
            {
                "message_key": key,
                "channel": channel,
                "destination": destination,
                "run_id": run_id,
                "as_of_date": as_of,
                "created_at": at,
                "status": "pending",
                "attempts": 0,
                "last_attempt_at": None,
                "sent_at": None,
                "last_error": None,
                "event_count": len(mine),
                "breach_ids": ",".join(sorted({e["breach_id"] for e in mine})),
                "payload": json.dumps(payload, sort_keys=True),
            }
        )
    for e in alerted:
        if e["event_id"] in carried:
            e["message_key"] = ",".join(carried[e["event_id"]])
    changed = [r for bid, r in new_history.items() if history.get(bid) != r]
    if not wh.supports_dml:
        rewrite_tables(
            wh,
            schema,
            {
                HISTORY: list(new_history.values()),
                EVENTS: read_table(wh, schema, EVENTS) + events,
                OUTBOX: read_table(wh, schema, OUTBOX) + queued,
            },
        )
        changed = []
    with wh.transaction():
        if changed:
            ids = [r["breach_id"] for r in changed]
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                wh.execute(
                    f"delete from {wh.ident(schema, HISTORY)} where breach_id in "
                    f"({', '.join('?' * len(chunk))})",
                    tuple(chunk),
                )
            insert_rows(wh, schema, HISTORY, changed)
        if wh.supports_dml:
            insert_rows(wh, schema, EVENTS, events)
            insert_rows(wh, schema, OUTBOX, queued)
    counts: dict[str, int] = {}
    for row in new_history.values():
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    return LifecycleResult(
        run_id=run_id,
        as_of_date=as_of,
        events=events,
        counts=counts,
        queued=queued,
        backfill_of=latest if horizon is not None else None,
        flood=flood,
    )


def add_backlog(
    wh: Warehouse,
    schema: str,
    routed: list[tuple[str, str, list[dict[str, Any]]]],
    router: Any,
    new_history: dict[str, dict[str, Any]],
    alerted: list[dict[str, Any]],
    run_id: str,
    as_of: dt.date,
    at: dt.datetime,
) -> tuple[list[tuple[str, str, list[dict[str, Any]]]], list[dict[str, Any]]]:
    """A destination that never had a digest (configured after breaches were recorded) receives
    the breaches still open that are routed to it, once, as `open` events in its first digest
    (alerts.backlog: open; `none`: it only hears of what happens from now on)."""
    seen = outbox_channels(wh, schema)
    # a destination's first digest: no resolution of a breach it never heard of
    routed = [(c, d, m if c in seen else [e for e in m if e["event"] != "resolved"]) for c, d, m in routed]
    in_run = {e["breach_id"] for e in alerted}
    rows = [
        r
        for bid, r in sorted(new_history.items())
        if r.get("status") != "resolved" and _bool(r.get("is_alertable")) and bid not in in_run
    ]
    if not rows:
        return routed, []
    candidates: list[dict[str, Any]] = []
    for row in rows:
        key = f"{run_id}|{row['breach_id']}|open"
        candidates.append(
            {
                **{c: row.get(c) for c, _ in BREACH_COLUMNS},
                "event_id": hashlib.sha256(key.encode()).hexdigest()[:32],
                "run_id": run_id,
                "event": "open",
                "previous_severity": None,
                "as_of_date": as_of,
                "occurred_at": at,
                "is_alerted": True,
                "message_key": None,
                "first_seen_as_of": row.get("first_seen_as_of"),
            }
        )
    out = [(c, d, list(m)) for c, d, m in routed]
    used: dict[str, dict[str, Any]] = {}
    for channel, destination, mine in router(candidates):
        if channel in seen or not mine:
            continue
        for entry in out:
            if entry[0] == channel:
                entry[2].extend(mine)
                break
        else:
            out.append((channel, destination, list(mine)))
        for e in mine:
            used[e["event_id"]] = e
    return out, list(used.values())


def outbox_channels(wh: Warehouse, schema: str) -> set[str]:
    """Every destination that ever had a digest queued."""
    if not wh.table_exists(schema, OUTBOX):
        return set()
    return {r["channel"] for r in wh.query(f"select distinct channel from {wh.ident(schema, OUTBOX)}")}


def last_alerted_dates(wh: Warehouse, schema: str) -> dict[str, dt.date]:
    """breach_id -> as_of_date of its latest alerted new / escalated / reminder event."""
    if not wh.table_exists(schema, EVENTS):
        return {}
    rows = wh.query(
        f"select breach_id, max(as_of_date) as d from {wh.ident(schema, EVENTS)} "
        "where is_alerted and event in ('new', 'escalated', 'reminder') group by breach_id"
    )
    return {r["breach_id"]: _date(r["d"]) for r in rows if r["d"] is not None}


def current_acks(wh: Warehouse, schema: str) -> dict[str, dict[str, Any]]:
    """breach_id -> its latest ack/unack row."""
    out: dict[str, dict[str, Any]] = {}
    for row in sorted(read_table(wh, schema, ACKS), key=lambda r: r["acked_at"] or dt.datetime.min):
        out[row["breach_id"]] = row
    return out


def acknowledge(
    wh: Warehouse,
    schema: str,
    breach_id: str,
    action: str,
    by: str,
    until: dt.date | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Record `okr-kpi ack` / `okr-kpi unack` of a breach the lifecycle knows; returns the row."""
    from okr_kpi.project import OkrKpiError

    ensure_tables(wh, schema)
    rows = wh.query(
        f"select breach_id, severity, status, kpi_id from {wh.ident(schema, HISTORY)} where breach_id = ?",
        (breach_id,),
    )
    if not rows:
        raise OkrKpiError(
            f"no breach {breach_id!r} in {schema}.{HISTORY} (breach ids are in the report, "
            "okr_kpi.json and the digests)"
        )
    if rows[0]["status"] == "resolved":
        raise OkrKpiError(
            f"breach {breach_id!r} is resolved: there is nothing to "
            f"{'acknowledge' if action == 'ack' else 'withdraw'}"
        )
    if action == "unack" and not effective_ack(current_acks(wh, schema).get(breach_id), rows[0]["severity"]):
        raise OkrKpiError(f"breach {breach_id!r} is not acknowledged")
    row = {
        "breach_id": breach_id,
        "action": action,
        "acked_by": by,
        "acked_at": now(),
        "until_date": until,
        "note": note,
        "severity": rows[0]["severity"],
    }
    if wh.supports_dml:
        insert_rows(wh, schema, ACKS, [row])
    else:
        rewrite_tables(wh, schema, {ACKS: read_table(wh, schema, ACKS) + [row]})
    return {**row, "status": rows[0]["status"], "kpi_id": rows[0]["kpi_id"]}


def acknowledged_breaches(wh: Warehouse, schema: str, as_of: dt.date) -> list[dict[str, Any]]:
    """The acknowledgements in force (for the report and okr_kpi.json), open breaches only."""
    if not wh.table_exists(schema, HISTORY):
        return []
    history = {r["breach_id"]: r for r in read_table(wh, schema, HISTORY)}
    out = []
    for bid, ack in sorted(current_acks(wh, schema).items()):
        h = history.get(bid)
        if h is None or h.get("status") == "resolved" or effective_ack(ack, h.get("severity")) is None:
            continue
        until = _date(ack.get("until_date"))
        out.append(
            {
                "breach_id": bid,
                "kpi_id": h.get("kpi_id"),
                "kpi_name": h.get("kpi_name"),
                "severity": h.get("severity"),
                "acked_by": ack.get("acked_by"),
                "acked_at": ack["acked_at"].isoformat()
                if isinstance(ack.get("acked_at"), dt.datetime)
                else ack.get("acked_at"),
                "until": until.isoformat() if until else None,
                "snoozed": until is not None and as_of < until,
                "note": ack.get("note"),
            }
        )
    return out


# --- flood guard and definition seeds ---------------------------------------------------------------

DEFINITION_SEEDS = ("kpi_definitions", "kpi_thresholds", "okr_cycles", "okr_objectives", "okr_key_results")


def seed_hashes(seeds_dir: Any) -> dict[str, str]:
    """sha256 (16 hex digits) of each definition seed file present (CRLF read as LF), kept per
    run in okr_kpi_runs.summary so a flood summary can say which definition changed."""
    from pathlib import Path

    out: dict[str, str] = {}
    for name in DEFINITION_SEEDS:
        path = Path(seeds_dir) / f"{name}.csv"
        if path.is_file():
            out[name] = hashlib.sha256(path.read_bytes().replace(b"\r\n", b"\n")).hexdigest()[:16]
    return out


def previous_seed_hashes(wh: Warehouse, schema: str) -> dict[str, str] | None:
    """The definition seeds' hashes recorded by the latest run that recorded them."""
    if not wh.table_exists(schema, RUNS):
        return None
    rows = wh.query(f"select summary from {wh.ident(schema, RUNS)} order by started_at desc limit 50")
    for row in rows:
        try:
            found = json.loads(row["summary"] or "{}").get("seed_hashes")
        except (TypeError, ValueError, AttributeError):
            continue
        if found:
            return dict(found)
    return None


def usual_new_count(wh: Warehouse, schema: str, runs: int = 10) -> float:
    """Median number of new breaches per run over the latest `runs` runs that recorded any
    transition, the very first run (all of history is new then) left out."""
    if not wh.table_exists(schema, EVENTS):
        return 0.0
    rows = wh.query(
        f"select run_id, min(occurred_at) as at, sum(case when event = 'new' then 1 else 0 end) as n "
        f"from {wh.ident(schema, EVENTS)} group by run_id"
    )
    rows = sorted(rows, key=lambda r: (r["at"] or dt.datetime.min, r["run_id"]))[1:][-runs:]
    counts = sorted(int(r["n"] or 0) for r in rows)
    if not counts:
        return 0.0
    mid = len(counts) // 2
    return float(counts[mid]) if len(counts) % 2 else (counts[mid - 1] + counts[mid]) / 2


def flood_guard(
    wh: Warehouse,
    schema: str,
    events: list[dict[str, Any]],
    alerted: list[dict[str, Any]],
    history: dict[str, dict[str, Any]],
    settings: dict[str, Any],
    hashes: dict[str, str] | None,
) -> dict[str, Any] | None:
    """The flood summary, or None. A run floods when it records at least `flood_min_new` new
    breaches (default 20) and more than `flood_ratio` (default 5) times the usual number (the
    median of the previous runs, at least 1). Never on the first run (empty history): the alert
    window (lookback_days) bounds that one. `flood_min_new: 0` switches the guard off."""
    minimum = int(settings.get("flood_min_new", 20) or 0)
    ratio = float(settings.get("flood_ratio", 5) or 0)
    new = sum(1 for e in events if e["event"] == "new" and e.get("rule") != "stale_data")
    if minimum <= 0 or not history:
        return None
    usual = usual_new_count(wh, schema)
    if new < minimum or new <= ratio * max(usual, 1.0):
        return None
    before = previous_seed_hashes(wh, schema)
    changed: list[str] = []
    if before is not None and hashes is not None:
        changed = sorted(k for k in set(hashes) | set(before) if hashes.get(k) != before.get(k))
    return {
        "new": new,
        "alerted": len(alerted),
        "usual": round(usual, 1),
        "flood_min_new": minimum,
        "flood_ratio": ratio,
        "changed_seeds": changed,
        "seed_history": before is not None,
    }


def pending_messages(wh: Warehouse, schema: str) -> list[dict[str, Any]]:
    """Outbox rows still to deliver (`pending`, or `sending`: a run stopped during their
    delivery), oldest first."""
    if not wh.table_exists(schema, OUTBOX):
        return []
    rows = wh.query(f"select * from {wh.ident(schema, OUTBOX)} where status in ('pending', 'sending')")
    return sorted(rows, key=lambda r: (r["created_at"] or dt.datetime.min, r["channel"]))


def _update_outbox(wh: Warehouse, schema: str, message: dict[str, Any], changes: dict[str, Any]) -> None:
    if not wh.supports_dml:
        rows = read_table(wh, schema, OUTBOX)
        for row in rows:
            if (row["message_key"], row["channel"]) == (message["message_key"], message["channel"]):
                row.update(changes)
        rewrite_tables(wh, schema, {OUTBOX: rows})
        return
    sets = ", ".join(f"{c} = ?" for c in changes)
    wh.execute(
        f"update {wh.ident(schema, OUTBOX)} set {sets} where message_key = ? and channel = ?",
        (*changes.values(), message["message_key"], message["channel"]),
    )


def begin_attempt(wh: Warehouse, schema: str, message: dict[str, Any], attempts: int) -> None:
    """Record, before the request leaves, that a try is under way (`sending`): if the run dies
    during it, the next run knows the message may have arrived."""
    _update_outbox(wh, schema, message, {"status": "sending", "attempts": attempts, "last_attempt_at": now()})


def record_attempt(
    wh: Warehouse,
    schema: str,
    message: dict[str, Any],
    ok: bool,
    attempts: int,
    error: str | None,
    status: str | None = None,
) -> None:
    """After a try: `sent` (acknowledged), `pending` (certainly not delivered: retried later) or
    `unknown` (may have arrived, receiver cannot deduplicate: never sent again)."""
    at = now()
    _update_outbox(
        wh,
        schema,
        message,
        {
            "status": status or ("sent" if ok else "pending"),
            "attempts": attempts,
            "last_attempt_at": at,
            "sent_at": at if ok else None,
            "last_error": None if ok else (error or "")[:1000],
        },
    )


def mark_skipped(wh: Warehouse, schema: str, message: dict[str, Any], reason: str) -> None:
    _update_outbox(wh, schema, message, {"status": "skipped", "last_error": reason})


def record_run(
    wh: Warehouse,
    schema: str,
    run_id: str,
    command: str,
    as_of: dt.date | None,
    started_at: dt.datetime,
    exit_code: int,
    summary: dict[str, Any],
) -> None:
    ensure_tables(wh, schema)
    row = {
        "run_id": run_id,
        "command": command,
        "as_of_date": as_of,
        "started_at": started_at,
        "finished_at": now(),
        "exit_code": int(exit_code),
        "summary": json.dumps(summary, default=_json_default),
    }
    if not wh.supports_dml:
        rewrite_tables(wh, schema, {RUNS: read_table(wh, schema, RUNS) + [row]})
    else:
        insert_rows(wh, schema, RUNS, [row])


def max_as_of(wh: Warehouse, schema: str) -> dt.date | None:
    """The latest as_of_date the lifecycle was applied with (the breach history's latest
    last_seen_as_of); a run with an earlier one is a backfill."""
    if not wh.table_exists(schema, HISTORY):
        return None
    rows = wh.query(f"select max(last_seen_as_of) as d from {wh.ident(schema, HISTORY)}")
    return _date(rows[0]["d"]) if rows else None


def last_as_of(wh: Warehouse, schema: str) -> dt.date | None:
    """as_of_date of the latest recorded run, if any."""
    if not wh.table_exists(schema, RUNS):
        return None
    rows = wh.query(
        f"select as_of_date from {wh.ident(schema, RUNS)} where as_of_date is not null "
        "order by started_at desc limit 1"
    )
    return _date(rows[0]["as_of_date"]) if rows else None
