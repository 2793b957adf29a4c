"""Calendars that hold for any history: fct_kpi_periods and the OKR marts over GENERATED histories.

Each history is drawn from a seeded RNG (reproducible): every KPI gets a random first and last day
of data (29 February 2024, year ends and year starts among them), random gaps and values; the
cycles have random lengths (a month, a quarter, six months, a year, and a few days to ~14 months).
The test re-aggregates the raw rows in plain Python (no SQL of the package) and asserts that
fct_kpi_periods has exactly one row per KPI, grain and period, with the same value, numerator,
denominator, is_complete, is_full_period, prior_value, change, change_pct and
same_period_last_year_value; and that every key-result day has the elapsed days, expected
progress, current value, baseline and progress worked out here. One history per warehouse uses
the var okr_kpi_start_date. A small hand-made fixture checks the rule for the first days of a
cycle (docs/scoring.md).
"""

from __future__ import annotations

import datetime as dt
import math
import random

import pytest
from harness import as_date, consumer_project_on, fixture_inputs_model

D = dt.date.fromisoformat
DAY = dt.timedelta(days=1)
GRAINS = ("day", "week", "month", "quarter", "year")
AGGREGATIONS = ("sum", "count", "ratio", "average", "last", "min", "max")

# (seed, as_of_date, okr_kpi_start_date or None): as_of dates on and around 29 February and a year end
HISTORIES = [
    (1201, "2025-03-02", None),
    (1202, "2024-12-31", "2023-02-20"),
    (1203, "2024-03-01", None),
]
TARGET_PARAMS = [pytest.param("duckdb", id="duckdb"),
                 pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)]


# --- the calendar, written independently of the package -----------------------------------------

def period_start(grain: str, d: dt.date) -> dt.date:
    if grain == "day":
        return d
    if grain == "week":
        return d - dt.timedelta(days=d.weekday())
    if grain == "month":
        return d.replace(day=1)
    if grain == "quarter":
        return dt.date(d.year, (d.month - 1) // 3 * 3 + 1, 1)
    return dt.date(d.year, 1, 1)


def add_months(d: dt.date, months: int) -> dt.date:
    y, m = divmod(d.month - 1 + months, 12)
    return dt.date(d.year + y, m + 1, 1)


def period_end(grain: str, start: dt.date) -> dt.date:
    if grain == "day":
        return start
    if grain == "week":
        return start + dt.timedelta(days=6)
    return add_months(start, {"month": 1, "quarter": 3, "year": 12}[grain]) - DAY


def last_year_start(grain: str, start: dt.date) -> dt.date | None:
    """The start of the same period a year before; None for 29 February (no such day)."""
    if grain == "week":
        return start - dt.timedelta(days=364)
    if start.month == 2 and start.day == 29:
        return None
    return start.replace(year=start.year - 1)


def days(first: dt.date, last: dt.date):
    d = first
    while d <= last:
        yield d
        d += DAY


# --- generated histories -------------------------------------------------------------------------

def generate(seed: int, as_of: str):
    """KPI definitions, raw input rows {kpi: {day: (num, den)}} and OKR seeds for one history."""
    rng = random.Random(seed)
    as_of_d = D(as_of)
    special = [D("2024-02-29"), D("2023-12-31"), D("2024-01-01"), D("2023-03-01"), D("2024-02-28")]
    kpis: dict[str, str] = {}
    rows: dict[str, dict[dt.date, tuple[float, float | None]]] = {}
    for i, aggregation in enumerate(AGGREGATIONS + ("sum", "ratio", "last", "max")):
        kpi_id = f"k{i}_{aggregation}"
        kpis[kpi_id] = aggregation
        candidates = [d for d in special if d < as_of_d - dt.timedelta(days=20)]
        if candidates and rng.random() < 0.5:
            first = rng.choice(candidates)
        else:
            first = as_of_d - dt.timedelta(days=rng.randint(20, 800))
        last = min(as_of_d + dt.timedelta(days=3), first + dt.timedelta(days=rng.randint(10, 900)))
        density = rng.choice([0.3, 0.7, 1.0])
        data: dict[dt.date, tuple[float, float | None]] = {first: (rng.randint(0, 50), rng.randint(1, 9))}
        for d in days(first + DAY, last):
            if rng.random() < density:
                den = rng.choice([0, 1, 2, 5, 8]) if aggregation in ("ratio", "average") else None
                data[d] = (rng.randint(-5, 60), den)
        rows[kpi_id] = {d: (n, den if aggregation in ("ratio", "average") else None)
                        for d, (n, den) in data.items()}
    # the KPI the key results read: every day, from well before the cycles
    kpis["okr_sales"] = "sum"
    rows["okr_sales"] = {d: (rng.randint(0, 20), None)
                         for d in days(as_of_d - dt.timedelta(days=900), as_of_d + DAY)}
    # cycles: a month, a quarter, six months, a year (all holding as_of_date, or just finished),
    # and two of random length
    q = period_start("quarter", as_of_d)
    cycles = {
        "month": (as_of_d.replace(day=1), add_months(as_of_d.replace(day=1), 1) - DAY),
        "quarter": (q, add_months(q, 3) - DAY),
        "half": (add_months(q, -3), add_months(q, 3) - DAY),
        "year": (dt.date(as_of_d.year, 1, 1), dt.date(as_of_d.year, 12, 31)),
        "last_quarter": (add_months(q, -3), q - DAY),
    }
    for n in range(2):
        start = as_of_d - dt.timedelta(days=rng.randint(0, 300))
        cycles[f"random{n}"] = (start, start + dt.timedelta(days=rng.randint(0, 420)))
    return kpis, rows, cycles


def seeds_for(kpis, rows, cycles, as_of: str):
    definitions = ["kpi_id,name,description,unit,direction,aggregation,owner,data_source,reporting_frequency"]
    definitions += [f"{k},{k},generated,u,higher_is_better,{a},a@x.example,gen,daily"
                    for k, a in kpis.items()]
    inputs = ["kpi_id,date_day,numerator,denominator"]
    for kpi_id, data in rows.items():
        for d, (num, den) in sorted(data.items()):
            inputs.append(f"{kpi_id},{d},{num},{'' if den is None else den}")
    cyc = ["cycle_id,name,start_date,end_date"] + [f"{c},{c},{s},{e}" for c, (s, e) in cycles.items()]
    objectives = ["objective_id,cycle_id,title,level,team,owner,parent_objective_id"]
    objectives += [f"o-{c},{c},Objective {c},company,,ceo," for c in cycles]
    krs = ["key_result_id,objective_id,title,kr_type,kpi_id,grain,measure,baseline,target,target_kind,"
           "weight,owner"]
    for c, (s, e) in cycles.items():
        n = (e - s).days + 1
        krs.append(f"kr-{c}-ctd,o-{c},Sales to date,increase,okr_sales,day,cycle_to_date,,{10 * n},"
                   "absolute,1,x")
        krs.append(f"kr-{c}-month,o-{c},Monthly sales,increase,okr_sales,month,latest_period,,400,"
                   "absolute,1,x")
        krs.append(f"kr-{c}-week,o-{c},Weekly sales,decrease,okr_sales,week,latest_period,,-0.5,"
                   "relative,1,x")
    return {
        "kpi_definitions": "\n".join(definitions),
        "fixture_kpi_inputs": "\n".join(inputs),
        "kpi_thresholds": "kpi_id,grain,severity,lower_bound,upper_bound",
        "okr_cycles": "\n".join(cyc),
        "okr_objectives": "\n".join(objectives),
        "okr_key_results": "\n".join(krs),
    }


# --- the independent re-aggregation -----------------------------------------------------------------

def expected_periods(kpis, rows, as_of: str, start_date: str | None):
    """{(kpi, grain, period_start): row} worked out from the raw rows, and the daily values."""
    as_of_d = D(as_of)
    first_input = min(d for data in rows.values() for d in data)
    cal_start = D(start_date) if start_date else first_input
    calendar = list(days(cal_start, as_of_d))
    out, daily_values = {}, {}
    for kpi_id, aggregation in kpis.items():
        data = rows[kpi_id]
        span_start = D(start_date) if start_date else min(data)
        daily, level = [], None
        for d in calendar:
            num, den = data.get(d, (None, None))
            if aggregation in ("sum", "count"):
                daily.append((d, num or 0, None, num or 0))
            elif aggregation in ("ratio", "average"):
                n, dn = num or 0, den or 0
                daily.append((d, n, dn, n / dn if dn else None))
            elif aggregation == "last":
                level = num if num is not None else level
                daily.append((d, level, None, level))
            else:
                daily.append((d, num, None, num))
        daily_values[kpi_id] = {d: v for d, _, _, v in daily}
        for grain in GRAINS:
            groups: dict[dt.date, list] = {}
            for item in daily:
                groups.setdefault(period_start(grain, item[0]), []).append(item)
            for start, items in groups.items():
                values = [v for _, _, _, v in items if v is not None]
                if aggregation in ("sum", "count"):
                    num = sum(n for _, n, _, _ in items)
                    den, value = None, num
                elif aggregation in ("ratio", "average"):
                    num = sum(n for _, n, _, _ in items)
                    den = sum(dn for _, _, dn, _ in items)
                    value = num / den if den else None
                elif aggregation == "last":
                    num = value = items[-1][3]
                    den = None
                else:
                    num = value = (min(values) if aggregation == "min" else max(values)) if values else None
                    den = None
                end = period_end(grain, start)
                complete = end <= as_of_d
                full = items[0][0] == start and start >= span_start and complete
                out[(kpi_id, grain, start)] = {"period_end": end, "is_complete": complete,
                                               "is_full_period": full, "value": value,
                                               "numerator": num, "denominator": den,
                                               "day_count": len(items)}
    for (kpi_id, grain, start), row in out.items():
        if grain == "day":
            prior_start = start - DAY
        elif grain == "week":
            prior_start = start - dt.timedelta(days=7)
        else:
            prior_start = add_months(start, -{"month": 1, "quarter": 3, "year": 12}[grain])
        prior = out.get((kpi_id, grain, prior_start))
        both_full = prior is not None and prior["is_full_period"] and row["is_full_period"]
        row["prior_value"] = prior["value"] if both_full else None
        ly_start = last_year_start(grain, start)
        ly = out.get((kpi_id, grain, ly_start)) if ly_start else None
        row["same_period_last_year_value"] = (
            ly["value"] if ly and ly["is_full_period"] and row["is_full_period"] else None)
        v, p = row["value"], row["prior_value"]
        row["change"] = v - p if v is not None and p is not None else None
        row["change_pct"] = (v - p) / abs(p) if v is not None and p not in (None, 0) else None
    return out, daily_values


def expected_key_result_days(periods, daily_values, cycles, as_of: str):
    """{(key_result_id, day): row} for the generated key results, worked out from the raw rows."""
    as_of_d = D(as_of)
    sales = daily_values["okr_sales"]
    full = {(g, s): r for (k, g, s), r in periods.items() if k == "okr_sales" and r["is_full_period"]}
    out = {}
    for c, (start, end) in cycles.items():
        n = (end - start).days + 1
        for kind, grain in (("ctd", "day"), ("month", "month"), ("week", "week")):
            kr_id = f"kr-{c}-{kind}"
            before = [(s, r) for (g, s), r in full.items() if g == grain and r["period_end"] < start]
            if kind == "ctd":
                baseline, target = 0.0, 10.0 * n
            else:
                baseline = max(before)[1]["value"] if before else None
                target = 400.0 if kind == "month" else (baseline * 0.5 if baseline is not None else None)
            running = 0.0
            for d in days(start, min(end, as_of_d)):
                if kind == "ctd":
                    running += sales[d]
                    current, in_cycle = running, True
                else:
                    ended = [(s, r) for (g, s), r in full.items() if g == grain and r["period_end"] <= d]
                    latest = max(ended)[1] if ended else None
                    current = latest["value"] if latest else None
                    in_cycle = latest is not None and latest["period_end"] >= start
                elapsed = (d - start).days + 1
                progress = None
                measured = in_cycle and current is not None and baseline is not None
                if measured and target not in (None, baseline):
                    progress = (current - baseline) / (target - baseline)
                out[(kr_id, d)] = {"elapsed_days": elapsed, "cycle_days": n, "expected_progress": elapsed / n,
                                   "current_value": current, "baseline": baseline, "target": target,
                                   "progress": progress}
    return out


# --- comparison helpers ------------------------------------------------------------------------------

def same(a, b, tol=1e-9) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, dt.date) or isinstance(b, dt.date):
        return a == b
    return math.isclose(float(a), float(b), rel_tol=tol, abs_tol=tol)



# --- the generated histories, built on each warehouse --------------------------------------------

@pytest.fixture(scope="module", params=TARGET_PARAMS)
def target(request):
    return request.param


@pytest.mark.parametrize("seed,as_of,start_date", HISTORIES, ids=[f"seed{h[0]}" for h in HISTORIES])
def test_generated_history(target, tmp_path, seed, as_of, start_date):
    kpis, rows, cycles = generate(seed, as_of)
    vars_ = {"as_of_date": as_of}
    if start_date:
        vars_["okr_kpi_start_date"] = start_date
    with consumer_project_on(
        target, tmp_path,
        seeds=seeds_for(kpis, rows, cycles, as_of),
        models={"fixture_inputs": fixture_inputs_model()},
        kpi_inputs=["fixture_inputs"],
        vars=vars_,
    ) as project:
        # the marts and their own tests (the uniqueness test of fct_kpi_periods among them)
        project.dbt("build", "--select", "+fct_objective_progress", "resource_type:seed",
                    "--indirect-selection", "cautious")
        got = project.query("select * from {schema}.fct_kpi_periods")
        krs = project.query("select * from {schema}.fct_key_result_progress")
        objectives = project.query("select * from {schema}.fct_objective_progress")

    periods, daily_values = expected_periods(kpis, rows, as_of, start_date)
    keys = [(r["kpi_id"], r["grain"], as_date(r["period_start"])) for r in got]
    assert len(keys) == len(set(keys)), "more than one row for a KPI, grain and period"
    assert set(keys) == set(periods)
    columns = ("period_end", "is_complete", "is_full_period", "value", "numerator", "denominator",
               "day_count", "prior_value", "change", "change_pct", "same_period_last_year_value")
    mismatches = []
    for r, key in zip(got, keys, strict=True):
        for column in columns:
            actual = as_date(r[column]) if column == "period_end" else r[column]
            if not same(actual, periods[key][column]):
                mismatches.append((key, column, actual, periods[key][column]))
    assert mismatches == [], mismatches[:10]
    # the history reaches the cases this test is about
    if D(as_of) > D("2025-02-28"):
        assert any(k[1] == "day" and k[2] == D("2025-02-28") for k in periods)
    assert any(not p["is_full_period"] and p["is_complete"] for p in periods.values())

    # key results of every cycle length
    expected = expected_key_result_days(periods, daily_values, cycles, as_of)
    kr_keys = [(r["key_result_id"], as_date(r["date_day"])) for r in krs]
    assert len(kr_keys) == len(set(kr_keys))
    assert set(kr_keys) == set(expected)
    mismatches = []
    for r, key in zip(krs, kr_keys, strict=True):
        for column, want in expected[key].items():
            if not same(r[column], want):
                mismatches.append((key, column, r[column], want))
        if expected[key]["progress"] is None:
            assert r["status"] == "no_data", (key, r["status"])
        else:
            assert r["status"] != "no_data", key
            assert math.copysign(1.0, r["progress"]) > 0 or r["progress"] < 0, "progress -0.0"
    assert mismatches == [], mismatches[:10]
    # objectives of every cycle: one row per day of the cycle up to as_of_date, same expected pace
    obj_days = {(r["objective_id"], as_date(r["date_day"])): r for r in objectives}
    assert len(obj_days) == len(objectives)
    for c, (start, end) in cycles.items():
        n = (end - start).days + 1
        for d in days(start, min(end, D(as_of))):
            row = obj_days.pop((f"o-{c}", d))
            assert same(row["expected_progress"], ((d - start).days + 1) / n)
            assert row["grade"] is None if d < end else row["grade"] in ("red", "yellow", "green")
    assert obj_days == {}


# --- the first days of a cycle ---------------------------------------------------------------------

FIRST_DAY_KPIS = """
    kpi_id,name,description,unit,direction,aggregation,owner,data_source,reporting_frequency
    churn,Churn,sum KPI,customers,lower_is_better,sum,a@x.example,subs,daily
    sales,Sales,sum KPI,EUR,higher_is_better,sum,a@x.example,orders,daily
"""
FIRST_DAY_CYCLES = """
    cycle_id,name,start_date,end_date
    q3,Q3,2026-07-01,2026-09-30
"""
FIRST_DAY_OBJECTIVES = """
    objective_id,cycle_id,title,level,team,owner,parent_objective_id
    o-co,q3,Company,company,,ceo,
    o-team,q3,Team,team,t,tia,o-co
    o-day,q3,Daily,team,t,tia,
"""
FIRST_DAY_KEY_RESULTS = """
    key_result_id,objective_id,title,kr_type,kpi_id,grain,measure,baseline,target,target_kind,weight,owner
    kr-churn,o-co,Churn 20% down,decrease,churn,month,latest_period,,-0.2,relative,1,ceo
    kr-check,o-team,By check-ins,increase,,,,0,10,absolute,1,tia
    kr-day,o-day,Daily churn down,decrease,churn,day,latest_period,3,1,absolute,1,tia
    kr-ctd,o-day,Sales this quarter,increase,sales,day,cycle_to_date,,920,absolute,1,tia
"""
FIRST_DAY_CHECK_INS = """
    key_result_id,check_in_date,value,confidence,note
    kr-check,2026-06-20,4,0.5,before the cycle
"""


def _first_day_inputs() -> str:
    lines = ["kpi_id,date_day,numerator,denominator"]
    lines += [f"churn,{d},3," for d in days(D("2026-05-01"), D("2026-07-03"))]
    lines += [f"sales,{d},10," for d in days(D("2026-05-01"), D("2026-07-03"))]
    return "\n".join(lines)


@pytest.mark.parametrize("target", TARGET_PARAMS)
def test_first_days_of_a_cycle(target, tmp_path):
    with consumer_project_on(
        target, tmp_path,
        seeds={"kpi_definitions": FIRST_DAY_KPIS, "fixture_kpi_inputs": _first_day_inputs(),
               "okr_cycles": FIRST_DAY_CYCLES, "okr_objectives": FIRST_DAY_OBJECTIVES,
               "okr_key_results": FIRST_DAY_KEY_RESULTS, "okr_check_ins": FIRST_DAY_CHECK_INS},
        models={"fixture_inputs": fixture_inputs_model()},
        kpi_inputs=["fixture_inputs"],
        vars={"as_of_date": "2026-07-01"},
    ) as project:
        project.dbt("build", "--select", "+fct_objective_progress", "resource_type:seed",
                    "--indirect-selection", "cautious")
        krs = {r["key_result_id"]: r for r in project.query(
            "select * from {schema}.fct_key_result_progress where date_day = date '2026-07-01'")}
        objectives = {r["objective_id"]: r for r in project.query(
            "select * from {schema}.fct_objective_progress where date_day = date '2026-07-01'")}
    # day 1, month grain: the latest complete month is June, the baseline itself (progress would be
    # -0.0): shown, not scored
    churn = krs["kr-churn"]
    assert churn["current_value"] == 90 and churn["baseline"] == 90
    assert churn["value_period_end"] == D("2026-06-30")
    assert churn["progress"] is None and churn["score"] is None
    assert churn["status"] == "no_data" and churn["no_data_reason"] == "no measurement in the cycle yet"
    # a check-in from before the cycle: not a measurement of the cycle either
    assert krs["kr-check"]["current_value"] == 4 and krs["kr-check"]["status"] == "no_data"
    # the company objective opens no_data, not off_track
    assert objectives["o-co"]["progress"] is None and objectives["o-co"]["status"] == "no_data"
    assert objectives["o-team"]["status"] == "no_data"
    # a day-grain key result measures day 1 itself: equal to the baseline -> progress 0 (never -0.0)
    day = krs["kr-day"]
    assert day["progress"] == 0 and math.copysign(1.0, day["progress"]) == 1.0
    assert day["score"] == 0 and math.copysign(1.0, day["score"]) == 1.0
    # cycle to date on day 1: 10 of 920 in 1 of 92 days -> exactly on pace
    ctd = krs["kr-ctd"]
    assert ctd["current_value"] == 10 and math.isclose(ctd["expected_progress"], 1 / 92)
    assert math.isclose(ctd["progress"], 10 / 920) and ctd["status"] == "on_track"
    assert math.copysign(1.0, objectives["o-day"]["progress"]) == 1.0


@pytest.mark.parametrize("target", TARGET_PARAMS)
def test_bad_start_date_is_refused(target, tmp_path):
    with consumer_project_on(
        target, tmp_path,
        seeds={"kpi_definitions": FIRST_DAY_KPIS, "fixture_kpi_inputs": _first_day_inputs()},
        models={"fixture_inputs": fixture_inputs_model()},
        kpi_inputs=["fixture_inputs"],
        vars={"as_of_date": "2026-07-01", "okr_kpi_start_date": "July 2026"},
    ) as project:
        proc = project.dbt("run", "--select", "int_kpi_calendar", check=False)
    assert proc.returncode != 0
    assert "okr_kpi_start_date must be a date YYYY-MM-DD, got 'July 2026'" in proc.stdout
