"""The segment as a MetricFlow dimension: `mf query --metrics <kpi_id>_by_segment` grouped by
segment dimension and value equals fct_kpi_segment_periods (docs/semantic_layer.md, "By segment").

One DuckDB build of the events and KPIs of test_segments_marts (every aggregation kind, some
declared by one dimension, some by two, `(none)` segments, days without events), its metrics
written by `okr-kpi semantic` from its own registry. Real `mf query` at two grains (week, month),
compared with the mart built by dbt and, for a count, a ratio, a stock (last) and a distinct count,
with pandas over the raw events (test_segments_marts.expected_periods, not the package's SQL).
The comparison is shown to fail on a wrong metric (a ratio summed) and on a wrong expectation
(one event fewer). The totals' metrics still equal fct_kpi_periods in the same build.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from harness import as_date
from mf_helpers import mf_query, mismatches, periods_by_metric
from okr_kpi import semantic
from test_segments_marts import (
    AGGREGATION,
    AS_OF,
    CALENDAR,
    DEFINED_DIMENSIONS,
    EVENTS,
    build,
    expected_periods,
    period_start,
    segment_events,
)

OKR_KPI = str(Path(sys.executable).parent / "okr-kpi")
MF_GRAINS = ("week", "month")
ROW_LEVEL = ("count_distinct", "percentile")
SEGMENTED = [k for k, dims in DEFINED_DIMENSIONS.items() if dims]
DAILY_KPIS = [k for k in SEGMENTED if AGGREGATION[k] not in ROW_LEVEL]
ROW_KPIS = [k for k in SEGMENTED if AGGREGATION[k] in ROW_LEVEL]
# the group-by of each family: a semantic model's dimensions are named after its primary entity
ENTITY = {**{k: "segment_day" for k in DAILY_KPIS}, **{k: "segment_row" for k in ROW_KPIS}}

WRONG_METRIC = """\
version: 2
metrics:
  - name: conversion_by_segment_summed_wrongly
    label: Conversion by segment summed as a simple metric (wrong on purpose)
    type: simple
    type_params:
      measure: kpi_segment_numerator
    filter: "{{ Entity('kpi') }} = 'conversion'"
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mf_segments")
    with build("duckdb", tmp, segmented=True) as built:
        (built.path / "models/semantic").mkdir(parents=True, exist_ok=True)
        (built.path / "models/semantic/wrong.yml").write_text(WRONG_METRIC)
        env = {**built.env, "OKR_KPI_PROJECT_DIR": str(built.path)}
        gen = subprocess.run([OKR_KPI, "semantic"], cwd=built.path, env=env, text=True, capture_output=True)
        assert gen.returncode == 0, gen.stdout + gen.stderr
        built.dbt("build", "--select", "+fct_kpi_segment_periods", "+fct_kpi_periods",
                  "metricflow_time_spine", "resource_type:seed", "--indirect-selection", "cautious",
                  "--exclude", "resource_type:test")
        yield built


def mf_by_segment(project, kpis: list[str], grain: str, metric=lambda kpi: f"{kpi}_by_segment") -> dict:
    """{(kpi, dimension, value, period_start): value} of one `mf query` grouped by segment."""
    entity = ENTITY[kpis[0]]
    dimension, value = f"{entity}__segment_dimension", f"{entity}__segment_value"
    rows = mf_query(project.path, project.env, [metric(k) for k in kpis],
                    [f"metric_time__{grain}", dimension, value])
    out = {}
    for row in rows:
        for kpi in kpis:
            key = (kpi, row[dimension], row[value], dt.date.fromisoformat(row[f"metric_time__{grain}"][:10]))
            out[key] = row[metric(kpi)]
    return out


def mart_by_segment(project, kpis: list[str], grain: str) -> dict:
    rows = project.query("select kpi_id, segment_dimension, segment_value, period_start, value "
                         f"from {{schema}}.fct_kpi_segment_periods where grain = '{grain}'")
    return {(r["kpi_id"], r["segment_dimension"], r["segment_value"], as_date(r["period_start"])): r["value"]
            for r in rows if r["kpi_id"] in kpis}


def comparable(mf_values: dict, mart: dict) -> dict:
    """mf's values where they can be compared with the mart (docs/semantic_layer.md, "By segment"):
    - several metrics in one query are outer-joined on the group-by, so a KPI gets null in the
      segments of another KPI's dimensions: those nulls are left out when the mart has no such row;
    - a count_distinct or percentile segment without rows in a period has no row in mf (its
      measure reads the rows): the mart's 0 (distinct count) or null (percentile) there is kept
      as the expectation of the absent row.
    """
    out = {k: v for k, v in mf_values.items() if v is not None or k in mart}
    for key, value in mart.items():
        if key not in out and AGGREGATION[key[0]] in ROW_LEVEL and value in (0, None):
            out[key] = None if value is None else 0.0
    return out


@pytest.mark.parametrize("grain", MF_GRAINS)
@pytest.mark.parametrize("family", ["daily", "rows"])
def test_mf_by_segment_equals_fct_kpi_segment_periods(project, grain, family):
    kpis = DAILY_KPIS if family == "daily" else ROW_KPIS
    mf_values = mf_by_segment(project, kpis, grain)
    mart = mart_by_segment(project, kpis, grain)
    # every kind of the family, every declared dimension, several segments each
    assert {AGGREGATION[k] for k, *_ in mart} == (
        {"count", "sum", "ratio", "average", "min", "last"} if family == "daily" else set(ROW_LEVEL))
    assert {(k, d) for k, d, *_ in mart} == {(k, d) for k in kpis for d in DEFINED_DIMENSIONS[k]}
    assert len(mart) > 30
    assert mismatches(comparable(mf_values, mart), mart) == []


def pandas_by_segment(kpi: str, grain: str, events=EVENTS) -> dict:
    """The same keys from the raw events (pandas), with the marts' empty-period rule: 0 for a
    count or distinct count, null otherwise; a segment exists from the KPI's first day of data."""
    out = {}
    starts = sorted({period_start(grain, d) for d in CALENDAR})
    inputs = EVENTS[EVENTS.converted == 1] if kpi in ("basket", "buyers") else EVENTS
    first = period_start(grain, inputs.event_at.min().date())
    for dimension in DEFINED_DIMENSIONS[kpi]:
        for value in sorted(set(EVENTS[dimension].replace("", "(none)"))):
            seg = segment_events(dimension, value)
            seg = seg[seg.index.isin(events.index)]
            if kpi in ("basket", "buyers"):
                seg = seg[seg.converted == 1]
            if seg.empty:
                continue
            want = expected_periods(kpi, seg)
            for start in starts:
                if start >= first:
                    empty = 0.0 if AGGREGATION[kpi] in ("count", "sum", "count_distinct") else None
                    out[(kpi, dimension, value, start)] = want.get((grain, start), empty)
    return out


@pytest.mark.parametrize("grain", MF_GRAINS)
def test_mf_by_segment_equals_pandas_over_the_raw_events(project, grain):
    # count, ratio (sum of numerators / sum of denominators, not a mean of rates), last, distinct
    daily = mf_by_segment(project, ["leads", "conversion", "stock"], grain)
    rows = mf_by_segment(project, ["buyers"], grain)
    for kpi, mf_values in (("leads", daily), ("conversion", daily), ("stock", daily), ("buyers", rows)):
        want = pandas_by_segment(kpi, grain)
        got = {k: v for k, v in mf_values.items() if k[0] == kpi and (v is not None or k in want)}
        if kpi == "buyers":  # no row in mf for a segment's period without rows: 0 distinct members
            got.update({k: 0.0 for k, v in want.items() if k not in got and v == 0})
        assert len(want) >= 9, kpi
        assert mismatches(got, want) == [], kpi


def test_the_comparison_catches_a_wrong_metric_and_a_wrong_expectation(project):
    # a ratio summed as a simple metric: the number of conversions, not the rate
    wrong = mf_by_segment(project, ["conversion"], "month",
                          metric=lambda _: "conversion_by_segment_summed_wrongly")
    mart = mart_by_segment(project, ["conversion"], "month")
    bad = mismatches(comparable(wrong, mart), mart)
    assert len(bad) > 0.9 * len(mart) > 0  # nearly every segment's every month (0 conversions: 0 either way)
    assert all(got == int(got) for _, got, _ in bad if got is not None)  # counts of conversions, not rates
    # one raw event fewer: pandas disagrees with mf in exactly that event's segments and month
    right = mf_by_segment(project, ["leads"], "month")
    dropped = EVENTS[EVENTS.event_at.dt.date <= AS_OF].iloc[[100]]
    want = pandas_by_segment("leads", "month", EVENTS.drop(index=dropped.index))
    got = {k: v for k, v in right.items() if k[0] == "leads" and (v is not None or k in want)}
    month = period_start("month", dropped.event_at.iloc[0].date())
    segments = {(d, (dropped[d].iloc[0] or "(none)")) for d in DEFINED_DIMENSIONS["leads"]}
    assert {(d, v, s) for (_, d, v, s), *_ in mismatches(got, want)} == {(d, v, month) for d, v in segments}


@pytest.mark.parametrize("grain", MF_GRAINS)
def test_totals_metrics_still_equal_fct_kpi_periods(project, grain):
    kpis = [k for k in AGGREGATION if AGGREGATION[k] not in ROW_LEVEL]
    mf_values = periods_by_metric(mf_query(project.path, project.env, kpis, [f"metric_time__{grain}"]), grain)
    rows = project.query("select kpi_id, period_start, value from {schema}.fct_kpi_periods "
                         f"where grain = '{grain}'")
    mart = {(r["kpi_id"], str(as_date(r["period_start"]))): r["value"] for r in rows if r["kpi_id"] in kpis}
    assert len(mart) == len(mf_values) > 0
    assert mismatches(mf_values, mart) == []


def test_generator_writes_a_segment_metric_only_for_kpis_with_dimensions(tmp_path):
    seed = tmp_path / "kpi_definitions.csv"
    seed.write_text(
        "kpi_id,name,description,unit,direction,aggregation,owner,data_source,reporting_frequency,"
        "percentile,segment_dimensions\n"
        "a,A,,x,higher_is_better,ratio,o,s,daily,,channel | region\n"
        "b,B,,x,higher_is_better,sum,o,s,daily,,\n"
        "c,C,,x,higher_is_better,percentile,o,s,daily,0.9,region\n")
    document = yaml.safe_load(semantic.render_metrics(semantic.read_kpis(seed), source="x"))
    metrics = {m["name"]: m for m in document["metrics"]}
    assert set(metrics) == {"a", "b", "c", "a_by_segment", "c_by_segment"}
    assert metrics["a_by_segment"]["type_params"]["numerator"]["name"] == "kpi_segment_numerator_total"
    assert metrics["a_by_segment"]["type_params"]["denominator"]["filter"] == "{{ Entity('kpi') }} = 'a'"
    assert metrics["c_by_segment"]["type_params"] == {"measure": "kpi_segment_value_p90"}
    models = {m["name"]: m for m in document["semantic_models"]}
    assert models["kpi_segment_rows"]["model"] == "ref('int_kpi_segment_row_inputs')"
    assert [m["name"] for m in models["kpi_segment_rows"]["measures"]] == [
        "kpi_segment_distinct_members", "kpi_segment_value_p90"]
    # a KPI named like another KPI's segment metric is refused
    seed.write_text(seed.read_text() + "a_by_segment,A2,,x,higher_is_better,sum,o,s,daily,,\n")
    with pytest.raises(semantic.SemanticError, match="'a_by_segment' is the metric of 'a' by segment"):
        semantic.read_kpis(seed)
