"""Issue 16, piece 2: routing by KPI, owner, team, objective, severity and rule to several
destinations (Slack, Teams through a Workflows webhook, generic webhooks, e-mail lists, the
owners' e-mail), mentions, a default route, one digest per destination per run with only what
was routed there, and the outbox's guarantees per destination.

Real parts: a DuckDB file with a hand-made fct_kpi_breaches and the registry tables
(okr_key_results, okr_objectives), an http.server on 127.0.0.1 counting posts per path,
aiosmtpd for mail. The expected destinations of every breach are written out by hand below.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import jsonschema
import pytest
from publish_helpers import SmtpReceiver, WebhookReceiver, publish_project
from test_publish_lifecycle import breach, publish, set_breaches, table

REPO = Path(__file__).resolve().parents[2]
TEAMS_SCHEMA = json.loads((REPO / "docs" / "okr_kpi_teams.schema.json").read_text())
DIGEST_SCHEMA = json.loads((REPO / "docs" / "okr_kpi_digest.schema.json").read_text())

# The registry: key results -> objectives -> teams.
KEY_RESULTS = [
    ("kr-rev", "co-q3-grow", "Book EUR 1.2M revenue in Q3"),
    ("kr-leads", "mk-q3", "Double the leads"),
    ("kr-orders", "sa-q3", "Ship 10k orders"),
]
OBJECTIVES = [
    ("co-q3-grow", "2026-q3", None),
    ("mk-q3", "2026-q3", "marketing"),
    ("sa-q3", "2026-q3", "sales"),
]

REV = breach("rev", "revenue", "finance@acme.example", "2026-08-31", severity="critical", krs="kr-rev")
LEADS = breach(
    "leads",
    "new_leads",
    "marketing@acme.example",
    "2026-08-30",
    rule="anomaly",
    value=10,
    expected=50,
    krs="kr-leads",
)
ORDERS = breach("orders", "orders", "sales@acme.example", "2026-08-31", krs="kr-orders")
CHURN = breach("churn", "churn", "Support Team", "2026-08-31", severity="critical")

# By hand, from the routes in CONFIG:
EXPECTED = {
    "/ops": {"Revenue", "Churn"},  # severity critical
    "/sales": {"Orders"},  # team sales (through kr-orders -> sa-q3)
    "/finance-teams": {"Revenue"},  # kpi revenue and rule threshold
    "/audit": {"New Leads"},  # matched by no route: the default route
}
MAIL = {
    ("ceo@acme.example",): {"Revenue"},  # objective co-q3-grow
    ("finance@acme.example",): {"Revenue"},
}  # owners (critical): "Support Team" is no address

CONFIG = """
alerts: {{lookback_days: 31}}
channels:
  email: {{enabled: false, smtp_host: 127.0.0.1, smtp_port: {port}, from: alerts@acme.example}}
destinations:
  ops: {{type: slack, url_env: T_OPS_SLACK}}
  sales: {{type: slack, url_env: T_SALES_SLACK}}
  finance-teams: {{type: teams, url_env: T_FIN_TEAMS}}
  audit: {{type: webhook, url_env: T_AUDIT, headers: {{X-Team: data}}}}
  leadership: {{type: email, to: [ceo@acme.example]}}
  owners: {{type: email, to_owners: true}}
routes:
  - match: {{severity: critical}}
    to: [ops, owners]
  - match: {{team: sales}}
    to: sales
  - match: {{kpi: [revenue], rule: [threshold]}}
    to: [finance-teams]
  - match: {{objective: co-q3-grow}}
    to: [leadership]
default_route: [audit]
mentions:
  sales@acme.example: {{slack: U0SALES01, teams: sales.lead@acme.example}}
  finance@acme.example: {{teams: fin.lead@acme.example}}
"""


def registry(project):
    con = duckdb.connect(str(project.duckdb_path))
    con.execute("create schema if not exists okr_kpi")
    con.execute(
        "create or replace table okr_kpi.okr_key_results "
        "(key_result_id varchar, objective_id varchar, title varchar)"
    )
    con.executemany("insert into okr_kpi.okr_key_results values (?, ?, ?)", KEY_RESULTS)
    con.execute(
        "create or replace table okr_kpi.okr_objectives "
        "(objective_id varchar, cycle_id varchar, team varchar)"
    )
    con.executemany("insert into okr_kpi.okr_objectives values (?, ?, ?)", OBJECTIVES)
    con.close()


@pytest.fixture
def routed(tmp_path, monkeypatch):
    monkeypatch.setenv("OKR_KPI_DELIVERY_BACKOFF_SECONDS", "0.01")
    monkeypatch.setenv("OKR_KPI_DELIVERY_TIMEOUT_SECONDS", "2")
    http = WebhookReceiver().start()
    smtp = SmtpReceiver().start()
    for var, path in (
        ("T_OPS_SLACK", "/ops"),
        ("T_SALES_SLACK", "/sales"),
        ("T_FIN_TEAMS", "/finance-teams"),
        ("T_AUDIT", "/audit"),
    ):
        monkeypatch.setenv(var, http.url(path))
    project = publish_project(tmp_path, monkeypatch, CONFIG.format(port=smtp.port))
    yield project, http, smtp
    http.stop()
    smtp.stop()


def plain(msg) -> str:
    return (
        next(p for p in msg.walk() if p.get_content_type() == "text/plain").get_payload(decode=True).decode()
    )


KPI_NAMES = {"Revenue", "New Leads", "Orders", "Churn"}


def names_in(text: str) -> set[str]:
    text = text.replace("\\", "")  # Teams text escapes Markdown
    return {n for n in KPI_NAMES if f"{n}, day" in text}


def test_each_breach_reaches_its_destinations_and_nowhere_else(routed):
    project, http, smtp = routed
    set_breaches(project, [REV, LEADS, ORDERS, CHURN])
    registry(project)
    result = publish(project)
    assert result.delivery.failed == [] and result.delivery.uncertain == []
    paths = sorted(r["path"] for r in http.requests)
    assert paths == sorted(EXPECTED)  # one digest per destination, none elsewhere
    for path in ("/ops", "/sales"):
        (body,) = http.bodies(path)
        assert names_in(body["text"]) == EXPECTED[path], (path, body["text"])
    (teams,) = http.bodies("/finance-teams")
    jsonschema.validate(teams, TEAMS_SCHEMA)
    card_text = "\n".join(b["text"] for b in teams["attachments"][0]["content"]["body"])
    assert names_in(card_text) == EXPECTED["/finance-teams"]
    (audit,) = http.bodies("/audit")
    jsonschema.validate(audit, DIGEST_SCHEMA)
    assert [e["breach_id"] for g in audit["groups"] for e in g["events"]] == ["leads"]
    assert audit["destination"] == "audit"
    (audit_req,) = [r for r in http.requests if r["path"] == "/audit"]
    assert (
        audit_req["headers"]["X-Team"] == "data"
        and audit_req["headers"]["Idempotency-Key"] == audit["idempotency_key"]
    )
    mails = {tuple(m["to"]): names_in(plain(m["message"])) for m in smtp.messages}
    assert mails == MAIL
    rows = table(
        project, "select channel, status, breach_ids from okr_kpi.okr_kpi_alert_outbox order by channel"
    )
    assert [(r["channel"], r["status"], r["breach_ids"]) for r in rows] == [
        ("audit", "sent", "leads"),
        ("finance-teams", "sent", "rev"),
        ("leadership", "sent", "rev"),
        ("ops", "sent", "churn,rev"),
        ("owners/finance@acme.example", "sent", "rev"),
        ("sales", "sent", "orders"),
    ]
    # the destinations' URLs (variables of any name) are secrets: redacted from logs and reports
    from okr_kpi.logging import redact

    assert http.url("/finance-teams") not in redact(f"posting to {http.url('/finance-teams')}")
    # a second run of the same day: nothing new anywhere
    publish(project)
    assert len(http.requests) == 4 and len(smtp.messages) == 2


def test_mentions_in_slack_and_teams(routed):
    project, http, _ = routed
    set_breaches(project, [REV, ORDERS])
    registry(project)
    publish(project)
    (sales,) = http.bodies("/sales")
    assert "<@U0SALES01> *sales@acme.example*" in json.dumps(sales["blocks"]).replace('\\"', '"')
    (teams,) = http.bodies("/finance-teams")
    card = teams["attachments"][0]["content"]
    assert card["msteams"]["entities"] == [
        {
            "type": "mention",
            "text": "<at>finance@acme.example</at>",
            "mentioned": {"id": "fin.lead@acme.example", "name": "finance@acme.example"},
        }
    ]
    assert any("<at>finance@acme.example</at>" in b["text"] for b in card["body"])


def test_teams_text_from_seeds_is_inert(routed):
    project, http, _ = routed
    evil = breach(
        "evil", "revenue", "[click](https://evil.example) <at>ceo</at>", "2026-08-31", severity="critical"
    )
    set_breaches(project, [evil])
    publish(project)
    (teams,) = http.bodies("/finance-teams")
    jsonschema.validate(teams, TEAMS_SCHEMA)
    texts = [b["text"] for b in teams["attachments"][0]["content"]["body"]]
    joined = "\n".join(texts)
    assert "](https" not in joined and "<at>" not in joined
    assert "\\[click\\]\\(https://evil.example\\) ‹at›ceo‹/at›" in joined
    assert "entities" not in teams["attachments"][0]["content"]["msteams"]


def test_a_failing_destination_is_retried_alone(routed, monkeypatch):
    """Per-destination outbox rows: Teams answers 500, the rest arrive; the next run retries only
    Teams (with the same idempotency key) and re-sends nothing else."""
    project, http, smtp = routed
    broken = WebhookReceiver(status=500).start()
    try:
        monkeypatch.setenv("T_FIN_TEAMS", broken.url("/finance-teams"))
        set_breaches(project, [REV, LEADS, ORDERS, CHURN])
        registry(project)
        first = publish(project)
        assert [m["channel"] for m in first.delivery.failed] == ["finance-teams"]
        assert len(broken.requests) == 1 and len(http.requests) == 3
        monkeypatch.setenv("T_FIN_TEAMS", http.url("/finance-teams"))
        second = publish(project)
        assert [m["channel"] for m in second.delivery.sent] == ["finance-teams"]
        assert sorted(r["path"] for r in http.requests) == sorted(EXPECTED)
        assert len(smtp.messages) == 2
        assert (
            broken.requests[0]["headers"]["Idempotency-Key"]
            == [r for r in http.requests if r["path"] == "/finance-teams"][0]["headers"]["Idempotency-Key"]
        )
    finally:
        broken.stop()


def test_without_routes_every_channel_gets_everything(tmp_path, monkeypatch, caplog):
    """The default with no routes: every configured destination, as before routing existed;
    the built-in Teams channel from OKR_KPI_TEAMS_WEBHOOK_URL. The built-in Slack channel,
    whose URL is not set and which no route names, is left out without a warning."""
    http = WebhookReceiver().start()
    try:
        project = publish_project(tmp_path, monkeypatch, "alerts: {lookback_days: 31}\n",
                                  OKR_KPI_TEAMS_WEBHOOK_URL=http.url("/teams"),
                                  OKR_KPI_WEBHOOK_URL=http.url("/hook"))
        set_breaches(project, [REV, LEADS])
        publish(project)
        assert sorted(r["path"] for r in http.requests) == ["/hook", "/teams"]
        (teams,) = http.bodies("/teams")
        jsonschema.validate(teams, TEAMS_SCHEMA)
        (hook,) = http.bodies("/hook")
        assert {e["breach_id"] for g in hook["groups"] for e in g["events"]} == {"rev", "leads"}
        assert not [r for r in caplog.records if "is not set" in r.getMessage()]
    finally:
        http.stop()
