"""Checks on the demo company (okr-kpi generate --rows 300000 --seed 42, as_of_date 2026-08-31).

- The threshold breaches of `dbt build` (the warning test's stored failures), of the Great
  Expectations run and of fct_kpi_breaches are the same set.
- Every planted incident (raw.demo_incidents) is an anomaly on its KPI, at the KPI's reporting
  grain, for every period it touches; the two weeks before and after each incident raise none.
- The false-positive rate of the anomaly rule (anomalies on periods that touch no incident of
  their KPI, over the periods judged) stays under 1% (measured value in docs/checks.md).
- Every source test passes on the clean data and fails (in dbt and in its GX mirror) on a
  corrupted copy, with unexpected counts worked out by hand from the rows inserted.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest
from harness import DEMO_DIR, demo_company
from okr_kpi.checks import run_checks
from okr_kpi.exit_codes import ExitCode
from okr_kpi.project import Project

AS_OF = "2026-08-31"
REPORTING_GRAIN = {"daily": "day", "weekly": "week", "monthly": "month", "quarterly": "quarter"}


def query(path: Path, sql: str) -> list[dict]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        cur = con.execute(sql)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("checks_demo")
    with demo_company(tmp, rows=300_000) as (project, env):
        proc = project.dbt(
            "build",
            "--select",
            "+fct_kpi_breaches",
            "--indirect-selection",
            "cautious",
            vars={"as_of_date": AS_OF},
            capture=True,
        )
        assert proc.returncode == 0, proc.stdout[-5000:]
        result = run_checks(project, as_of=AS_OF)
        yield {
            "project": project,
            "path": project.duckdb_path,
            "env": env,
            "checks": result,
            "target": Path(env["DBT_TARGET_PATH"]),
            "tmp": tmp,
        }


def incidents(demo) -> list[dict]:
    return query(
        demo["path"],
        "select incident_id, kpi_id, cast(start_date as date) as start_date, "
        "cast(end_date as date) as end_date from raw.demo_incidents",
    )


def anomalies(demo) -> list[dict]:
    return query(demo["path"], "select * from okr_kpi.fct_kpi_breaches where rule = 'anomaly'")


def touches(row, incident) -> bool:
    return (
        row["kpi_id"] == incident["kpi_id"]
        and row["period_start"] <= incident["end_date"]
        and row["period_end"] >= incident["start_date"]
    )


def test_threshold_breaches_agree_in_dbt_gx_and_the_mart(demo):
    audit = query(
        demo["path"],
        "select kpi_id, grain, period_start from "
        "okr_kpi_dbt_test__audit.okr_kpi_kpi_thresholds_fct_kpi_periods_",
    )
    from_dbt = {(r["kpi_id"], r["grain"], str(r["period_start"])[:10]) for r in audit}
    mart = query(
        demo["path"],
        "select kpi_id, grain, period_start from okr_kpi.fct_kpi_breaches where rule = 'threshold'",
    )
    from_mart = {(r["kpi_id"], r["grain"], str(r["period_start"])) for r in mart}
    checks = demo["checks"]
    assert checks.fatal is None and checks.errors == []
    assert from_dbt == checks.threshold_breaches == from_mart
    # a few real breaches, not hundreds; the planted ones among them
    assert 3 <= len(from_mart) <= 15
    assert {("page_load_time", "day", f"2026-07-{d}") for d in (20, 21, 22, 23)} <= from_mart
    assert ("apdex", "day", "2026-06-16") in from_mart
    assert ("churned_customers", "week", "2026-08-03") in from_mart
    run_results = json.loads((demo["target"] / "run_results.json").read_text())
    [test] = [
        r for r in run_results["results"] if r["unique_id"].startswith("test.okr_kpi.okr_kpi_kpi_thresholds")
    ]
    assert (test["status"], test["failures"]) == ("warn", len(from_mart))


def test_planted_incidents_are_anomalies_on_the_right_kpi_and_period(demo):
    kpis = {r["kpi_id"]: r for r in query(demo["path"], "select * from okr_kpi.dim_kpis")}
    found = anomalies(demo)
    for incident in incidents(demo):
        grain = REPORTING_GRAIN[kpis[incident["kpi_id"]]["reporting_frequency"]]
        periods = query(
            demo["path"],
            f"""
            select period_start from okr_kpi.fct_kpi_periods
            where kpi_id = '{incident["kpi_id"]}' and grain = '{grain}'
              and period_start <= date '{incident["end_date"]}'
              and period_end >= date '{incident["start_date"]}'""",
        )
        assert periods, incident
        flagged = {r["period_start"] for r in found if r["grain"] == grain and touches(r, incident)}
        assert flagged == {p["period_start"] for p in periods}, incident


def test_the_weeks_around_each_incident_raise_no_anomaly(demo):
    around = []
    for incident in incidents(demo):
        around.append(
            (incident["start_date"] - dt.timedelta(days=14), incident["end_date"] + dt.timedelta(days=14))
        )
    planted = incidents(demo)
    quiet_hits = [
        r
        for r in anomalies(demo)
        if any(lo <= r["period_start"] <= hi for lo, hi in around) and not any(touches(r, i) for i in planted)
    ]
    assert quiet_hits == []


def test_false_positive_rate_is_under_one_percent(demo):
    judged = query(
        demo["path"],
        """
        select count(*) as n from okr_kpi.fct_kpi_periods as p
        inner join okr_kpi.dim_kpis as d on p.kpi_id = d.kpi_id
        where p.is_complete and p.is_fully_covered and p.value is not null
          and p.grain = case d.reporting_frequency when 'daily' then 'day' when 'weekly' then 'week'
                             when 'monthly' then 'month' else 'quarter' end""",
    )[0]["n"]
    planted = incidents(demo)
    false_positives = [r for r in anomalies(demo) if not any(touches(r, i) for i in planted)]
    rate = len(false_positives) / judged
    print(f"anomaly false positives: {len(false_positives)} of {judged} judged periods = {rate:.2%}")
    assert rate < 0.01


def test_source_checks_pass_on_clean_demo_data(demo):
    checks = demo["checks"]
    sources = [o for o in checks.outcomes if o.kind == "source"]
    assert len(sources) >= 40
    assert [o for o in sources if o.success is not True] == []
    assert checks.failures == [] and checks.warnings == []
    run_results = json.loads((demo["target"] / "run_results.json").read_text())
    source_tests = [r for r in run_results["results"] if "source_" in r["unique_id"]]
    assert source_tests and {r["status"] for r in source_tests} == {"pass"}


# Rows that break each kind of source test (the tables are first copied without their NOT NULL
# constraints, as a careless loader would write them), and what each test must report (worked out by hand).
CORRUPTION = """
create or replace table raw.customers as select * from raw.customers;
create or replace table raw.orders as select * from raw.orders;
create or replace table raw.web_sessions as select * from raw.web_sessions;
create or replace table raw.leads as select * from raw.leads;
create or replace table raw.expenses as select * from raw.expenses;
insert into raw.customers select customer_id, null, 'mars', 'tv' from raw.customers where customer_id = 1;
insert into raw.orders select null, customer_id, ordered_at, -5, 'USD', 'lost' from raw.orders limit 1;
insert into raw.subscriptions select subscription_id + 100000000, 999999999, plan, -1, started_on, null
    from raw.subscriptions limit 1;
insert into raw.app_requests select request_id + 100000000, requested_at, endpoint, -1, 700
    from raw.app_requests limit 1;
insert into raw.support_tickets select ticket_id + 100000000, customer_id, opened_at, null, null, 9, 'fax'
    from raw.support_tickets limit 1;
insert into raw.web_sessions select session_id + 100000000, started_at, 'fax', landing_page, null
    from raw.web_sessions limit 1;
insert into raw.leads select lead_id + 100000000, null, 'tv', email_domain from raw.leads limit 1;
insert into raw.expenses select expense_id + 100000000, spent_on, 'yacht', null from raw.expenses limit 1;
delete from raw.newsletter_signups;
"""
# (table, column or None, dbt test) -> unexpected rows in GX (None: not mirrored in GX)
EXPECTED_FAILURES = {
    ("customers", "customer_id", "unique"): 2,  # GX counts both rows sharing the id
    ("customers", "signed_up_at", "not_null"): 1,
    ("customers", "region", "accepted_values"): 1,
    ("customers", "acquisition_channel", "accepted_values"): 1,
    ("orders", "order_id", "not_null"): 1,
    ("orders", "amount", "values_between"): 1,
    ("orders", "status", "accepted_values"): 1,
    ("orders", "currency", "accepted_values"): 1,
    ("subscriptions", "customer_id", "relationships"): None,
    ("subscriptions", "mrr", "values_between"): 1,
    ("app_requests", "response_ms", "values_between"): 1,
    ("app_requests", "status_code", "values_between"): 1,
    ("support_tickets", "satisfaction_score", "values_between"): 1,
    ("support_tickets", "channel", "accepted_values"): 1,
    ("web_sessions", "channel", "accepted_values"): 1,
    ("web_sessions", "page_load_ms", "not_null"): 1,
    ("leads", "created_at", "not_null"): 1,
    ("leads", "source", "accepted_values"): 1,
    ("expenses", "category", "accepted_values"): 1,
    ("expenses", "amount", "not_null"): 1,
    ("newsletter_signups", None, "row_count_between"): None,  # GX: observed_value 0, no per-row count
}


def test_source_checks_fail_on_corrupted_data_in_dbt_and_gx(demo, monkeypatch):
    tmp = demo["tmp"]
    broken = tmp / "broken.duckdb"
    shutil.copy(demo["path"], broken)
    con = duckdb.connect(str(broken))
    for statement in CORRUPTION.split(";"):
        if statement.strip():
            con.execute(statement)
    con.close()
    env = {**demo["env"], "OKR_KPI_DUCKDB_PATH": str(broken), "DBT_TARGET_PATH": str(tmp / "target_broken")}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    project = Project(target="duckdb", project_dir=DEMO_DIR)
    proc = project.dbt("test", "--select", "source:demo", vars={"as_of_date": AS_OF}, capture=True)
    assert proc.returncode != 0  # error-severity source tests stop the build
    manifest = json.loads((tmp / "target_broken" / "manifest.json").read_text())
    run_results = json.loads((tmp / "target_broken" / "run_results.json").read_text())

    def key_of(node):
        meta = node["test_metadata"]
        table = re.search(r"source\('demo', '(\w+)'\)", meta["kwargs"]["model"]).group(1)
        column = node.get("column_name") or meta["kwargs"].get("column_name")
        return table, column, meta["name"]

    dbt_failed = {
        key_of(manifest["nodes"][r["unique_id"]]): r["status"]
        for r in run_results["results"]
        if r["status"] in ("fail", "warn")
    }
    assert set(dbt_failed) == set(EXPECTED_FAILURES)
    # severities as chosen in _demo__sources.yml: keys, nulls, row counts error; categories warn ...
    assert dbt_failed[("customers", "customer_id", "unique")] == "fail"
    assert dbt_failed[("newsletter_signups", None, "row_count_between")] == "fail"
    assert dbt_failed[("customers", "region", "accepted_values")] == "warn"
    assert dbt_failed[("orders", "status", "accepted_values")] == "fail"

    checks = run_checks(project, as_of=AS_OF)
    assert checks.fatal is None and checks.errors == []
    gx_failed = {}
    for o in checks.outcomes:
        if o.kind == "source" and o.success is False:
            node = manifest["nodes"][o.details["test_id"]]
            gx_failed[key_of(node)] = o
    mirrored = {k for k in EXPECTED_FAILURES if k[2] != "relationships"}
    assert set(gx_failed) == mirrored
    for key, count in EXPECTED_FAILURES.items():
        if key in gx_failed and count is not None:
            assert gx_failed[key].unexpected_count == count, key
    assert gx_failed[("newsletter_signups", None, "row_count_between")].details["observed_value"] == 0
    # GX keeps dbt's severities: error tests are failures (exit 30), warn tests warnings
    assert {key_of(manifest["nodes"][o.details["test_id"]]) for o in checks.warnings} == {
        k for k, status in dbt_failed.items() if status == "warn" and k in mirrored
    }
    assert checks.exit_code() == ExitCode.DATA_QUALITY


def freshness(demo, as_of: str, monkeypatch) -> dict[str, str]:
    for key, value in demo["env"].items():
        monkeypatch.setenv(key, value)
    target = demo["tmp"] / f"target_freshness_{as_of}"
    monkeypatch.setenv("DBT_TARGET_PATH", str(target))
    project = Project(target="duckdb", project_dir=DEMO_DIR)
    cmd = [
        project.dbt_executable(),
        "source",
        "freshness",
        "--project-dir",
        str(DEMO_DIR),
        "--profiles-dir",
        str(DEMO_DIR),
        "--vars",
        json.dumps({"as_of_date": as_of}),
    ]
    proc = subprocess.run(cmd, cwd=DEMO_DIR, env=project.env(), capture_output=True, text=True)
    assert (target / "sources.json").exists(), proc.stdout[-3000:]
    results = json.loads((target / "sources.json").read_text())["results"]
    return {r["unique_id"].split(".")[-1]: r["status"] for r in results}


def test_freshness_passes_as_of_the_pinned_day(demo, monkeypatch):
    # The demo's events run to 2026-08-31: judged as of that day, every table is fresh.
    statuses = freshness(demo, AS_OF, monkeypatch)
    assert statuses and set(statuses.values()) == {"pass"}
    assert "subscriptions" not in statuses and "demo_incidents" not in statuses  # freshness off


def test_freshness_fails_when_the_data_stops_days_before_as_of(demo, monkeypatch):
    # As of 2026-09-05 the newest event is 5 days old (> 2 days: warn);
    # as of 2026-09-30 it is 30 days old (> 7 days: error).
    assert set(freshness(demo, "2026-09-05", monkeypatch).values()) == {"warn"}
    assert set(freshness(demo, "2026-09-30", monkeypatch).values()) == {"error"}


def test_gx_lists_every_breached_period_beyond_its_default_cap_of_20(demo, monkeypatch):
    # A tight bound on the demo's daily leads breaches on hundreds of days (GX would list 20).
    tmp = demo["tmp"]
    (tmp / "tight").mkdir()
    tight = tmp / "tight" / demo["path"].name  # same file name: the manifest's relations name its catalog
    shutil.copy(demo["path"], tight)
    con = duckdb.connect(str(tight))
    con.execute("insert into okr_kpi.kpi_thresholds values ('new_leads', 'day', 'warning', 30, null)")
    expected = {
        ("new_leads", "day", str(r[0]))
        for r in con.execute(
            "select period_start from okr_kpi.fct_kpi_periods where kpi_id = 'new_leads' and grain = 'day' "
            "and is_complete and is_fully_covered and value < 30"
        ).fetchall()
    }
    con.close()
    assert len(expected) > 100
    for key, value in {**demo["env"], "OKR_KPI_DUCKDB_PATH": str(tight)}.items():
        monkeypatch.setenv(key, value)
    result = run_checks(Project(target="duckdb", project_dir=DEMO_DIR), as_of=AS_OF)
    assert result.fatal is None and result.errors == []
    assert {b for b in result.threshold_breaches if b[0] == "new_leads"} == expected


def test_every_kpi_has_rows_at_every_grain_and_every_day(demo):
    kpis = {r["kpi_id"] for r in query(demo["path"], "select kpi_id from okr_kpi.dim_kpis")}
    assert len(kpis) == 17
    days = (dt.date.fromisoformat(AS_OF) - dt.date(2025, 1, 1)).days + 1  # the demo's whole history
    daily = query(demo["path"], "select kpi_id, count(*) as n from okr_kpi.fct_kpi_daily group by kpi_id")
    assert {r["kpi_id"]: r["n"] for r in daily} == {k: days for k in kpis}
    grains = query(
        demo["path"],
        "select kpi_id, grain, count(*) as n, count(value) as valued "
        "from okr_kpi.fct_kpi_periods group by 1, 2",
    )
    # 2025-01-01 .. 2026-08-31: 609 days, 88 ISO weeks (the first starts Mon 2024-12-30), 20 months,
    # 7 quarters, 2 years -- counted on a calendar.
    expected = {"day": days, "week": 88, "month": 20, "quarter": 7, "year": 2}
    assert {(r["kpi_id"], r["grain"]): r["n"] for r in grains} == {
        (k, g): n for k in kpis for g, n in expected.items()
    }
    # every period has a value (the demo has data every day for every KPI)
    assert all(r["valued"] == r["n"] for r in grains if r["grain"] != "day")


def test_planted_incidents_are_visible_in_fct_kpi_daily(demo):
    """Each incident day against the median of the same weekday in the 4 weeks before and after."""
    direction = {r["kpi_id"]: r["direction"] for r in query(demo["path"], "select * from okr_kpi.dim_kpis")}
    seen = 0
    for incident in incidents(demo):
        rows = query(
            demo["path"],
            f"select date_day, value from okr_kpi.fct_kpi_daily where kpi_id = '{incident['kpi_id']}'",
        )
        value = {r["date_day"]: r["value"] for r in rows}
        if incident["incident_id"] == "emea_payments_outage":
            # one region only (docs/demo_company.md): that segment's revenue is the incident's
            # series (the total falls by EMEA's share, about 45 %, which a weekend day's noise blurs)
            rows = query(demo["path"], "select date_day, value from okr_kpi.fct_kpi_segment_daily "
                                       "where kpi_id = 'revenue' and segment_value = 'emea'")
            value = {r["date_day"]: r["value"] for r in rows}
        day = incident["start_date"]
        while day <= incident["end_date"]:
            controls = sorted(
                value[day + dt.timedelta(weeks=w)]
                for w in (-4, -3, -2, -1, 1, 2, 3, 4)
                if day + dt.timedelta(weeks=w) in value
                and not (incident["start_date"] <= day + dt.timedelta(weeks=w) <= incident["end_date"])
            )
            median = (controls[len(controls) // 2 - 1] + controls[len(controls) // 2]) / 2
            if direction[incident["kpi_id"]] == "lower_is_better":
                assert value[day] > 1.5 * median, (incident, day, value[day], median)
            else:
                assert value[day] < 0.67 * median, (incident, day, value[day], median)
            seen += 1
            day += dt.timedelta(days=1)
    # leads 1 day, paid leads outage 1 (the total falls too), page load 4, churn 3, apdex 1,
    # peak response 1, p90 response 1, EMEA payments outage 7 (its segment)
    assert seen == 19
