"""The load checks' defaults on differently shaped generated histories (issue 14, finding 10;
docs/checks.md, "Freshness and load checks" and "How the defaults were tried").

One consumer project on DuckDB holds twenty weeks of daily loads for sources of eight shapes, each
drawn with three random seeds: a busy feed (Poisson, 40 rows a day round the clock), sparse counts
(input on about 50 %, 80 % and 90 % of days), a count of about 5 a day (empty on about 1 % of
days), a weekly loader (rows on Mondays only, in one early-morning batch), a weekend-less
business (Monday to Friday, 08:00-18:00), a seasonal volume (±60 % over ten weeks), a lumpy
business (negative binomial: mean 40, standard deviation about 13) and a source known from its
KPI's input days only. None of them may be marked at all.

Planted in sources of their own: a 10 % load and a load that stopped at noon on a busy and on a
lumpy feed, a weekday business that stopped at noon one day, a busy feed that stopped four days
before as_of_date and a weekday business that stopped after a Wednesday (as_of_date a Friday).
Each must be caught with its reason, and nothing else. Expected values are worked out here from
the rows generated, never with the package's SQL.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import random

import pytest
from harness import as_date, consumer_project_on, fixture_inputs_model

START = dt.date(2026, 1, 5)  # a Monday
DAYS = 138  # 20 weeks less two days: the last day is a Friday
AS_OF = START + dt.timedelta(days=DAYS - 1)
assert AS_OF.weekday() == 4
SEEDS = (11, 12, 13)
TEN_PCT = START + dt.timedelta(days=120)  # a Tuesday, 17 weeks of history before it
NOON = START + dt.timedelta(days=115)  # a Thursday


def poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:  # normal approximation of a large count
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    n, p, limit = 0, 1.0, math.exp(-lam)
    while True:
        p *= rng.random()
        if p <= limit:
            return n
        n += 1


def last_row_at(rng: random.Random, day: dt.date, n: int, start_h: float, end_h: float) -> str | None:
    """The last of n timestamps uniform in [start_h, end_h) of the day."""
    if n == 0:
        return None
    hour = max(start_h + rng.random() * (end_h - start_h) for _ in range(n))
    at = dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=int(hour * 3600))
    return at.strftime("%Y-%m-%d %H:%M:%S")


def shape_day(shape: str, rng: random.Random, d: int, day: dt.date) -> tuple[int, float, float]:
    """(rows, first hour, end hour) of an ordinary day of a shape."""
    if shape == "busy":
        return poisson(rng, 40), 0, 24
    if shape.startswith("sparse"):
        lam = {"sparse50": 0.7, "sparse80": 1.6, "sparse90": 2.3}[shape]
        return poisson(rng, lam), 0, 24
    if shape == "count4":
        return poisson(rng, 5.0), 0, 24
    if shape == "weekly":
        return (poisson(rng, 300) if day.weekday() == 0 else 0), 5, 6
    if shape == "weekdays":
        return (poisson(rng, 30) if day.weekday() < 5 else 0), 8, 18
    if shape == "seasonal":
        return poisson(rng, 40 * (1 + 0.6 * math.sin(2 * math.pi * d / 70))), 0, 24
    if shape == "lumpy":
        return poisson(rng, rng.gammavariate(12, 40 / 12)), 0, 24
    raise ValueError(shape)


ORDINARY = ("busy", "sparse50", "sparse80", "sparse90", "count4", "weekly", "weekdays", "seasonal", "lumpy")
# planted faults: source -> (shape, kind)
FAULTS = {
    "tenpct_busy": ("busy", "ten_pct"),
    "tenpct_lumpy": ("lumpy", "ten_pct"),
    "noon_busy": ("busy", "noon"),
    "noon_lumpy": ("lumpy", "noon"),
    "noon_weekdays": ("weekdays", "noon"),
    "stopped_busy": ("busy", "stopped4"),
    "stopped_weekdays": ("weekdays", "stopped_wed"),
}


def generate():
    """Daily loads (data_source, date_day, row_count, last_row_at), KPI inputs, expected marks."""
    loads, inputs, expected = [], [], set()
    sources = [(f"{shape}_{seed}", shape, None, seed) for shape in ORDINARY for seed in SEEDS]
    sources += [(name, shape, kind, 99) for name, (shape, kind) in FAULTS.items()]
    last_wed = AS_OF - dt.timedelta(days=2)
    for name, shape, kind, seed in sources:
        rng = random.Random(f"{name}/{seed}")
        for d in range(DAYS):
            day = START + dt.timedelta(days=d)
            n, start_h, end_h = shape_day(shape, rng, d, day)
            if kind == "ten_pct" and day == TEN_PCT:
                n, end_h = 4, start_h + (end_h - start_h) / 10  # 10 % of the usual 40 rows
                expected.add((name, day, "low_volume"))
            if kind == "noon" and day == NOON:
                n = sum(1 for _ in range(n) if rng.random() * (end_h - start_h) + start_h < 12)
                end_h = 12
                expected.add((name, day, "early_stop"))
            if kind == "stopped4" and day > AS_OF - dt.timedelta(days=4):
                n = 0
                expected.add((name, day, "stale"))
            if kind == "stopped_wed" and day > last_wed:
                n = 0
                expected.add((name, day, "low_volume"))  # Thursday and Friday are working days
            if n:
                loads.append((name, day.isoformat(), n, last_row_at(rng, day, n, start_h, end_h)))
                inputs.append((name, day.isoformat(), n, ""))
    # a source known from its KPI's input days only: input on about 85 % of days
    rng = random.Random("inputs_only")
    for d in range(DAYS):
        n = poisson(rng, 1.9)
        if n:
            inputs.append(("inputs_only", (START + dt.timedelta(days=d)).isoformat(), n, ""))
    names = [s[0] for s in sources] + ["inputs_only"]
    return loads, inputs, expected, names


def to_csv(header: list[str], rows) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


LOADS, INPUTS, EXPECTED, NAMES = generate()


def test_the_generated_histories_have_the_shapes_they_claim():
    """The fixture itself: the sparse counts and the 4.5-a-day count are as sparse as named."""
    days = {}
    for kpi, day, _n, _ in INPUTS:
        days.setdefault(kpi, set()).add(day)
    share = {k: len(v) / DAYS for k, v in days.items()}
    for seed in SEEDS:
        assert 0.40 <= share[f"sparse50_{seed}"] <= 0.62
        assert 0.72 <= share[f"sparse80_{seed}"] <= 0.88
        assert 0.85 <= share[f"sparse90_{seed}"] <= 0.95
        assert 0.97 <= share[f"count4_{seed}"] < 1  # a few ordinary empty days
        assert share[f"weekly_{seed}"] == pytest.approx(20 / DAYS)
    assert 0.78 <= share["inputs_only"] <= 0.92


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    kpis = ["kpi_id,name,description,unit,direction,aggregation,owner,data_source,reporting_frequency"]
    kpis += [f"{n},{n},rows of {n},rows,higher_is_better,count,a@x.example,{n},daily" for n in NAMES]
    seeds = {
        "kpi_definitions": "\n".join(kpis),
        "kpi_thresholds": "kpi_id,grain,severity,lower_bound,upper_bound",
        "fixture_loads": to_csv(["data_source", "date_day", "row_count", "last_row_at"], LOADS),
        "shape_inputs": to_csv(["kpi_id", "date_day", "numerator", "denominator"], INPUTS),
    }
    tmp = tmp_path_factory.mktemp("load_shapes")
    with consumer_project_on(
        "duckdb",
        tmp,
        seeds=seeds,
        models={"fixture_shape_inputs": fixture_inputs_model("shape_inputs")},
        kpi_inputs=["fixture_shape_inputs"],
        vars={"okr_kpi_source_loads": ["fixture_loads"], "as_of_date": AS_OF.isoformat()},
    ) as p:
        p.dbt("seed")
        p.dbt("run", "--select", "+int_kpi_load_days", "+fct_kpi_freshness")
        yield p



def test_ordinary_histories_are_never_marked_and_every_planted_fault_is(project):
    rows = project.query(
        "select data_source, date_day, reason from {schema}.int_kpi_load_days where not is_covered"
    )
    got = {(r["data_source"], as_date(r["date_day"]), r["reason"].split(":")[0]) for r in rows}
    false_marks = sorted(g for g in got if g not in EXPECTED)
    missed = sorted(e for e in EXPECTED if e not in got)
    assert false_marks == [] and missed == [], f"false: {false_marks}\nmissed: {missed}"


def test_freshness_names_only_the_stopped_feeds(project):
    rows = project.query("select data_source, is_stale, stale_since from {schema}.fct_kpi_freshness")
    stale = {r["data_source"]: as_date(r["stale_since"]) for r in rows if r["is_stale"]}
    assert stale == {
        "stopped_busy": AS_OF - dt.timedelta(days=3),
        "stopped_weekdays": AS_OF - dt.timedelta(days=1),
    }
    assert len(rows) == len(NAMES)
