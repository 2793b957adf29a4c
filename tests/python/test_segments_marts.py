"""KPIs by segment (docs/segments.md): every aggregation kind per segment and in total, against an
independent computation in pandas over the raw events, on every target.

The events span 2023-12-18 .. 2024-02-05 (as_of_date) with a few days without events and some
events without a channel (segment '(none)'). The input models use okr_kpi.kpi_inputs and
okr_kpi.kpi_row_input with `segments`, and one hand-written model (a `last` stock) returns the
segment columns itself. kpi_definitions declares which dimensions each KPI is cut by: rows of
undeclared dimensions are left out of the segment marts. The totals (fct_kpi_daily,
fct_kpi_periods) of the same events built without any segment are identical, row for row.
"""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pandas as pd
import pytest
from harness import TARGETS, as_date, consumer_project_on, start_target

AS_OF = dt.date(2024, 2, 5)
FIRST = dt.date(2023, 12, 18)
GRAINS = ("day", "week", "month", "quarter", "year")

KPI_DEFINITIONS = """
    kpi_id,name,description,unit,direction,aggregation,owner,data_source,reporting_frequency,percentile,segment_dimensions
    leads,Leads,count,n,higher_is_better,count,a@x.example,events,daily,,channel|region
    revenue,Revenue,sum,eur,higher_is_better,sum,a@x.example,events,daily,,channel | region
    conversion,Conversion,ratio,%,higher_is_better,ratio,a@x.example,events,daily,,channel
    basket,Basket,average,eur,higher_is_better,average,a@x.example,events,daily,,region
    smallest,Smallest,min,eur,neutral,min,a@x.example,events,daily,,channel
    largest,Largest,max,eur,neutral,max,a@x.example,events,daily,,
    stock,Stock,last,n,higher_is_better,last,a@x.example,events,daily,,region
    buyers,Buyers,distinct,n,higher_is_better,count_distinct,a@x.example,events,daily,,channel|region
    p90_amount,p90,p90,eur,lower_is_better,percentile,a@x.example,events,daily,0.9,channel
"""
# the same KPIs without the column: a project that has never heard of segments
KPI_DEFINITIONS_PLAIN = "\n".join(
    line.strip().rsplit(",", 1)[0] for line in KPI_DEFINITIONS.strip().splitlines()
)

SEGMENTS = "['channel', 'region']"
DAILY_MODEL = """
    {{ okr_kpi.kpi_inputs(ref('fixture_events'), 'event_at', [
        {'kpi_id': 'leads', 'aggregation': 'count'},
        {'kpi_id': 'revenue', 'aggregation': 'sum', 'value': 'amount'},
        {'kpi_id': 'conversion', 'aggregation': 'ratio', 'numerator': 'converted', 'denominator': '1'},
        {'kpi_id': 'basket', 'aggregation': 'average', 'value': 'amount', 'where': 'converted = 1'},
        {'kpi_id': 'smallest', 'aggregation': 'min', 'value': 'amount'},
        {'kpi_id': 'largest', 'aggregation': 'max', 'value': 'amount'},
    ]SEGMENTS_ARG) }}
"""
ROW_MODEL = """
    {{ okr_kpi.kpi_row_input('buyers', ref('fixture_events'), 'event_at', member='customer_id',
                             where='converted = 1'SEGMENTS_ARG) }}
    union all
    {{ okr_kpi.kpi_row_input('p90_amount', ref('fixture_events'), 'event_at', value='amount'SEGMENTS_ARG) }}
"""
# a `last` KPI (a daily stock) written by hand: the total rows, then one row per region and day
STOCK_MODEL = """
    select
        cast('stock' as {{ dbt.type_string() }}) as kpi_id,
        cast(event_at as date) as date_day,
        cast(sum(amount) as {{ okr_kpi.type_double() }}) as numerator,
        cast(null as {{ okr_kpi.type_double() }}) as denominator
        SEGMENT_NULLS
    from {{ ref('fixture_events') }}
    group by cast(event_at as date)
    SEGMENT_ROWS
"""
STOCK_SEGMENT_ROWS = """
    union all
    select
        cast('stock' as {{ dbt.type_string() }}) as kpi_id,
        cast(event_at as date) as date_day,
        cast(sum(amount) as {{ okr_kpi.type_double() }}) as numerator,
        cast(null as {{ okr_kpi.type_double() }}) as denominator,
        cast('region' as {{ dbt.type_string() }}) as segment_dimension,
        cast(region as {{ dbt.type_string() }}) as segment_value
    from {{ ref('fixture_events') }}
    group by cast(event_at as date), region
"""
STOCK_NULLS = (", cast(null as {{ dbt.type_string() }}) as segment_dimension,"
               " cast(null as {{ dbt.type_string() }}) as segment_value")

DEFINED_DIMENSIONS = {
    "leads": ("channel", "region"), "revenue": ("channel", "region"), "conversion": ("channel",),
    "basket": ("region",), "smallest": ("channel",), "largest": (), "stock": ("region",),
    "buyers": ("channel", "region"), "p90_amount": ("channel",),
}
AGGREGATION = {"leads": "count", "revenue": "sum", "conversion": "ratio", "basket": "average",
               "smallest": "min", "largest": "max", "stock": "last", "buyers": "count_distinct",
               "p90_amount": "percentile"}


def make_events(n: int = 520, seed: int = 11) -> pd.DataFrame:
    rng = random.Random(seed)
    empty_days = {dt.date(2023, 12, 27), dt.date(2024, 1, 14), dt.date(2024, 1, 15)}
    days = [FIRST + dt.timedelta(days=i) for i in range((AS_OF - FIRST).days + 3)]
    days = [d for d in days if d not in empty_days]
    rows = []
    for i in range(n):
        day = FIRST if i == 0 else rng.choice(days)
        at = dt.datetime.combine(day, dt.time(rng.randrange(24), rng.randrange(60)))
        channel = rng.choice(["search", "search", "social", "email", ""])  # '' -> '(none)'
        region = rng.choice(["north", "south", "south", "west"])
        amount = round(rng.lognormvariate(3, 0.7), 2)
        converted = 1 if rng.random() < 0.35 else 0
        customer = f"c{int(rng.paretovariate(1.1)) % 40:02d}"
        rows.append((at, channel, region, amount, converted, customer))
    return pd.DataFrame(rows, columns=["event_at", "channel", "region", "amount", "converted", "customer_id"])


EVENTS = make_events()


def events_csv() -> str:
    lines = ["event_at,channel,region,amount,converted,customer_id"]
    lines += [f"{r.event_at:%Y-%m-%d %H:%M:%S},{r.channel},{r.region},{r.amount},{r.converted},"
              f"{r.customer_id}" for r in EVENTS.itertuples()]
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


CALENDAR = [FIRST + dt.timedelta(days=i) for i in range((AS_OF - FIRST).days + 1)]


def expected_periods(kpi: str, events: pd.DataFrame) -> dict[tuple[str, dt.date], float | None]:
    """(grain, period_start) -> value of `kpi` over `events` (one segment's or all), from the
    raw rows; only periods with a defined value."""
    ev = events.assign(day=events.event_at.dt.date)
    ev = ev[ev.day <= AS_OF]
    agg = AGGREGATION[kpi]
    out: dict = {}
    if agg == "last":  # the daily stock carried forward; the period's last calendar day
        daily = ev.groupby("day").amount.sum().to_dict()
        current, filled = None, {}
        for day in CALENDAR:
            current = daily.get(day, current)
            filled[day] = current
        for grain in GRAINS:
            for day in CALENDAR:
                out[(grain, period_start(grain, day))] = filled[day]  # the last day wins
        return {k: v for k, v in out.items() if v is not None}
    for grain in GRAINS:
        keys = ev.day.map(lambda d, g=grain: period_start(g, d))
        for key, group in ev.groupby(keys):
            if agg == "count":
                value = float(len(group))
            elif agg == "sum":
                value = group.amount.sum()
            elif agg == "ratio":
                value = group.converted.sum() / len(group)
            elif agg == "average":
                bought = group[group.converted == 1]
                value = bought.amount.mean() if len(bought) else None
            elif agg == "min":
                value = group.amount.min()
            elif agg == "max":
                value = group.amount.max()
            elif agg == "count_distinct":
                value = float(group[group.converted == 1].customer_id.nunique())
            else:
                value = float(np.percentile(group.amount, 90))
            if value is not None:
                out[(grain, key)] = float(value)
    return out


def segment_events(dimension: str, value: str) -> pd.DataFrame:
    column = EVENTS[dimension].replace("", "(none)")
    return EVENTS[column == value]


def input_files(segmented: bool) -> dict[str, str]:
    arg = f", segments={SEGMENTS}" if segmented else ""
    return {
        "fixture_inputs": DAILY_MODEL.replace("SEGMENTS_ARG", arg),
        "fixture_row_inputs": ROW_MODEL.replace("SEGMENTS_ARG", arg),
        "fixture_stock": STOCK_MODEL.replace("SEGMENT_NULLS", STOCK_NULLS if segmented else "")
                                    .replace("SEGMENT_ROWS", STOCK_SEGMENT_ROWS if segmented else ""),
    }


def build(target: str, tmp, segmented: bool):
    return consumer_project_on(
        target, tmp,
        seeds={"kpi_definitions": KPI_DEFINITIONS if segmented else KPI_DEFINITIONS_PLAIN,
               "fixture_events": events_csv(),
               "kpi_thresholds": "kpi_id,grain,severity,lower_bound,upper_bound\n"},
        models=input_files(segmented),
        kpi_inputs=["fixture_inputs", "fixture_stock"],
        vars={"as_of_date": AS_OF.isoformat(), "okr_kpi_kpi_row_inputs": ["fixture_row_inputs"]},
    )


MARTS = "+fct_kpi_segment_periods +fct_kpi_periods"


@pytest.fixture(scope="module", params=TARGETS)
def built(request, tmp_path_factory):
    target = start_target(request)
    tmp = tmp_path_factory.mktemp(f"segments_{target}")
    with build(target, tmp, segmented=True) as project:
        args = ["build", "--select", *MARTS.split(), "resource_type:seed", "--indirect-selection", "cautious"]
        if target == "cluster":
            args += ["--exclude", "resource_type:test"]  # the Python tests assert the marts
        project.dbt(*args)
        yield project


def rows_of(project, model: str) -> list[dict]:
    return project.query(f"select * from {{schema}}.{model}")


def test_every_segment_of_every_kind_equals_pandas(built):
    rows = rows_of(built, "fct_kpi_segment_periods")
    got = {(r["kpi_id"], r["segment_dimension"], r["segment_value"], r["grain"],
            as_date(r["period_start"])): r for r in rows}
    assert len(got) == len(rows)  # one row per KPI, segment, grain and period
    checked = 0
    for kpi, dimensions in DEFINED_DIMENSIONS.items():
        # only the declared dimensions reach the mart
        assert {k[1] for k in got if k[0] == kpi} == set(dimensions), kpi
        for dimension in dimensions:
            values = set(EVENTS[dimension].replace("", "(none)"))
            if kpi in ("basket", "buyers"):  # their inputs read the converted events only
                values = set(EVENTS[EVENTS.converted == 1][dimension].replace("", "(none)"))
            assert {k[2] for k in got if k[:2] == (kpi, dimension)} == values, (kpi, dimension)
            for value in values:
                want = expected_periods(kpi, segment_events(dimension, value))
                for grain in GRAINS:
                    starts = {period_start(grain, d) for d in CALENDAR}
                    for start in starts:
                        row = got[(kpi, dimension, value, grain, start)]
                        expect = want.get((grain, start))
                        if expect is None:
                            empty = 0 if AGGREGATION[kpi] in ("count", "sum", "count_distinct") else None
                            assert row["value"] == empty, (kpi, dimension, value, grain, start)
                        else:
                            where = (kpi, dimension, value, grain, start)
                            assert row["value"] == pytest.approx(expect, rel=1e-9), where
                        checked += 1
    assert checked > 2000


def test_totals_equal_pandas(built):
    got = {(r["kpi_id"], r["grain"], as_date(r["period_start"])): r
           for r in rows_of(built, "fct_kpi_periods")}
    for kpi in DEFINED_DIMENSIONS:
        want = expected_periods(kpi, EVENTS)
        for (grain, start), value in want.items():
            assert got[(kpi, grain, start)]["value"] == pytest.approx(value, rel=1e-9), (kpi, grain, start)


def test_non_additive_totals_are_not_the_sum_of_segments(built):
    """A total distinct count, percentile or ratio is computed from the rows, not from the segments."""
    seg = {}
    for r in rows_of(built, "fct_kpi_segment_periods"):
        if r["grain"] == "month" and as_date(r["period_start"]) == dt.date(2024, 1, 1):
            seg.setdefault((r["kpi_id"], r["segment_dimension"]), []).append(r)
    tot = {r["kpi_id"]: r for r in rows_of(built, "fct_kpi_periods")
           if r["grain"] == "month" and as_date(r["period_start"]) == dt.date(2024, 1, 1)}
    # additive kinds: the segments of a dimension add up to the total
    for kpi in ("leads", "revenue"):
        for dimension in ("channel", "region"):
            assert sum(r["value"] for r in seg[(kpi, dimension)]) == pytest.approx(tot[kpi]["value"])
    conversions = sum(r["numerator"] for r in seg[("conversion", "channel")])
    assert conversions == pytest.approx(tot["conversion"]["numerator"])
    # customers buy through several channels: the sum of the segments' distinct counts is more
    assert sum(r["value"] for r in seg[("buyers", "channel")]) > tot["buyers"]["value"]
    assert tot["buyers"]["value"] == expected_periods("buyers", EVENTS)[("month", dt.date(2024, 1, 1))]
    rates = sum(r["value"] for r in seg[("conversion", "channel")])
    assert rates != pytest.approx(tot["conversion"]["value"])


def test_segment_daily_mart_and_prior_values(built):
    daily = rows_of(built, "fct_kpi_segment_daily")
    keys = {(r["kpi_id"], r["segment_dimension"], r["segment_value"]) for r in daily}
    # every segment on every day of the calendar
    assert len(daily) == len(keys) * len(CALENDAR)
    empty = [r for r in daily if r["kpi_id"] == "leads" and as_date(r["date_day"]) == dt.date(2024, 1, 14)]
    assert empty and all(r["value"] == 0 and not r["has_data"] for r in empty)
    periods = rows_of(built, "fct_kpi_segment_periods")
    search = {as_date(r["period_start"]): r for r in periods
              if r["kpi_id"] == "revenue" and r["segment_value"] == "search" and r["grain"] == "week"}
    week = dt.date(2024, 1, 22)
    prior = search[week - dt.timedelta(days=7)]["value"]
    assert search[week]["prior_value"] == pytest.approx(prior)
    assert search[week]["change"] == pytest.approx(search[week]["value"] - prior)


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    """The same events and KPIs in a project without segments (duckdb)."""
    tmp = tmp_path_factory.mktemp("segments_plain")
    with build("duckdb", tmp, segmented=False) as project:
        project.dbt("build", "--select", *MARTS.split(), "resource_type:seed",
                    "--indirect-selection", "cautious")
        yield project


@pytest.mark.parametrize("model, key", [("fct_kpi_daily", "kpi_id, date_day"),
                                        ("fct_kpi_periods", "kpi_id, grain, period_start")])
def test_totals_identical_with_and_without_segments(built, request, model, key):
    if built.target != "duckdb":
        pytest.skip("compared on DuckDB (the plain build runs there)")
    plain = request.getfixturevalue("plain")
    with_segments = built.query(f"select * from {{schema}}.{model} order by {key}")
    without = plain.query(f"select * from {{schema}}.{model} order by {key}")
    assert len(with_segments) == len(without) > 0
    for got, want in zip(with_segments, without, strict=True):
        assert got.keys() == want.keys()
        for column, value in want.items():
            if isinstance(value, float):
                # the same rows summed: equal up to the order of floating-point additions, which
                # the engine may vary between any two builds
                assert got[column] == pytest.approx(value, rel=1e-12, abs=1e-12), (model, want, column)
            else:
                assert got[column] == value, (model, want, column)
    # and the plain project has no segment rows at all
    assert plain.query("select count(*) as n from {schema}.fct_kpi_segment_periods")[0]["n"] == 0
