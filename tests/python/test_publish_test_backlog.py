"""Issue 16, piece 6: `okr-kpi publish --test [DESTINATION]`, and a destination configured after
breaches were recorded receives the open ones once (alerts.backlog: open, the default).

Real parts: the `okr-kpi` console script (for --test), a DuckDB file with a hand-made
fct_kpi_breaches, http.server receivers on 127.0.0.1 counting posts. Expected sends by hand.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from publish_helpers import WebhookReceiver, publish_project
from test_publish_lifecycle import breach, publish, set_breaches

REPO = Path(__file__).resolve().parents[2]
OKR_KPI = str(Path(sys.executable).parent / "okr-kpi")

A = breach("a", "orders", "ops@x.example", "2026-08-31", value=5, lower=10)
B = breach("b", "churn", "cs@x.example", "2026-08-30", severity="critical", value=5, lower=10)


def test_publish_test_sends_one_message_per_destination(tmp_path):
    http = WebhookReceiver().start()
    down = WebhookReceiver().start()
    down_url = down.url("/down")
    down.stop()
    try:
        config = tmp_path / "okr_kpi.yml"
        config.write_text(
            "destinations:\n  ops: {type: slack, url_env: T_OPS}\n  fin: {type: teams, url_env: T_FIN}\n"
            "  owners: {type: email, to_owners: true}\n"
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("OKR_KPI_")}
        env.update(
            {
                "OKR_KPI_CONFIG": str(config),
                "OKR_KPI_DUCKDB_PATH": str(tmp_path / "wh.duckdb"),
                "DBT_PROFILES_DIR": str(REPO / "examples" / "demo"),
                "DBT_PROJECT_DIR": str(REPO),
                "OKR_KPI_DELIVERY_RETRIES": "0",
                "OKR_KPI_DELIVERY_TIMEOUT_SECONDS": "2",
                "T_OPS": http.url("/ops"),
                "T_FIN": http.url("/fin"),
                "OKR_KPI_WEBHOOK_URL": http.url("/hook"),
            }
        )

        def cli(*args, **extra):
            return subprocess.run(
                [OKR_KPI, "publish", "--out", str(tmp_path / "out"), *args],
                env={**env, **extra},
                cwd=tmp_path,
                text=True,
                capture_output=True,
                timeout=120,
            )

        everyone = cli("--test")
        assert everyone.returncode == 0, everyone.stderr
        assert sorted(r["path"] for r in http.requests) == ["/fin", "/hook", "/ops"]
        assert "owners: e-mails each owner" in everyone.stderr
        (ops,) = http.bodies("/ops")
        assert ops["text"].startswith("okr-kpi test message for ops")
        (fin,) = http.bodies("/fin")
        jsonschema.validate(fin, json.loads((REPO / "docs" / "okr_kpi_teams.schema.json").read_text()))
        (hook,) = http.bodies("/hook")
        assert hook["type"] == "okr_kpi.test" and hook["groups"] == []
        one = cli("--test", "fin")
        assert one.returncode == 0 and [r["path"] for r in http.requests[3:]] == ["/fin"]
        unknown = cli("--test", "pager")
        assert unknown.returncode == 2 and "no such destination" in unknown.stderr
        broken = cli("--test", "ops", T_OPS=down_url)
        assert broken.returncode == 20 and "not delivered" in broken.stderr
        assert not (tmp_path / "wh.duckdb").exists()  # nothing stored
    finally:
        http.stop()


@pytest.fixture
def project(tmp_path, monkeypatch):
    project = publish_project(tmp_path, monkeypatch, "alerts: {reminders: {critical: 0, warning: 0}}\n")
    server = WebhookReceiver().start()
    yield project, server, tmp_path
    server.stop()


def ids(body):
    return sorted((e["event"], e["breach_id"]) for g in body["groups"] for e in g["events"])


def test_a_channel_added_later_gets_the_open_breaches_once(project, monkeypatch):
    project, server, _ = project
    set_breaches(project, [A, B])
    first = publish(project)  # no channel at all: recorded, nothing to send
    assert first.lifecycle.new_or_escalated == 2 and server.requests == []
    monkeypatch.setenv("OKR_KPI_WEBHOOK_URL", server.url("/hook"))
    publish(project)  # the same day again: no transition, but the new destination hears of A and B
    (hook,) = server.bodies("/hook")
    assert ids(hook) == [("open", "a"), ("open", "b")]
    assert hook["counts"]["open"] == 2
    jsonschema.validate(hook, json.loads((REPO / "docs" / "okr_kpi_digest.schema.json").read_text()))
    publish(project)
    assert len(server.requests) == 1  # once
    # a second destination later still: A and B once for it too, the webhook hears nothing more
    monkeypatch.setenv("OKR_KPI_SLACK_WEBHOOK_URL", server.url("/slack"))
    set_breaches(project, [A])  # B resolved meanwhile: the webhook hears that; slack gets A open
    publish(project)
    assert ids(server.bodies("/hook")[1]) == [("resolved", "b")]
    (slack,) = server.bodies("/slack")
    assert "1 open from before this destination was set up" in slack["text"] and "Orders" in slack["text"]
    assert "Churn" not in slack["text"]  # no resolution of a breach it never heard of


def test_backlog_none_keeps_a_new_channel_to_what_happens_next(project, monkeypatch):
    project, server, tmp_path = project
    (tmp_path / "okr_kpi.yml").write_text("alerts: {backlog: none}\n")
    set_breaches(project, [A, B])
    publish(project)
    monkeypatch.setenv("OKR_KPI_WEBHOOK_URL", server.url("/hook"))
    publish(project)
    assert server.requests == []
