"""Segment thresholds, segment breaches and the drivers of a total's breach (docs/segments.md), on
a fixture small enough to work out by hand: ten days of leads (count) and conversion (ratio) by
channel, read from a hand-written input model that returns the segment columns.

Days 1-9 are identical: paid 60 leads (6 converted), organic 40 (8). Day 10 (as_of_date): paid 20
(1), organic 35 (7). The total's leads fall from 100 to 55 (threshold: at least 60) and its
conversion rises from 0.14 to 8/55 (threshold: at most 0.142) although no channel converts
better: all of the rise is mix (the volume moved to the channel converting better).
"""

from __future__ import annotations

import datetime as dt

import pytest
from harness import TARGETS, as_date, consumer_project_on, start_target

AS_OF = dt.date(2024, 1, 10)
DAYS = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(10)]

KPI_DEFINITIONS = """
    kpi_id,name,description,unit,direction,aggregation,owner,data_source,reporting_frequency,segment_dimensions
    leads,Leads,count,n,higher_is_better,count,a@x.example,events,daily,channel
    conversion,Conversion,ratio,%,higher_is_better,ratio,a@x.example,events,daily,channel
"""
THRESHOLDS = """
    kpi_id,grain,severity,lower_bound,upper_bound,segment_dimension,segment_value
    leads,day,warning,60,,,
    conversion,day,warning,,0.142,,
    leads,day,critical,30,,channel,paid
"""
KEY_RESULTS = """
    key_result_id,objective_id,title,kr_type,kpi_id,grain,measure,baseline,target,target_kind,weight,owner,segment_dimension,segment_value
    kr-leads,obj,Leads,increase,leads,day,latest_period,,200,absolute,1,a,,
    kr-paid,obj,Paid leads,increase,leads,day,latest_period,,100,absolute,1,a,channel,paid
"""


def day_rows(paid: tuple[int, int], organic: tuple[int, int]) -> dict[str, tuple[int, int]]:
    return {"paid": paid, "organic": organic}


def inputs_csv(break_partition: bool = False) -> str:
    lines = ["kpi_id,date_day,numerator,denominator,segment_dimension,segment_value"]
    for day in DAYS:
        segments = day_rows((20, 1), (35, 7)) if day == AS_OF else day_rows((60, 6), (40, 8))
        leads = sum(n for n, _ in segments.values())
        converted = sum(c for _, c in segments.values())
        lines.append(f"leads,{day},{leads},,,")
        lines.append(f"conversion,{day},{converted},{leads},,")
        for channel, (n, c) in segments.items():
            if break_partition and channel == "paid" and day == AS_OF:
                n -= 5  # a bad fixture: the segments no longer add up to the total
            lines.append(f"leads,{day},{n},,channel,{channel}")
            lines.append(f"conversion,{day},{c},{n},channel,{channel}")
    return "\n".join(lines)


INPUT_MODEL = """
    select
        cast(kpi_id as {{ dbt.type_string() }}) as kpi_id,
        cast(date_day as date) as date_day,
        cast(numerator as {{ okr_kpi.type_double() }}) as numerator,
        cast(denominator as {{ okr_kpi.type_double() }}) as denominator,
        cast(segment_dimension as {{ dbt.type_string() }}) as segment_dimension,
        cast(segment_value as {{ dbt.type_string() }}) as segment_value
    from {{ ref('fixture_segment_inputs') }}
"""


def project(target, tmp, break_partition=False):
    return consumer_project_on(
        target, tmp,
        seeds={"kpi_definitions": KPI_DEFINITIONS, "kpi_thresholds": THRESHOLDS,
               "okr_key_results": KEY_RESULTS,
               "okr_cycles": "cycle_id,name,start_date,end_date\nq1,Q1,2024-01-01,2024-03-31",
               "okr_objectives": "objective_id,cycle_id,title,level,team,owner,parent_objective_id\n"
                                 "obj,q1,Grow,company,,a,",
               "fixture_segment_inputs": inputs_csv(break_partition)},
        models={"fixture_inputs": INPUT_MODEL},
        kpi_inputs=["fixture_inputs"],
        vars={"as_of_date": AS_OF.isoformat()},
    )


@pytest.fixture(scope="module", params=TARGETS)
def built(request, tmp_path_factory):
    target = start_target(request)
    with project(target, tmp_path_factory.mktemp(f"segment_breaches_{target}")) as p:
        args = ["build", "--select", "+fct_kpi_breach_drivers", "+fct_kpi_segment_daily",
                "+fct_key_result_progress", "resource_type:seed"]
        if target == "cluster":
            args += ["--exclude", "resource_type:test"]
        p.dbt(*args)
        yield p


def breaches(built) -> list[dict]:
    return built.query("select * from {schema}.fct_kpi_breaches order by kpi_id, segment_dimension")


def test_total_and_segment_threshold_breaches(built):
    rows = breaches(built)
    got = {(r["kpi_id"], r["segment_value"], r["rule"], as_date(r["period_start"])): r for r in rows}
    assert set(got) == {("leads", None, "threshold", AS_OF), ("conversion", None, "threshold", AS_OF),
                        ("leads", "paid", "threshold", AS_OF)}
    paid = got[("leads", "paid", "threshold", AS_OF)]
    assert (paid["segment_dimension"], paid["severity"], paid["value"], paid["bound"]) == \
        ("channel", "critical", 20, 30)
    # the segment key result is affected by the segment's breach, the total's by the total's
    assert paid["affected_key_results"] == "kr-paid"
    assert got[("leads", None, "threshold", AS_OF)]["affected_key_results"] == "kr-leads"
    # ids: the total's is the hash it always was, the segment's differs
    ids = {r["breach_id"] for r in rows}
    assert len(ids) == 3
    from hashlib import md5

    assert md5(f"leads|day|{AS_OF}|threshold".encode()).hexdigest() in ids


def drivers(built, kpi):
    rows = built.query(f"select * from {{schema}}.fct_kpi_breach_drivers where kpi_id = '{kpi}'")
    return {r["segment_value"]: r for r in rows}


def test_drivers_of_an_additive_drop(built):
    rows = drivers(built, "leads")
    assert set(rows) == {"paid", "organic"}
    # total 100 -> 55 (change -45): paid 60 -> 20 (-40), organic 40 -> 35 (-5)
    paid, organic = rows["paid"], rows["organic"]
    assert (paid["value"], paid["prior_value"], paid["change"], paid["contribution"]) == (20, 60, -40, -40)
    assert paid["share_of_change"] == pytest.approx(40 / 45)
    assert organic["share_of_change"] == pytest.approx(5 / 45)
    assert (paid["rank"], organic["rank"]) == (1, 2)
    assert paid["dimension_change"] == -45


def test_drivers_of_a_ratio_separate_rate_and_mix(built):
    rows = drivers(built, "conversion")
    paid, organic = rows["paid"], rows["organic"]
    # worked out by hand: w0 = (0.6, 0.4), w1 = (20/55, 35/55), r0 = (0.1, 0.2), r1 = (0.05, 0.2),
    # R0 = 0.14, R1 = 8/55
    w1_paid, w1_organic = 20 / 55, 35 / 55
    paid_rate = (0.6 + w1_paid) / 2 * (0.05 - 0.1)  # -0.0240909
    paid_mix = ((0.1 + 0.05) / 2 - 0.14) * (w1_paid - 0.6)  # +0.0153636
    organic_mix = (0.2 - 0.14) * (w1_organic - 0.4)  # +0.0141818
    assert paid["rate_effect"] == pytest.approx(paid_rate)
    assert paid["mix_effect"] == pytest.approx(paid_mix)
    assert organic["rate_effect"] == pytest.approx(0, abs=1e-12)
    assert organic["mix_effect"] == pytest.approx(organic_mix)
    assert paid["contribution"] + organic["contribution"] == pytest.approx(8 / 55 - 0.14)
    assert organic["share_of_change"] == pytest.approx(organic_mix / (8 / 55 - 0.14))
    assert paid["share_of_change"] == pytest.approx((paid_rate + paid_mix) / (8 / 55 - 0.14))
    # the total rose by mix: organic, which kept its rate and gained weight, drives it
    assert organic["rank"] == 1
    # the segment's own change is the change of its rate
    assert paid["change"] == pytest.approx(-0.05)


def test_segment_key_result_reads_its_segment(built):
    if built.target == "cluster":
        pytest.skip("scoring is covered on DuckDB and PostgreSQL")
    rows = built.query("select key_result_id, current_value, date_day from {schema}.fct_key_result_progress")
    last = {}
    for r in rows:
        if as_date(r["date_day"]) == AS_OF:
            last[r["key_result_id"]] = r["current_value"]
    assert last == {"kr-leads": 55, "kr-paid": 20}


def test_segments_that_do_not_add_up_fail_the_check(tmp_path):
    """A bad fixture: the paid segment lost 5 leads that the total kept; the check names the day."""
    with project("duckdb", tmp_path, break_partition=True) as p:
        p.dbt("build", "--select", "+fct_kpi_segment_daily", "+fct_kpi_daily", "resource_type:seed",
              "--indirect-selection", "cautious", "--exclude", "test_name:kpi_segments_add_up")
        result = p.dbt("test", "--select", "test_name:kpi_segments_add_up")
        assert "Warning in test okr_kpi_kpi_segments_add_up_fct_kpi_segment_daily_" in result.stdout, \
            result.stdout[-3000:]
        assert "Got 1 result, configured to warn" in result.stdout
        failing = p.query("select * from {schema}.fct_kpi_segment_daily where kpi_id = 'leads' "
                          f"and date_day = date '{AS_OF}'")
        assert sorted(r["value"] for r in failing) == [15, 35]  # 50, and the total says 55
