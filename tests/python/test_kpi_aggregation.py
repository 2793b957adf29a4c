"""KPI values at every grain against values worked out by hand.

The fixture registry has one KPI per aggregation kind. Dates are chosen so that weeks straddle
a month end (Mon 2024-01-29 .. Sun 2024-02-04) and a year end (Mon 2023-12-25 .. Sun 2023-12-31),
with days without data and a zero denominator. as_of_date is Mon 2024-02-05.
"""

from __future__ import annotations

import datetime as dt

import pytest
from harness import SPARK_SESSION, TARGETS, consumer_project_on, fixture_inputs_model, start_target

D = dt.date.fromisoformat
AS_OF = "2024-02-05"

KPI_DEFINITIONS = """
    kpi_id,name,description,unit,direction,aggregation,owner,data_source,reporting_frequency
    rev,Revenue,sum KPI,EUR,higher_is_better,sum,a@x.example,orders,daily
    cnt,Orders,count KPI,orders,higher_is_better,count,a@x.example,orders,daily
    conv,Conversion,ratio KPI,share,higher_is_better,ratio,a@x.example,leads,daily
    avg_kpi,Load time,average KPI,ms,lower_is_better,average,a@x.example,web,daily
    stock,Customers,last KPI (a stock),customers,higher_is_better,last,a@x.example,subs,daily
    lo,Worst day,min KPI,sessions,higher_is_better,min,a@x.example,web,daily
    hi,Peak,max KPI,ms,lower_is_better,max,a@x.example,web,daily
"""

INPUTS = """
    kpi_id,date_day,numerator,denominator
    rev,2023-01-16,6,
    rev,2023-12-30,10,
    rev,2024-01-02,5,
    rev,2024-01-31,7,
    rev,2024-02-01,3,
    rev,2024-02-05,4,
    rev,2024-02-06,1000,
    cnt,2023-12-31,4,
    cnt,2024-01-01,2,
    cnt,2024-01-07,1,
    conv,2024-01-30,1,10
    conv,2024-01-31,3,5
    conv,2024-02-01,0,0
    conv,2024-02-02,2,4
    avg_kpi,2024-01-10,30,3
    avg_kpi,2024-01-11,20,1
    stock,2023-12-31,100,
    stock,2024-01-15,120,
    stock,2024-02-01,90,
    lo,2024-01-02,5,
    lo,2024-01-03,3,
    lo,2024-01-04,8,
    hi,2024-01-02,5,
    hi,2024-01-03,3,
    hi,2024-01-04,8,
"""


# Two day-grain thresholds, for the Great Expectations checks (test_gx_checks_on_the_target):
# `hi` above 6 is a warning, `lo` under 4 is critical.
THRESHOLDS = """
    kpi_id,grain,severity,lower_bound,upper_bound
    hi,day,warning,,6
    lo,day,critical,4,
"""


@pytest.fixture(scope="module", params=[*TARGETS, SPARK_SESSION])
def built(request, tmp_path_factory):
    """The fixture built once per target (duckdb, postgres, the Spark cluster over thrift, and the
    local Spark session: this module is the session's small subset): every test runs on each."""
    tmp = tmp_path_factory.mktemp(f"kpi_aggregation_{start_target(request)}")
    with consumer_project_on(
        request.param,
        tmp,
        seeds={"kpi_definitions": KPI_DEFINITIONS, "fixture_kpi_inputs": INPUTS,
               "kpi_thresholds": THRESHOLDS},
        models={"fixture_inputs": fixture_inputs_model()},
        kpi_inputs=["fixture_inputs"],
        vars={"as_of_date": AS_OF},
    ) as project:
        # every seed too (the package's seed tests read them); only tests whose parents are all built
        project.dbt("build", "--select", "+int_kpi_threshold_candidates", "resource_type:seed",
                    "--indirect-selection", "cautious")
        yield project


def period(project, kpi, grain, start):
    rows = project.query(
        f"select * from {{schema}}.fct_kpi_periods where kpi_id = '{kpi}' and grain = '{grain}' "
        f"and period_start = date '{start}'"
    )
    assert len(rows) == 1, (kpi, grain, start, rows)
    return rows[0]


def daily(project, kpi, day):
    rows = project.query(
        f"select * from {{schema}}.fct_kpi_daily where kpi_id = '{kpi}' and date_day = date '{day}'"
    )
    assert len(rows) == 1, (kpi, day, rows)
    return rows[0]


def test_daily_grid_has_every_day_for_every_kpi(built):
    # Calendar: first data day 2023-01-16 .. as_of 2024-02-05 = 386 days, times 7 KPIs.
    days = (D(AS_OF) - D("2023-01-16")).days + 1
    assert days == 386
    rows = built.query(
        "select kpi_id, count(*) as n, max(date_day) as last_day from {schema}.fct_kpi_daily group by 1"
    )
    kpis = ("rev", "cnt", "conv", "avg_kpi", "stock", "lo", "hi")
    assert {r["kpi_id"]: r["n"] for r in rows} == {k: days for k in kpis}
    # data after as_of_date (rev on 2024-02-06) is ignored
    assert {r["last_day"] for r in rows} == {D(AS_OF)}


def test_days_without_data(built):
    # additive: zero; ratio: 0/0 -> null value, no error; stock: carried forward; min/max: null
    assert daily(built, "rev", "2024-01-20")["value"] == 0
    r = daily(built, "conv", "2024-01-15")
    assert (r["numerator"], r["denominator"], r["value"]) == (0, 0, None)
    assert daily(built, "conv", "2024-02-01")["value"] is None  # zero denominator in the data
    assert daily(built, "stock", "2024-01-14")["value"] == 100
    assert daily(built, "stock", "2023-12-30")["value"] is None  # before the stock's first value
    assert daily(built, "lo", "2024-01-10")["value"] is None


def test_sum_and_count(built):
    assert period(built, "rev", "week", "2023-12-25")["value"] == 10  # week straddling the year end
    assert period(built, "rev", "week", "2024-01-29")["value"] == 7 + 3  # straddles Jan/Feb
    assert period(built, "rev", "month", "2024-01-01")["value"] == 5 + 7
    assert period(built, "rev", "quarter", "2024-01-01")["value"] == 5 + 7 + 3 + 4
    assert period(built, "rev", "year", "2023-01-01")["value"] == 6 + 10
    assert period(built, "cnt", "week", "2023-12-25")["value"] == 4
    assert period(built, "cnt", "week", "2024-01-01")["value"] == 2 + 1
    assert period(built, "cnt", "year", "2024-01-01")["value"] == 3


def test_ratio_is_ratio_of_sums_not_average_of_ratios(built):
    jan = period(built, "conv", "month", "2024-01-01")
    assert jan["numerator"] == 4 and jan["denominator"] == 15
    assert jan["value"] == pytest.approx(4 / 15)  # the average of daily ratios would be 0.35
    week = period(built, "conv", "week", "2024-01-29")
    assert week["value"] == pytest.approx((1 + 3 + 0 + 2) / (10 + 5 + 0 + 4))
    assert period(built, "conv", "week", "2024-01-08")["value"] is None  # 0 / 0


def test_average_is_weighted_by_its_count(built):
    assert period(built, "avg_kpi", "week", "2024-01-08")["value"] == pytest.approx((30 + 20) / (3 + 1))


def test_last_takes_the_last_day(built):
    assert period(built, "stock", "month", "2023-12-01")["value"] == 100
    assert period(built, "stock", "month", "2024-01-01")["value"] == 120  # across the month end
    assert period(built, "stock", "week", "2024-01-29")["value"] == 90  # last day Sun 2024-02-04
    assert period(built, "stock", "month", "2024-02-01")["value"] == 90  # incomplete: last day so far
    assert period(built, "stock", "month", "2023-11-01")["value"] is None


def test_min_and_max_of_days(built):
    assert period(built, "lo", "week", "2024-01-01")["value"] == 3
    assert period(built, "hi", "week", "2024-01-01")["value"] == 8
    assert period(built, "lo", "month", "2024-01-01")["value"] == 3
    assert period(built, "hi", "week", "2024-01-08")["value"] is None


def test_completeness_prior_and_last_year(built):
    assert period(built, "rev", "week", "2024-01-29")["is_complete"] is True  # ends Sun 2024-02-04
    assert period(built, "rev", "week", "2024-02-05")["is_complete"] is False
    assert period(built, "rev", "day", AS_OF)["is_complete"] is True
    jan = period(built, "rev", "month", "2024-01-01")
    assert jan["period_end"] == D("2024-01-31")
    assert jan["prior_value"] == 10 and jan["change"] == 2 and jan["change_pct"] == pytest.approx(0.2)
    # Jan 2023 is not full (rev's data starts 2023-01-16): never compared as if it were
    assert jan["is_full_period"] is True
    assert period(built, "rev", "month", "2023-01-01")["is_full_period"] is False
    assert jan["same_period_last_year_value"] is None
    assert period(built, "rev", "month", "2023-02-01")["prior_value"] is None
    assert period(built, "rev", "month", "2023-03-01")["prior_value"] == 0  # Feb 2023 is full
    # the current, unfinished period is not full either
    feb = period(built, "rev", "month", "2024-02-01")
    assert feb["is_full_period"] is False and feb["prior_value"] is None and feb["change"] is None
    assert period(built, "rev", "month", "2023-12-01")["change_pct"] is None  # prior month 0: no division
    assert period(built, "rev", "week", "2024-01-15")["same_period_last_year_value"] == 6  # 52 weeks earlier
    assert period(built, "rev", "day", "2024-01-16")["same_period_last_year_value"] == 6
    assert period(built, "rev", "quarter", "2024-01-01")["period_end"] == D("2024-03-31")


def test_gx_checks_on_the_target(built):
    """The GX threshold suites on each target's own engine (DuckDB and PostgreSQL: SQL; the
    cluster: the Hive dialect through the Thrift server; the local session: GX's Spark engine)."""
    from okr_kpi.checks import run_checks
    from okr_kpi.project import Project

    with pytest.MonkeyPatch.context() as mp:
        for key, value in built.env.items():
            mp.setenv(key, value)
        mp.setenv("OKR_KPI_GX_DIR", str(built.path.parent / "gx"))
        result = run_checks(Project(target=built.target, project_dir=built.path), as_of=AS_OF)
    assert result.fatal is None and result.errors == [], result.fatal or result.errors[:3]
    # by hand from INPUTS: hi 8 on 2024-01-04 (> 6), lo 3 on 2024-01-03 (< 4); days without data
    # (null for min/max) breach nothing
    assert result.threshold_breaches == {("hi", "day", "2024-01-04"), ("lo", "day", "2024-01-03")}
    assert all(o.success is not None for o in result.outcomes)
