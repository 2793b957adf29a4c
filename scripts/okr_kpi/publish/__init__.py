"""Publishing: the breach lifecycle, the files in reports/ and the digest to every channel.

`publish_stage` is the last stage of `okr-kpi run`; `publish_command` (`okr-kpi publish`) runs it
alone on what is built: it applies the lifecycle (a no-op when the run already did), delivers
what is still pending and writes the reports again. It never re-sends what was sent.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from okr_kpi.config import Config, load_config
from okr_kpi.exit_codes import ExitCode, worst
from okr_kpi.lifecycle import (
    LifecycleResult,
    begin_attempt,
    ensure_tables,
    last_as_of,
    mark_skipped,
    new_run_id,
    now,
    pending_messages,
    read_breaches,
    record_attempt,
    record_run,
    update_lifecycle,
)
from okr_kpi.logging import log_event, redact
from okr_kpi.project import OkrKpiError, Project
from okr_kpi.publish.channels import Channel, DeliveryError
from okr_kpi.publish.routing import Router, channel_for, configured_channels, registry_context
from okr_kpi.warehouse import Warehouse, connected


@dataclass
class DeliveryResult:
    sent: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    uncertain: list[dict[str, Any]] = field(default_factory=list)  # may have arrived; not re-sent

    @property
    def exit_code(self) -> int:
        return ExitCode.DELIVERY_FAILED if self.failed or self.uncertain else ExitCode.OK

    def as_dict(self) -> dict[str, Any]:
        def brief(m: dict[str, Any]) -> dict[str, Any]:
            return {
                "channel": m["channel"],
                "destination": m.get("destination"),
                "message_key": m["message_key"],
                "attempts": m.get("attempts"),
                "error": m.get("last_error"),
            }

        return {
            "sent": [brief(m) for m in self.sent],
            "failed": [brief(m) for m in self.failed],
            "skipped": [brief(m) for m in self.skipped],
            "uncertain": [brief(m) for m in self.uncertain],
        }


@dataclass
class PublishResult:
    lifecycle: LifecycleResult | None
    delivery: DeliveryResult
    paths: dict[str, str]
    seed_hashes: dict[str, str] | None = None  # recorded in okr_kpi_runs.summary (flood guard)

    @property
    def exit_code(self) -> int:
        breaches = ExitCode.BREACHES if self.lifecycle and self.lifecycle.new_or_escalated else ExitCode.OK
        return worst(breaches, self.delivery.exit_code)


def send_with_retries(
    channel: Channel,
    payload: dict[str, Any],
    config: Config,
    before_try: Any = None,
) -> tuple[str, int, str | None]:
    """Try once, then `retries` more times with exponential backoff; (status, attempts, last error).

    status: `sent`; `pending` (certainly not delivered); `unknown` (a try may have arrived and
    the channel's receiver cannot drop a duplicate, so it is not tried again: at most once).
    Each try has a whole-try deadline (`delivery.timeout_seconds`: connect + send + answer).
    `before_try(n)` runs before try n leaves (the outbox records `sending`).
    """
    error = None
    attempts = 0
    for attempt in range(config.retries + 1):
        attempts += 1
        if before_try is not None:
            before_try(attempts)
        try:
            channel.send(payload, timeout=config.timeout_seconds)
            return "sent", attempts, None
        except DeliveryError as err:
            error = str(err)
            log_event(
                logging.WARNING,
                "delivery_attempt_failed",
                f"{channel.name}: attempt {attempt + 1} failed: {error}",
                channel=channel.name,
                attempt=attempt + 1,
            )
            if err.reached and not channel.idempotent:
                return "unknown", attempts, error
            if err.permanent:
                break
            if attempt < config.retries:
                time.sleep(config.backoff_seconds * (2**attempt))
    return "pending", attempts, error


def deliver_pending(wh: Warehouse, schema: str, channels: list[Channel], config: Config) -> DeliveryResult:
    """Deliver every pending outbox message, oldest first; record each try before and after.
    A row's `channel` names its destination (`name`, or `name/owner` for an owner's e-mail)."""
    by_name = {c.name: c for c in channels}
    result = DeliveryResult()
    for message in pending_messages(wh, schema):
        channel = by_name.get(message["channel"])
        if channel is None and "/" in message["channel"]:
            channel = channel_for(config, message["channel"])
        if channel is None:
            mark_skipped(wh, schema, message, f"channel {message['channel']} is no longer configured")
            log_event(
                logging.WARNING,
                "delivery_skipped",
                f"{message['channel']}: no longer configured; message {message['message_key']} skipped",
                channel=message["channel"],
                message_key=message["message_key"],
            )
            result.skipped.append(message)
            continue
        previous = int(message.get("attempts") or 0)
        if message["status"] == "sending" and not channel.idempotent:
            # A run stopped while this message was on its way: it may have arrived, and this
            # receiver cannot drop a second copy. At most once: it is not sent again.
            error = (
                "a run stopped during its delivery (the request may have arrived); not re-sent, "
                "this receiver cannot drop a duplicate"
            )
            record_attempt(wh, schema, message, False, previous, error, status="unknown")
            log_event(
                logging.ERROR,
                "delivery_uncertain",
                f"{channel.name}: digest {message['message_key']} may or may not have arrived ({error})",
                channel=channel.name,
                message_key=message["message_key"],
            )
            result.uncertain.append({**message, "last_error": error})
            continue
        payload = json.loads(message["payload"])
        status, attempts, error = send_with_retries(
            channel,
            payload,
            config,
            before_try=lambda n, m=message, p=previous: begin_attempt(wh, schema, m, p + n),
        )
        total = previous + attempts
        record_attempt(wh, schema, message, status == "sent", total, error, status=status)
        message = {**message, "attempts": total, "last_error": error, "status": status}
        if status == "sent":
            log_event(
                logging.INFO,
                "delivered",
                f"{channel.name}: digest delivered ({message['event_count']} breach events) to "
                f"{channel.destination}",
                channel=channel.name,
                message_key=message["message_key"],
                events=message["event_count"],
                destination=channel.destination,
            )
            result.sent.append(message)
        elif status == "unknown":
            log_event(
                logging.ERROR,
                "delivery_uncertain",
                f"{channel.name}: digest may or may not have arrived ({error}); not re-sent, this "
                "receiver cannot drop a duplicate (at most once)",
                channel=channel.name,
                message_key=message["message_key"],
                error=error,
            )
            result.uncertain.append(message)
        else:
            log_event(
                logging.ERROR,
                "delivery_failed",
                f"{channel.name}: not delivered after {attempts} attempts ({error}); kept pending, "
                "retried by the next run",
                channel=channel.name,
                message_key=message["message_key"],
                error=error,
            )
            result.failed.append(message)
    return result


def resolve_as_of(wh: Warehouse, schema: str) -> dt.date:
    """as_of_date of the latest run, else the one the OKR report models were built on
    (rpt_okr_cycles.as_of_date), else the last day in fct_kpi_daily, else yesterday."""
    found = last_as_of(wh, schema)
    if found:
        return found
    if wh.table_exists(schema, "rpt_okr_cycles"):
        rows = wh.query(f"select max(as_of_date) as d from {wh.ident(schema, 'rpt_okr_cycles')}")
        if rows and rows[0]["d"]:
            value = rows[0]["d"]
            return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
    if wh.table_exists(schema, "fct_kpi_daily"):
        rows = wh.query(f"select max(date_day) as d from {wh.ident(schema, 'fct_kpi_daily')}")
        if rows and rows[0]["d"]:
            value = rows[0]["d"]
            return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
    return dt.date.today() - dt.timedelta(days=1)


def stale_data_breaches(wh: Warehouse, schema: str) -> list[dict[str, Any]]:
    """One breach-shaped row per stale source (fct_kpi_freshness, the rules are the models'), so
    that the lifecycle sends it once per staleness episode and routes it like the rest (rule
    `stale_data`): its id is the source and the first stale day, so the episode keeps it while it
    lasts, it resolves when the source is complete again, and a later episode is new. Owner: the
    owner of the first KPI reading the source (dim_kpis), never reminded (once per episode)."""
    from okr_kpi.freshness import stale_sources
    from okr_kpi.lifecycle import normalise_breach

    stale = stale_sources(wh, schema) or []
    if not stale:
        return []
    owners: dict[str, str] = {}
    if wh.table_exists(schema, "dim_kpis"):
        owners = {
            str(r["kpi_id"]): r.get("owner")
            for r in wh.query(f"select kpi_id, owner from {wh.ident(schema, 'dim_kpis')}")
        }
    rows = []
    for source in stale:
        since = source["stale_since"] or source["as_of_date"]
        kpis = source["kpi_ids"]
        rows.append(
            normalise_breach(
                {
                    "breach_id": f"stale_data:{source['data_source']}:{since}",
                    "kpi_id": kpis[0] if kpis else source["data_source"],
                    "kpi_name": f"Data source {source['data_source']} ({', '.join(kpis) or 'no KPI'})",
                    "owner": next((owners[k] for k in kpis if owners.get(k)), None),
                    "grain": "day",
                    "period_start": since,
                    "period_end": since,
                    "rule": "stale_data",
                    "severity": "warning",
                    "value": source["stale_days"],
                    "suspect_reason": source.get("reason"),
                }
            )
        )
    return rows


def definition_seed_hashes(project: Project) -> dict[str, str] | None:
    """The project's definition seeds' hashes (lifecycle.seed_hashes), None if unreadable."""
    from okr_kpi.lifecycle import seed_hashes
    from okr_kpi.lint import project_seeds_dir

    try:
        return seed_hashes(project_seeds_dir(project.project_dir))
    except (OSError, ValueError, OkrKpiError):
        return None


def report_link(project: Project, config: Config, run_id: str | None = None) -> str:
    """Where digests point: `report.base_url` + the run's archived page (runs/<run_id>/report.html;
    the latest is report.html), else `report.link`, else the local path."""
    section = config.section("report")
    base = section.get("base_url")
    if base:
        base = base.rstrip("/") + "/"
        archived = int(section.get("archive_runs", 30) or 0) > 0
        return base + (f"runs/{run_id}/report.html" if run_id and archived else "report.html")
    return section.get("link") or str(project.out_dir / "report.html")


def publish_stage(
    project: Project,
    wh: Warehouse,
    as_of: dt.date,
    run_id: str,
    config: Config,
    *,
    run_info: dict[str, Any],
    checks: Any = None,
    update: bool = True,
    deliver: bool = True,
    force_lifecycle: bool = False,
) -> PublishResult:
    """Lifecycle (if `update`), delivery of pending messages (if `deliver`), then the files in reports/."""
    from okr_kpi.report import write_reports

    schema = project.schema
    channels = configured_channels(config)
    ensure_tables(wh, schema)
    registry = registry_context(wh, schema)
    router = Router(config, registry)
    lifecycle = None
    if update:
        breaches = read_breaches(wh, schema)
        recorded = len(breaches) if breaches is not None else 0  # the mart's rows, without stale data
        if breaches is not None and config.section("alerts").get("stale_data", True):
            breaches = breaches + stale_data_breaches(wh, schema)
        if breaches is None:
            log_event(
                logging.WARNING,
                "breaches_missing",
                f"{schema}.fct_kpi_breaches does not exist: breach lifecycle skipped",
            )
        else:
            alerts = config.section("alerts")
            lifecycle = update_lifecycle(
                wh,
                schema,
                breaches,
                as_of,
                run_id,
                None,
                lookback_days=config.lookback_days,
                include_suspect=bool(alerts.get("include_suspect", True)),
                report_path=report_link(project, config, run_id),
                force_lifecycle=force_lifecycle,
                flood_settings=alerts,
                seed_hashes=definition_seed_hashes(project),
                router=lambda alerted: [(c.name, c.destination, mine) for c, mine in router.split(alerted)],
                mentions=config.section("mentions"),
                key_results=registry,
                reminders=alerts.get("reminders"),
                backlog=alerts.get("backlog", "open"),
            )
            if lifecycle.backfill_of:
                log_event(
                    logging.WARNING,
                    "backfill",
                    f"backfill: as_of_date {as_of} is before {lifecycle.backfill_of}, the latest the "
                    "breach lifecycle has seen; breaches of periods after it are neither resolved nor "
                    "re-opened nor sent (--force-lifecycle applies the lifecycle as if it were new)",
                    backfill_of=lifecycle.backfill_of,
                )
            if lifecycle.flood:
                f = lifecycle.flood
                log_event(
                    logging.WARNING,
                    "flood",
                    f"flood guard: {f['new']} new breaches (usually {f['usual']}); one summary sent "
                    f"instead of the list; definition seeds changed since the last run: "
                    f"{', '.join(f['changed_seeds']) or 'none'}",
                    **f,
                )
            # breaches of the marts apart from the stale-data alerts (a stale source is not a breach)
            c = {
                k: sum(1 for e in lifecycle.events if e["event"] == k and e.get("rule") != "stale_data")
                for k in ("new", "escalated", "reminder", "resolved")
            }
            c["stale_data"] = sum(1 for e in lifecycle.events
                                  if e["event"] == "new" and e.get("rule") == "stale_data")
            alerted = len(lifecycle.alerted_events)
            for e in lifecycle.alerted_events[:50]:  # critical and warning are coloured apart
                log_event(
                    logging.INFO,
                    "breach_event",
                    f"{e['severity']} · {e['event']}: {e['kpi_name']} ({e['rule']}), {e['grain']} "
                    f"{e['period_start']} · breach {e['breach_id']}",
                    severity=e["severity"],
                    breach_id=e["breach_id"],
                    transition=e["event"],
                )
            log_event(
                logging.INFO,
                "lifecycle",
                f"breaches: {recorded} in fct_kpi_breaches; this run {c['new']} new, "
                f"{c['escalated']} escalated, {c['resolved']} resolved, {c['reminder']} reminded"
                + (f", {c['stale_data']} new stale-data alert(s)" if c["stale_data"] else "")
                + f" ({alerted} to alert, {len(lifecycle.queued)} digest(s) queued)",
                **c,
                alerted=alerted,
                queued=len(lifecycle.queued),
                open=recorded,
            )
    if not channels and not any(d.to_owners for d in router.dests.values()):
        log_event(
            logging.INFO,
            "no_channels",
            "no channel configured (set OKR_KPI_SLACK_WEBHOOK_URL, OKR_KPI_TEAMS_WEBHOOK_URL, "
            "OKR_KPI_WEBHOOK_URL, email or destinations in okr_kpi.yml): nothing to send",
        )
    delivery = deliver_pending(wh, schema, channels, config) if deliver else DeliveryResult()
    result = PublishResult(
        lifecycle=lifecycle,
        delivery=delivery,
        paths={},
        seed_hashes=definition_seed_hashes(project) if lifecycle is not None else None,
    )
    info = {**run_info, "exit_code": int(worst(run_info.get("exit_code", 0), result.exit_code))}
    result.paths = write_reports(
        project,
        wh,
        as_of,
        config=config,
        run_info=info,
        lifecycle=lifecycle,
        delivery=delivery,
        checks=checks,
    )
    return result


def test_payload(name: str, report: str | None) -> dict[str, Any]:
    """The test message (`okr-kpi publish --test`): digest-shaped, `type` okr_kpi.test, no breaches."""
    import uuid

    payload: dict[str, Any] = {
        "schema_version": 1,
        "type": "okr_kpi.test",
        "test": True,
        "idempotency_key": uuid.uuid4().hex,
        "run_id": new_run_id(),
        "as_of_date": dt.date.today().isoformat(),
        "generated_at": now().isoformat() + "Z",
        "counts": {"new": 0, "escalated": 0, "resolved": 0},
        "groups": [],
        "destination": name,
    }
    if report:
        payload["report"] = report
    return payload


def send_test(project: Project, config: Config, only: str | None) -> int:
    """Send one test message to every destination switched on (or to `only`); nothing is stored.
    Exit 0 when each arrived, 20 when one did not, 2 when `only` names no destination."""
    from okr_kpi.publish.routing import destinations

    dests = destinations(config)
    names = [only] if only else list(dests)
    if only and only not in dests and not ("/" in only and only.split("/")[0] in dests):
        raise OkrKpiError(
            f"--test {only}: no such destination switched on (known: {', '.join(dests) or 'none'})"
        )
    code = ExitCode.OK
    tried = 0
    for name in names:
        base, _, owner = name.partition("/")
        d = dests[base]
        if d.to_owners and not owner and not d.options.get("to"):
            log_event(
                logging.WARNING,
                "test_skipped",
                f"{name}: e-mails each owner; name one to test it: --test {name}/OWNER@ADDRESS",
            )
            continue
        channel = d.channel(owner or None)
        if channel is None:
            log_event(
                logging.WARNING,
                "test_skipped",
                f"{name}: its URL variable {d.options.get('url_env')} is not set",
            )
            if only:
                code = ExitCode.DELIVERY_FAILED
            continue
        tried += 1
        status, attempts, error = send_with_retries(
            channel, test_payload(name, report_link(project, config)), config
        )
        if status == "sent":
            log_event(
                logging.INFO,
                "test_sent",
                f"{name}: test message delivered to {channel.destination}",
                always=True,
                destination=name,
            )
        else:
            log_event(
                logging.ERROR,
                "test_failed",
                f"{name}: test message not delivered ({error})",
                destination=name,
            )
            code = ExitCode.DELIVERY_FAILED
    if not tried and not only:
        log_event(logging.WARNING, "no_channels", "no destination switched on: no test message sent")
    return int(code)


def publish_command(
    project: Project, quiet: bool = False, log_format: str = "text", test: str | None = None
) -> int:
    """`okr-kpi publish`: publish the latest results again; never re-sends what was sent.
    `test` (not None): send a test message instead (to every destination, or the one named)."""
    from okr_kpi.logging import setup_logging

    setup_logging(quiet=quiet, log_format=log_format)
    if test is not None:
        return send_test(project, load_config(project.project_dir), test or None)
    config = load_config(project.project_dir)
    started = now()
    run_id = new_run_id()
    from okr_kpi.run import run_lock

    with run_lock(project), connected(project) as wh:
        as_of = resolve_as_of(wh, project.schema)
        log_event(logging.INFO, "publish_started", f"publish: as_of_date {as_of}, run {run_id}")
        try:
            result = publish_stage(
                project,
                wh,
                as_of,
                run_id,
                config,
                run_info={"run_id": run_id, "command": "publish", "exit_code": 0, "stages": {}},
            )
        except Exception as err:
            log_event(logging.ERROR, "publish_error", f"publish failed: {redact(str(err))}")
            raise
        code = result.exit_code
        summary: dict[str, Any] = {"delivery": result.delivery.as_dict()}
        if result.lifecycle is not None:
            summary["seed_hashes"] = result.seed_hashes
        record_run(wh, project.schema, run_id, "publish", as_of, started, code, summary)
    for name, path in result.paths.items():
        log_event(logging.INFO, "written", f"{name}: {path}", path=path)
    return int(code)
