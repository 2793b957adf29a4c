"""The demo company's segments (docs/segments.md, docs/demo_company.md): new_leads is cut by lead
channel, and the incident paid_leads_outage (2026-07-15) zeroes the paid channel only. It must be
found as an anomaly of the paid segment, the total's anomaly of that day must name paid as its
main driver, and the other channels must not be flagged that day."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from harness import demo_company

AS_OF = "2026-08-31"
OUTAGE = dt.date(2026, 7, 15)


def query(path, sql: str) -> list[dict]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        cur = con.execute(sql)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("segments_demo")
    with demo_company(tmp, rows=300_000) as (project, _env):
        proc = project.dbt("build", "--select", "+fct_kpi_breach_drivers", "+fct_kpi_segment_daily",
                           "--indirect-selection", "cautious", vars={"as_of_date": AS_OF}, capture=True)
        assert proc.returncode == 0, proc.stdout[-5000:]
        yield project.duckdb_path


def test_the_incident_is_in_the_raw_data_of_one_channel_only(demo):
    rows = query(demo, "select segment_value, value from okr_kpi.fct_kpi_segment_daily "
                       f"where kpi_id = 'new_leads' and date_day = date '{OUTAGE}'")
    by_channel = {r["segment_value"]: r["value"] for r in rows}
    assert set(by_channel) == {"organic", "paid", "referral", "event"}
    assert by_channel["paid"] == 0
    assert min(v for k, v in by_channel.items() if k != "paid") > 0


def test_found_as_an_anomaly_of_the_paid_segment(demo):
    rows = query(demo, "select * from okr_kpi.fct_kpi_breaches where kpi_id = 'new_leads' "
                       f"and period_start = date '{OUTAGE}'")
    segments = {(r["segment_dimension"], r["segment_value"], r["rule"]) for r in rows}
    assert ("lead_channel", "paid", "anomaly") in segments
    # the other channels had a normal day
    assert {s for s in segments if s[0] is not None} == {("lead_channel", "paid", "anomaly")}


def test_the_totals_breach_names_paid_as_its_main_driver(demo):
    [total] = query(demo, "select * from okr_kpi.fct_kpi_breaches where kpi_id = 'new_leads' "
                          f"and period_start = date '{OUTAGE}' and segment_dimension is null")
    assert total["rule"] == "anomaly"
    drivers = query(demo, "select * from okr_kpi.fct_kpi_breach_drivers "
                          f"where breach_id = '{total['breach_id']}' order by rank")
    assert drivers[0]["segment_value"] == "paid" and drivers[0]["rank"] == 1
    assert drivers[0]["share_of_change"] > 0.7
    # contributions of an additive KPI add up to the total's change against its expected value
    change = total["value"] - total["expected_value"]
    assert sum(d["contribution"] for d in drivers) == pytest.approx(change, rel=1e-6)
