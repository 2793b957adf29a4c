"""Issue 16, piece 3: the digest's quality. One line per KPI and period with every rule that
fired; key results by title and only those of active cycles; critical first; the owner; a link
to the KPI's card in the report (#kpi-<id>).

Real parts: a DuckDB file with hand-made fct_kpi_breaches, okr_key_results, okr_objectives and
okr_cycles; an http.server on 127.0.0.1 for Slack, Teams and the generic webhook. The expected
lines are written out by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import jsonschema
import pytest
from publish_helpers import WebhookReceiver, publish_project
from test_publish_lifecycle import breach, publish, set_breaches

REPO = Path(__file__).resolve().parents[2]
BASE = "https://kpi.acme.example/okr/report.html"

# revenue on 2026-08-31: a warning threshold breach and a critical anomaly: one line, critical.
REV_T = breach("rev-t", "revenue", "zed@acme.example", "2026-08-31", value=5, lower=10, krs="kr-q3,kr-q2")
REV_A = breach(
    "rev-a",
    "revenue",
    "zed@acme.example",
    "2026-08-31",
    rule="anomaly",
    severity="critical",
    value=5,
    expected=50,
    krs="kr-q3,kr-q2",
)
# a warning of an owner who sorts first: still after the critical group
LEADS = breach("leads", "new_leads", "ann@acme.example", "2026-08-30", value=1, lower=3)


def registry(project):
    con = duckdb.connect(str(project.duckdb_path))
    con.execute("create schema if not exists okr_kpi")
    con.execute(
        "create or replace table okr_kpi.okr_cycles (cycle_id varchar, start_date date, end_date date)"
    )
    con.execute(
        "insert into okr_kpi.okr_cycles values ('2026-q2', '2026-04-01', '2026-06-30'), "
        "('2026-q3', '2026-07-01', '2026-09-30')"
    )
    con.execute(
        "create or replace table okr_kpi.okr_objectives "
        "(objective_id varchar, cycle_id varchar, team varchar)"
    )
    con.execute("insert into okr_kpi.okr_objectives values ('o2', '2026-q2', null), ('o3', '2026-q3', null)")
    con.execute(
        "create or replace table okr_kpi.okr_key_results "
        "(key_result_id varchar, objective_id varchar, title varchar)"
    )
    con.execute(
        "insert into okr_kpi.okr_key_results values ('kr-q2', 'o2', 'Book EUR 1M in Q2'), "
        "('kr-q3', 'o3', 'Book EUR 1.2M in Q3')"
    )
    con.close()


@pytest.fixture
def project(tmp_path, monkeypatch):
    server = WebhookReceiver().start()
    yield publish_project(tmp_path, monkeypatch, f"report:\n  link: {BASE}\n",
                          OKR_KPI_WEBHOOK_URL=server.url("/hook"),
                          OKR_KPI_SLACK_WEBHOOK_URL=server.url("/slack"),
                          OKR_KPI_TEAMS_WEBHOOK_URL=server.url("/teams")), server
    server.stop()


def test_one_line_per_kpi_and_period_critical_first_titles_of_active_cycles(project):
    project, server = project
    set_breaches(project, [REV_T, REV_A, LEADS])
    registry(project)
    publish(project)
    (hook,) = server.bodies("/hook")
    jsonschema.validate(hook, json.loads((REPO / "docs" / "okr_kpi_digest.schema.json").read_text()))
    assert [(g["owner"], g["severity"]) for g in hook["groups"]] == [
        ("zed@acme.example", "critical"),
        ("ann@acme.example", "warning"),
    ]
    (line,) = hook["groups"][0]["lines"]
    assert line["rules"] == ["threshold", "anomaly"] and line["breach_ids"] == ["rev-t", "rev-a"]
    assert line["key_results"] == ["Book EUR 1.2M in Q3"]  # kr-q2's cycle ended on 2026-06-30
    assert line["link"] == BASE + "#kpi-revenue"
    (slack,) = server.bodies("/slack")
    text = json.dumps(slack["blocks"])
    rev_lines = [t for t in slack["text"].splitlines() if "Revenue" in t]
    assert len(rev_lines) == 1
    assert (
        "Revenue, day 2026-08-31: 5, below the lower bound 10 (threshold); 5, a sudden change from the "
        "expected 50, z = 4.2 (anomaly) · key results: Book EUR 1.2M in Q3"
    ) in rev_lines[0]
    assert "Book EUR 1M in Q2" not in text and "kr-q3" not in slack["text"]
    assert f"<{BASE}#kpi-revenue|open>" in text
    assert text.index("zed@acme.example") < text.index("ann@acme.example")
    (teams,) = server.bodies("/teams")
    jsonschema.validate(teams, json.loads((REPO / "docs" / "okr_kpi_teams.schema.json").read_text()))
    card = teams["attachments"][0]["content"]
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Open the report", "url": BASE}]
    assert any(f"[open]({BASE}#kpi-revenue)" in b["text"] for b in card["body"])
