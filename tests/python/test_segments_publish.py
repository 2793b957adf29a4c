"""The drivers of a total's breach in the digest and the report (docs/segments.md, "Drivers in the
digest and the report"), on two differently shaped companies:

- the demo company (`okr-kpi run` with a real webhook server for the generic webhook, Slack and
  Teams): the planted incident paid_leads_outage (2026-07-15) reads "drivers: paid (lead_channel)
  −100 %, N % of the drop", N worked out here with plain SQL on fct_kpi_segment_daily (the
  segments' values that day against their trailing same-weekday means), never read back from
  the drivers' marts;
- a hand-made dbt fixture (ten days of leads by channel, a ratio and a KPI without segments,
  numbers worked out by hand as in test_segments_breaches) whose segment value is hostile
  (`<script>`, `*bold*`, `&`): a count's drop, a ratio's rise that is all mix, a breach with no
  segments (no driver text, no crash); published to a real HTTP server and a real SMTP server;
  the value is escaped in HTML, Slack, Teams, e-mail and Markdown.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import jsonschema
import pytest
from harness import consumer_project_on
from publish_helpers import DEMO_AS_OF, REPO, SmtpReceiver, WebhookReceiver, okr_kpi, run_env

OUTAGE = dt.date(2026, 7, 15)
MINUS = "\u2212"


def query(path, sql: str) -> list[dict]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        cur = con.execute(sql)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()


def schema(name: str) -> dict:
    return json.loads((REPO / "docs" / name).read_text())


def lines_of(body: dict) -> list[dict]:
    return [line for g in body["groups"] for line in g["lines"]]


def items_of(body: dict) -> list[dict]:
    return [e for g in body["groups"] for e in g["events"]]


def slack_texts(body: dict) -> list[str]:
    return [b["text"]["text"] for b in body["blocks"] if b["type"] == "section"]


def teams_texts(body: dict) -> list[str]:
    return [b["text"] for b in body["attachments"][0]["content"]["body"]]


# --- the demo company ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo generated with its planted incidents (as test_segments_demo), one `okr-kpi run`
    delivering to a real HTTP server; the alert window reaches back to the outage."""
    tmp = tmp_path_factory.mktemp("segments_publish_demo")
    server = WebhookReceiver().start()
    env = run_env(tmp, OKR_KPI_WEBHOOK_URL=server.url("/hook"),
                  OKR_KPI_SLACK_WEBHOOK_URL=server.url("/slack"),
                  OKR_KPI_TEAMS_WEBHOOK_URL=server.url("/teams"), OKR_KPI_ALERT_LOOKBACK_DAYS="60")
    try:
        proc = okr_kpi(env, "generate", "--rows", "300000", "--seed", "42")
        assert proc.returncode == 0, proc.stderr[-3000:]
        proc = okr_kpi(env, "run", "--as-of", DEMO_AS_OF, "--out", str(tmp / "reports"))
        assert proc.returncode == 10, proc.stderr[-5000:]
        yield {"db": tmp / "warehouse.duckdb", "out": tmp / "reports", "server": server}
    finally:
        server.stop()


def independent_paid_share(db) -> tuple[float, float]:
    """(paid's share of the drop, paid's change in percent), from the segments' daily values: each
    channel's expected value is its mean over the 28 previous same weekdays (the anomaly window,
    okr_kpi_anomaly_window); its part of the drop is (value - expected) / the sum over channels."""
    rows = query(db, f"""
        with days as (
            select segment_value, date_day, value from okr_kpi.fct_kpi_segment_daily
            where kpi_id = 'new_leads' and segment_dimension = 'lead_channel'
        ), today as (select segment_value, value from days where date_day = date '{OUTAGE}'),
        history as (
            select segment_value, avg(value) as expected from days
            where date_day < date '{OUTAGE}' and date_day >= date '{OUTAGE}' - interval 196 day
              and dayofweek(date_day) = dayofweek(date '{OUTAGE}')
            group by segment_value
        )
        select today.segment_value, today.value, history.expected
        from today join history using (segment_value)
    """)
    by = {r["segment_value"]: r for r in rows}
    assert set(by) == {"organic", "paid", "referral", "event"}
    total_change = sum(r["value"] - r["expected"] for r in rows)
    paid = by["paid"]
    paid_change = paid["value"] - paid["expected"]
    return paid_change / total_change, paid_change / paid["expected"]


def outage_line(body: dict) -> dict:
    [line] = [ln for ln in lines_of(body) if ln["kpi_id"] == "new_leads" and ln["period_start"] == str(OUTAGE)
              and ln["kpi_name"] == "New leads"]
    return line


def test_webhook_carries_paid_as_the_main_driver(demo):
    share, change_pct = independent_paid_share(demo["db"])
    assert 0.7 < share < 0.9  # docs/segments.md: "about 80 % of the drop"
    [body] = demo["server"].bodies("/hook")
    jsonschema.validate(body, schema("okr_kpi_digest.schema.json"))
    line = outage_line(body)
    assert line["drivers_rule"] == "anomaly"
    [paid] = line["drivers"]  # one segment dimension: one driver
    assert (paid["segment_dimension"], paid["segment_value"], paid["direction"]) == \
        ("lead_channel", "paid", "drop")
    assert paid["share_of_change"] == pytest.approx(share, rel=1e-9)
    assert paid["change_pct"] == pytest.approx(change_pct) == -1.0
    assert paid["is_exact_share"] is True and paid["rank"] == 1
    # the total's breach carries them; the paid segment's own anomaly names no driver
    [total] = [e for e in items_of(body) if e["breach_id"] in line["breach_ids"]]
    assert total["drivers"] == line["drivers"]
    [segment] = [ln for ln in lines_of(body) if ln["kpi_name"] == "New leads (lead_channel = paid)"]
    assert segment["drivers"] == [] and "drivers_rule" not in segment


def test_every_channel_names_the_driver(demo):
    share, _ = independent_paid_share(demo["db"])
    expected = f"paid (lead_channel) {MINUS}100 %, {round(share * 100)} % of the drop"
    server = demo["server"]
    [slack] = server.bodies("/slack")
    [outage] = [t for t in "\n".join(slack_texts(slack)).splitlines()
                if "day 2026-07-15" in t and "New leads," in t]
    assert f"drivers: {expected.replace('paid', '`paid`', 1)}" in outage
    assert f"drivers: {expected.replace('paid', '`paid`', 1)}" in slack["text"]  # the notification text
    [teams] = server.bodies("/teams")
    teams_line = next(t for t in teams_texts(teams) if "New leads, day 2026-07-15" in t)
    pct = round(share * 100)
    assert f"drivers: paid \\(lead\\_channel\\) {MINUS}100 %, {pct} % of the drop" in teams_line
    summary = (demo["out"] / "summary.md").read_text()
    assert f"paid (lead\\_channel) {MINUS}100 %, {round(share * 100)} % of the drop" in summary
    html = (demo["out"] / "report.html").read_text()
    assert f"drivers: {expected}" in html
    doc = json.loads((demo["out"] / "okr_kpi.json").read_text())
    jsonschema.validate(doc, schema("okr_kpi.schema.json"))
    [event] = [e for e in doc["breaches"]["events"] if e["kpi_name"] == "New leads"
               and e["period_start"] == str(OUTAGE)]
    assert event["drivers"][0]["segment_value"] == "paid"


def test_report_document_splits_new_leads_by_channel(demo):
    doc = json.loads((demo["out"] / "okr_kpi.json").read_text())
    kpi = next(k for k in doc["kpis"]["items"] if k["kpi_id"] == "new_leads")
    [split] = kpi["segments"]
    assert split["dimension"] == "lead_channel"
    assert {s["segment_value"] for s in split["segments"]} == {"organic", "paid", "referral", "event"}
    # the series equal the mart at the KPI's grain (plain SQL), period by period
    starts = [p["period_start"] for p in kpi["trend"]]
    paid = next(s for s in split["segments"] if s["segment_value"] == "paid")
    rows = query(demo["db"], "select period_start, value from okr_kpi.fct_kpi_segment_periods where kpi_id = "
                             f"'new_leads' and segment_value = 'paid' and grain = '{kpi['grain']}'")
    mart = {str(r["period_start"]): r["value"] for r in rows}
    assert [p["period_start"] for p in paid["trend"]] == starts
    assert [p["value"] for p in paid["trend"]] == [mart[s] for s in starts]
    # revenue is cut by region (kpi_definitions.segment_dimensions); a KPI that declares no
    # dimension (organic_visits) has no split
    [revenue_split] = next(k for k in doc["kpis"]["items"] if k["kpi_id"] == "revenue")["segments"]
    assert revenue_split["dimension"] == "region"
    assert {s["segment_value"] for s in revenue_split["segments"]} == {"emea", "americas", "apac"}
    assert next(k for k in doc["kpis"]["items"] if k["kpi_id"] == "organic_visits")["segments"] == []


# --- a second company: a hand-made fixture with a ratio, a KPI without segments, a hostile value -----

AS_OF = dt.date(2024, 1, 10)
DAYS = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(10)]
HOSTILE = "<script>alert(1)</script> *paid* & co"

KPI_DEFINITIONS = """
    kpi_id,name,description,unit,direction,aggregation,owner,data_source,reporting_frequency,segment_dimensions
    leads,Leads,count,n,higher_is_better,count,a@x.example,events,daily,channel
    conversion,Conversion,ratio,%,higher_is_better,ratio,a@x.example,events,daily,channel
    revenue,Revenue,sum,EUR,higher_is_better,sum,a@x.example,events,daily,
"""
THRESHOLDS = """
    kpi_id,grain,severity,lower_bound,upper_bound,segment_dimension,segment_value
    leads,day,warning,60,,,
    conversion,day,warning,,0.142,,
    revenue,day,warning,100,,,
    leads,day,critical,36,,channel,organic
"""


def inputs_csv() -> str:
    """Days 1-9: HOSTILE 60 leads (6 converted), organic 40 (8), revenue 200. Day 10: HOSTILE 20
    (1), organic 35 (7), revenue 50."""
    lines = ["kpi_id,date_day,numerator,denominator,segment_dimension,segment_value"]
    quoted = '"' + HOSTILE.replace('"', '""') + '"'
    for day in DAYS:
        last = day == AS_OF
        segments = {quoted: (20, 1) if last else (60, 6), "organic": (35, 7) if last else (40, 8)}
        leads = sum(n for n, _ in segments.values())
        converted = sum(c for _, c in segments.values())
        lines += [f"leads,{day},{leads},,,", f"conversion,{day},{converted},{leads},,",
                  f"revenue,{day},{50 if last else 200},,,"]
        for channel, (n, c) in segments.items():
            lines += [f"leads,{day},{n},,channel,{channel}", f"conversion,{day},{c},{n},channel,{channel}"]
    return "\n".join(lines)


INPUT_MODEL = """
    select
        cast(kpi_id as {{ dbt.type_string() }}) as kpi_id,
        cast(date_day as date) as date_day,
        cast(numerator as {{ okr_kpi.type_double() }}) as numerator,
        cast(denominator as {{ okr_kpi.type_double() }}) as denominator,
        cast(segment_dimension as {{ dbt.type_string() }}) as segment_dimension,
        cast(segment_value as {{ dbt.type_string() }}) as segment_value
    from {{ ref('fixture_segment_inputs') }}
"""

# Worked out by hand. Leads: 100 -> 55 (-45); HOSTILE 60 -> 20 (-40: -67 %, 40/45 = 89 % of the drop).
# Conversion: R0 = 14/100 = 0.14, R1 = 8/55; organic keeps its rate 0.2 and its weight goes from
# 0.4 to 35/55: mix (0.2 - 0.14) * (35/55 - 0.4), rate 0, of the total's rise R1 - R0.
ORGANIC_MIX = (0.2 - 0.14) * (35 / 55 - 0.4)
RISE = 8 / 55 - 0.14
LEADS_TEXT = f"{HOSTILE} (channel) {MINUS}67 %, 89 % of the drop"
CONVERSION_TEXT = (f"organic (channel) +0 %, {round(ORGANIC_MIX / RISE * 100)} % of the rise "
                   f"(rate 0 %, mix {round(ORGANIC_MIX / RISE * 100)} %)")


@pytest.fixture(scope="module")
def fixture_company(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("segments_publish_fixture")
    with consumer_project_on(
        "duckdb", tmp,
        seeds={"kpi_definitions": KPI_DEFINITIONS, "kpi_thresholds": THRESHOLDS,
               "fixture_segment_inputs": inputs_csv()},
        models={"fixture_inputs": INPUT_MODEL},
        kpi_inputs=["fixture_inputs"],
        vars={"as_of_date": AS_OF.isoformat()},
    ) as p:
        p.dbt("build", "--select", "+rpt_kpi_breach_drivers", "+fct_kpi_segment_periods", "+rpt_kpi_tiles",
              "resource_type:seed", "--indirect-selection", "cautious")
        yield p


@pytest.fixture(scope="module")
def published(fixture_company, tmp_path_factory):
    """publish_stage on the fixture's warehouse: a real HTTP server (webhook, Slack, Teams) and a
    real SMTP server receive the digest; the reports are written."""
    from okr_kpi.config import load_config
    from okr_kpi.lifecycle import new_run_id
    from okr_kpi.project import Project
    from okr_kpi.publish import publish_stage
    from okr_kpi.warehouse import connected

    tmp = tmp_path_factory.mktemp("segments_publish_out")
    server, smtp = WebhookReceiver().start(), SmtpReceiver().start()
    (tmp / "okr_kpi.yml").write_text(
        "channels:\n  email:\n    enabled: true\n    smtp_host: 127.0.0.1\n"
        f"    smtp_port: {smtp.port}\n    security: none\n    from: okr-kpi <alerts@x.example>\n"
        "    to: [team@x.example]\n")
    env = {**fixture_company.env, "OKR_KPI_CONFIG": str(tmp / "okr_kpi.yml"), "OKR_KPI_DELIVERY_RETRIES": "0",
           "OKR_KPI_WEBHOOK_URL": server.url("/hook"), "OKR_KPI_SLACK_WEBHOOK_URL": server.url("/slack"),
           "OKR_KPI_TEAMS_WEBHOOK_URL": server.url("/teams"), "OKR_KPI_DELIVERY_TIMEOUT_SECONDS": "5"}
    try:
        with pytest.MonkeyPatch.context() as mp:
            for key, value in env.items():
                mp.setenv(key, value)
            project = Project(target="duckdb", project_dir=fixture_company.path, out_dir=tmp / "reports")
            with connected(project) as wh:
                run_id = new_run_id()
                result = publish_stage(project, wh, AS_OF, run_id, load_config(project.project_dir),
                                       run_info={"run_id": run_id, "command": "publish", "exit_code": 0,
                                                 "stages": {}})
        assert len(result.delivery.sent) == 4, result.delivery.as_dict()
        yield {"server": server, "smtp": smtp, "out": tmp / "reports"}
    finally:
        server.stop()
        smtp.stop()


def email_part(published, subtype: str) -> str:
    msg = published["smtp"].messages[0]["message"]
    [part] = [p for p in msg.walk() if p.get_content_type() == f"text/{subtype}"]
    return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")


def line_for(body: dict, kpi_name: str) -> dict:
    [line] = [ln for ln in lines_of(body) if ln["kpi_name"] == kpi_name]
    return line


def test_fixture_webhook_drivers_by_hand(published):
    [body] = published["server"].bodies("/hook")
    jsonschema.validate(body, schema("okr_kpi_digest.schema.json"))
    [leads] = line_for(body, "Leads")["drivers"]
    assert leads["segment_value"] == HOSTILE  # data: as typed in the JSON
    assert leads["share_of_change"] == pytest.approx(40 / 45)
    assert leads["change_pct"] == pytest.approx(-40 / 60)
    assert leads["rate_share"] is None and leads["mix_share"] is None
    [conversion] = line_for(body, "Conversion")["drivers"]
    assert (conversion["segment_value"], conversion["direction"]) == ("organic", "rise")
    assert conversion["share_of_change"] == pytest.approx(ORGANIC_MIX / RISE)
    assert conversion["rate_share"] == pytest.approx(0, abs=1e-12)
    assert conversion["mix_share"] == pytest.approx(ORGANIC_MIX / RISE)
    # no segments, and a segment's own breach: no drivers
    assert line_for(body, "Revenue")["drivers"] == []
    assert line_for(body, "Leads (channel = organic)")["drivers"] == []


def test_fixture_plain_text_lines(published):
    text = email_part(published, "plain")
    [leads] = [t for t in text.splitlines() if "Leads, day" in t]
    assert f"drivers: {LEADS_TEXT}" in leads
    [conversion] = [t for t in text.splitlines() if "Conversion, day" in t]
    assert f"drivers: {CONVERSION_TEXT}" in conversion
    [revenue] = [t for t in text.splitlines() if "Revenue, day" in t]
    assert "drivers" not in revenue
    [segment] = [t for t in text.splitlines() if "Leads (channel = organic), day" in t]
    assert "drivers" not in segment


def escaped_html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def test_fixture_hostile_value_is_escaped_per_channel(published):
    server = published["server"]
    # e-mail HTML and the report: entities, no tag
    email_html = email_part(published, "html")
    html = (published["out"] / "report.html").read_text()
    for page in (email_html, html):
        assert "<script>alert" not in page
    assert escaped_html(f"drivers: {LEADS_TEXT}") in email_html
    assert escaped_html(f"drivers: {LEADS_TEXT}") in html
    # Slack: &, <, > as entities, and the value in a code span: *paid* is not bold
    [slack] = server.bodies("/slack")
    slack_value = "`" + escaped_html(HOSTILE) + "`"
    body = json.dumps(slack)
    assert "<script" not in body
    [leads] = [t for t in "\n".join(slack_texts(slack)).splitlines() if "Leads, day" in t]
    assert f"drivers: {slack_value} (channel) {MINUS}67 %, 89 % of the drop" in leads
    assert f"drivers: {slack_value} (channel)" in slack["text"]
    # Teams: Markdown's characters backslash-escaped, angle brackets shown as ‹ ›
    [teams] = server.bodies("/teams")
    [teams_leads] = [t for t in teams_texts(teams) if "Leads, day" in t]
    assert "drivers: ‹script›alert\\(1\\)‹/script› \\*paid\\* & co \\(channel\\)" in teams_leads
    # Markdown summary: no HTML, no emphasis
    summary = (published["out"] / "summary.md").read_text()
    assert "<script" not in summary
    assert "&lt;script&gt;alert(1)&lt;/script&gt; \\*paid\\* &amp; co (channel)" in summary


def test_fixture_report_names_drivers_and_splits_the_chart(published):
    doc = json.loads((published["out"] / "okr_kpi.json").read_text())
    jsonschema.validate(doc, schema("okr_kpi.schema.json"))
    by_name = {e["kpi_name"]: e for e in doc["breaches"]["events"]}
    assert by_name["Leads"]["drivers"][0]["segment_value"] == HOSTILE
    assert by_name["Revenue"]["drivers"] == []
    kpis = {k["kpi_id"]: k for k in doc["kpis"]["items"]}
    [split] = kpis["conversion"]["segments"]
    organic = next(s for s in split["segments"] if s["segment_value"] == "organic")
    assert [p["value"] for p in organic["trend"]][-2:] == [pytest.approx(0.2), pytest.approx(0.2)]
    hostile = next(s for s in split["segments"] if s["segment_value"] == HOSTILE)
    assert [p["value"] for p in hostile["trend"]][-2:] == [pytest.approx(0.1), pytest.approx(0.05)]
    assert kpis["revenue"]["segments"] == []
    html = (published["out"] / "report.html").read_text()
    assert html.count('class="split-chart"') == 2  # leads and conversion, one dimension each
    markdown_line = next(t for t in (published["out"] / "summary.md").read_text().splitlines()
                         if t.startswith("| new | Revenue"))
    assert markdown_line.endswith("|  |")  # no driver text for a KPI without segments


def test_no_drivers_model_no_driver_text(published, fixture_company, tmp_path):
    """A warehouse built before rpt_kpi_breach_drivers existed: the digest names no driver, no crash."""
    from okr_kpi.lifecycle import compute_transitions, digest_payload, read_breaches, read_drivers
    from okr_kpi.publish.channels import digest_text
    from okr_kpi.warehouse import DuckDBWarehouse

    copy = tmp_path / "old.duckdb"
    copy.write_bytes(Path(fixture_company.env["OKR_KPI_DUCKDB_PATH"]).read_bytes())
    con = duckdb.connect(str(copy))
    con.execute("drop table okr_kpi.rpt_kpi_breach_drivers")
    con.close()
    wh = DuckDBWarehouse(str(copy))
    try:
        assert read_drivers(wh, "okr_kpi") == {}
        breaches = read_breaches(wh, "okr_kpi")
        _, events = compute_transitions(breaches, {}, AS_OF, "r", dt.datetime(2024, 1, 11))
        payload = digest_payload(events, "r", AS_OF, "k", drivers=read_drivers(wh, "okr_kpi"))
        assert all(e["drivers"] == [] for e in items_of(payload))
        assert "drivers:" not in digest_text(payload)
        assert len(items_of(payload)) == 4
    finally:
        wh.close()
