"""The MetricFlow semantic layer: `mf query` returns the same values as fct_kpi_periods.

Two builds:
- the demo company (`okr-kpi generate --rows 20000`): every KPI at every grain through mf,
  compared with fct_kpi_periods (two independent computations of the same numbers), and the
  business slices (lead source, plan, region) adding up to their KPI;
- a consumer project with the hand-worked fixture of test_kpi_aggregation, whose metrics are
  written by `okr-kpi semantic` from its own registry: mf gives the hand-computed values, and a
  deliberately wrong metric (a ratio KPI summed as a simple metric) is caught by the comparison.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from harness import DBT, DEMO_DIR, fixture_inputs_model, make_consumer_project, target_env
from mf_helpers import GRAINS, mf_query, mismatches, periods_by_metric
from okr_kpi import semantic
from test_kpi_aggregation import AS_OF, INPUTS, KPI_DEFINITIONS

OKR_KPI = str(Path(sys.executable).parent / "okr-kpi")
DEMO_AS_OF = "2026-08-31"


def demo_kpi_ids() -> list[str]:
    return [kpi.kpi_id for kpi in semantic.read_kpis(DEMO_DIR / "seeds/kpi_definitions.csv")]


def mart_periods(query, grain: str) -> dict[tuple[str, str], float | None]:
    sql = f"select kpi_id, period_start, value from {{schema}}.fct_kpi_periods where grain = '{grain}'"
    rows = query(sql)
    return {(r["kpi_id"], str(r["period_start"])): r["value"] for r in rows}


# --- the demo company ---------------------------------------------------------------------------

class DemoBuild:
    def __init__(self, tmp: Path):
        self.env = target_env(tmp)
        run = subprocess.run([OKR_KPI, "generate", "--rows", "20000", "--seed", "7"], cwd=DEMO_DIR,
                             env=self.env, text=True, capture_output=True)
        assert run.returncode == 0, run.stdout + run.stderr
        build = subprocess.run(
            [DBT, "build", "--project-dir", str(DEMO_DIR),
             "--select", "+fct_kpi_periods", "+models/semantic", "metricflow_time_spine",
             "--resource-type", "model", "--resource-type", "seed",
             "--vars", f'{{"as_of_date": "{DEMO_AS_OF}"}}'],
            cwd=DEMO_DIR, env=self.env, text=True, capture_output=True)
        assert build.returncode == 0, build.stdout[-6000:]

    def query(self, sql: str) -> list[dict]:
        import duckdb

        con = duckdb.connect(self.env["OKR_KPI_DUCKDB_PATH"], read_only=True)
        try:
            cur = con.execute(sql.replace("{schema}", self.env["OKR_KPI_SCHEMA"]))
            cols = [d[0] for d in cur.description]
            return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]
        finally:
            con.close()

    def mf(self, metrics, group_by, where=None):
        return mf_query(DEMO_DIR, self.env, metrics, group_by, where)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return DemoBuild(tmp_path_factory.mktemp("mf_demo"))


@pytest.mark.parametrize("grain", GRAINS)
def test_every_kpi_through_mf_equals_fct_kpi_periods(demo, grain):
    kpis = demo_kpi_ids()
    assert len(kpis) == 17
    mf_values = periods_by_metric(demo.mf(kpis, [f"metric_time__{grain}"]), grain)
    mart = mart_periods(demo.query, grain)
    assert {k for k, _ in mart} == set(kpis)  # every KPI has rows at this grain
    assert len(mart) == len(mf_values)
    assert mismatches(mf_values, mart) == []


def test_business_slices_add_up_to_their_kpi(demo):
    # Leads by source, completed revenue by customer region and churned subscriptions by plan,
    # summed over the slices, are the KPIs new_leads, revenue and churned_customers.
    slices = {
        "demo_lead_count": ("new_leads", "lead__lead_source"),
        "demo_completed_order_revenue": ("revenue", "customer__region"),
        "demo_subscriptions_cancelled": ("churned_customers", "subscription_event__plan"),
    }
    mart = mart_periods(demo.query, "quarter")
    for metric, (kpi, dimension) in slices.items():
        rows = demo.mf([metric], ["metric_time__quarter", dimension])
        assert len({r[dimension] for r in rows}) >= 3, (metric, dimension)  # really sliced
        totals: dict[str, float] = {}
        for row in rows:
            start = row["metric_time__quarter"][:10]
            totals[start] = totals.get(start, 0.0) + (row[metric] or 0.0)
        kpi_quarters = {start: value for (k, start), value in mart.items() if k == kpi and value}
        assert totals.keys() >= kpi_quarters.keys(), metric
        for start, value in kpi_quarters.items():
            assert totals[start] == pytest.approx(value), (metric, start)


def test_committed_metrics_yaml_is_up_to_date():
    paths = semantic.default_paths(DEMO_DIR)
    assert paths.out == DEMO_DIR / "models/semantic/_kpi__metrics.yml"
    assert semantic.stale_diff(paths) == "", "run `okr-kpi semantic` and commit the result"


# --- a consumer project with hand-computed values ---------------------------------------------------

# Minimal valid OKR seeds (SPEC: seeds): the package's OKR models need them to parse.
OKR_SEEDS = {
    "okr_cycles": """
        cycle_id,name,start_date,end_date
        2024-q1,Q1 2024,2024-01-01,2024-03-31
    """,
    "okr_objectives": """
        objective_id,cycle_id,title,level,team,owner,parent_objective_id
        grow,2024-q1,Grow,company,,ceo,
    """,
    "okr_key_results": """
        key_result_id,objective_id,title,kr_type,kpi_id,grain,measure,baseline,target,target_kind,weight,owner
        kr-rev,grow,Monthly revenue to 20,increase,rev,month,latest_period,10,20,absolute,1,ceo
        kr-launch,grow,Launch,milestone,,,,0,1,absolute,1,ceo
    """,
    "okr_check_ins": """
        key_result_id,check_in_date,value,confidence,note
        kr-launch,2024-01-15,0,0.5,started
    """,
}

WRONG_METRIC = """\
version: 2
metrics:
  - name: conv_summed_wrongly
    label: Conversion summed as a simple metric (wrong on purpose)
    type: simple
    type_params:
      measure: kpi_numerator
    filter: "{{ Entity('kpi') }} = 'conv'"
"""


@pytest.fixture(scope="module")
def consumer(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mf_consumer")
    project = make_consumer_project(
        tmp,
        seeds={"kpi_definitions": KPI_DEFINITIONS, "fixture_kpi_inputs": INPUTS,
               "kpi_thresholds": "kpi_id,grain,severity,lower_bound,upper_bound\n", **OKR_SEEDS},
        models={"fixture_inputs": fixture_inputs_model()},
        kpi_inputs=["fixture_inputs"],
        vars={"as_of_date": AS_OF},
        extra_files={"models/semantic/wrong.yml": WRONG_METRIC},
    )
    # the consumer writes its own metrics from its own registry, with the CLI
    env = {**project.env, "OKR_KPI_PROJECT_DIR": str(project.path)}
    gen = subprocess.run([OKR_KPI, "semantic"], cwd=project.path, env=env, text=True, capture_output=True)
    assert gen.returncode == 0, gen.stdout + gen.stderr
    assert (project.path / "models/semantic/_kpi__metrics.yml").exists()
    project.dbt("build", "--select", "+fct_kpi_periods", "metricflow_time_spine", "--resource-type", "model",
                "--resource-type", "seed")
    return project


def consumer_mf(project, metrics, grain):
    return periods_by_metric(mf_query(project.path, project.env, metrics, [f"metric_time__{grain}"]), grain)


def test_consumer_metrics_give_hand_computed_values(consumer):
    kpis = ["rev", "cnt", "conv", "avg_kpi", "stock", "lo", "hi"]
    by_grain = {grain: consumer_mf(consumer, kpis, grain) for grain in GRAINS}
    month, week = by_grain["month"], by_grain["week"]
    assert month[("rev", "2024-01-01")] == 5 + 7
    assert month[("cnt", "2024-01-01")] == 2 + 1
    assert month[("conv", "2024-01-01")] == pytest.approx(4 / 15)  # not the mean of daily ratios (0.35)
    assert week[("conv", "2024-01-08")] is None  # 0 / 0: null, no error
    assert week[("avg_kpi", "2024-01-08")] == pytest.approx((30 + 20) / (3 + 1))
    assert month[("stock", "2024-01-01")] == 120  # last day of January, across the month end
    assert week[("stock", "2024-01-29")] == 90  # week Mon 2024-01-29 .. Sun 2024-02-04
    assert month[("lo", "2024-01-01")] == 3 and month[("hi", "2024-01-01")] == 8
    # and every value at every grain equals fct_kpi_periods
    for grain, values in by_grain.items():
        assert mismatches(values, mart_periods(consumer.query, grain)) == [], grain


def test_comparison_catches_a_wrong_metric(consumer):
    # conv summed as a simple metric gives January 4 instead of 4/15: the comparison must fail.
    wrong = consumer_mf(consumer, ["conv_summed_wrongly"], "month")
    renamed = {("conv", start): value for (_, start), value in wrong.items()}
    mart = {k: v for k, v in mart_periods(consumer.query, "month").items() if k[0] == "conv"}
    bad = mismatches(renamed, mart)
    assert (("conv", "2024-01-01"), 4.0, pytest.approx(4 / 15)) in bad


# --- the generator ------------------------------------------------------------------------------------

def write_registry(tmp_path: Path, rows: str) -> Path:
    path = tmp_path / "kpi_definitions.csv"
    header = "kpi_id,name,description,unit,direction,aggregation,owner,data_source,reporting_frequency\n"
    path.write_text(header + textwrap.dedent(rows).strip() + "\n")
    return path


def test_generator_maps_each_aggregation_to_its_metric_shape(tmp_path):
    seed = write_registry(tmp_path, """
        a,A,,EUR,higher_is_better,sum,o,s,daily
        b,B,,x,higher_is_better,ratio,o,s,daily
        c,C,,x,higher_is_better,last,o,s,daily
        d,D,,x,higher_is_better,min,o,s,daily
    """)
    import yaml

    text = semantic.render_metrics(semantic.read_kpis(seed), source="kpi_definitions.csv")
    metrics = {m["name"]: m for m in yaml.safe_load(text)["metrics"]}
    assert metrics["a"]["type_params"] == {"measure": "kpi_numerator"}
    assert metrics["a"]["filter"] == "{{ Entity('kpi') }} = 'a'"
    assert metrics["b"]["type"] == "ratio"
    assert metrics["b"]["type_params"]["numerator"] == {"name": "kpi_numerator_total",
                                                        "filter": "{{ Entity('kpi') }} = 'b'"}
    assert metrics["b"]["type_params"]["denominator"]["name"] == "kpi_denominator_total"
    assert metrics["c"]["type_params"] == {"measure": "kpi_value_last"}
    assert metrics["d"]["type_params"] == {"measure": "kpi_value_min"}
    assert "enabled" not in metrics["a"]["config"]


@pytest.mark.parametrize(("rows", "message"), [
    ("Bad-Id,A,,x,higher_is_better,sum,o,s,daily",
     "kpi_definitions.csv:2 (row 1): kpi_id: 'Bad-Id' cannot be"),
    ("a__b,A,,x,higher_is_better,sum,o,s,daily", "'a__b' cannot be a MetricFlow metric name"),
    ("kpi_numerator_total,A,,x,higher_is_better,sum,o,s,daily", "is reserved"),
    ("a,A,,x,higher_is_better,sum,o,s,daily\na,B,,x,higher_is_better,sum,o,s,daily",
     ":3 (row 2): kpi_id: 'a' is registered twice (first on row 1)"),
    ("a,A,,x,higher_is_better,median,o,s,daily", "aggregation"),
])
def test_generator_rejects_bad_registries_naming_file_row_and_column(tmp_path, rows, message):
    seed = write_registry(tmp_path, rows)
    with pytest.raises(semantic.SemanticError, match="problem") as err:
        semantic.read_kpis(seed)
    assert message in str(err.value)
    assert str(seed) in str(err.value)


def test_check_detects_a_stale_metrics_file(tmp_path):
    seed = write_registry(tmp_path, "a,A,,x,higher_is_better,sum,o,s,daily")
    paths = semantic.Paths(seed=seed, out=tmp_path / "metrics.yml", enabled_var=None, source="x.csv")
    assert semantic.stale_diff(paths) != ""  # no file yet
    assert semantic.write(paths) is True
    assert semantic.stale_diff(paths) == ""
    assert semantic.write(paths) is False
    write_registry(tmp_path, "a,A,,x,higher_is_better,sum,o,s,daily\nb,B,,x,higher_is_better,max,o,s,daily")
    assert "+  - name: b" in semantic.stale_diff(paths)
