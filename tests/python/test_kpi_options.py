"""KPI options of issue 13: neutral direction, reporting_lag_days, baseline methods, business
time zone; on DuckDB, PostgreSQL and Spark (local session).

Fixture: daily inputs Sun 2023-01-01 .. Tue 2024-04-30, built twice, with as_of_date 2024-04-15
and 2024-04-30; a quarter cycle 2024-Q2 (2024-04-01 .. 06-30).
- visits (sum, neutral, reported daily) and visits_up (the same numbers, higher_is_better):
  100 + 10 x weekday + a small repeating wiggle, except a surge on Wed 2024-03-13 (300) and a
  drop on Wed 2024-03-20 (20). The neutral KPI raises both, visits_up only the drop.
- readmissions (sum, higher_is_better, monthly, reporting_lag_days 30): 10 a day, except March
  2024, half counted (5 a day). At as_of 2024-04-15 (complete through 03-16) March is not
  complete: not judged by its threshold (month lower bound 200), not read by a key result; at
  as_of 2024-04-30 (complete through 03-31) it is.
- sales (sum, higher_is_better, monthly): month m of the data (1-based, 2023-01 = 1) sells
  m x 10 + weekday a day. Key results of the cycle take their baseline by each method.
Expected values are worked out below in plain Python, never read back from the models.
"""

from __future__ import annotations

import datetime as dt
import statistics

import pytest
from harness import TARGETS, consumer_project_on, fixture_inputs_model, start_target

D = dt.date.fromisoformat
FIRST, LAST = D("2023-01-01"), D("2024-04-30")
DAYS = [FIRST + dt.timedelta(days=i) for i in range((LAST - FIRST).days + 1)]
SURGE, DROP = D("2024-03-13"), D("2024-03-20")

KPI_DEFINITIONS = """
    kpi_id,name,description,unit,direction,aggregation,owner,data_source,reporting_frequency,reporting_lag_days
    visits,Visits,emergency visits,visits,neutral,sum,er@x.example,er,daily,
    visits_up,Visits up,the same numbers,visits,higher_is_better,sum,er@x.example,er,daily,
    readmissions,Readmissions,30-day readmissions,patients,higher_is_better,sum,q@x.example,adt,monthly,30
    sales,Sales,sum KPI,EUR,higher_is_better,sum,s@x.example,orders,monthly,0
"""
THRESHOLDS = """
    kpi_id,grain,severity,lower_bound,upper_bound
    readmissions,month,warning,200,
"""
CYCLES = """
    cycle_id,name,start_date,end_date
    q2,2024 Q2,2024-04-01,2024-06-30
"""
OBJECTIVES = """
    objective_id,cycle_id,title,level,team,owner,parent_objective_id
    o1,q2,Grow,company,,a,
"""
KEY_RESULTS = """
    key_result_id,objective_id,title,kr_type,kpi_id,grain,measure,baseline,target,target_kind,weight,owner,baseline_method,baseline_periods
    kr-last,o1,Last,increase,sales,month,latest_period,,0.1,relative,1,a,,
    kr-last2,o1,Last named,increase,sales,month,latest_period,,0.1,relative,1,a,last_period,
    kr-avg,o1,Average,increase,sales,month,latest_period,,0.1,relative,1,a,average_of_periods,3
    kr-avg-short,o1,Too few,increase,sales,month,latest_period,,0.1,relative,1,a,average_of_periods,20
    kr-ly,o1,Last year,increase,sales,month,latest_period,,0.1,relative,1,a,same_period_last_year,
    kr-ly-q,o1,Last year q,increase,sales,quarter,latest_period,,0.1,relative,1,a,same_period_last_year,
    kr-seed,o1,Seed wins,increase,sales,month,latest_period,5,0.1,relative,1,a,average_of_periods,3
    kr-readm,o1,Readmissions,increase,readmissions,month,latest_period,100,1000,absolute,1,a,,
"""


def visits_value(day: dt.date) -> float:
    if day == SURGE:
        return 300.0
    if day == DROP:
        return 20.0
    i = (day - FIRST).days
    return 100.0 + 10 * day.weekday() + ((i * 7) % 5) - 2


def readmissions_value(day: dt.date) -> float:
    return 5.0 if (day.year, day.month) == (2024, 3) else 10.0


def month_index(day: dt.date) -> int:
    return (day.year - 2023) * 12 + day.month


def sales_value(day: dt.date) -> float:
    return month_index(day) * 10.0 + day.weekday()


def inputs_csv() -> str:
    rows = ["kpi_id,date_day,numerator,denominator"]
    for day in DAYS:
        rows.append(f"visits,{day},{visits_value(day)},")
        rows.append(f"visits_up,{day},{visits_value(day)},")
        rows.append(f"readmissions,{day},{readmissions_value(day)},")
        rows.append(f"sales,{day},{sales_value(day)},")
    return "\n".join(rows)


# --- expected values, in plain Python ------------------------------------------------------------

def month_sum(fn, year: int, month: int) -> float:
    return sum(fn(d) for d in DAYS if (d.year, d.month) == (year, month))


def expected_anomalies(as_of: dt.date, direction: str) -> set[dt.date]:
    """Days whose value is >= 3 sample standard deviations from the mean of the 28 previous
    same-weekday days (>= 8 of them), in the bad direction (either way for neutral)."""
    series = [(d, visits_value(d)) for d in DAYS if d <= as_of]
    out = set()
    for i, (day, value) in enumerate(series):
        previous = [v for d, v in series[:i] if d.weekday() == day.weekday()][-28:]
        if len(previous) < 8 or statistics.stdev(previous) == 0:
            continue
        z = (value - statistics.mean(previous)) / statistics.stdev(previous)
        if (direction == "neutral" and abs(z) >= 3) or (direction == "higher_is_better" and z <= -3):
            out.add(day)
    return out


def test_fixture_has_what_it_claims():
    assert expected_anomalies(D("2024-04-30"), "neutral") == {SURGE, DROP}
    assert expected_anomalies(D("2024-04-30"), "higher_is_better") == {DROP}
    assert month_sum(readmissions_value, 2024, 3) == 155 < 200 <= month_sum(readmissions_value, 2024, 2)


# --- the builds -----------------------------------------------------------------------------------

def without_dbt_tests(target: str) -> tuple[str, ...]:
    """On Spark (a local session, one JVM per dbt command) the builds leave out dbt's own data
    tests, which take most of the time there: these tests assert the marts' values themselves,
    and the package's dbt tests run on Spark in other modules (test_kpi_aggregation)."""
    return ("--exclude", "resource_type:test") if target == "spark" else ()


@pytest.fixture(scope="module", params=TARGETS)
def project(request, tmp_path_factory):
    target = start_target(request)  # the cluster: started first (once per session)
    with consumer_project_on(
        target,
        tmp_path_factory.mktemp(f"kpi_options_{target}"),
        seeds={
            "kpi_definitions": KPI_DEFINITIONS,
            "kpi_thresholds": THRESHOLDS,
            "okr_cycles": CYCLES,
            "okr_objectives": OBJECTIVES,
            "okr_key_results": KEY_RESULTS,
            "fixture_kpi_inputs": inputs_csv(),
        },
        models={"fixture_inputs": fixture_inputs_model()},
        kpi_inputs=["fixture_inputs"],
        vars={"as_of_date": "2024-04-15"},
    ) as built:
        built.snapshots = {}
        for as_of in ("2024-04-15", "2024-04-30"):
            proc = built.dbt("build", "--select", "+fct_kpi_breaches", "+fct_key_result_progress",
                             "--indirect-selection", "cautious", *without_dbt_tests(target), check=False,
                             vars={"as_of_date": as_of})
            assert proc.returncode == 0, proc.stdout[-5000:]
            built.snapshots[as_of] = {
                "periods": built.query("select * from {schema}.fct_kpi_periods"),
                "breaches": built.query("select * from {schema}.fct_kpi_breaches"),
                "progress": built.query("select * from {schema}.fct_key_result_progress"),
                "kpis": built.query("select * from {schema}.dim_kpis"),
            }
        yield built


def anomalies(snapshot, kpi_id):
    return {r["period_start"] for r in snapshot["breaches"]
            if r["rule"] == "anomaly" and r["kpi_id"] == kpi_id and r["grain"] == "day"}


def test_neutral_kpi_raises_anomalies_both_ways(project):
    snapshot = project.snapshots["2024-04-30"]
    assert anomalies(snapshot, "visits") == expected_anomalies(D("2024-04-30"), "neutral") == {SURGE, DROP}
    assert anomalies(snapshot, "visits_up") == {DROP}
    surge = next(r for r in snapshot["breaches"] if r["kpi_id"] == "visits" and r["period_start"] == SURGE
                 and r["rule"] == "anomaly")
    assert surge["z_score"] > 3 and surge["value"] == 300


def period(snapshot, kpi_id, grain, start):
    return next(r for r in snapshot["periods"]
                if r["kpi_id"] == kpi_id and r["grain"] == grain and r["period_start"] == D(start))


def test_reporting_lag_default_and_column(project):
    lags = {r["kpi_id"]: r["reporting_lag_days"] for r in project.snapshots["2024-04-15"]["kpis"]}
    assert lags == {"visits": 0, "visits_up": 0, "readmissions": 30, "sales": 0}


def test_half_counted_period_is_not_complete_until_the_lag_has_passed(project):
    early, late = project.snapshots["2024-04-15"], project.snapshots["2024-04-30"]
    march_early = period(early, "readmissions", "month", "2024-03-01")
    assert march_early["value"] == 155  # half counted
    assert not march_early["is_complete"] and not march_early["is_full_period"]
    assert march_early["prior_value"] is None
    # complete through 04-15 - 30 = 03-16: the days up to it are complete, later ones are not
    assert period(early, "readmissions", "day", "2024-03-16")["is_complete"]
    assert not period(early, "readmissions", "day", "2024-03-17")["is_complete"]
    assert period(early, "readmissions", "month", "2024-02-01")["is_full_period"]
    # a KPI without lag: March is complete on 04-15
    assert period(early, "sales", "month", "2024-03-01")["is_full_period"]
    # after the lag (complete through 04-30 - 30 = 03-31) March is complete
    march_late = period(late, "readmissions", "month", "2024-03-01")
    assert march_late["is_complete"] and march_late["is_full_period"]
    assert march_late["prior_value"] == month_sum(readmissions_value, 2024, 2) == 290


def test_half_counted_period_is_not_judged_until_complete(project):
    def threshold_months(snapshot):
        return {r["period_start"] for r in snapshot["breaches"]
                if r["kpi_id"] == "readmissions" and r["rule"] == "threshold"}
    # every full month has >= 280 (lower bound 200); the half-counted March breaches once complete
    assert threshold_months(project.snapshots["2024-04-15"]) == set()
    assert threshold_months(project.snapshots["2024-04-30"]) == {D("2024-03-01")}


def progress(snapshot, kr_id, day=None):
    rows = [r for r in snapshot["progress"] if r["key_result_id"] == kr_id]
    if day is None:
        return max(rows, key=lambda r: r["date_day"])
    return next(r for r in rows if r["date_day"] == D(day))


def test_key_result_reads_a_period_only_after_the_lag(project):
    early, late = project.snapshots["2024-04-15"], project.snapshots["2024-04-30"]
    # on 04-15 the latest complete month of readmissions is February (March ends 03-31 + 30 days)
    assert progress(early, "kr-readm")["current_value"] == month_sum(readmissions_value, 2024, 2)
    # on 04-30 March is known (03-31 + 30 days = 04-30), the day before it is not yet
    assert progress(late, "kr-readm", "2024-04-29")["current_value"] == 290
    assert progress(late, "kr-readm", "2024-04-30")["current_value"] == 155


def test_baseline_methods(project):
    snapshot = project.snapshots["2024-04-30"]
    march = month_sum(sales_value, 2024, 3)
    expected = {
        "kr-last": march,
        "kr-last2": march,
        "kr-avg": (month_sum(sales_value, 2024, 1) + month_sum(sales_value, 2024, 2) + march) / 3,
        "kr-avg-short": None,  # 15 complete months before the cycle, 20 asked for
        "kr-ly": month_sum(sales_value, 2023, 4),
        "kr-ly-q": sum(month_sum(sales_value, 2023, m) for m in (4, 5, 6)),
        "kr-seed": 5.0,
    }
    # by hand: March 2024 = 31 days x 150 + weekdays (4 weeks x 21, then Fri, Sat, Sun: 4 + 5 + 6)
    assert march == 4650 + 84 + 15
    sources = {}
    for kr_id, baseline in expected.items():
        row = progress(snapshot, kr_id)
        sources[kr_id] = row["baseline_source"]
        if baseline is None:
            assert row["baseline"] is None, kr_id
            assert row["target"] is None, kr_id
        else:
            assert row["baseline"] == pytest.approx(baseline), kr_id
            assert row["target"] == pytest.approx(baseline * 1.1), kr_id
    assert sources == {
        "kr-last": "period_before_cycle", "kr-last2": "period_before_cycle",
        "kr-avg": "average_of_periods_before_cycle", "kr-avg-short": "none",
        "kr-ly": "same_period_last_year", "kr-ly-q": "same_period_last_year", "kr-seed": "seed",
    }


# --- business time zone ---------------------------------------------------------------------------

# Raw timestamps, UTC wall clock (timestamp without time zone)
EVENTS_UTC = ["2024-03-02 04:30:00",   # New York 03-01 23:30 (EST): the local day is the UTC day before
              "2024-03-01 23:30:00",   # Paris 03-02 00:30 (CET): the local day is the UTC day after
              "2024-03-01 12:00:00",
              "2024-03-02 12:00:00"]
ZONE_KPIS = {"visits_ny": "America/New_York", "visits_paris": "Europe/Paris", "visits_utc": "UTC"}
# Row-level KPIs (okr_kpi.kpi_row_input) of the same events: distinct events and the median event
# id per business day; members_paris and median_paris follow the var, members_ny names its zone.
ROW_ZONE_KPIS = {"members_paris": "Europe/Paris", "members_ny": "America/New_York",
                 "median_paris": "Europe/Paris"}


def expected_local_days(zone: str) -> dict[dt.date, int]:
    from zoneinfo import ZoneInfo

    out: dict[dt.date, int] = {}
    for text in EVENTS_UTC:
        instant = dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)
        day = instant.astimezone(ZoneInfo(zone)).date()
        out[day] = out.get(day, 0) + 1
    return out


def expected_local_medians(zone: str) -> dict[dt.date, float]:
    """The median event id (1-based, in EVENTS_UTC order) of each local day."""
    from zoneinfo import ZoneInfo

    ids: dict[dt.date, list[int]] = {}
    for number, text in enumerate(EVENTS_UTC, 1):
        instant = dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)
        ids.setdefault(instant.astimezone(ZoneInfo(zone)).date(), []).append(number)
    return {day: float(statistics.median(values)) for day, values in ids.items()}


def test_time_zone_fixture_has_what_it_claims():
    assert expected_local_days("America/New_York") == {D("2024-03-01"): 3, D("2024-03-02"): 1}
    assert expected_local_days("Europe/Paris") == {D("2024-03-01"): 1, D("2024-03-02"): 3}
    assert expected_local_days("UTC") == {D("2024-03-01"): 2, D("2024-03-02"): 2}
    # Paris: 03-01 holds event 3 alone; 03-02 events 1, 2, 4 (the 23:30 UTC row among them)
    assert expected_local_medians("Europe/Paris") == {D("2024-03-01"): 3.0, D("2024-03-02"): 2.0}


@pytest.fixture(scope="module", params=TARGETS)
def zoned(request, tmp_path_factory):
    target = start_target(request)  # the cluster: started first (once per session)
    definitions = ["kpi_id,name,description,unit,direction,aggregation,owner,data_source,reporting_frequency,"
                   "percentile"]
    definitions += [f"{k},{k},events,events,neutral,count,a@x.example,events,daily," for k in ZONE_KPIS]
    definitions += [f"{k},{k},events,events,neutral,count_distinct,a@x.example,events,daily,"
                    for k in ("members_paris", "members_ny")]
    definitions += ["median_paris,median_paris,events,id,neutral,percentile,a@x.example,events,daily,median"]
    events = "event_id,happened_at\n" + "\n".join(f"{n},{t}" for n, t in enumerate(EVENTS_UTC, 1))
    models = {"stg_events": """
        select
            event_id,
            cast(happened_at as {{ dbt.type_timestamp() }}) as happened_at
        from {{ ref('raw_events') }}
    """}
    # visits_paris follows the var okr_kpi_time_zone; the others name their zone
    call = "{{{{ okr_kpi.kpi_input('{}', ref('stg_events'), 'happened_at', 'count'{}) }}}}"
    models["input_visits_paris"] = call.format("visits_paris", "")
    models["input_visits_ny"] = call.format("visits_ny", ", time_zone='America/New_York'")
    models["input_visits_utc"] = call.format("visits_utc", ", time_zone='UTC'")
    models["row_inputs"] = """
        {{ okr_kpi.kpi_row_input('members_paris', ref('stg_events'), 'happened_at', member='event_id') }}
        union all
        {{ okr_kpi.kpi_row_input('members_ny', ref('stg_events'), 'happened_at', member='event_id',
                                 time_zone='America/New_York') }}
        union all
        {{ okr_kpi.kpi_row_input('median_paris', ref('stg_events'), 'happened_at', value='event_id') }}
    """
    with consumer_project_on(
        target,
        tmp_path_factory.mktemp(f"time_zone_{target}"),
        seeds={"kpi_definitions": "\n".join(definitions), "raw_events": events},
        models=models,
        kpi_inputs=[f"input_{k}" for k in ZONE_KPIS],
        vars={"as_of_date": "2024-03-02", "okr_kpi_time_zone": "Europe/Paris",
              "okr_kpi_kpi_row_inputs": ["row_inputs"]},
    ) as built:
        built.dbt("build", "--select", "+fct_kpi_daily", "--indirect-selection", "cautious",
                  *without_dbt_tests(target))
        yield built


def test_timestamps_land_on_the_business_day(zoned):
    rows = zoned.query("select kpi_id, date_day, value from {schema}.fct_kpi_daily where value > 0")
    found: dict[str, dict[dt.date, int]] = {}
    for r in rows:
        found.setdefault(r["kpi_id"], {})[r["date_day"]] = int(r["value"])
    for kpi_id, zone in ZONE_KPIS.items():
        assert found[kpi_id] == expected_local_days(zone), kpi_id


def test_row_level_timestamps_land_on_the_business_day(zoned):
    """kpi_row_input: the 23:30 UTC row (00:30 in Paris) counts on the Paris 03-02, the 04:30 UTC
    row (23:30 in New York) on the New York 03-01, for distinct counts and percentiles alike."""
    rows = zoned.query("select kpi_id, date_day, value from {schema}.fct_kpi_daily "
                       "where kpi_id in ('members_paris', 'members_ny', 'median_paris') and value > 0")
    found: dict[str, dict[dt.date, float]] = {}
    for r in rows:
        found.setdefault(r["kpi_id"], {})[r["date_day"]] = float(r["value"])
    assert found["members_paris"] == {d: float(n) for d, n in expected_local_days("Europe/Paris").items()}
    assert found["members_ny"] == {d: float(n) for d, n in expected_local_days("America/New_York").items()}
    assert found["median_paris"] == expected_local_medians("Europe/Paris")


# --- report wording -------------------------------------------------------------------------------

def test_report_never_calls_a_neutral_move_good_or_bad():
    from okr_kpi.report import _tone

    assert _tone({"direction": "neutral"}, 0.2) == _tone({"direction": "neutral"}, -0.2) == "neutral"
    assert _tone({"direction": "neutral"}, 0.0) == "flat"
    assert _tone({"direction": "higher_is_better"}, 0.2) == "good"
    assert _tone({"direction": "higher_is_better"}, -0.2) == "bad"
    assert _tone({"direction": "lower_is_better"}, 0.2) == "bad"


def test_incremental_run_keeps_whole_business_days(tmp_path):
    """Europe/Paris, lookback 1 day: the second run rebuilds the business days from 03-02 on. A late
    row at 23:30 UTC on 03-01 (00:30 on 03-02 in Paris) is read (one more raw day), one at 22:00 UTC
    (23:00 on 03-01 in Paris, before the window) is not, and leaves no second 03-01 row."""
    first = ["2024-03-01 12:00:00", "2024-03-02 12:00:00", "2024-03-03 12:00:00"]
    late = ["2024-03-01 23:30:00", "2024-03-01 22:00:00"]

    def events(stamps):
        return "event_id,happened_at\n" + "\n".join(f"{n},{t}" for n, t in enumerate(stamps, 1))

    model = """
        {{ config(**okr_kpi.kpi_input_incremental_config()) }}
        {{ okr_kpi.kpi_input('visits', ref('stg_events'), 'happened_at', 'count') }}
    """
    stg = ("select event_id, cast(happened_at as {{ dbt.type_timestamp() }}) as happened_at "
           "from {{ ref('raw_events') }}")
    with consumer_project_on(
        "duckdb", tmp_path,
        seeds={"raw_events": events(first)},
        models={"stg_events": stg, "input_visits": model},
        vars={"as_of_date": "2024-03-05", "okr_kpi_time_zone": "Europe/Paris", "okr_kpi_lookback_days": 1},
    ) as project:
        project.dbt("build", "--select", "raw_events", "stg_events", "input_visits")
        (project.path / "seeds" / "raw_events.csv").write_text(events(first + late) + "\n")
        project.dbt("seed", "--select", "raw_events")
        project.dbt("run", "--select", "stg_events", "input_visits")  # the staging model is a table
        rows = project.query("select date_day, numerator from {schema}.input_visits order by date_day")
    assert [(r["date_day"], r["numerator"]) for r in rows] == [
        (D("2024-03-01"), 1.0), (D("2024-03-02"), 2.0), (D("2024-03-03"), 1.0)]
