"""Freshness and load checks inside the run (issue 14, findings 1 and 10; docs/checks.md,
"Freshness and load checks").

- A crafted consumer project (DuckDB and PostgreSQL): three timestamped sources of about 48 rows
  a day (two an hour), one with a 10 % load on one day, one whose load stopped at noon on
  another, and a rare count (churn) with input on 91 % of its days and two real breaches. The
  expected coverage, breaches and anomaly window are worked out here in Python from the rows
  written, never with the package's SQL.
- The demo company: `okr-kpi run --as-of 2026-08-31` (what `make demo` runs) and then a plain
  `okr-kpi run` (as_of = yesterday, three months after the data ends): no breach after the data,
  nothing new alerted, one stale-data alert per source, exit 15.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import statistics

import pytest
from harness import TARGETS, as_date, consumer_project_on, fixture_inputs_model
from publish_helpers import DEMO_AS_OF, DEMO_DIR, demo_env, duck_query, okr_kpi

START = dt.date(2026, 6, 1)
DAYS = 70
AS_OF = START + dt.timedelta(days=DAYS - 1)  # 2026-08-09, the last day with data
TEN_PCT_DAY = START + dt.timedelta(days=50)  # source tenpct: 10 % of its rows
NOON_DAY = START + dt.timedelta(days=52)  # source halfday: nothing after 12:00
DROP_DAY = TEN_PCT_DAY + dt.timedelta(days=7)  # source tenpct: a real drop, rows all day long
CHURN_ZERO = {d for d in range(DAYS) if d % 11 == 3}  # 7 of 70 days without churn: 90 % with input
CHURN_SPIKES = {40: 9, 55: 9}  # real churn breaches (upper bound 5)


def usual_rows(d: int) -> int:
    return 48 + ((d * 7) % 5 - 2) * 2  # 44..52, varies with the day


def event_rows() -> list[tuple[str, int, str]]:
    rows, event_id = [], 0
    for source in ("events", "tenpct", "halfday"):
        for d in range(DAYS):
            day = START + dt.timedelta(days=d)
            n = usual_rows(d)
            last_hour = 24
            if source == "tenpct" and day == TEN_PCT_DAY:
                n = 5  # a 10 % load (the rows of the first hours only)
            if source == "tenpct" and day == DROP_DAY:
                n = 20  # a business drop: fewer rows, spread over the whole day
            if source == "halfday" and day == NOON_DAY:
                last_hour = 12  # the load stopped at noon
            span = 24 * 60 if n >= 20 and last_hour == 24 else last_hour * 60
            if source == "tenpct" and day == TEN_PCT_DAY:
                span = 3 * 60
            for i in range(n if last_hour == 24 else n // 2):
                minute = i * span // (n if last_hour == 24 else n // 2) + 5
                at = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=minute)
                event_id += 1
                rows.append((source, event_id, at.strftime("%Y-%m-%d %H:%M:%S")))
    return rows


def churn_rows() -> list[tuple[str, str, int]]:
    out = []
    for d in range(DAYS):
        if d in CHURN_ZERO:
            continue
        day = (START + dt.timedelta(days=d)).isoformat()
        out.append(("churned", day, CHURN_SPIKES.get(d, 1 + (d * 3) % 4)))
    return out


def to_csv(header: list[str], rows) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


SEEDS = {
    "kpi_definitions": """\
        kpi_id,name,description,unit,direction,aggregation,owner,data_source,reporting_frequency
        events_count,Events,Events a day,events,higher_is_better,count,a@x.example,events,daily
        tenpct_count,Events (10 % load),Events a day,events,higher_is_better,count,a@x.example,tenpct,daily
        halfday_count,Events (half day),Events a day,events,higher_is_better,count,a@x.example,halfday,daily
        churned,Churned accounts,Accounts cancelled,accounts,lower_is_better,count,a@x.example,billing,daily
        """,
    "kpi_thresholds": """\
        kpi_id,grain,severity,lower_bound,upper_bound
        events_count,day,critical,30,
        tenpct_count,day,critical,30,
        halfday_count,day,critical,30,
        churned,day,warning,,5
        """,
}

MODELS = {
    # what okr_kpi.source_load returns, one source per value of the column `source`
    "fixture_source_loads": """
        select
            source as data_source,
            cast(cast(event_at as {{ dbt.type_timestamp() }}) as date) as date_day,
            count(*) as row_count,
            max(cast(event_at as {{ dbt.type_timestamp() }})) as last_row_at
        from {{ ref('raw_events') }}
        group by source, cast(cast(event_at as {{ dbt.type_timestamp() }}) as date)
    """,
    "fixture_event_inputs": """
        select
            source || '_count' as kpi_id,
            cast(cast(event_at as {{ dbt.type_timestamp() }}) as date) as date_day,
            cast(count(*) as {{ okr_kpi.type_double() }}) as numerator,
            cast(null as {{ okr_kpi.type_double() }}) as denominator
        from {{ ref('raw_events') }}
        group by source, cast(cast(event_at as {{ dbt.type_timestamp() }}) as date)
    """,
    "fixture_churn_inputs": fixture_inputs_model("churn_inputs"),
}


def expected_uncovered() -> set[tuple[str, dt.date, str]]:
    return {("tenpct", TEN_PCT_DAY, "low_volume"), ("halfday", NOON_DAY, "early_stop")}


@pytest.fixture(scope="module", params=TARGETS[:2])
def project(request, tmp_path_factory):
    seeds = {
        **SEEDS,
        "raw_events": to_csv(["source", "event_id", "event_at"], event_rows()),
        "churn_inputs": to_csv(["kpi_id", "date_day", "numerator", "denominator"],
                               [(k, d, n, "") for k, d, n in churn_rows()]),
    }
    tmp = tmp_path_factory.mktemp(f"freshness_{request.param}")
    with consumer_project_on(
        request.param,
        tmp,
        seeds=seeds,
        models=MODELS,
        kpi_inputs=["fixture_event_inputs", "fixture_churn_inputs"],
        vars={
            "okr_kpi_source_loads": ["fixture_source_loads"],
            "as_of_date": AS_OF.isoformat(),
            "okr_kpi_anomaly_min_periods": 3,
        },
    ) as p:
        p.dbt("seed")
        p.dbt("build", "--select", "+fct_kpi_breaches", "+fct_kpi_freshness")
        yield p



def test_load_checks_catch_ten_percent_and_half_day_loads_only(project):
    rows = project.query(
        "select data_source, date_day, reason from {schema}.int_kpi_load_days where not is_covered"
    )
    got = {(r["data_source"], as_date(r["date_day"]), r["reason"].split(":")[0]) for r in rows}
    assert got == expected_uncovered()
    # no source is stale on its last day of data
    fresh = project.query(
        "select data_source, is_stale, covered_through from {schema}.fct_kpi_freshness"
    )
    assert {r["data_source"] for r in fresh} == {"events", "tenpct", "halfday", "billing"}
    assert all(not r["is_stale"] and as_date(r["covered_through"]) == AS_OF for r in fresh), fresh


def test_uncovered_periods_are_not_judged(project):
    breaches = project.query(
        "select kpi_id, grain, period_start, period_end, rule from {schema}.fct_kpi_breaches"
    )
    for kpi, day in (("tenpct_count", TEN_PCT_DAY), ("halfday_count", NOON_DAY)):
        hit = [b for b in breaches
               if b["kpi_id"] == kpi and as_date(b["period_start"]) <= day <= as_date(b["period_end"])]
        assert hit == [], hit
    periods = project.query(
        "select kpi_id, grain, period_start, is_full_period from {schema}.fct_kpi_periods where grain = 'day'"
    )
    not_full = {(p["kpi_id"], as_date(p["period_start"])) for p in periods if not p["is_full_period"]}
    assert ("tenpct_count", TEN_PCT_DAY) in not_full and ("halfday_count", NOON_DAY) in not_full
    assert not any(k == "events_count" and d > START for k, d in not_full)
    # a normal load passes: no breach at all on the clean source
    assert [b for b in breaches if b["kpi_id"] == "events_count"] == []


def test_rare_zero_count_is_never_a_missing_load_and_its_breaches_alert(project):
    quality = project.query(
        "select kpi_id, date_day, reason from {schema}.int_kpi_input_quality where kpi_id = 'churned'"
    )
    assert quality == []
    breaches = project.query(
        "select period_start, value, is_suspect from {schema}.fct_kpi_breaches "
        "where kpi_id = 'churned' and grain = 'day' and rule = 'threshold'"
    )
    # the first day of data is the span's start; every later day with more than 5 churned breaches
    expected = {START + dt.timedelta(days=d) for d, n in CHURN_SPIKES.items() if n > 5}
    assert {as_date(b["period_start"]) for b in breaches} == expected
    assert not any(b["is_suspect"] for b in breaches)


def test_anomaly_window_skips_uncovered_periods(project):
    """The drop on DROP_DAY is judged against the previous same weekdays that were judged: the
    10 % day a week earlier is left out, and the window reaches back to earlier ones."""
    rows = project.query(
        "select period_start, expected_value, trailing_count, severity from {schema}.int_kpi_anomalies "
        "where kpi_id = 'tenpct_count' and grain = 'day'"
    )
    assert [as_date(r["period_start"]) for r in rows] == [DROP_DAY]
    window = [
        usual_rows(d) for d in range(DAYS)
        if (START + dt.timedelta(days=d)) < DROP_DAY
        and (START + dt.timedelta(days=d)).weekday() == DROP_DAY.weekday()
        and START + dt.timedelta(days=d) != TEN_PCT_DAY
        and d > 0  # the first day is the span's start, not a full period
    ][-28:]
    assert rows[0]["trailing_count"] == len(window)
    assert rows[0]["expected_value"] == pytest.approx(statistics.mean(window))
    assert rows[0]["severity"] == "critical"


# --- the demo: stale data after `make demo` ------------------------------------------------------

def _json_lines(proc) -> list[dict]:
    return [json.loads(line) for line in proc.stderr.splitlines() if line.strip().startswith("{")]


def test_stale_demo_run_gives_no_false_breach_and_one_alert_per_source(tmp_path, tmp_path_factory):
    env = demo_env(tmp_path, tmp_path_factory)
    out = tmp_path / "reports"
    first = okr_kpi(env, "run", "--as-of", DEMO_AS_OF, "--out", str(out), "--log-format", "json")
    assert first.returncode == 10, first.stderr[-3000:]
    db = env["OKR_KPI_DUCKDB_PATH"]
    before = {r["breach_id"] for r in duck_query(db, "select breach_id from okr_kpi.fct_kpi_breaches")}

    plain = okr_kpi(env, "run", "--out", str(out), "--log-format", "json")
    lines = _json_lines(plain)
    final = lines[-1]
    assert final["event"] == "run_finished", plain.stderr[-3000:]
    yesterday = dt.date.today() - dt.timedelta(days=1)
    assert yesterday > dt.date.fromisoformat(DEMO_AS_OF)
    assert plain.returncode == final["exit_code"] == 15, plain.stderr[-3000:]

    # no breach on a period after the data ends; nothing new, nothing resolved
    after = duck_query(db, "select breach_id, period_end from okr_kpi.fct_kpi_breaches")
    assert [r for r in after if r["period_end"] > dt.date.fromisoformat(DEMO_AS_OF)] == []
    assert {r["breach_id"] for r in after} == before
    assert final["stages"]["lifecycle"]["new"] == 0
    assert final["stages"]["lifecycle"]["escalated"] == 0

    # one stale-data alert per data source of the demo's kpi_definitions
    with open(DEMO_DIR / "seeds" / "kpi_definitions.csv") as f:
        sources = {row["data_source"] for row in csv.DictReader(f)}
    stale = [line for line in lines if line["event"] == "stale_data"]
    assert sorted(line["data_source"] for line in stale) == sorted(sources)
    # ... each one alert, counted apart from the breaches (new == 0 above)
    assert final["stages"]["lifecycle"]["stale_data_alerts"] == len(sources)
    for line in stale:
        # a sparse source may have its last row a day or two before the data's end
        last = dt.date.fromisoformat(line["last_data_date"])
        assert dt.date(2026, 8, 25) <= last <= dt.date.fromisoformat(DEMO_AS_OF), line
        assert line["stale_since"] == (last + dt.timedelta(days=1)).isoformat()
        assert line["stale_days"] == (yesterday - last).days
    assert final["stages"]["freshness"]["status"] == "stale"
