"""Seed text with Slack's and Markdown's formatting characters shows as typed in every channel.

Real parts: a DuckDB file holding a hand-made okr_kpi.fct_kpi_breaches and rpt_kpi_breach_drivers
(as in test_delivery_guarantees), a local HTTP receiver for Slack and Teams, the real publish
stage. A KPI name, an owner, a key result title and a segment value hold `*bold* _it_ ~st~ `code``:
Slack (blocks and the fallback `text`) must leave no formatting character Slack could pair outside
the code span of the segment value, while every visible character is still there (the look-alikes
mapped back by hand below); Teams and summary.md backslash-escape them.
"""

from __future__ import annotations

import html
import re

import duckdb
import pytest
from publish_helpers import WebhookReceiver
from test_delivery_guarantees import HOOK, SLACK, breach, project, publish, set_breaches  # noqa: F401

TEAMS = "/teams/workflow"
HOSTILE = "*bold* _it_ ~st~ `code`"
KPI_NAME = f"Revenue {HOSTILE}"
OWNER = "*ops* _team_"
KR_TITLE = "~Grow~ *net*"
SEGMENT = f"eu {HOSTILE}"
MARKERS = "*_~`"
# What Slack shows for each look-alike (written out by hand, not read from the code).
BACK = {"\u2217": "*", "\u02cd": "_", "\u223c": "~", "\u02cb": "`"}
ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff")


@pytest.fixture
def receiver(monkeypatch):
    server = WebhookReceiver().start()
    monkeypatch.setenv("OKR_KPI_WEBHOOK_URL", server.url(HOOK))
    monkeypatch.setenv("OKR_KPI_SLACK_WEBHOOK_URL", server.url(SLACK))
    monkeypatch.setenv("OKR_KPI_TEAMS_WEBHOOK_URL", server.url(TEAMS))
    yield server
    server.stop()


def hostile_fixture(project):  # noqa: F811
    row = list(breach("h", "revenue", OWNER, "2026-08-31", value=5, lower=10, krs=KR_TITLE))
    row[2] = KPI_NAME
    set_breaches(project, [tuple(row)])
    con = duckdb.connect(str(project.duckdb_path))
    con.execute(
        "create or replace table okr_kpi.rpt_kpi_breach_drivers (breach_id varchar, driver_rank integer, "
        "segment_dimension varchar, segment_value varchar, value double, prior_value double, change double, "
        "change_pct double, contribution double, share_of_change double, rate_share double, "
        "mix_share double, direction varchar, is_exact_share boolean)"
    )
    # 20 -> 10 in the segment: -50 %, all of the drop
    con.execute("insert into okr_kpi.rpt_kpi_breach_drivers values ('h', 1, 'sales_region', ?, "
                " 10, 20, -10, -0.5, -10, 1.0, null, null, 'drop', true)", [SEGMENT])
    con.close()


def shown(text: str) -> str:
    """What a reader sees: entities decoded, look-alikes read as the characters they stand for."""
    return "".join(BACK.get(ch, ch) for ch in html.unescape(text))


def outside_code_spans(text: str) -> tuple[str, list[str]]:
    spans = re.findall(r"`([^`\n]*)`", text)
    return re.sub(r"`[^`\n]*`", "", text), spans


def slack_texts(body) -> list[str]:
    texts = [body["text"]] + [b["text"]["text"] for b in body["blocks"] if b["type"] == "section"]
    return texts + [el["text"] for b in body["blocks"] if b["type"] == "context" for el in b["elements"]]


def test_slack_shows_seed_formatting_characters_as_typed(project, receiver):  # noqa: F811
    hostile_fixture(project)
    publish(project)
    [body] = receiver.bodies(SLACK)
    texts = slack_texts(body)
    for text in texts:
        assert not any(z in text for z in ZERO_WIDTH)
        rest, _ = outside_code_spans(text)
        assert "*bold*" not in rest and "_it_" not in rest and "~st~" not in rest and "`code`" not in rest
    kpi_lines = [ln for t in texts for ln in t.splitlines() if "Revenue" in ln]
    assert len(kpi_lines) == 2  # the section's line and the fallback text's
    for ln in kpi_lines:
        rest, spans = outside_code_spans(ln)
        # the toolkit's own markup: the event label of a block line
        rest = rest.replace("• *NEW* ", "").replace("[NEW] ", "")
        rest = re.sub(r" &lt;[^ ]*report\.html#kpi-revenue&gt;$", "", rest)  # the report's link (ours)
        # nothing Slack could pair: no marker but one inside a word (Slack formats only at word
        # boundaries: `sales_region`, the dimension, shows as typed)
        assert not re.search(r"`|(?<![A-Za-z0-9])[*_~]|[*_~](?![A-Za-z0-9])", rest), rest
        assert "(sales_region)" in rest
        assert KPI_NAME in shown(rest) and KR_TITLE in shown(rest)
        # the segment value: in a code span, its own backquotes as ˋ so they cannot end it
        assert [shown(s) for s in spans] == [SEGMENT]
        assert f"drivers: `{SEGMENT}` (sales_region) \u221250 %, 100 % of the drop" in shown(ln)
    owner_lines = [ln for t in texts for ln in t.splitlines() if "ops" in ln]
    assert len(owner_lines) == 2
    block_owner = next(ln for ln in owner_lines if ln.startswith("*"))
    inner = re.fullmatch(r"\*([^*]*)\* · .*", block_owner)
    assert inner and not any(m in inner.group(1) for m in MARKERS) and shown(inner.group(1)) == OWNER
    text_owner = next(ln for ln in owner_lines if not ln.startswith("*"))
    assert not any(m in text_owner for m in MARKERS) and shown(text_owner).startswith(f"{OWNER} — ")
    # the generic webhook carries the data as typed
    assert receiver.bodies(HOOK)[0]["groups"][0]["owner"] == OWNER


def test_teams_and_summary_backslash_escape_seed_formatting(project, receiver):  # noqa: F811
    hostile_fixture(project)
    publish(project)
    escaped = "".join("\\" + ch if ch in MARKERS else ch for ch in KPI_NAME)
    [teams] = receiver.bodies(TEAMS)
    texts = [b["text"] for b in teams["attachments"][0]["content"]["body"] if b["type"] == "TextBlock"]
    [line] = [t for t in texts if "Revenue" in t]
    assert escaped in line
    md = (project.out_dir / "summary.md").read_text()
    [row] = [ln for ln in md.splitlines() if ln.startswith("| new |")]
    assert f"| {escaped} |" in row
    assert "| " + "".join("\\" + ch if ch in MARKERS else ch for ch in OWNER) + " |" in row
