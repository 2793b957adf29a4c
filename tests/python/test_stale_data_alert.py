"""Issue 16, piece 7 (left open by issue 14): one stale-data alert per source through the
channels, routed like the rest (rule `stale_data`), once per staleness episode, not every night.

Real parts: a DuckDB file holding hand-made fct_kpi_freshness, fct_kpi_breaches and dim_kpis
tables, an http.server on 127.0.0.1 counting posts per path, runs on successive days. What is
sent on which day is written out by hand.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from publish_helpers import WebhookReceiver, publish_project
from test_publish_lifecycle import breach, publish, set_breaches

DAY1 = dt.date(2026, 8, 31)


def freshness(project, rows):
    """rows: (data_source, kpi_ids, stale_since or None, stale_days, as_of)."""
    con = duckdb.connect(str(project.duckdb_path))
    con.execute("create schema if not exists okr_kpi")
    con.execute(
        "create or replace table okr_kpi.fct_kpi_freshness (data_source varchar, kpi_ids varchar, "
        "last_data_date date, last_row_at timestamp, covered_through date, stale_since date, "
        "stale_days integer, is_stale boolean, stale_reason varchar, as_of_date date)"
    )
    for source, kpis, since, days, as_of in rows:
        con.execute(
            "insert into okr_kpi.fct_kpi_freshness values (?, ?, null, null, null, ?, ?, ?, ?, ?)",
            (source, kpis, since, days, since is not None, "missing_load" if since else None, as_of),
        )
    con.execute("create or replace table okr_kpi.dim_kpis (kpi_id varchar, owner varchar)")
    con.execute(
        "insert into okr_kpi.dim_kpis values ('orders', 'ops@x.example'), ('revenue', 'fin@x.example')"
    )
    con.close()


@pytest.fixture
def setup(tmp_path, monkeypatch):
    server = WebhookReceiver().start()
    config = (
        "alerts: {reminders: {critical: 1, warning: 1}}\n"
        "destinations:\n  data: {type: webhook, url_env: T_DATA}\n  biz: {type: webhook, url_env: T_BIZ}\n"
        "routes:\n  - {match: {rule: stale_data}, to: data}\ndefault_route: [biz]\n"
    )
    project = publish_project(tmp_path, monkeypatch, config,
                              T_DATA=server.url("/data"), T_BIZ=server.url("/biz"))
    yield project, server
    server.stop()


def run(project, server, n, stale):
    as_of = DAY1 + dt.timedelta(days=n - 1)
    freshness(project, [(*row, as_of) for row in stale])
    before = len(server.requests)
    publish(project, as_of=as_of)
    return [
        (r["path"], sorted((e["event"], e["breach_id"]) for g in r["body"]["groups"] for e in g["events"]))
        for r in server.requests[before:]
    ]


def test_one_alert_per_source_and_episode(setup):
    project, server = setup
    set_breaches(project, [breach("b1", "revenue", "fin@x.example", "2026-08-31", value=1, lower=2)])
    orders = ("orders_db", "orders,revenue", "2026-08-30", 2)
    leads = ("crm", "new_leads", "2026-08-31", 1)
    ep1 = "stale_data:orders_db:2026-08-30"
    # day 1: two stale sources -> one alert each, to the data team only; the breach to biz
    day1 = run(project, server, 1, [orders, leads])
    assert sorted(day1) == [
        ("/biz", [("new", "b1")]),
        ("/data", [("new", "stale_data:crm:2026-08-31"), ("new", ep1)]),
    ]
    body = server.bodies("/data")[0]
    owners = {g["owner"] for g in body["groups"]}
    assert owners == {"ops@x.example", "(no owner)"}  # the first reading KPI's owner; crm's KPI has none
    text = [e for g in body["groups"] for e in g["events"] if e["breach_id"] == ep1][0]
    assert text["rule"] == "stale_data" and text["value"] == 2
    # day 2: still stale (same episode, one more day): no stale alert; the breach gets its reminder
    assert run(
        project, server, 2, [("orders_db", "orders,revenue", "2026-08-30", 3), leads[:2] + ("2026-08-31", 2)]
    ) == [("/biz", [("reminder", "b1")])]
    # day 3: orders_db complete again -> resolved once; crm still stale: nothing
    assert sorted(run(project, server, 3, [("crm", "new_leads", "2026-08-31", 3)])) == [
        ("/biz", [("reminder", "b1")]),
        ("/data", [("resolved", ep1)]),
    ]
    # day 4: orders_db stale again from 09-03: a new episode, one new alert
    assert sorted(
        run(
            project,
            server,
            4,
            [("orders_db", "orders,revenue", "2026-09-03", 1), ("crm", "new_leads", "2026-08-31", 4)],
        )
    ) == [("/biz", [("reminder", "b1")]), ("/data", [("new", "stale_data:orders_db:2026-09-03")])]
    assert len(server.bodies("/data")) == 3


def test_stale_data_alerts_can_be_switched_off(setup, tmp_path):
    project, server = setup
    cfg = project.project_dir / "okr_kpi.yml"
    cfg.write_text(cfg.read_text().replace("alerts: {", "alerts: {stale_data: false, "))
    set_breaches(project, [])
    assert run(project, server, 1, [("orders_db", "orders", "2026-08-30", 2)]) == []
