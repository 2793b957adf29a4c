"""Row-level KPIs (count_distinct, percentile) at every grain against an independent computation
in Python over the raw rows, on every target.

The events span 2023-12-18 .. 2024-02-05 (as_of_date), so weeks straddle the year end and the
January/February boundary, with days without events. Three KPIs read the same events through
okr_kpi.kpi_row_input: distinct customers, the p90 latency, and the median latency of the
`ok` requests (percentile written `median`). Events after as_of_date are ignored.

Each target runs its own implementation of okr_kpi.kpi_row_periods (the engine's count(distinct)
and quantile_cont / percentile_cont / percentile with grouping sets); `duckdb-portable` runs the
portable one (window functions) through dbt's dispatch config; all must equal Python.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from harness import TARGETS, consumer_project_on, start_target

AS_OF = dt.date(2024, 2, 5)
FIRST = dt.date(2023, 12, 18)
GRAINS = ("day", "week", "month", "quarter", "year")

KPI_DEFINITIONS = """
    kpi_id,name,description,unit,direction,aggregation,owner,data_source,reporting_frequency,percentile
    customers,Customers,distinct,n,higher_is_better,count_distinct,a@x.example,events,daily,
    p90_latency,p90 latency,p90,ms,lower_is_better,percentile,a@x.example,events,daily,0.9
    median_ok,Median latency,ok requests,ms,lower_is_better,percentile,a@x.example,events,daily,median
"""

ROW_MODEL = """
    {{ okr_kpi.kpi_row_input('customers', ref('fixture_events'), 'event_at', member='customer_id') }}
    union all
    {{ okr_kpi.kpi_row_input('p90_latency', ref('fixture_events'), 'event_at', value='latency_ms') }}
    union all
    {{ okr_kpi.kpi_row_input('median_ok', ref('fixture_events'), 'event_at', value='latency_ms',
                             where="status = 'ok'") }}
"""


def make_events(n: int = 420, seed: int = 7) -> list[tuple[dt.datetime, str, float, str]]:
    """Events at random minutes of random days (a few days left empty), a few after as_of_date;
    customers repeat across days, latencies are skewed (so percentiles of days differ from the
    period's)."""
    rng = random.Random(seed)
    empty_days = {dt.date(2023, 12, 27), dt.date(2024, 1, 14), dt.date(2024, 1, 15)}
    days = [FIRST + dt.timedelta(days=i) for i in range((AS_OF - FIRST).days + 3)]
    days = [d for d in days if d not in empty_days]
    events = []
    for _ in range(n):
        day = rng.choice(days)
        at = dt.datetime.combine(day, dt.time(rng.randrange(24), rng.randrange(60), rng.randrange(60)))
        customer = f"c{int(rng.paretovariate(1.2)) % 60:03d}"
        latency = round(rng.lognormvariate(5, 0.8), 1)
        status = "ok" if rng.random() < 0.8 else "error"
        events.append((at, customer, latency, status))
    return events


EVENTS = make_events()


def events_csv() -> str:
    lines = ["event_at,customer_id,latency_ms,status"]
    lines += [f"{at:%Y-%m-%d %H:%M:%S},{c},{lat},{s}" for at, c, lat, s in EVENTS]
    return "\n".join(lines)


def period_start(grain: str, day: dt.date) -> dt.date:
    if grain == "day":
        return day
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    if grain == "quarter":
        return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return dt.date(day.year, 1, 1)


def expected(kpi: str) -> dict[tuple[str, dt.date], tuple[float, int]]:
    """(grain, period_start) -> (value, rows) worked out from the raw events in Python."""
    members: dict = defaultdict(set)
    values: dict = defaultdict(list)
    for at, customer, latency, status in EVENTS:
        day = at.date()
        if day > AS_OF:
            continue
        if kpi == "median_ok" and status != "ok":
            continue
        for grain in GRAINS:
            key = (grain, period_start(grain, day))
            members[key].add(customer)
            values[key].append(latency)
    if kpi == "customers":
        return {key: (len(m), sum(1 for _ in values[key])) for key, m in members.items()}
    p = 0.9 if kpi == "p90_latency" else 0.5
    # numpy's default percentile: linear interpolation between the closest ranks
    return {key: (float(np.percentile(v, 100 * p)), len(v)) for key, v in values.items()}


# The portable implementation (default__kpi_row_periods: window functions), which no tested
# adapter uses by itself: a DuckDB project that picks it through dbt's dispatch config.
PORTABLE_DISPATCH = """
dispatch:
  - macro_namespace: okr_kpi
    search_order: ['okr_kpi_fixture', 'okr_kpi']
"""
PORTABLE_MACRO = """
{% macro duckdb__kpi_row_periods(row_inputs, definitions_relation) -%}
    {{ return(okr_kpi.default__kpi_row_periods(row_inputs, definitions_relation)) }}
{%- endmacro %}
"""


@pytest.fixture(scope="module", params=[*TARGETS, pytest.param("duckdb-portable", id="duckdb-portable")])
def built(request, tmp_path_factory):
    start_target(request)  # the cluster: started first (once per session)
    target, portable = request.param.removesuffix("-portable"), request.param.endswith("-portable")
    tmp = tmp_path_factory.mktemp(f"kpi_row_level_{request.param}")
    with consumer_project_on(
        target,
        tmp,
        seeds={"kpi_definitions": KPI_DEFINITIONS, "fixture_events": events_csv(),
               "kpi_thresholds": "kpi_id,grain,severity,lower_bound,upper_bound\n"},
        models={"fixture_row_inputs": ROW_MODEL},
        vars={"as_of_date": AS_OF.isoformat(), "okr_kpi_kpi_row_inputs": ["fixture_row_inputs"]},
        extra_files={"macros/portable_row_periods.sql": PORTABLE_MACRO} if portable else None,
    ) as project:
        if portable:
            with (project.path / "dbt_project.yml").open("a") as project_yml:
                project_yml.write(PORTABLE_DISPATCH)
        project.portable = portable
        project.dbt("build", "--select", "+fct_kpi_periods", "resource_type:seed",
                    "--indirect-selection", "cautious")
        yield project


# What the compiled int_kpi_row_periods must hold on each target: the engine's own exact
# percentile and one pass over the grains (grouping sets), or the portable window functions.
COMPILED_MARKERS = {
    "duckdb": ("quantile_cont(value, cast(0.5 as", "quantile_cont(value, cast(0.9 as", "grouping sets"),
    "postgres": ("percentile_cont(cast(0.9 as double precision)) within group (order by value)",
                 "grouping sets"),
    "spark": ("percentile(value, cast(0.9 as double))", "grouping sets"),
    "portable": ("row_number() over (partition by kpi_id, grain, period_start order by value)",),
}


def test_each_target_compiles_its_own_implementation(built):
    compiled = (Path(built.env["DBT_TARGET_PATH"]) / "compiled" / "okr_kpi" / "models" / "kpis"
                / "int_kpi_row_periods.sql").read_text()
    # the Spark cluster (thrift) compiles as Spark does: the adapter type decides
    kind = "portable" if built.portable else {"cluster": "spark"}.get(built.target, built.target)
    markers = COMPILED_MARKERS[kind]
    for marker in markers:
        assert marker in compiled, (built.target, marker)
    others = {m for k, ms in COMPILED_MARKERS.items() if k != kind for m in ms} - set(markers)
    for marker in others:
        assert marker not in compiled, (built.target, marker)
    if not built.portable:  # the native path reads each KPI's p through its filter
        assert "filter (where percentile = cast(0.9 as" in compiled


def mart_periods(project, kpi: str) -> dict[tuple[str, dt.date], dict]:
    rows = project.query(
        f"select * from {{schema}}.fct_kpi_periods where kpi_id = '{kpi}'"
    )
    return {(r["grain"], r["period_start"]): r for r in rows}


@pytest.mark.parametrize("kpi", ["customers", "p90_latency", "median_ok"])
def test_every_period_of_every_grain_equals_python(built, kpi):
    want = expected(kpi)
    got = mart_periods(built, kpi)
    # the marts hold every period of the calendar (first event day .. as_of_date), at every grain
    assert {grain for grain, _ in got} == set(GRAINS)
    assert len([k for k in got if k[0] == "day"]) == (AS_OF - FIRST).days + 1
    for key, row in got.items():
        if key in want:
            value, rows = want[key]
            assert row["value"] == pytest.approx(value, rel=1e-9), (kpi, key)
            assert row["numerator"] == pytest.approx(value, rel=1e-9), (kpi, key)
            assert row["denominator"] == rows, (kpi, key)
        else:  # a period without events: no member, no percentile
            assert row["value"] == (0 if kpi == "customers" else None), (kpi, key)
            assert row["denominator"] == 0, (kpi, key)
    assert set(want) <= set(got)


def test_daily_mart(built):
    want = expected("customers")
    rows = built.query("select * from {schema}.fct_kpi_daily where kpi_id = 'customers'")
    assert len(rows) == (AS_OF - FIRST).days + 1
    for r in rows:
        assert r["value"] == want.get(("day", r["date_day"]), (0, 0))[0]
    empty = [r for r in rows if r["date_day"] == dt.date(2024, 1, 14)]
    assert empty[0]["value"] == 0 and empty[0]["denominator"] == 0 and not empty[0]["has_data"]
    p90 = built.query("select * from {schema}.fct_kpi_daily where kpi_id = 'p90_latency' "
                      "and date_day = date '2024-01-14'")
    assert p90[0]["value"] is None


def test_daily_values_summed_or_averaged_give_a_wrong_answer(built):
    """The month's distinct customers is not the sum of the days' distinct customers, nor its
    p90 the average of the daily p90s: the marts equal the row-level answer, not those."""
    daily = built.query("select kpi_id, date_day, value from {schema}.fct_kpi_daily "
                        "where value is not null and date_day >= date '2024-01-01' "
                        "and date_day <= date '2024-01-31'")
    by_kpi = defaultdict(list)
    for r in daily:
        by_kpi[r["kpi_id"]].append(r["value"])
    january = ("month", dt.date(2024, 1, 1))
    customers = mart_periods(built, "customers")[january]["value"]
    assert customers == expected("customers")[january][0]
    assert sum(by_kpi["customers"]) != customers
    assert sum(by_kpi["customers"]) > customers  # customers return on several days
    p90 = mart_periods(built, "p90_latency")[january]["value"]
    assert p90 == pytest.approx(expected("p90_latency")[january][0], rel=1e-9)
    average_of_days = sum(by_kpi["p90_latency"]) / len(by_kpi["p90_latency"])
    assert abs(average_of_days - p90) > 1.0
    median = mart_periods(built, "median_ok")[january]["value"]
    assert median == pytest.approx(expected("median_ok")[january][0], rel=1e-9)
    assert abs(sum(by_kpi["median_ok"]) / len(by_kpi["median_ok"]) - median) > 1.0


def test_dim_kpis_percentile(built):
    rows = {r["kpi_id"]: r
            for r in built.query("select kpi_id, aggregation, percentile from {schema}.dim_kpis")}
    assert rows["p90_latency"]["percentile"] == pytest.approx(0.9)
    assert rows["median_ok"]["percentile"] == 0.5
    assert rows["customers"]["percentile"] is None
