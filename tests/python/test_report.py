"""The published report: opened in real headless Chromium (Debian's, never downloaded), and the
JSON document checked against the marts with plain SQL.

Set OKR_KPI_UPDATE_SCREENSHOT=1 to refresh docs/report.png from this test's run.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import jsonschema
import pytest
from publish_helpers import DEMO_AS_OF, DEMO_DIR, REPO, demo_env, duck_query, okr_kpi

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    env = demo_env(tmp, tmp_path_factory)
    out = tmp / "reports"
    proc = okr_kpi(env, "run", "--as-of", DEMO_AS_OF, "--out", str(out), "--skip-publish")
    assert proc.returncode in (0, 10), proc.stderr[-3000:]
    return env, out


def current_cycle_rows():
    """Objectives and key results of the cycle containing the demo as_of_date, from the seed CSVs."""
    seeds = DEMO_DIR / "seeds"
    cycles = list(csv.DictReader((seeds / "okr_cycles.csv").open()))
    cycle = next(c for c in cycles if c["start_date"] <= DEMO_AS_OF <= c["end_date"])
    objectives = [
        o for o in csv.DictReader((seeds / "okr_objectives.csv").open()) if o["cycle_id"] == cycle["cycle_id"]
    ]
    ids = {o["objective_id"] for o in objectives}
    krs = [k for k in csv.DictReader((seeds / "okr_key_results.csv").open()) if k["objective_id"] in ids]
    return objectives, krs


@pytest.mark.browser
def test_report_renders_in_chromium(published):
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is missing (make browser installs it)")
        pytest.skip("chromium is not installed (make browser)")
    from playwright.sync_api import sync_playwright

    env, out = published
    doc = json.loads((out / "okr_kpi.json").read_text())
    objectives, krs = current_cycle_rows()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            problems, requests = [], []
            page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto((out / "report.html").as_uri())
            page.wait_for_load_state("load")
            assert problems == []
            # Self-contained: the page asked for nothing but itself (no CDN, no internet).
            assert requests == [(out / "report.html").as_uri()]
            charts = page.locator("svg.kpi-chart")
            assert charts.count() == len(doc["kpis"]["items"]) == 17
            for i in range(charts.count()):
                assert charts.nth(i).is_visible()
            assert page.locator("svg.kpi-chart polyline.trend").count() == 17
            # Threshold bands and breach markers are drawn where the demo's incidents are.
            assert page.locator("svg.kpi-chart rect.band").count() > 0
            markers = page.locator("svg.kpi-chart circle.breach-marker").count()
            assert markers == sum(
                len(
                    {
                        str(b["period_start"])
                        for b in k["breaches"]
                        if any(
                            str(t["period_start"]) == str(b["period_start"]) and t["value"] is not None
                            for t in k["trend"]
                        )
                    }
                )
                for k in doc["kpis"]["items"]
            )
            assert markers > 0
            scoreboard = page.locator("table.scoreboard")
            assert scoreboard.is_visible()
            assert page.locator("table.scoreboard tr.objective").count() == len(objectives)
            assert page.locator("table.scoreboard tr.kr").count() == len(krs)
            assert page.locator("table.scoreboard svg.progress").count() == len(objectives) + len(krs)
            assert page.locator("ul.tree .node").count() == len(objectives)
            assert page.locator("#quality").is_visible()
            # The KPI filter hides the other KPIs.
            page.fill("#kpi-filter", "page load")
            assert page.locator("#trends .chart-card:not(.hidden)").count() == 1
            page.fill("#kpi-filter", "")
            shot = out / "report.png"
            page.screenshot(path=str(shot), full_page=False)
            assert shot.stat().st_size > 20_000
            if os.environ.get("OKR_KPI_UPDATE_SCREENSHOT") == "1":
                shutil.copy(shot, REPO / "docs" / "report.png")
        finally:
            browser.close()


def test_report_document_matches_the_marts(published):
    env, out = published
    doc = json.loads((out / "okr_kpi.json").read_text())
    jsonschema.validate(doc, json.loads((REPO / "docs" / "okr_kpi.schema.json").read_text()))
    db = env["OKR_KPI_DUCKDB_PATH"]
    grain_of = {"daily": "day", "weekly": "week", "monthly": "month", "quarterly": "quarter"}
    kpis = duck_query(db, "select kpi_id, reporting_frequency, reporting_grain from okr_kpi.dim_kpis")
    assert {k["kpi_id"] for k in doc["kpis"]["items"]} == {k["kpi_id"] for k in kpis}
    for k in kpis:
        grain = grain_of[k["reporting_frequency"]]
        assert k["reporting_grain"] == grain  # the mapping's one home (macro reporting_grain)
        rows = duck_query(
            db,
            f"select period_start, value from okr_kpi.fct_kpi_periods where kpi_id = '{k['kpi_id']}' "
            f"and grain = '{grain}' and is_complete and period_end <= date '{DEMO_AS_OF}' "
            "order by period_start",
        )
        item = next(i for i in doc["kpis"]["items"] if i["kpi_id"] == k["kpi_id"])
        assert item["grain"] == grain
        assert item["latest"]["period_start"] == rows[-1]["period_start"].isoformat()
        assert item["latest"]["value"] == pytest.approx(rows[-1]["value"])
        assert [t["period_start"] for t in item["trend"]] == [
            r["period_start"].isoformat() for r in rows[-60:]
        ]
    total = duck_query(db, "select count(*) as n from okr_kpi.fct_kpi_breaches")[0]["n"]
    assert doc["breaches"]["total"] == total
    objectives, krs = current_cycle_rows()
    progress = {
        r["key_result_id"]: r
        for r in duck_query(
            db,
            "select key_result_id, score, status from okr_kpi.fct_key_result_progress "
            f"where date_day = date '{DEMO_AS_OF}'",
        )
    }
    shown = {kr["key_result_id"]: kr for o in doc["okrs"]["objectives"] for kr in o["key_results"]}
    for kr in krs:
        assert shown[kr["key_result_id"]]["status"] == progress[kr["key_result_id"]]["status"]
        assert shown[kr["key_result_id"]]["score"] == pytest.approx(progress[kr["key_result_id"]]["score"])
    md = (out / "summary.md").read_text()
    assert f"{total} in the log" in md


def test_report_on_an_empty_warehouse_says_not_available(tmp_path):
    from publish_helpers import run_env

    env = run_env(tmp_path)
    import duckdb

    duckdb.connect(env["OKR_KPI_DUCKDB_PATH"]).close()
    out = tmp_path / "reports"
    proc = okr_kpi(env, "report", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    html = (out / "report.html").read_text()
    for text in (
        "KPIs not available",
        "OKRs not available",
        "Breaches not available",
        "Data-quality results not available",
    ):
        assert text in html
    doc = json.loads((out / "okr_kpi.json").read_text())
    assert (doc["kpis"]["available"], doc["okrs"]["available"], doc["breaches"]["available"]) == (
        False,
        False,
        False,
    )
