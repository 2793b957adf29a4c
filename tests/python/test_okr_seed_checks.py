"""The OKR seed structure tests (seeds/demo/_okr__seeds.yml, macros/okrs/seed_tests.sql).

A consumer project holds the OKR seeds; the package's seed tests apply to them. The clean seeds pass;
each broken variant stops `dbt build` with a message naming the seed file, the column and the row.
"""

from __future__ import annotations

import textwrap

import pytest
from harness import make_consumer_project

KPI_DEFINITIONS = """\
kpi_id,name,description,unit,direction,aggregation,owner,data_source,reporting_frequency
sales,Sales,sum KPI,EUR,higher_is_better,sum,a@x.example,orders,daily
"""
CYCLES = """\
cycle_id,name,start_date,end_date
c1,Q1,2024-01-01,2024-03-31
"""
OBJECTIVES = """\
objective_id,cycle_id,title,level,team,owner,parent_objective_id
o-co,c1,Company,company,,ceo,
o-a,c1,Team A,team,a,ann,o-co
"""
KEY_RESULTS = """\
key_result_id,objective_id,title,kr_type,kpi_id,grain,measure,baseline,target,target_kind,weight,owner
kr-1,o-a,Sales up,increase,sales,month,latest_period,10,20,absolute,,ann
kr-2,o-a,Launch,milestone,,,,0,1,absolute,1,ann
"""
CHECK_INS = """\
key_result_id,check_in_date,value,confidence,note
kr-2,2024-01-15,0,0.5,
"""
CLEAN = {"kpi_definitions": KPI_DEFINITIONS, "okr_cycles": CYCLES, "okr_objectives": OBJECTIVES,
         "okr_key_results": KEY_RESULTS, "okr_check_ins": CHECK_INS}
TAIL = "latest_period,1,2,absolute,,ann\n"
OKR_SEEDS = "okr_cycles okr_objectives okr_key_results okr_check_ins kpi_definitions"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("okr_seed_checks")
    # no copy of the YAML: the package's seed tests (seeds/demo/_okr__seeds.yml) ref the seeds by
    # name, so they check the consumer project's own OKR seeds
    return make_consumer_project(tmp, seeds=CLEAN)


def build_with(project, **changed: str):
    """Write the clean seeds with `changed` ones replaced, then build the OKR seeds and their tests."""
    for name, text in {**CLEAN, **changed}.items():
        (project.path / "seeds" / f"{name}.csv").write_text(textwrap.dedent(text))
    return project.dbt("build", "--select", OKR_SEEDS, "--indirect-selection", "cautious", check=False)


def test_clean_seeds_pass(project):
    proc = build_with(project)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "okr_kpi_seed_link_okr_key_results_objective_id" in proc.stdout  # the checks did run


@pytest.mark.parametrize(("seed", "text", "column", "row", "problem"), [
    ("okr_key_results", KEY_RESULTS + "kr-3,nope,Orphan,increase,sales,month," + TAIL,
     "objective_id", "key_result_id=kr-3", "'nope' is not found in okr_objectives.objective_id"),
    ("okr_key_results", KEY_RESULTS + "kr-3,o-a,Unknown KPI,increase,salez,month," + TAIL,
     "kpi_id", "key_result_id=kr-3", "'salez' is not found in kpi_definitions.kpi_id"),
    ("okr_key_results", KEY_RESULTS + "kr-1,o-a,Twice,increase,sales,month," + TAIL,
     "key_result_id", "key_result_id=kr-1", "'kr-1' appears in more than one row"),
    ("okr_key_results", KEY_RESULTS + "kr-3,o-a,Bad type,grow,sales,month," + TAIL,
     "kr_type", "key_result_id=kr-3", "'grow' is not one of increase, decrease, maintain_above"),
    ("okr_key_results", KEY_RESULTS + "kr-3,o-a,Bad grain,increase,sales,fortnight," + TAIL,
     "grain", "key_result_id=kr-3", "'fortnight' is not one of day, week"),
    ("okr_key_results", KEY_RESULTS + "kr-3,o-a,No target,increase,sales,month,latest_period,1,,absolute,,\n",
     "target", "key_result_id=kr-3", "is empty"),
    ("okr_objectives", OBJECTIVES + "o-b,c9,Wrong cycle,team,b,bob,o-co\n",
     "cycle_id", "objective_id=o-b", "'c9' is not found in okr_cycles.cycle_id"),
    ("okr_objectives", OBJECTIVES + "o-b,c1,Lost parent,team,b,bob,o-zz\n",
     "parent_objective_id", "objective_id=o-b", "'o-zz' is not found in okr_objectives.objective_id"),
    ("okr_objectives", OBJECTIVES + "o-b,c1,Bad level,division,b,bob,o-co\n",
     "level", "objective_id=o-b", "'division' is not one of company, team, individual"),
    ("okr_objectives", OBJECTIVES + ",c1,No id,team,b,bob,o-co\n",
     "objective_id", "objective_id=(empty)", "is empty"),
    ("okr_cycles", CYCLES + "c1,Again,2024-04-01,2024-06-30\n",
     "cycle_id", "cycle_id=c1", "'c1' appears in more than one row"),
    ("okr_check_ins", CHECK_INS + "kr-9,2024-01-20,0,0.5,\n",
     "key_result_id", "key_result_id=kr-9", "'kr-9' is not found in okr_key_results.key_result_id"),
    ("okr_check_ins", CHECK_INS + "kr-2,2024-01-15,0,0.5,\n",
     "key_result_id, check_in_date", "key_result_id=kr-2", "appears in more than one row"),
])
def test_broken_seed_stops_the_build_naming_seed_column_and_row(project, seed, text, column, row, problem):
    proc = build_with(project, **{seed: text})
    assert proc.returncode != 0, proc.stdout[-3000:]
    out = proc.stdout
    assert f"OKR seed check failed: {seed} (seeds/{seed}.csv), column {column}:" in out, out[-3000:]
    assert row in out and problem in out, out[-3000:]
