"""Issue 16, piece 4: reminders while a breach stays open (cadence per severity), and
acknowledge / snooze (`okr-kpi ack`, `okr-kpi unack`), across several runs on successive days.

Real parts: a DuckDB file with a hand-made fct_kpi_breaches, the `okr-kpi ack` console script in
a subprocess, an http.server on 127.0.0.1 counting the generic webhook's posts. Which breach is
sent on which day is written out by hand.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from publish_helpers import WebhookReceiver, publish_project
from test_publish_lifecycle import breach, publish, set_breaches, table

OKR_KPI = str(Path(sys.executable).parent / "okr-kpi")
DAY1 = dt.date(2026, 8, 31)


def day(n: int) -> dt.date:
    return DAY1 + dt.timedelta(days=n - 1)


@pytest.fixture
def setup(tmp_path, monkeypatch):
    server = WebhookReceiver().start()
    project = publish_project(tmp_path, monkeypatch, OKR_KPI_LOG_DIR=str(tmp_path / "logs"),
                              OKR_KPI_WEBHOOK_URL=server.url("/hook"))
    yield project, server, tmp_path
    server.stop()


def sent(server) -> list[list[tuple[str, str]]]:
    """Per digest: (event, breach_id) in order."""
    return [[(e["event"], e["breach_id"]) for g in b["groups"] for e in g["events"]] for b in server.bodies()]


def run_day(project, server, n: int) -> list[tuple[str, str]]:
    """One run on day n; what it sent (sorted)."""
    before = len(server.requests)
    publish(project, as_of=day(n))
    new = [
        [(e["event"], e["breach_id"]) for g in r["body"]["groups"] for e in g["events"]]
        for r in server.requests[before:]
    ]
    assert len(new) <= 1
    return sorted(new[0]) if new else []


def cli(tmp_path, *args: str):
    proc = subprocess.run(
        [OKR_KPI, *args, "--project-dir", str(tmp_path)],
        env={**os.environ, "USER": "alice"},
        text=True,
        capture_output=True,
        timeout=120,
    )
    return proc


C = breach("c", "csat", "ops@x.example", "2026-08-31", severity="critical", value=2, lower=3)
W = breach("w", "new_leads", "mkt@x.example", "2026-08-31", value=5, lower=10)


def test_reminders_follow_the_cadence_per_severity(setup):
    project, server, tmp_path = setup
    (tmp_path / "okr_kpi.yml").write_text(
        "alerts:\n  lookback_days: 31\n  reminders: {critical: 1, warning: 3}\n"
    )
    set_breaches(project, [C, W])
    expected = {  # by hand: critical every day, warning every 3 days after it was last sent
        1: [("new", "c"), ("new", "w")],
        2: [("reminder", "c")],
        3: [("reminder", "c")],
        4: [("reminder", "c"), ("reminder", "w")],
        5: [("reminder", "c")],
    }
    got = {n: run_day(project, server, n) for n in range(1, 6)}
    assert got == expected
    # the same day again: nothing more
    assert run_day(project, server, 5) == []
    body = server.bodies()[1]
    assert body["counts"]["reminder"] == 1
    text = json.dumps(body)
    assert "open since" not in text  # the words are the channels' rendering; the payload has the date
    assert body["groups"][0]["events"][0]["first_seen_as_of"] == "2026-08-31"


def test_no_reminders_when_switched_off(setup):
    project, server, tmp_path = setup
    (tmp_path / "okr_kpi.yml").write_text("alerts:\n  reminders: {critical: 0, warning: 0}\n")
    set_breaches(project, [C, W])
    assert run_day(project, server, 1) == [("new", "c"), ("new", "w")]
    assert [run_day(project, server, n) for n in (2, 3, 9)] == [[], [], []]


def test_ack_snooze_escalation_and_unack_across_runs(setup):
    project, server, tmp_path = setup
    (tmp_path / "okr_kpi.yml").write_text(
        "alerts:\n  lookback_days: 31\n  reminders: {critical: 1, warning: 1}\n"
    )
    a = breach("a", "orders", "ops@x.example", "2026-08-31", value=5, lower=10)
    b = breach("b", "signups", "mkt@x.example", "2026-08-31", value=5, lower=10)
    x = breach("x", "churn", "cs@x.example", "2026-08-31", value=5, lower=10)
    set_breaches(project, [a, b, x])
    assert run_day(project, server, 1) == [("new", "a"), ("new", "b"), ("new", "x")]

    assert cli(tmp_path, "ack", "a", "--note", "on it").returncode == 0
    snooze = cli(tmp_path, "ack", "b", "--until", day(4).isoformat(), "--by", "bob")
    assert snooze.returncode == 0, snooze.stderr
    assert cli(tmp_path, "ack", "x").returncode == 0
    refused = cli(tmp_path, "ack", "nope")
    assert refused.returncode == 2 and "no breach 'nope'" in refused.stderr
    bad_date = cli(tmp_path, "ack", "a", "--until", "Monday")
    assert bad_date.returncode == 2 and "Traceback" not in bad_date.stderr

    acks = table(
        project,
        "select breach_id, action, acked_by, until_date, note from okr_kpi.okr_kpi_breach_acks "
        "order by breach_id",
    )
    assert [(r["breach_id"], r["action"], r["acked_by"], r["until_date"], r["note"]) for r in acks] == [
        ("a", "ack", "alice", None, "on it"),
        ("b", "ack", "bob", day(4), None),
        ("x", "ack", "alice", None, None),
    ]
    # day 2 and 3: all acknowledged, nothing is sent (reminders would be due every day)
    assert run_day(project, server, 2) == []
    doc = json.loads((project.out_dir / "okr_kpi.json").read_text())
    shown = {
        r["breach_id"]: (r["acked_by"], r["until"], r["snoozed"]) for r in doc["breaches"]["acknowledged"]
    }
    assert shown == {
        "a": ("alice", None, False),
        "b": ("bob", "2026-09-03", True),
        "x": ("alice", None, False),
    }
    html = (project.out_dir / "report.html").read_text()
    assert 'data-breach-id="b"' in html and "bob" in html
    assert cli(tmp_path, "unack", "x").returncode == 0
    # day 3: x is no longer acknowledged: reminded; a and b stay quiet
    assert run_day(project, server, 3) == [("reminder", "x")]
    # day 4: b's snooze ends: reminded at once; x on its cadence
    assert run_day(project, server, 4) == [("reminder", "b"), ("reminder", "x")]
    # day 5: a escalates to critical: sent although acknowledged (it was acknowledged as warning)
    set_breaches(
        project,
        [breach("a", "orders", "ops@x.example", "2026-08-31", severity="critical", value=5, lower=10), b, x],
    )
    assert run_day(project, server, 5) == [("escalated", "a"), ("reminder", "b"), ("reminder", "x")]
    # day 6: the acknowledgement no longer holds for the critical a: it is reminded too
    assert run_day(project, server, 6) == [("reminder", "a"), ("reminder", "b"), ("reminder", "x")]
    # a breach that resolves is reported even while acknowledged
    assert cli(tmp_path, "ack", "b").returncode == 0
    set_breaches(
        project,
        [breach("a", "orders", "ops@x.example", "2026-08-31", severity="critical", value=5, lower=10), x],
    )
    assert run_day(project, server, 7) == [("reminder", "a"), ("reminder", "x"), ("resolved", "b")]
    gone = cli(tmp_path, "unack", "b")  # resolved b: its acknowledgement is history
    assert gone.returncode == 2 and "is resolved" in gone.stderr
