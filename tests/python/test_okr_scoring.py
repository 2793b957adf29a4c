"""OKR scoring (fct_key_result_progress, fct_objective_progress) against values worked out by hand.

One 10-day cycle c1 (Mon 2024-01-01 .. Wed 2024-01-10) scored with as_of_date Mon 2024-01-08
(day 8: expected progress 8/10 = 0.8), and a finished 7-day cycle c0 (2023-12-25 .. 2023-12-31).
KPI data starts Mon 2023-12-25, so the ISO week 2023-12-25 .. 12-31 is the complete week before
the cycle, and the week 2024-01-01 .. 01-07 is complete from 2024-01-07 on.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pytest
from harness import TARGETS, consumer_project_on, fixture_inputs_model, start_target

AS_OF = "2024-01-08"
D = dt.date.fromisoformat

KPI_DEFINITIONS = """
    kpi_id,name,description,unit,direction,aggregation,owner,data_source,reporting_frequency
    sales,Sales,sum KPI,EUR,higher_is_better,sum,a@x.example,orders,daily
    ticket_time,Ticket time,average KPI,hours,lower_is_better,average,a@x.example,tickets,daily
    uptime,Uptime,ratio KPI,share,higher_is_better,ratio,a@x.example,pings,daily
    latency,Latency,max KPI,ms,lower_is_better,max,a@x.example,requests,daily
    stock,Customers,last KPI,customers,higher_is_better,last,a@x.example,subs,daily
    flat,Flat,sum KPI that does not move,units,higher_is_better,sum,a@x.example,x,daily
    nodata,No data,count KPI without any input,units,higher_is_better,count,a@x.example,x,daily
"""

JAN = [f"2024-01-{d:02d}" for d in range(1, 9)]
DEC = [f"2023-12-{d}" for d in range(25, 32)]
UPTIME = [95, 85, 99, 92, 80, 91, 93, 97]          # per 100 pings, Jan 1..8
LATENCY_JAN = [100, 120, 250, 90, 100, 100, 100, 100]
FLAT = [49, 51, 49, 51, 49, 51, 49, 51]


def _inputs() -> str:
    rows = ["kpi_id,date_day,numerator,denominator"]
    rows += [f"sales,{d},5," for d in DEC] + [f"sales,{d},10," for d in JAN] + ["sales,2024-01-09,1000,"]
    rows += [f"ticket_time,{d},20,4" for d in DEC] + [f"ticket_time,{d},16,4" for d in JAN[:7]]
    rows += ["ticket_time,2024-01-08,6,3"]
    rows += [f"uptime,{d},{u},100" for d, u in zip(JAN, UPTIME, strict=True)]
    rows += [f"latency,{d},150," for d in DEC]
    rows += [f"latency,{d},{v}," for d, v in zip(JAN, LATENCY_JAN, strict=True)]
    rows += [f"stock,{d},{v}," for d, v in (("2023-12-31", 100), ("2024-01-03", 110), ("2024-01-05", 125),
                                              ("2024-01-06", 115))]
    rows += [f"flat,{d},{v}," for d, v in zip(JAN, FLAT, strict=True)]
    return "\n".join(rows)


CYCLES = """
    cycle_id,name,start_date,end_date
    c0,Last week,2023-12-25,2023-12-31
    c1,Ten days,2024-01-01,2024-01-10
"""

OBJECTIVES = """
    objective_id,cycle_id,title,level,team,owner,parent_objective_id
    o-co,c1,Company,company,,ceo,
    o-a,c1,Team A,team,a,ann,o-co
    o-b,c1,Team B,team,b,bob,o-co
    o-ind,c1,Individual under A,individual,a,ida,o-a
    o-past,c0,Past objective,company,,ceo,
"""

KEY_RESULTS = """
    key_result_id,objective_id,title,kr_type,kpi_id,grain,measure,baseline,target,target_kind,weight,owner
    kr-co-sales,o-co,Sales 160,increase,sales,day,cycle_to_date,0,160,absolute,,ceo
    kr-sum-ctd,o-a,Sales 90 this cycle,increase,sales,day,cycle_to_date,,90,absolute,2,ann
    kr-dec-week,o-a,Ticket time 40% down,decrease,ticket_time,week,latest_period,,-0.4,relative,1,ann
    kr-nodata,o-a,Something without data,increase,nodata,day,cycle_to_date,,10,absolute,1,ann
    kr-equal,o-a,Target equal to baseline,increase,sales,day,latest_period,10,10,absolute,1,ann
    kr-avg-ctd,o-a2,Average ticket time,decrease,ticket_time,day,cycle_to_date,5,3.5,absolute,1,ann
    kr-above,o-b,Uptime at least 90% every day,maintain_above,uptime,day,latest_period,,0.9,absolute,1,bob
    kr-below-week,o-b,Latency at most 200,maintain_below,latency,week,latest_period,,200,absolute,1,bob
    kr-milestone,o-b,Reach 120 customers,milestone,stock,day,latest_period,,120,absolute,1,bob
    kr-fallback,o-b,Customers from 100 to 120,increase,stock,day,latest_period,100,120,absolute,1,bob
    kr-flat,o-b,Flat KPI to 100,increase,flat,day,latest_period,50,100,absolute,1,bob
    kr-checkin,o-ind,Measured by check-ins,increase,,,,,10,absolute,1,ida
    kr-past,o-past,Sales 60 last week,increase,sales,day,cycle_to_date,,60,absolute,1,ceo
    kr-dec-past,o-c,Latency at most 200 (from 150),decrease,latency,day,latest_period,,200,absolute,1,cat
    kr-inc-past,o-c,Sales at least 4 a day (from 5),increase,sales,day,latest_period,,4,absolute,1,cat
"""

CHECK_INS = """
    key_result_id,check_in_date,value,confidence,note
    kr-checkin,2024-01-01,2,0.5,start
    kr-checkin,2024-01-04,5,,no confidence given
    kr-checkin,2024-01-07,7,0.9,
    kr-checkin,2024-01-09,20,1,after as_of_date
"""


@pytest.fixture(scope="module", params=TARGETS)
def built(request, tmp_path_factory):
    """The fixture built once per target (duckdb, postgres, the Spark cluster): every test runs on each."""
    tmp = tmp_path_factory.mktemp(f"okr_scoring_{start_target(request)}")
    # kr-avg-ctd belongs to an objective of its own (o-a2) so that it does not change o-a's roll-up
    # (and kr-dec-past, kr-inc-past to o-c)
    objectives = OBJECTIVES.rstrip() + ("\n    o-a2,c1,Averages,team,a,ann,"
                                        "\n    o-c,c1,Baselines past target,team,c,cat,\n")
    with consumer_project_on(
        request.param,
        tmp,
        seeds={"kpi_definitions": KPI_DEFINITIONS, "fixture_kpi_inputs": _inputs(), "okr_cycles": CYCLES,
               "okr_objectives": objectives, "okr_key_results": KEY_RESULTS, "okr_check_ins": CHECK_INS},
        models={"fixture_inputs": fixture_inputs_model()},
        kpi_inputs=["fixture_inputs"],
        vars={"as_of_date": AS_OF},
    ) as project:
        # seeds, then the OKR marts and what they need, then the marts' own tests (contracts, keys)
        project.dbt("seed")
        project.dbt("run", "--select", "+fct_objective_progress")
        project.dbt("test", "--select", "fct_key_result_progress fct_objective_progress")
        yield project


def kr(project, key_result_id, day):
    rows = project.query(f"select * from {{schema}}.fct_key_result_progress "
                         f"where key_result_id = '{key_result_id}' and date_day = date '{day}'")
    assert len(rows) == 1, (key_result_id, day, rows)
    return rows[0]


def objective(project, objective_id, day):
    rows = project.query(f"select * from {{schema}}.fct_objective_progress "
                         f"where objective_id = '{objective_id}' and date_day = date '{day}'")
    assert len(rows) == 1, (objective_id, day, rows)
    return rows[0]


def close(a, b, tol=1e-9):
    return a is not None and b is not None and abs(a - b) <= tol


def least_squares_forecast(
    ys: list[float], x_end: int, xs: list[int] | None = None
) -> tuple[float, float | None]:
    """Plain-Python least squares of ys over xs (default 1..n): (value at x_end, prediction std error)."""
    n = len(ys)
    xs = xs or list(range(1, n + 1))
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    intercept = my - slope * mx
    if n < 3:
        return intercept + slope * x_end, None
    sse = sum((y - intercept - slope * x) ** 2 for x, y in zip(xs, ys, strict=True))
    s = math.sqrt(sse / (n - 2))
    return intercept + slope * x_end, s * math.sqrt(1 + 1 / n + (x_end - mx) ** 2 / sxx)


def test_one_row_per_key_result_per_cycle_day_up_to_as_of(built):
    rows = built.query("select key_result_id, count(*) as n, min(date_day) as first_day, "
                       "max(date_day) as last_day from {schema}.fct_key_result_progress "
                       "group by key_result_id")
    by_id = {r["key_result_id"]: r for r in rows}
    assert len(by_id) == len(KEY_RESULTS.strip().splitlines()) - 1  # every key result of the seed (15)
    for key_result_id, r in by_id.items():
        if key_result_id == "kr-past":  # cycle c0 is over: its 7 days
            assert (r["n"], r["first_day"], r["last_day"]) == (7, D("2023-12-25"), D("2023-12-31"))
        else:  # cycle c1 up to as_of_date: Jan 1..8
            expected = (8, D("2024-01-01"), D("2024-01-08"))
            assert (r["n"], r["first_day"], r["last_day"]) == expected, key_result_id
    first = kr(built, "kr-sum-ctd", "2024-01-01")
    assert (first["elapsed_days"], first["cycle_days"]) == (1, 10)
    assert close(first["expected_progress"], 0.1)


def test_increase_cycle_to_date_sum_with_empty_baseline(built):
    row = kr(built, "kr-sum-ctd", AS_OF)
    # 8 days x 10 (the 1000 of Jan 9 is after as_of_date); empty baseline of a sum KPI -> 0
    assert row["current_value"] == 80 and row["baseline"] == 0 and row["baseline_source"] == "zero"
    assert close(row["progress"], 80 / 90) and close(row["score"], 80 / 90)
    assert close(row["expected_progress"], 0.8)
    assert close(row["pace_ratio"], (80 / 90) / 0.8)  # 1.11 -> on_track
    assert row["status"] == "on_track"


def test_decrease_latest_period_relative_target_empty_baseline(built):
    # baseline: week 2023-12-25..31 = 140/28 = 5.0; target = 5 * (1 - 0.4) = 3.0
    day6 = kr(built, "kr-dec-week", "2024-01-06")
    assert close(day6["baseline"], 5.0) and day6["baseline_source"] == "period_before_cycle"
    assert close(day6["target"], 3.0)
    # on Jan 6 the latest complete week is still Dec 25..31: no progress
    assert close(day6["current_value"], 5.0) and day6["value_period_end"] == D("2023-12-31")
    # a value from before the cycle is shown but not scored (docs/scoring.md, first days of a cycle):
    # no off_track from a -0.0
    assert day6["progress"] is None and day6["score"] is None and day6["status"] == "no_data"
    assert day6["no_data_reason"] == "no measurement in the cycle yet"
    # from Jan 7 the week Jan 1..7 (16/4 = 4.0 a day) is complete: progress (4-5)/(3-5) = 0.5
    day7 = kr(built, "kr-dec-week", "2024-01-07")
    assert close(day7["current_value"], 4.0) and day7["value_period_start"] == D("2024-01-01")
    assert close(day7["progress"], 0.5)
    assert close(day7["pace_ratio"], 0.5 / 0.7) and day7["status"] == "on_track"  # 0.714 >= 0.7
    day8 = kr(built, "kr-dec-week", AS_OF)
    assert close(day8["pace_ratio"], 0.5 / 0.8) and day8["status"] == "at_risk"  # 0.625: [0.5, 0.7)


def test_a_baseline_from_the_data_already_past_the_target_is_judged_on_the_target(built):
    # kr-dec-past: decrease to 200 while the day before the cycle (Dec 31) was 150, already under
    # it. (current - baseline) / (target - baseline) would call Jan 3's 250 "achieved" (progress
    # (250 - 150) / 50 = 2) and Jan 2's 120 "off track" (-0.6): judged on the target alone instead
    for day, value, met in (("2024-01-02", 120, True), ("2024-01-03", 250, False), ("2024-01-04", 90, True)):
        row = kr(built, "kr-dec-past", day)
        assert row["baseline"] == 150 and row["baseline_source"] == "period_before_cycle"
        assert row["current_value"] == value and row["target"] == 200
        assert row["score"] == (1.0 if met else 0.0) and row["progress"] == row["score"], (day, row)
        assert row["status"] == ("achieved" if met else "off_track"), (day, row)
    # kr-inc-past: increase to 4 from a baseline of 5 (Dec 31); Jan's 10 a day meets it
    row = kr(built, "kr-inc-past", "2024-01-03")
    assert row["baseline"] == 5 and row["current_value"] == 10
    assert row["score"] == 1.0 and row["status"] == "achieved"
    # the objective of the two: (0 + 1) / 2 on Jan 3
    assert close(objective(built, "o-c", "2024-01-03")["progress"], 0.5)


def test_decrease_cycle_to_date_average_is_ratio_of_sums(built):
    row = kr(built, "kr-avg-ctd", AS_OF)
    current = (16 * 7 + 6) / (4 * 7 + 3)  # 118 / 31 = 3.806, not the mean of daily averages
    assert close(row["current_value"], current)
    assert close(row["progress"], (current - 5) / (3.5 - 5))
    assert row["status"] == "on_track"  # pace 0.796 / 0.8 = 0.995


def test_maintain_above_day_grain(built):
    # daily uptime 0.95 0.85 0.99 0.92 0.80 0.91 0.93 0.97 against >= 0.9
    day5 = kr(built, "kr-above", "2024-01-05")
    assert (day5["periods_counted"], day5["periods_held"]) == (5, 3)
    assert close(day5["score"], 0.6) and close(day5["progress"], 0.6)
    assert day5["status"] == "off_track"  # Jan 5 (0.80) did not hold
    day8 = kr(built, "kr-above", AS_OF)
    assert (day8["periods_counted"], day8["periods_held"]) == (8, 6)
    assert close(day8["score"], 0.75) and day8["status"] == "on_track"
    assert day8["pace_ratio"] is None


def test_maintain_below_week_grain_counts_complete_weeks_only(built):
    # no week of the cycle is complete before Sunday Jan 7
    day6 = kr(built, "kr-below-week", "2024-01-06")
    assert day6["status"] == "no_data" and day6["score"] is None
    assert day6["no_data_reason"] == "no complete week of the cycle yet"
    # week Jan 1..7: max latency 250 > 200: not held
    for day in ("2024-01-07", AS_OF):
        row = kr(built, "kr-below-week", day)
        assert (row["periods_counted"], row["periods_held"]) == (1, 0)
        assert row["score"] == 0 and row["status"] == "off_track" and row["current_value"] == 250


def test_milestone_is_done_once_met(built):
    # stock (last): Dec 31 100 (the baseline), Jan 3 110, Jan 5 125, Jan 6 115; target 120
    day4 = kr(built, "kr-milestone", "2024-01-04")
    assert day4["baseline"] == 100 and day4["current_value"] == 110
    assert day4["score"] == 0 and day4["status"] == "on_track"
    day5 = kr(built, "kr-milestone", "2024-01-05")
    assert day5["score"] == 1 and day5["status"] == "achieved" and day5["forecast_probability"] == 1
    day8 = kr(built, "kr-milestone", AS_OF)  # fell back to 115: still done
    assert day8["current_value"] == 115 and day8["score"] == 1 and day8["status"] == "achieved"
    assert close(day8["progress"], (115 - 100) / (120 - 100))


def test_increase_reaches_target_then_falls_back(built):
    day5 = kr(built, "kr-fallback", "2024-01-05")
    assert close(day5["progress"], 1.25) and day5["score"] == 1 and day5["status"] == "achieved"
    day6 = kr(built, "kr-fallback", "2024-01-06")
    assert close(day6["progress"], 0.75) and close(day6["score"], 0.75)
    assert close(day6["pace_ratio"], 0.75 / 0.6) and day6["status"] == "on_track"
    day8 = kr(built, "kr-fallback", AS_OF)
    assert close(day8["pace_ratio"], 0.75 / 0.8) and day8["status"] == "on_track"


def test_no_data_yet(built):
    row = kr(built, "kr-nodata", AS_OF)
    assert row["current_value"] is None and row["progress"] is None and row["score"] is None
    assert row["status"] == "no_data" and row["no_data_reason"] == "no value yet"
    assert row["forecast_value"] is None and row["forecast_probability"] is None


def test_target_equal_to_baseline_is_no_data_without_division_by_zero(built):
    row = kr(built, "kr-equal", AS_OF)
    assert row["current_value"] == 10  # the day's sales
    assert row["progress"] is None and row["score"] is None and row["pace_ratio"] is None
    assert row["status"] == "no_data" and row["no_data_reason"] == "target equals baseline"


def test_check_in_key_result(built):
    # baseline: the check-in on the cycle's first day (2); target 10
    day5 = kr(built, "kr-checkin", "2024-01-05")
    assert day5["baseline"] == 2 and day5["baseline_source"] == "check_in_before_cycle"
    assert day5["current_value"] == 5 and day5["last_check_in_date"] == D("2024-01-04")
    assert day5["latest_confidence"] == 0.5  # the Jan 4 check-in gave no confidence
    assert close(day5["progress"], 3 / 8) and close(day5["pace_ratio"], 0.75) and day5["status"] == "on_track"
    day8 = kr(built, "kr-checkin", AS_OF)  # the check-in of Jan 9 is after as_of_date
    assert day8["current_value"] == 7 and day8["latest_confidence"] == 0.9
    assert close(day8["progress"], 5 / 8) and close(day8["pace_ratio"], 5 / 8 / 0.8)
    assert day8["status"] == "on_track"
    assert day8["measured_by"] == "check_ins" and day8["kpi_id"] is None


def test_forecast_of_exact_linear_series_lands_on_its_extrapolation(built):
    for day in ("2024-01-02", "2024-01-03", AS_OF):  # cycle-to-date sales 10, 20, 30, ...: 10 a day
        row = kr(built, "kr-sum-ctd", day)
        assert close(row["forecast_value"], 100.0, 1e-6), row
    row = kr(built, "kr-sum-ctd", AS_OF)
    assert row["forecast_points"] == 8 and close(row["forecast_std_error"], 0.0, 1e-6)
    assert row["forecast_probability"] == 1  # 100 >= 90 with no spread
    assert kr(built, "kr-sum-ctd", "2024-01-01")["forecast_value"] is None  # one point: no trend


def test_forecast_of_flat_series_far_from_target_is_unlikely(built):
    row = kr(built, "kr-flat", AS_OF)
    value, std_error = least_squares_forecast([float(v) for v in FLAT], 10)
    assert close(row["forecast_value"], value, 1e-6) and abs(value - 50) < 2
    assert close(row["forecast_std_error"], std_error, 1e-6)
    assert row["forecast_probability"] < 0.001  # 100 is ~40 standard errors away


def test_forecast_probability_matches_the_normal_distribution(built):
    # check-ins are readings on their own days: (1, 2), (4, 5), (7, 7); the Jan 9 one is after as_of
    value, std_error = least_squares_forecast([2.0, 5.0, 7.0], 10, xs=[1, 4, 7])
    expected = 0.5 * (1 + math.erf((value - 10) / std_error / math.sqrt(2)))
    row = kr(built, "kr-checkin", AS_OF)
    assert row["forecast_points"] == 3
    assert close(row["forecast_value"], value, 1e-6) and close(row["forecast_std_error"], std_error, 1e-6)
    assert close(row["forecast_probability"], expected, 1e-6)
    assert 0.1 < expected < 0.9  # a case where the spread matters (about 0.33)


def test_decrease_forecast_probability_counts_values_below_target(built):
    # cycle-to-date average ticket time: 4.0 on Jan 1..7 (16/4 a day), 118/31 on Jan 8; target <= 3.5
    ys = [4.0] * 7 + [118 / 31]
    value, std_error = least_squares_forecast(ys, 10)
    expected = 0.5 * (1 + math.erf((3.5 - value) / std_error / math.sqrt(2)))
    row = kr(built, "kr-avg-ctd", AS_OF)
    assert close(row["forecast_value"], value, 1e-6)
    assert close(row["forecast_probability"], expected, 1e-6)


def test_latest_period_forecast_uses_one_reading_per_complete_period(built):
    # week grain: the only week of the cycle complete by Jan 8 ends on Jan 7: one reading, no trend
    row = kr(built, "kr-dec-week", AS_OF)
    assert row["forecast_points"] == 1
    assert row["forecast_value"] is None and row["forecast_probability"] is None
    # day grain: every day is a reading (stock 100 100 110 110 125 115 115 115 on Jan 1..8)
    row = kr(built, "kr-fallback", AS_OF)
    value, _ = least_squares_forecast([100.0, 100, 110, 110, 125, 115, 115, 115], 10)
    assert row["forecast_points"] == 8 and close(row["forecast_value"], value, 1e-6)


def test_objective_roll_up_with_weights_and_children(built):
    # o-ind: kr-checkin (7 - 2) / (10 - 2) = 0.625
    ind = objective(built, "o-ind", AS_OF)
    assert close(ind["score"], 0.625)
    # o-a: kr-sum-ctd 80/90 (weight 2), kr-dec-week 0.5 (1); kr-nodata and kr-equal have no score
    # and are left out; the child o-ind counts as one more key result of weight 1
    a = objective(built, "o-a", AS_OF)
    a_score = (2 * 80 / 90 + 0.5 + 0.625) / 4
    assert (a["key_result_count"], a["scored_key_result_count"]) == (4, 2)
    assert (a["child_objective_count"], a["scored_child_objective_count"]) == (1, 1)
    assert close(a["key_result_score"], (2 * 80 / 90 + 0.5) / 3)
    assert close(a["score"], a_score) and close(a["progress"], a_score)
    assert a["status"] == "on_track"  # 0.726 / 0.8 = 0.91
    # o-b: above 0.75, below-week 0, milestone 1, fallback 0.75, flat (51 - 50) / (100 - 50) = 0.02
    b = objective(built, "o-b", AS_OF)
    b_score = (0.75 + 0 + 1 + 0.75 + 0.02) / 5
    assert close(b["score"], b_score) and b["status"] == "at_risk"  # 0.504 / 0.8 = 0.63
    # o-co: its key result (80/160 = 0.5) and its two children, weight 1 each
    co = objective(built, "o-co", AS_OF)
    co_score = (0.5 + a_score + b_score) / 3
    assert close(co["score"], co_score) and close(co["expected_progress"], 0.8)
    assert close(co["pace_ratio"], co_score / 0.8) and co["status"] == "on_track"  # 0.577 / 0.8 = 0.72
    assert co["grade"] is None  # the cycle is not over


def test_grade_at_cycle_end(built):
    # cycle c0: sales 7 x 5 = 35 against 60 -> 0.583: yellow, and at_risk (pace 0.583 at day 7 of 7)
    last = objective(built, "o-past", "2023-12-31")
    assert close(last["score"], 35 / 60) and last["grade"] == "yellow" and last["status"] == "at_risk"
    assert objective(built, "o-past", "2023-12-30")["grade"] is None
    row = kr(built, "kr-past", "2023-12-31")
    assert row["forecast_value"] == 35 and row["forecast_probability"] == 0  # the end value is known


def test_scoreboard_lists_objectives_under_their_parents_with_their_key_results(built):
    built.dbt("compile", "--select", "okr_scoreboard")
    sql = (Path(built.env["DBT_TARGET_PATH"]) / "compiled/okr_kpi/analyses/okr_scoreboard.sql").read_text()
    lines = [(r["cycle_id"], r["line"].rstrip(), r["status"]) for r in built.query(sql)]
    assert lines == [
        ("c1", "TEAM: Averages", "on_track"),
        ("c1", "    - Average ticket time [decrease]", "on_track"),
        ("c1", "TEAM: Baselines past target", "achieved"),
        ("c1", "    - Latency at most 200 (from 150) [decrease]", "achieved"),  # Jan 8: 100
        ("c1", "    - Sales at least 4 a day (from 5) [increase]", "achieved"),  # Jan 8: 10
        ("c1", "COMPANY: Company", "on_track"),
        ("c1", "    - Sales 160 [increase]", "at_risk"),  # 0.5 / 0.8 = 0.625
        ("c1", "    TEAM: Team A", "on_track"),
        ("c1", "        - Ticket time 40% down [decrease]", "at_risk"),
        ("c1", "        - Target equal to baseline [increase]", "no_data"),
        ("c1", "        - Something without data [increase]", "no_data"),
        ("c1", "        - Sales 90 this cycle [increase]", "on_track"),
        ("c1", "        INDIVIDUAL: Individual under A", "on_track"),
        ("c1", "            - Measured by check-ins [increase]", "on_track"),
        ("c1", "    TEAM: Team B", "at_risk"),
        ("c1", "        - Uptime at least 90% every day [maintain_above]", "on_track"),
        ("c1", "        - Latency at most 200 [maintain_below]", "off_track"),
        ("c1", "        - Customers from 100 to 120 [increase]", "on_track"),
        ("c1", "        - Flat KPI to 100 [increase]", "off_track"),
        ("c1", "        - Reach 120 customers [milestone]", "achieved"),
        ("c0", "COMPANY: Past objective", "at_risk"),
        ("c0", "    - Sales 60 last week [increase]", "at_risk"),
    ]
