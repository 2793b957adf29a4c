"""The report on a phone (390 px) and a desktop (1400 px), in Debian's headless Chromium.

No horizontal overflow, no console error, every section present, numbers equal to the marts
(read here with plain SQL), the filter reachable with the keyboard and labelled, pill text
contrast >= 4.5:1 (computed here from the rendered colours), and print to PDF.

Set OKR_KPI_UPDATE_SCREENSHOT=1 to refresh the screenshots in docs/ (docs/report_tour.md).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from publish_helpers import DEMO_AS_OF, REPO, demo_env, duck_query, okr_kpi

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SECTIONS = [
    "since", "tiles", "trends", "scoreboard", "kr-charts", "objectives", "finished", "breaches", "quality",
]
WIDTHS = [390, 1400]


def _require_chromium() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is missing (make browser installs it)")
        pytest.skip("chromium is not installed (make browser)")


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    _require_chromium()
    tmp = tmp_path_factory.mktemp("report_browser")
    env = demo_env(tmp, tmp_path_factory)
    out = tmp / "reports"
    proc = okr_kpi(env, "run", "--as-of", DEMO_AS_OF, "--out", str(out), "--skip-publish")
    assert proc.returncode in (0, 10), proc.stderr[-3000:]
    return env, out


@pytest.fixture(scope="module")
def browser():
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _open(browser, out: Path, width: int):
    page = browser.new_page(viewport={"width": width, "height": 900})
    problems: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto((out / "report.html").as_uri())
    page.wait_for_load_state("load")
    return page, problems, requests


def _luminance(rgb: tuple[float, float, float]) -> float:
    def lin(c: float) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _rgb(css: str) -> tuple[float, float, float]:
    nums = [float(n) for n in re.findall(r"[\d.]+", css)[:3]]
    return nums[0], nums[1], nums[2]


def contrast(fg: str, bg: str) -> float:
    a, b = sorted((_luminance(_rgb(fg)), _luminance(_rgb(bg))), reverse=True)
    return (a + 0.05) / (b + 0.05)


def test_contrast_helper_flags_a_poor_pair():
    assert contrast("rgb(255, 255, 255)", "rgb(239, 143, 0)") < 4.5  # the old amber pill
    assert contrast("rgb(0, 0, 0)", "rgb(255, 255, 255)") == pytest.approx(21.0)


@pytest.mark.parametrize("width", WIDTHS)
def test_no_overflow_no_errors_every_section(published, browser, width):
    env, out = published
    page, problems, requests = _open(browser, out, width)
    try:
        assert problems == []
        assert requests == [(out / "report.html").as_uri()]  # no network needed
        overflow = page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert overflow[0] <= overflow[1], f"page is {overflow[0]} px wide at {width} px"
        # No element sticks out of the viewport (tables scroll inside their own box).
        wide = page.evaluate(
            """(w) => Array.from(document.querySelectorAll('body *')).filter(e => {
                 if (e.closest('.scroll')) return false;
                 const r = e.getBoundingClientRect();
                 return r.width > 0 && r.right > w + 1;
               }).map(e => e.tagName + '.' + e.className).slice(0, 5)""",
            width,
        )
        assert wide == []
        for section in SECTIONS:
            assert page.locator(f"section#{section}").count() == 1
            assert page.locator(f"section#{section} h2").is_visible()
        # Screenshots of the first screen and of the OKR scoreboard (docs/report_tour.md).
        shots = {f"report_tour_{width}.png": out / f"report_tour_{width}.png",
                 f"report_tour_{width}_okrs.png": out / f"report_tour_{width}_okrs.png"}
        page.screenshot(path=str(shots[f"report_tour_{width}.png"]))
        page.locator("#scoreboard h2").scroll_into_view_if_needed()
        page.evaluate("() => document.getElementById('scoreboard').scrollIntoView()")
        page.screenshot(path=str(shots[f"report_tour_{width}_okrs.png"]))
        for name, shot in shots.items():
            assert shot.stat().st_size > 10_000
            if os.environ.get("OKR_KPI_UPDATE_SCREENSHOT") == "1":
                shutil.copy(shot, REPO / "docs" / name)
    finally:
        page.close()


def test_numbers_equal_the_marts(published, browser):
    env, out = published
    db = env["OKR_KPI_DUCKDB_PATH"]
    page, problems, _ = _open(browser, out, 1400)
    try:
        grain_of = {"daily": "day", "weekly": "week", "monthly": "month", "quarterly": "quarter"}
        kpis = duck_query(db, "select kpi_id, reporting_frequency from okr_kpi.dim_kpis order by kpi_id")
        assert len(kpis) >= 5
        for k in kpis[::3]:
            grain = grain_of[k["reporting_frequency"]]
            row = duck_query(
                db,
                f"select period_start, value from okr_kpi.fct_kpi_periods where kpi_id = '{k['kpi_id']}' "
                f"and grain = '{grain}' and is_complete and period_end <= date '{DEMO_AS_OF}' "
                "order by period_start desc limit 1",
            )[0]
            tile = page.locator(f"#tiles [data-kpi-id='{k['kpi_id']}']")
            assert tile.get_attribute("data-period-start") == row["period_start"].isoformat()
            assert float(tile.get_attribute("data-value")) == pytest.approx(float(row["value"]))
        progress = duck_query(
            db,
            "select key_result_id, score, status from okr_kpi.fct_key_result_progress "
            f"where date_day = date '{DEMO_AS_OF}' order by key_result_id",
        )
        checked = 0
        for kr in progress:
            rows = page.locator(f"table.scoreboard tr.kr[data-key-result-id='{kr['key_result_id']}']")
            if rows.count() == 0:
                continue
            assert rows.first.get_attribute("data-status") == kr["status"]
            if kr["score"] is not None:
                assert float(rows.first.get_attribute("data-score")) == pytest.approx(float(kr["score"]))
            checked += 1
        assert checked >= 3
        assert problems == []
    finally:
        page.close()


def test_keyboard_labels_and_contrast(published, browser):
    env, out = published
    page, problems, _ = _open(browser, out, 1400)
    try:
        # The filter is reachable with Tab, and labelled.
        for _ in range(40):
            page.keyboard.press("Tab")
            if page.evaluate("() => document.activeElement && document.activeElement.id") == "kpi-filter":
                break
        else:
            pytest.fail("the KPI filter is not reachable with the keyboard")
        page.keyboard.type("zzz-no-such-kpi")
        assert page.locator("#trends .chart-card:not(.hidden)").count() == 0
        page.keyboard.press("Control+A")
        page.keyboard.press("Backspace")
        assert page.locator("#trends .chart-card.hidden").count() == 0
        unlabelled = page.evaluate(
            """() => Array.from(document.querySelectorAll('input, select, button')).filter(e =>
                 !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).length"""
        )
        assert unlabelled == 0
        colours = page.evaluate(
            """() => Array.from(document.querySelectorAll('.pill, .status, .tile .name, .sub, th'))
                 .filter(e => e.offsetParent !== null).map(e => {
                   let bg = 'rgba(0, 0, 0, 0)', n = e;
                   while (n && (bg === 'rgba(0, 0, 0, 0)' || bg === 'transparent')) {
                     bg = getComputedStyle(n).backgroundColor; n = n.parentElement; }
                   return [e.className, getComputedStyle(e).color, bg];
                 })"""
        )
        assert len(colours) > 20
        poor = {(c, fg, bg) for c, fg, bg in colours if contrast(fg, bg) < 4.5}
        assert poor == set()
    finally:
        page.close()


def test_print_to_pdf(published, browser):
    env, out = published
    page, problems, _ = _open(browser, out, 1400)
    try:
        page.emulate_media(media="print")
        assert not page.locator("nav").is_visible()
        pdf = page.pdf(format="A4", landscape=True, print_background=True)
        assert pdf[:5] == b"%PDF-"
        assert len(pdf) > 20_000
        (out / "report.pdf").write_bytes(pdf)
        assert problems == []
    finally:
        page.close()


def test_seed_text_is_escaped(published, tmp_path):
    """A KPI name, owner and key-result title from a seed carrying markup render as text."""
    from okr_kpi.report import render_html

    env, out = published
    doc = json.loads((out / "okr_kpi.json").read_text())
    evil = '<img src=x onerror="alert(1)">'
    doc["kpis"]["items"][0]["name"] = evil
    doc["kpis"]["items"][0]["owner"] = evil
    doc["okrs"]["objectives"][0]["title"] = evil
    html = render_html(doc, tmp_path)
    assert evil not in html
    assert "&lt;img src=x onerror=" in html


def test_daily_tiles_compare_the_same_weekday(published, browser):
    """A daily KPI's tile: against the same weekday a week and 52 weeks before (computed here from
    fct_kpi_periods), never against the day before; other grains against the prior period."""
    import datetime as dt

    env, out = published
    db = env["OKR_KPI_DUCKDB_PATH"]
    doc = json.loads((out / "okr_kpi.json").read_text())
    daily = [k for k in doc["kpis"]["items"] if k["grain"] == "day" and k["latest"]]
    assert daily
    page, problems, _ = _open(browser, out, 1400)
    try:
        for k in daily:
            latest = dt.date.fromisoformat(k["latest"]["period_start"])
            values = {
                r["period_start"]: float(r["value"])
                for r in duck_query(
                    db,
                    "select period_start, value from okr_kpi.fct_kpi_periods "
                    f"where kpi_id = '{k['kpi_id']}' and grain = 'day' and is_full_period",
                )
                if r["value"] is not None
            }
            week = values.get(latest - dt.timedelta(days=7))
            year = values.get(latest - dt.timedelta(days=364))
            now = values[latest]
            assert k["latest"]["comparison_basis"] == "same_weekday_last_week"
            assert k["latest"]["comparison_period_start"] == (latest - dt.timedelta(days=7)).isoformat()
            assert k["latest"]["prior_value"] == (pytest.approx(week) if week is not None else None)
            want = None if not week else (now - week) / abs(week)
            assert k["latest"]["change_pct"] == (pytest.approx(want) if want is not None else None)
            want_y = None if not year else (now - year) / abs(year)
            got_y = k["latest"]["change_pct_last_year"]
            assert got_y == (pytest.approx(want_y) if want_y is not None else None)
            tile = page.locator(f"#tiles [data-kpi-id='{k['kpi_id']}']")
            assert "vs same weekday last week" in tile.inner_text()
            assert tile.locator("[data-comparison='same_weekday_52_weeks_ago']").count() == 1
        for k in doc["kpis"]["items"]:
            if k["grain"] != "day" and k["latest"]:
                assert k["latest"]["comparison_basis"] == "prior_period"
        assert problems == []
    finally:
        page.close()


def test_since_last_week_equals_the_history_and_the_marts(published, browser):
    """Breach transitions of the last 7 days (okr_kpi_breach_events), key-result status changes
    (fct_key_result_progress on as_of_date against 7 days before, computed here) and the KPI
    moves, as the page shows them."""
    import datetime as dt

    env, out = published
    db = env["OKR_KPI_DUCKDB_PATH"]
    as_of = dt.date.fromisoformat(DEMO_AS_OF)
    events = duck_query(
        db,
        "select event, count(*) as n from okr_kpi.okr_kpi_breach_events where is_alerted "
        f"and as_of_date > date '{as_of - dt.timedelta(days=7)}' and as_of_date <= date '{as_of}' "
        "group by event",
    )
    want = {"new": 0, "escalated": 0, "resolved": 0} | {r["event"]: r["n"] for r in events}
    assert want["new"] > 0
    progress = duck_query(
        db,
        "select key_result_id, date_day, status from okr_kpi.fct_key_result_progress "
        f"where date_day in (date '{as_of}', date '{as_of - dt.timedelta(days=7)}')",
    )
    by_kr: dict[str, dict] = {}
    for r in progress:
        by_kr.setdefault(r["key_result_id"], {})[r["date_day"]] = r["status"]
    changed = sorted(
        k for k, d in by_kr.items()
        if as_of in d and (as_of - dt.timedelta(days=7)) in d and d[as_of] != d[as_of - dt.timedelta(days=7)]
    )
    page, problems, _ = _open(browser, out, 1400)
    try:
        for kind, n in want.items():
            text = page.locator(f"#since [data-since-count='{kind}']").inner_text()
            assert text.startswith(f"{n} "), (kind, text)
        shown = sorted(
            page.locator("#since ul.since-status li").evaluate_all(
                "els => els.map(e => e.getAttribute('data-key-result-id'))"
            )
        )
        assert shown == changed
        moves = page.locator("#since ul.since-kpi-moves li[data-kpi-id]")
        assert moves.count() > 0
        pcts = [
            abs(float(x))
            for x in moves.evaluate_all("els => els.map(e => e.getAttribute('data-change-pct'))")
        ]
        assert pcts == sorted(pcts, reverse=True)
        assert problems == []
    finally:
        page.close()


def test_filters_by_owner_team_level_across_sections_and_kpi_anchors(published, browser):
    env, out = published
    doc = json.loads((out / "okr_kpi.json").read_text())
    page, problems, _ = _open(browser, out, 1400)
    try:
        for k in doc["kpis"]["items"]:
            assert page.locator(f"#kpi-{k['kpi_id']} svg.kpi-chart").count() == 1
        owner = "marketing@acme.example"
        active = {c["cycle_id"] for c in doc["okrs"]["cycles"] if c["state"] == "active"}
        krs = [kr for o in doc["okrs"]["objectives"] if o["cycle_id"] in active for kr in o["key_results"]]
        page.select_option("#filter-owner", owner)
        want = sum(kr["owner"] == owner for kr in krs)
        assert page.locator("table.scoreboard tr.kr:visible").count() == want
        assert page.locator("#trends .chart-card:visible").count() == sum(
            k["owner"] == owner for k in doc["kpis"]["items"]
        )
        visible_owners = page.locator("[data-f-owner]:visible").evaluate_all(
            "els => els.map(e => e.getAttribute('data-f-owner'))"
        )
        assert visible_owners and all(f"|{owner}|" in v for v in visible_owners)
        page.select_option("#filter-owner", "")
        page.select_option("#filter-level", "company")
        levels = {o["objective_id"]: o["level"] for o in doc["okrs"]["objectives"]}
        shown = page.locator("table.scoreboard tr.objective:visible").evaluate_all(
            "els => els.map(e => e.getAttribute('data-objective-id'))"
        )
        assert shown and {levels[i] for i in shown} == {"company"}
        page.select_option("#filter-level", "")
        teams = sorted({o["team"] for o in doc["okrs"]["objectives"] if o.get("team")})
        page.select_option("#filter-team", teams[0])
        shown = page.locator("ul.tree .objective-node:visible").count()
        assert 0 < shown < page.locator("ul.tree .objective-node").count()
        page.select_option("#filter-team", "")
        assert page.locator(".filtered").count() == 0
        assert problems == []
    finally:
        page.close()


def test_key_results_over_their_cycle(published, browser):
    """One chart per key result of the active cycle, with its target line, pace line, value line,
    and one dot per check-in of the cycle up to as_of_date (okr_check_ins, read here)."""
    env, out = published
    db = env["OKR_KPI_DUCKDB_PATH"]
    krs = duck_query(
        db,
        "select p.key_result_id, p.cycle_start_date from okr_kpi.fct_key_result_progress p "
        f"where p.date_day = date '{DEMO_AS_OF}'",
    )
    assert krs
    check_ins = duck_query(
        db,
        "select c.key_result_id, count(*) as n from okr_kpi.okr_check_ins c "
        "join okr_kpi.fct_key_result_progress p on p.key_result_id = c.key_result_id "
        f"and p.date_day = date '{DEMO_AS_OF}' "
        f"where cast(c.check_in_date as date) between p.cycle_start_date and date '{DEMO_AS_OF}' "
        "group by c.key_result_id",
    )
    page, problems, _ = _open(browser, out, 1400)
    try:
        assert page.locator("#kr-charts svg.kr-chart").count() == len(krs)
        for kr in krs:
            card = page.locator(f"#kr-{kr['key_result_id']}")
            assert card.locator("svg.kr-chart polyline.progress-line").count() == 1
            assert card.locator("svg.kr-chart line.target").count() == 1
            assert card.locator("svg.kr-chart polyline.pace").count() == 1
        for row in check_ins:
            card = page.locator(f"#kr-{row['key_result_id']}")
            assert card.locator("circle.check-in").count() == row["n"]
            assert card.locator("ul.check-ins li").count() == row["n"]
        assert sum(r["n"] for r in check_ins) > 0
        assert page.locator("#kr-charts rect.forecast-band").count() > 0
        assert problems == []
    finally:
        page.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_chart_split_by_segment(published, browser, width):
    """new_leads (cut by lead_channel): the chart's selector swaps the total's line for one line
    per channel, the channels those of fct_kpi_segment_periods (plain SQL), each drawn over the
    same periods as the total, with its legend; no overflow at phone width."""
    env, out = published
    db = env["OKR_KPI_DUCKDB_PATH"]
    page, problems, _ = _open(browser, out, width)
    try:
        card = page.locator("#kpi-new_leads")
        total = card.locator(".total-chart")
        split = card.locator(".split-chart[data-dimension='lead_channel']")
        assert total.is_visible() and split.is_hidden()
        card.locator("select.split-select").select_option("lead_channel")
        assert split.is_visible() and total.is_hidden()
        [kpi] = duck_query(db, "select reporting_grain from okr_kpi.dim_kpis where kpi_id = 'new_leads'")
        channels = duck_query(
            db,
            "select distinct segment_value from okr_kpi.fct_kpi_segment_periods where kpi_id = 'new_leads' "
            f"and segment_dimension = 'lead_channel' and grain = '{kpi['reporting_grain']}' "
            f"and period_end <= date '{DEMO_AS_OF}'",
        )
        expected = sorted(r["segment_value"] for r in channels)
        assert len(expected) >= 2
        lines = split.locator("polyline.segment-line")
        assert sorted(lines.nth(i).get_attribute("data-segment") for i in range(lines.count())) == expected
        total_points = len(card.locator(".total-chart polyline.trend").get_attribute("points").split())
        for i in range(lines.count()):
            assert len(lines.nth(i).get_attribute("points").split()) == total_points
            box = lines.nth(i).bounding_box()
            assert box is not None and box["width"] > 100
        legend = split.locator(".split-legend li")
        assert sorted(legend.nth(i).inner_text().strip() for i in range(legend.count())) == expected
        assert legend.first.is_visible()
        overflow = page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert overflow[0] <= overflow[1], f"page is {overflow[0]} px wide at {width} px"
        shot = out / f"report_tour_{width}_split.png"
        card.screenshot(path=str(shot))
        if os.environ.get("OKR_KPI_UPDATE_SCREENSHOT") == "1" and width == 390:
            shutil.copy(shot, REPO / "docs" / shot.name)
        card.locator("select.split-select").select_option("")
        assert total.is_visible() and split.is_hidden()
        assert problems == []
    finally:
        page.close()
