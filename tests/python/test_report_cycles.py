"""The report shows every cycle active on as_of_date, whatever its length, and the last finished
ones with their grades (models/reports/rpt_okr_*.sql, scripts/okr_kpi/report/).

Two differently shaped companies:
- a consumer project (a regional courier) with a fiscal year, a half-year and a quarter running on
  as_of_date 2025-08-20, a quarterly team objective under the half-year company objective (and one
  under the year's), a finished Q2 (shown, graded), a finished Q1 (older: not shown) and an
  upcoming Q4 (not shown);
- the demo company (harness.demo_company).

Each report (report.html parsed with html.parser, summary.md, okr_kpi.json) is checked against
the marts read with plain SQL, and the cycle rule against dates worked out by hand.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest
from harness import REPO, TARGETS, consumer_project_on, fixture_inputs_model, release_spark, start_target

AS_OF = "2025-08-20"
OKR_KPI = str(Path(sys.executable).parent / "okr-kpi")

KPI_DEFINITIONS = """
    kpi_id,name,description,unit,direction,aggregation,owner,data_source,reporting_frequency
    parcels,Parcels delivered,Per day,parcels,higher_is_better,sum,ops,scans,daily
    late_share,Late deliveries,Share delivered late,share,lower_is_better,ratio,ops,scans,daily
    vans,Vans on the road,Vans in service,vans,higher_is_better,last,fleet,fleet,daily
"""

CYCLES = """
    cycle_id,name,start_date,end_date
    fy-2025,FY 2025,2025-01-01,2025-12-31
    h2-2025,H2 2025,2025-07-01,2025-12-31
    q1-2025,Q1 2025,2025-01-01,2025-03-31
    q2-2025,Q2 2025,2025-04-01,2025-06-30
    q3-2025,Q3 2025,2025-07-01,2025-09-30
    q4-2025,Q4 2025,2025-10-01,2025-12-31
"""

OBJECTIVES = """
    objective_id,cycle_id,title,level,team,owner,parent_objective_id
    co-fy,fy-2025,Be the courier the region trusts <fast & safe>,company,,ceo,
    co-h2,h2-2025,Deliver on time all autumn,company,,coo,co-fy
    ops-q3,q3-2025,Every van on time,team,ops,ops,co-h2
    fleet-q3,q3-2025,A bigger fleet,team,fleet,fleet,co-fy
    co-q2,q2-2025,A spring without backlog,team,ops,ops,co-fy
    co-q1,q1-2025,A calm first quarter,team,ops,ops,co-fy
    co-q4,q4-2025,Peak season ready,team,ops,ops,co-h2
"""

KEY_RESULTS = """
    key_result_id,objective_id,title,kr_type,kpi_id,grain,measure,baseline,target,target_kind,weight,owner
    kr-fy-parcels,co-fy,120000 parcels in 2025,increase,parcels,day,cycle_to_date,,120000,absolute,,ceo
    kr-fy-late,co-fy,Late share down to 4%,decrease,late_share,month,latest_period,0.08,0.04,absolute,,ceo
    kr-fy-vans,co-fy,30 vans on the road,increase,vans,month,latest_period,20,30,absolute,,ceo
    kr-h2-late,co-h2,Late below 7% monthly,maintain_below,late_share,month,latest_period,,0.07,absolute,,coo
    kr-h2-parcels,co-h2,60000 parcels this half,increase,parcels,day,cycle_to_date,,60000,absolute,,coo
    kr-h2-weekly,co-h2,Weekly parcels 10% up,increase,parcels,week,latest_period,,0.1,relative,,coo
    kr-ops-late,ops-q3,Daily late share to 5%,decrease,late_share,day,latest_period,0.08,0.05,absolute,,ops
    kr-ops-parcels,ops-q3,30000 parcels this quarter,increase,parcels,day,cycle_to_date,,30000,absolute,2,ops
    kr-ops-month,ops-q3,Monthly parcels 5% up,increase,parcels,month,latest_period,,0.05,relative,,ops
    kr-fleet-vans,fleet-q3,28 vans by September,increase,vans,day,latest_period,,28,absolute,,fleet
    kr-fleet-floor,fleet-q3,Never below 20 vans,maintain_above,vans,week,latest_period,,20,absolute,,fleet
    kr-fleet-milestone,fleet-q3,Reach 27 vans,milestone,vans,day,latest_period,,27,absolute,,fleet
    kr-q2-parcels,co-q2,Deliver 28000 parcels in Q2,increase,parcels,day,cycle_to_date,,28000,absolute,,ops
    kr-q2-late,co-q2,Late share down to 6%,decrease,late_share,month,latest_period,0.08,0.06,absolute,,ops
    kr-q2-vans,co-q2,25 vans by June,increase,vans,day,latest_period,20,25,absolute,,ops
    kr-q1-parcels,co-q1,Deliver 9000 parcels in Q1,increase,parcels,day,cycle_to_date,,9000,absolute,,ops
    kr-q1-late,co-q1,Late share down to 7%,decrease,late_share,month,latest_period,0.08,0.07,absolute,,ops
    kr-q1-vans,co-q1,22 vans by March,increase,vans,day,latest_period,20,22,absolute,,ops
    kr-q4-parcels,co-q4,Deliver 40000 parcels in Q4,increase,parcels,day,cycle_to_date,,40000,absolute,,ops
    kr-q4-late,co-q4,Late share down to 5%,decrease,late_share,month,latest_period,0.07,0.05,absolute,,ops
    kr-q4-vans,co-q4,32 vans by December,increase,vans,day,latest_period,28,32,absolute,,ops
"""

# What the report must show on AS_OF, worked out by hand from the dates above.
ACTIVE = ["fy-2025", "h2-2025", "q3-2025"]  # longest first
FINISHED_SHOWN = ["q2-2025"]  # the most recent finished quarter; q1-2025 is older, q4-2025 upcoming
ELAPSED = {"fy-2025": (232, 365), "h2-2025": (51, 184), "q3-2025": (51, 92), "q2-2025": (91, 91)}
LENGTH = {"fy-2025": "year", "h2-2025": "half_year", "q3-2025": "quarter", "q2-2025": "quarter"}


def _inputs() -> str:
    """Daily rows from 2024-10-01 to AS_OF: parcels 300 + (day % 10) * 7, late parcels
    20 + (day % 4) over the parcels, vans 20 + days // 30 (a stock)."""
    rows = ["kpi_id,date_day,numerator,denominator"]
    day, n = dt.date(2024, 10, 1), 0
    while day <= dt.date.fromisoformat(AS_OF):
        parcels = 300 + (n % 10) * 7
        rows += [f"parcels,{day},{parcels},", f"late_share,{day},{20 + n % 4},{parcels}",
                 f"vans,{day},{20 + n // 30},"]
        day, n = day + dt.timedelta(days=1), n + 1
    return "\n".join(rows)


# --- reading the outputs ------------------------------------------------------------------------

class Page(HTMLParser):
    """The report's structure: every element's tag, classes, data-* attributes and own text."""

    def __init__(self, html: str):
        super().__init__()
        self.elements: list[dict] = []
        self._open: list[dict] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        element = {"tag": tag, "class": set((dict(attrs).get("class") or "").split()),
                   "attrs": dict(attrs), "text": "", "parents": list(self._open)}
        self.elements.append(element)
        if tag not in ("br", "img", "input", "meta", "link", "rect", "line", "circle", "polyline", "path"):
            self._open.append(element)

    def handle_endtag(self, tag):
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i]["tag"] == tag:
                del self._open[i:]
                break

    def handle_data(self, data):
        for element in self._open:
            element["text"] += data

    def find(self, tag: str | None = None, cls: str | None = None, **data) -> list[dict]:
        return [e for e in self.elements
                if (tag is None or e["tag"] == tag) and (cls is None or cls in e["class"])
                and all(e["attrs"].get(f"data-{k.replace('_', '-')}") == v for k, v in data.items())]


def okr_kpi(project_path: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([OKR_KPI, *args], cwd=project_path, env=env, text=True, capture_output=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def marts(query, as_of: str):
    """The latest scored row of every objective and key result, and every cycle, read with plain SQL
    (no rpt_ model): the values the report must show."""
    objectives = {r["objective_id"]: r for r in query(
        "select o.* from {schema}.fct_objective_progress as o inner join (select objective_id as id, "
        "max(date_day) as d from {schema}.fct_objective_progress where date_day <= date '" + as_of + "' "
        "group by objective_id) as m on o.objective_id = m.id and o.date_day = m.d")}
    key_results = {r["key_result_id"]: r for r in query(
        "select k.* from {schema}.fct_key_result_progress as k inner join (select key_result_id as id, "
        "max(date_day) as d from {schema}.fct_key_result_progress where date_day <= date '" + as_of + "' "
        "group by key_result_id) as m on k.key_result_id = m.id and k.date_day = m.d")}
    return objectives, key_results


def cycle_grade(objectives: dict, cycle_id: str) -> tuple[float, str]:
    """A finished cycle's score and grade by the documented rule: the mean final score of its top
    objectives (no parent in the same cycle), graded red < 0.4 <= yellow < 0.7 <= green."""
    own = {o for o, r in objectives.items() if r["cycle_id"] == cycle_id}
    tops = [r["score"] for o, r in objectives.items()
            if o in own and r["parent_objective_id"] not in own and r["score"] is not None]
    score = sum(tops) / len(tops)
    return score, "green" if score >= 0.7 else "yellow" if score >= 0.4 else "red"


def md(text: str) -> str:
    """Text as summary.md writes it in a table cell: no HTML, no column break."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


def fmt(value) -> str:
    from okr_kpi.report.svg import fmt as report_fmt

    return report_fmt(value)


def assert_report_shows(out: Path, objectives: dict, key_results: dict, active: list[str],
                        finished: list[str], cycle_names: dict[str, str], hidden: set[str]) -> dict:
    """report.html, summary.md and okr_kpi.json show every objective and key result of the active
    and finished cycles with the marts' values, nest aligned objectives under their parents across
    cycles, grade the finished cycles and show nothing of the other cycles. Returns the document."""
    doc = json.loads((out / "okr_kpi.json").read_text())
    jsonschema.validate(doc, json.loads((REPO / "docs" / "okr_kpi.schema.json").read_text()))
    shown_cycles = active + finished
    # JSON: the cycles, in order, with their state; every objective and key result with its values.
    assert [c["cycle_id"] for c in doc["okrs"]["cycles"]] == shown_cycles
    states = ["active"] * len(active) + ["finished"] * len(finished)
    assert [c["state"] for c in doc["okrs"]["cycles"]] == states
    expected_objectives = {o for o, r in objectives.items() if r["cycle_id"] in shown_cycles}
    by_id = {o["objective_id"]: o for o in doc["okrs"]["objectives"]}
    assert set(by_id) == expected_objectives
    assert not hidden & set(by_id)
    for objective_id in expected_objectives:
        row, shown = objectives[objective_id], by_id[objective_id]
        assert shown["cycle_id"] == row["cycle_id"]
        assert shown["score"] == pytest.approx(row["score"], abs=1e-12)
        assert shown["status"] == row["status"]
        assert shown["grade"] == row["grade"]
        assert shown["date_day"] == row["date_day"].isoformat()
        krs = {k for k, r in key_results.items() if r["objective_id"] == objective_id}
        assert {kr["key_result_id"] for kr in shown["key_results"]} == krs
        for kr in shown["key_results"]:
            mart = key_results[kr["key_result_id"]]
            for column in ("score", "current_value", "target", "progress", "expected_progress"):
                assert kr[column] == pytest.approx(mart[column], abs=1e-12), (kr["key_result_id"], column)
            assert kr["status"] == mart["status"]
    for c in doc["okrs"]["cycles"]:
        if c["state"] == "finished":
            score, grade = cycle_grade(objectives, c["cycle_id"])
            assert c["score"] == pytest.approx(score, abs=1e-12) and c["grade"] == grade

    # HTML: one scoreboard per active cycle with its objectives and key results, the tree across
    # cycles, one table per finished cycle with its grades.
    page = Page((out / "report.html").read_text())
    boards = page.find("table", "scoreboard")
    assert [b["attrs"]["data-cycle-id"] for b in boards] == active
    for board in boards:
        cycle_id = board["attrs"]["data-cycle-id"]
        rows = [e for e in page.find("tr") if board in e["parents"]]
        objective_rows = [r["attrs"]["data-objective-id"] for r in rows if "objective" in r["class"]]
        kr_rows = {r["attrs"]["data-key-result-id"]: r for r in rows if "kr" in r["class"]}
        assert sorted(objective_rows) == sorted(o for o, r in objectives.items() if r["cycle_id"] == cycle_id)
        assert set(kr_rows) == {k for k, r in key_results.items() if r["cycle_id"] == cycle_id}
        for kr_id, tr in kr_rows.items():
            assert fmt(key_results[kr_id]["score"]) in tr["text"]
            assert key_results[kr_id]["title"] in tr["text"]
        heading = next(e for e in page.find("h3") if e["attrs"].get("data-cycle-id") == cycle_id)
        assert cycle_names[cycle_id] in heading["text"]
    nodes = {e["attrs"]["data-objective-id"]: e for e in page.find("li", "objective-node")}
    assert set(nodes) == {o for o, r in objectives.items() if r["cycle_id"] in active}
    for objective_id, li in nodes.items():
        parent = objectives[objective_id]["parent_objective_id"]
        enclosing = [p["attrs"].get("data-objective-id") for p in li["parents"]
                     if "objective-node" in p["class"]]
        if parent in nodes:  # nested under its parent, in whatever cycle the parent is
            assert enclosing[-1] == parent, (objective_id, enclosing)
        else:
            assert enclosing == []
    tables = page.find("table", "finished")
    assert [t["attrs"]["data-cycle-id"] for t in tables] == finished
    for table in tables:
        cycle_id = table["attrs"]["data-cycle-id"]
        _, grade = cycle_grade(objectives, cycle_id)
        caption = next(e for e in page.find("h3") if e["attrs"].get("data-cycle-id") == cycle_id)
        assert grade in caption["text"]
        rows = [e for e in page.find("tr") if table in e["parents"]]
        for tr in rows:
            if "objective" in tr["class"]:
                row = objectives[tr["attrs"]["data-objective-id"]]
                assert row["grade"] in tr["text"] and fmt(row["score"]) in tr["text"]
        assert {tr["attrs"]["data-objective-id"] for tr in rows if "objective" in tr["class"]} == {
            o for o, r in objectives.items() if r["cycle_id"] == cycle_id}
    text = " ".join(e["text"] for e in page.elements if e["tag"] == "main")
    for objective_id in hidden:
        assert objectives[objective_id]["title"] not in text

    # summary.md: a section per shown cycle with every objective and key result.
    text_md = (out / "summary.md").read_text()
    sections = text_md.split("\n### ")[1:]
    for cycle_id in shown_cycles:
        section = next(s for s in sections if s.startswith(cycle_names[cycle_id]))
        for r in objectives.values():
            if r["cycle_id"] == cycle_id:
                assert md(r["title"]) in section and fmt(r["score"]) in section
                if r["grade"]:
                    assert r["grade"] in section
        for r in key_results.values():
            if r["cycle_id"] == cycle_id:
                assert md(r["title"]) in section
    for cycle_id in finished:
        _, grade = cycle_grade(objectives, cycle_id)
        section = next(s for s in sections if s.startswith(cycle_names[cycle_id]))
        assert f"grade **{grade}**" in section.splitlines()[0]
    for objective_id in hidden:
        assert md(objectives[objective_id]["title"]) not in text_md
    return doc


# --- the courier: a year, a half-year and a quarter at once -------------------------------------

@pytest.fixture(scope="module", params=TARGETS)
def courier(request, tmp_path_factory):
    """The courier built and reported once per target (duckdb, postgres, the Spark cluster)."""
    tmp = tmp_path_factory.mktemp(f"courier_{start_target(request)}")
    with consumer_project_on(
        request.param,
        tmp,
        seeds={"kpi_definitions": KPI_DEFINITIONS, "fixture_kpi_inputs": _inputs(), "okr_cycles": CYCLES,
               "okr_objectives": OBJECTIVES, "okr_key_results": KEY_RESULTS},
        models={"fixture_inputs": fixture_inputs_model()},
        kpi_inputs=["fixture_inputs"],
        vars={"as_of_date": AS_OF},
    ) as project:
        project.dbt("seed")
        project.dbt("run", "--select", "+rpt_okr_objectives +rpt_okr_key_results dim_kpis")
        project.dbt("test", "--select", "rpt_okr_cycles rpt_okr_objectives rpt_okr_key_results")
        out = tmp / "reports"
        if request.param == "spark":
            release_spark()  # the report opens the Derby metastore in its own process
        okr_kpi(project.path, project.env, "report", "--target", request.param, "--out", str(out))
        yield project, out


def test_rpt_okr_cycles_classifies_every_cycle(courier):
    project, _ = courier
    rows = {r["cycle_id"]: r for r in project.query("select * from {schema}.rpt_okr_cycles")}
    assert {c: r["cycle_state"] for c, r in rows.items()} == {
        "fy-2025": "active", "h2-2025": "active", "q3-2025": "active",
        "q1-2025": "finished", "q2-2025": "finished", "q4-2025": "upcoming"}
    assert {c for c, r in rows.items() if r["is_reported"]} == set(ACTIVE + FINISHED_SHOWN)
    # the report's current cycle, by hand: h2-2025 and q3-2025 both started last (2025-07-01) among
    # the active ones; q3-2025 is the shorter
    assert [c for c, r in rows.items() if r["is_current"]] == ["q3-2025"]
    for cycle_id, (elapsed, days) in ELAPSED.items():
        assert (rows[cycle_id]["elapsed_days"], rows[cycle_id]["cycle_days"]) == (elapsed, days)
        assert rows[cycle_id]["expected_progress"] == pytest.approx(elapsed / days)
        assert rows[cycle_id]["cycle_length"] == LENGTH[cycle_id]
    assert (rows["q4-2025"]["elapsed_days"], rows["q1-2025"]["recency_rank"]) == (0, 2)
    assert sorted(rows, key=lambda c: rows[c]["report_order"])[:4] == ACTIVE + FINISHED_SHOWN
    assert {r["as_of_date"] for r in rows.values()} == {dt.date.fromisoformat(AS_OF)}


def test_report_shows_the_year_the_half_year_and_the_quarter(courier):
    project, out = courier
    objectives, key_results = marts(project.query, AS_OF)
    names = {c: r["cycle_name"] for c, r in
             ((r["cycle_id"], r) for r in project.query("select * from {schema}.rpt_okr_cycles"))}
    doc = assert_report_shows(out, objectives, key_results, ACTIVE, FINISHED_SHOWN, names,
                              hidden={"co-q1"})
    # the quarterly team objective sits under the half-year company objective, which sits under
    # the year's: alignment across three cycles
    page = Page((out / "report.html").read_text())
    ops = next(e for e in page.find("li", "objective-node") if e["attrs"]["data-objective-id"] == "ops-q3")
    assert [p["attrs"]["data-objective-id"] for p in ops["parents"] if "objective-node" in p["class"]] == [
        "co-fy", "co-h2"]
    # the upcoming Q4 objective is not scored yet: absent from marts and report alike
    assert "co-q4" not in objectives and "Peak season ready" not in (out / "report.html").read_text()
    assert doc["okrs"]["cycle"]["cycle_id"] == "q3-2025"  # rpt_okr_cycles.is_current
    cycles = {c["cycle_id"]: c for c in doc["okrs"]["cycles"]}
    assert cycles["q3-2025"]["elapsed_days"] == 51 and cycles["q3-2025"]["cycle_days"] == 92
    assert "day 51 of 92" in (out / "summary.md").read_text()


def test_lint_accepts_the_couriers_nested_cycles(courier):
    from okr_kpi.lint import lint_seeds

    project, _ = courier
    rules = {i.rule for i in lint_seeds(project.path / "seeds")}
    assert not rules & {"okr-parent-cycle", "okr-company-parent", "okr-cycle-overlap"}, rules


def test_report_escapes_what_people_typed(courier):
    _, out = courier
    html = (out / "report.html").read_text()
    assert "trusts &lt;fast &amp; safe&gt;" in html and "<fast & safe>" not in html
    summary = (out / "summary.md").read_text()
    assert "trusts &lt;fast &amp; safe&gt;" in summary and "<fast" not in summary


# --- the demo company: one quarter running, the previous one finished ---------------------------

DEMO_AS_OF = "2026-08-31"
LENGTHS = ((28, 31, "month"), (89, 92, "quarter"), (181, 184, "half_year"), (365, 366, "year"))


def expected_cycles(cycles: list[dict], as_of: str) -> tuple[list[str], list[str]]:
    """(active, finished shown) by the documented rule, worked out here: active cycles longest first;
    of the finished, the one that ended last of each length, most recently ended first."""
    day = dt.date.fromisoformat(as_of)

    def length(c):
        days = (c["end_date"] - c["start_date"]).days + 1
        return next((name for low, high, name in LENGTHS if low <= days <= high), "other")

    active = sorted((c for c in cycles if c["start_date"] <= day <= c["end_date"]),
                    key=lambda c: (c["start_date"] - c["end_date"], c["start_date"], c["cycle_id"]))
    latest: dict[str, dict] = {}
    for c in sorted((c for c in cycles if c["end_date"] < day), key=lambda c: c["end_date"]):
        latest[length(c)] = c
    finished = sorted(latest.values(), key=lambda c: (c["end_date"], c["start_date"]), reverse=True)
    return [c["cycle_id"] for c in active], [c["cycle_id"] for c in finished]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from harness import demo_company

    tmp = tmp_path_factory.mktemp("report_cycles_demo")
    with demo_company(tmp, rows=20_000) as (project, env):
        for args in (("seed",), ("run", "--select", "+rpt_okr_objectives +rpt_okr_key_results dim_kpis")):
            proc = project.dbt(*args, vars={"as_of_date": DEMO_AS_OF}, capture=True)
            assert proc.returncode == 0, proc.stdout[-3000:]
        out = tmp / "reports"
        okr_kpi(Path(project.project_dir), env, "report", "--out", str(out))
        yield env, out


def test_demo_report_shows_the_running_quarter_and_grades_the_last_one(demo):
    from publish_helpers import duck_query

    env, out = demo
    db = env["OKR_KPI_DUCKDB_PATH"]
    schema = env["OKR_KPI_SCHEMA"]

    def query(sql):
        return duck_query(db, sql.replace("{schema}", schema))

    cycles = [{**c, "start_date": _date(c["start_date"]), "end_date": _date(c["end_date"])}
              for c in query("select cycle_id, name, start_date, end_date from {schema}.okr_cycles")]
    active, finished = expected_cycles(cycles, DEMO_AS_OF)
    assert active and finished  # the demo has a running quarter and a finished one
    objectives, key_results = marts(query, DEMO_AS_OF)
    shown = set(active + finished)
    hidden = {o for o, r in objectives.items() if r["cycle_id"] not in shown}
    assert_report_shows(out, objectives, key_results, active, finished,
                        {c["cycle_id"]: c["name"] for c in cycles}, hidden)


def _date(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
