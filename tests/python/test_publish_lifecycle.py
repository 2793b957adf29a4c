"""Breach lifecycle and webhook delivery against a real local HTTP server.

The warehouse is a DuckDB file holding a small hand-made `okr_kpi.fct_kpi_breaches` (the mart's
contract columns); between runs the test edits that table the way a new day's build would.
Expected digests are written out by hand from the fixture rows.
"""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pytest
from harness import write_profile_project
from okr_kpi.config import load_config
from okr_kpi.exit_codes import ExitCode
from okr_kpi.lifecycle import compute_transitions, message_key, new_run_id
from okr_kpi.project import Project
from okr_kpi.publish import publish_stage
from okr_kpi.warehouse import connect
from publish_helpers import WebhookReceiver

AS_OF = dt.date(2026, 8, 31)

COLUMNS = (
    "breach_id varchar, kpi_id varchar, kpi_name varchar, owner varchar, grain varchar, period_start date, "
    "period_end date, value double, rule varchar, severity varchar, lower_bound double, upper_bound double, "
    "bound double, expected_value double, z_score double, affected_key_results varchar, is_suspect boolean, "
    "suspect_reason varchar"
)


def breach(
    bid, kpi, owner, day, rule="threshold", severity="warning", value=5.0, lower=10.0, expected=None, krs=""
):
    d = dt.date.fromisoformat(day)
    return (
        bid,
        kpi,
        kpi.replace("_", " ").title(),
        owner,
        "day",
        d,
        d,
        value,
        rule,
        severity,
        lower if rule == "threshold" else None,
        None,
        lower if rule == "threshold" else None,
        expected,
        4.2 if rule == "anomaly" else None,
        krs,
        False,
        None,
    )


# A: a warning threshold breach of alice's KPI on the as_of day; B: a critical anomaly of bob's;
# OLD: a breach 100 days back (outside the 31-day alert window: recorded, never alerted).
A = breach("a", "new_leads", "alice@x.example", "2026-08-31", value=5, lower=10, krs="kr-1,kr-2")
B = breach(
    "b",
    "page_load_time",
    "bob@x.example",
    "2026-08-30",
    rule="anomaly",
    severity="critical",
    value=900,
    expected=400,
)
OLD = breach("old", "new_leads", "alice@x.example", "2026-05-23")
D = breach("d", "csat", "alice@x.example", "2026-08-31", severity="critical", value=2, lower=3)


@pytest.fixture
def setup(tmp_path, monkeypatch):
    db = tmp_path / "wh.duckdb"
    monkeypatch.setenv("OKR_KPI_DUCKDB_PATH", str(db))
    monkeypatch.setenv("OKR_KPI_SCHEMA", "okr_kpi")
    monkeypatch.setenv("OKR_KPI_CONFIG", str(tmp_path / "okr_kpi.yml"))
    monkeypatch.setenv("OKR_KPI_DELIVERY_RETRIES", "2")
    monkeypatch.setenv("OKR_KPI_DELIVERY_BACKOFF_SECONDS", "0.01")
    monkeypatch.setenv("OKR_KPI_DELIVERY_TIMEOUT_SECONDS", "2")
    (tmp_path / "okr_kpi.yml").write_text("alerts:\n  lookback_days: 31\n")
    server = WebhookReceiver().start()
    monkeypatch.setenv("OKR_KPI_WEBHOOK_URL", server.url("/hook/generic"))
    monkeypatch.setenv("OKR_KPI_SLACK_WEBHOOK_URL", server.url("/services/T000/B000/slack"))
    write_profile_project(tmp_path)
    project = Project(target="duckdb", project_dir=tmp_path, out_dir=tmp_path / "reports")
    yield project, server
    server.stop()


def set_breaches(project, rows):
    con = duckdb.connect(str(project.duckdb_path))
    con.execute("create schema if not exists okr_kpi")
    con.execute(f"create or replace table okr_kpi.fct_kpi_breaches ({COLUMNS})")
    for row in rows:
        con.execute(f"insert into okr_kpi.fct_kpi_breaches values ({', '.join('?' * len(row))})", row)
    con.close()


def publish(project, as_of=AS_OF):
    wh = connect(project)
    try:
        run_id = new_run_id()
        result = publish_stage(
            project,
            wh,
            as_of,
            run_id,
            load_config(project.project_dir),
            run_info={"run_id": run_id, "command": "publish", "exit_code": 0, "stages": {}},
        )
        return result
    finally:
        wh.close()


def table(project, sql):
    con = duckdb.connect(str(project.duckdb_path), read_only=True)
    try:
        cur = con.execute(sql)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()


def events(body):
    return [
        (g["owner"], g["severity"], e["event"], e["breach_id"]) for g in body["groups"] for e in g["events"]
    ]


def test_first_run_rerun_new_and_resolved(setup):
    project, server = setup
    set_breaches(project, [A, B, OLD])

    first = publish(project)
    # One digest per channel: the generic webhook and the Slack one.
    assert sorted(r["path"] for r in server.requests) == ["/hook/generic", "/services/T000/B000/slack"]
    body = server.bodies("/hook/generic")[0]
    assert body["schema_version"] == 1 and body["type"] == "okr_kpi.breach_digest"
    assert body["as_of_date"] == "2026-08-31"
    assert body["counts"] == {"new": 2, "escalated": 0, "resolved": 0}
    # Critical first, then by owner (issue 16); OLD is outside the alert window.
    assert events(body) == [
        ("bob@x.example", "critical", "new", "b"),
        ("alice@x.example", "warning", "new", "a"),
    ]
    a = body["groups"][1]["events"][0]
    assert a["kpi_id"] == "new_leads" and a["value"] == 5 and a["bound"] == 10
    assert a["affected_key_results"] == ["kr-1", "kr-2"]
    generic = next(r for r in server.requests if r["path"] == "/hook/generic")
    assert generic["headers"]["Idempotency-Key"] == body["idempotency_key"]
    slack = server.bodies("/services/T000/B000/slack")[0]
    assert "2 new" in slack["text"] and "New Leads" in slack["text"] and "Page Load Time" in slack["text"]
    assert any(b["type"] == "section" and "alice@x.example" in b["text"]["text"] for b in slack["blocks"])
    assert first.exit_code == ExitCode.BREACHES
    history = {r["breach_id"]: r for r in table(project, "select * from okr_kpi.okr_kpi_breach_history")}
    assert {k: v["status"] for k, v in history.items()} == {"a": "new", "b": "new", "old": "new"}
    assert history["old"]["is_alertable"] is False
    outbox = table(project, "select * from okr_kpi.okr_kpi_alert_outbox")
    assert {(o["channel"], o["status"], o["attempts"]) for o in outbox} == {
        ("webhook", "sent", 1),
        ("slack", "sent", 1),
    }
    # Where it was sent is recorded without the secret path.
    assert all("/hook/generic" not in o["destination"] and "127.0.0.1" in o["destination"] for o in outbox)

    # An immediate rerun of the same day sends nothing; the breaches are now ongoing.
    server.requests.clear()
    again = publish(project)
    assert server.requests == []
    assert again.exit_code == ExitCode.OK
    statuses = {
        r["breach_id"]: r["status"] for r in table(project, "select * from okr_kpi.okr_kpi_breach_history")
    }
    assert statuses == {"a": "ongoing", "b": "ongoing", "old": "ongoing"}

    # A new breach: the digest carries only that breach.
    set_breaches(project, [A, B, OLD, D])
    publish(project)
    body = server.bodies("/hook/generic")[0]
    assert events(body) == [("alice@x.example", "critical", "new", "d")]
    assert body["counts"] == {"new": 1, "escalated": 0, "resolved": 0}

    # A resolved breach (gone from the mart): a resolution, and nothing about the others.
    server.requests.clear()
    set_breaches(project, [B, OLD, D])
    publish(project)
    body = server.bodies("/hook/generic")[0]
    assert events(body) == [("alice@x.example", "warning", "resolved", "a")]
    assert table(project, "select status from okr_kpi.okr_kpi_breach_history where breach_id = 'a'") == [
        {"status": "resolved"}
    ]
    # The never-alerted OLD breach resolves silently.
    server.requests.clear()
    set_breaches(project, [B, D])
    publish(project)
    assert server.requests == []


def test_escalation_is_sent_once(setup):
    project, server = setup
    set_breaches(project, [A])
    publish(project)
    server.requests.clear()
    escalated = ("a", *A[1:9], "critical", *A[10:])
    set_breaches(project, [escalated])
    result = publish(project)
    body = server.bodies("/hook/generic")[0]
    assert events(body) == [("alice@x.example", "critical", "escalated", "a")]
    assert body["groups"][0]["events"][0]["previous_severity"] == "warning"
    assert result.exit_code == ExitCode.BREACHES
    server.requests.clear()
    publish(project)  # still critical: ongoing, nothing sent
    assert server.requests == []
    # De-escalation (critical back to warning) is not alerted either.
    set_breaches(project, [A])
    publish(project)
    assert server.requests == []


def test_server_down_keeps_message_and_next_run_delivers_exactly_once(setup):
    project, server = setup
    port = server.port
    server.stop()  # nothing listens on the port now
    set_breaches(project, [A, B])
    down = publish(project)
    assert down.exit_code == ExitCode.DELIVERY_FAILED
    outbox = table(project, "select * from okr_kpi.okr_kpi_alert_outbox order by channel")
    # 1 try + 2 retries (OKR_KPI_DELIVERY_RETRIES=2) per channel, kept pending with the error.
    assert [(o["channel"], o["status"], o["attempts"]) for o in outbox] == [
        ("slack", "pending", 3),
        ("webhook", "pending", 3),
    ]
    assert all(o["last_error"] for o in outbox)
    key = message_key(outbox[1]["run_id"], "webhook")

    server2 = WebhookReceiver(port=port).start()
    try:
        up = publish(project)  # same day, server up: the pending digests go out, nothing new is queued
        assert up.exit_code == ExitCode.OK
        generic = server2.bodies("/hook/generic")
        assert len(generic) == 1 and len(server2.bodies("/services/T000/B000/slack")) == 1
        assert generic[0]["idempotency_key"] == key
        assert events(generic[0]) == [
            ("bob@x.example", "critical", "new", "b"),
            ("alice@x.example", "warning", "new", "a"),
        ]
        server2.requests.clear()
        publish(project)
        assert server2.requests == []
        outbox = table(project, "select status, attempts, sent_at from okr_kpi.okr_kpi_alert_outbox")
        assert all(o["status"] == "sent" and o["attempts"] == 4 and o["sent_at"] for o in outbox)
    finally:
        server2.stop()


def test_http_error_is_a_delivery_failure(setup):
    project, server = setup
    server.status = 500
    set_breaches(project, [A])
    result = publish(project)
    assert result.exit_code == ExitCode.DELIVERY_FAILED
    assert len(server.requests) == 6  # 2 channels x (1 + 2 retries)
    server.status = 200
    server.requests.clear()
    assert publish(project).exit_code == ExitCode.OK
    assert len(server.requests) == 2


def test_removed_channel_marks_pending_messages_skipped(setup, monkeypatch):
    project, server = setup
    server.status = 503
    set_breaches(project, [A])
    publish(project)
    monkeypatch.delenv("OKR_KPI_SLACK_WEBHOOK_URL")
    server.status = 200
    server.requests.clear()
    publish(project)
    assert [r["path"] for r in server.requests] == ["/hook/generic"]
    rows = table(project, "select channel, status from okr_kpi.okr_kpi_alert_outbox order by channel")
    assert rows == [{"channel": "slack", "status": "skipped"}, {"channel": "webhook", "status": "sent"}]


def test_transitions_rules_without_warehouse():
    # Pure rules: resolved then seen again is new again; lookback limits alerting.
    def row(bid, sev="warning", end="2026-08-31"):
        return {
            "breach_id": bid,
            "severity": sev,
            "period_end": dt.date.fromisoformat(end),
            "period_start": dt.date.fromisoformat(end),
            "is_suspect": False,
        }

    at = dt.datetime(2026, 9, 1)
    hist, ev = compute_transitions([row("x")], {}, AS_OF, "r1", at)
    assert [(e["event"], e["is_alerted"]) for e in ev] == [("new", True)]
    hist, ev = compute_transitions([], hist, AS_OF, "r2", at)
    assert [(e["event"], e["is_alerted"]) for e in ev] == [("resolved", True)]
    hist, ev = compute_transitions([row("x")], hist, AS_OF, "r3", at)
    assert [e["event"] for e in ev] == ["new"] and hist["x"]["status"] == "new"
    _, ev = compute_transitions([row("y", end="2026-07-30")], {}, AS_OF, "r4", at)  # 32 days back
    assert [(e["event"], e["is_alerted"]) for e in ev] == [("new", False)]
    _, ev = compute_transitions([row("y", end="2026-07-31")], {}, AS_OF, "r5", at)  # 31 days back: inside
    assert [(e["event"], e["is_alerted"]) for e in ev] == [("new", True)]


def test_outbox_payload_is_the_webhook_body(setup):
    project, server = setup
    set_breaches(project, [A])
    publish(project)
    stored = table(project, "select payload from okr_kpi.okr_kpi_alert_outbox where channel = 'webhook'")
    assert json.loads(stored[0]["payload"]) == server.bodies("/hook/generic")[0]
