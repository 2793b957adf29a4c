"""The package's checks of the definition seeds (tests/dbt/seeds/check_seed_*.sql, one singular
test per seed, over macros/okrs/seed_checks.sql and seed_tests.sql).

A consumer project holds the six definition seeds and copies no YAML of the package; the package's
seed tests ref them and apply anyway. The clean seeds pass; each broken variant stops `dbt build`
with a message naming the seed file, the column and the row.
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
THRESHOLDS = """\
kpi_id,grain,severity,lower_bound,upper_bound
sales,month,warning,5,
"""
CLEAN = {"kpi_definitions": KPI_DEFINITIONS, "kpi_thresholds": THRESHOLDS, "okr_cycles": CYCLES,
         "okr_objectives": OBJECTIVES, "okr_key_results": KEY_RESULTS, "okr_check_ins": CHECK_INS}
TAIL = "latest_period,1,2,absolute,,ann\n"


def kpi_row(direction="higher_is_better", aggregation="count", frequency="daily", kpi_id="leads") -> str:
    return f"{kpi_id},Leads,count,,{direction},{aggregation},a@x.example,crm,{frequency}\n"

SEEDS = "okr_cycles okr_objectives okr_key_results okr_check_ins kpi_definitions kpi_thresholds"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("okr_seed_checks")
    # no YAML copied: the package's seed tests (tests/dbt/seeds/) ref the consumer project's seeds
    return make_consumer_project(tmp, seeds=CLEAN)


def build_with(project, **changed: str):
    """Write the clean seeds with `changed` ones replaced, then build the seeds and their tests."""
    for name, text in {**CLEAN, **changed}.items():
        (project.path / "seeds" / f"{name}.csv").write_text(textwrap.dedent(text))
    # --full-refresh: a seed whose column changes type (a number column given a word) is created anew
    return project.dbt("build", "--select", SEEDS, "--indirect-selection", "cautious", "--full-refresh",
                       check=False)


def test_clean_seeds_pass(project):
    proc = build_with(project)
    assert proc.returncode == 0, proc.stdout[-4000:]
    for seed in CLEAN:  # the checks did run, one test per seed
        assert f"PASS check_seed_{seed} " in proc.stdout, proc.stdout[-4000:]


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
    # types: numbers and dates
    ("okr_check_ins", CHECK_INS + "kr-2,2024-01-20,lots,0.5,\n",
     "value", "key_result_id=kr-2", "'lots' is not a number"),
    ("okr_check_ins", CHECK_INS + "kr-2,someday,1,0.5,\n",
     "check_in_date", "key_result_id=kr-2", "'someday' is not a date (YYYY-MM-DD)"),
    ("okr_cycles", CYCLES + "c2,Q2,2024-04-01,end of june\n",
     "end_date", "cycle_id=c2", "'end of june' is not a date"),
    ("okr_key_results", KEY_RESULTS + "kr-3,o-a,Soft,increase,sales,month,latest_period,1,more,absolute,,\n",
     "target", "key_result_id=kr-3", "'more' is not a number"),
    # the KPI registry and the thresholds
    ("kpi_definitions", KPI_DEFINITIONS + kpi_row(direction="up"),
     "direction", "kpi_id=leads", "'up' is not one of higher_is_better, lower_is_better"),
    ("kpi_definitions", KPI_DEFINITIONS + kpi_row(aggregation="median"),
     "aggregation", "kpi_id=leads", "'median' is not one of sum, count"),
    ("kpi_definitions", KPI_DEFINITIONS + kpi_row(kpi_id="sales"),
     "kpi_id", "kpi_id=sales", "'sales' appears in more than one row"),
    ("kpi_definitions", KPI_DEFINITIONS + kpi_row(frequency="hourly"),
     "reporting_frequency", "kpi_id=leads", "'hourly' is not one of daily, weekly"),
    ("kpi_thresholds", THRESHOLDS + "salez,month,critical,1,\n",
     "kpi_id", "kpi_id=salez", "'salez' is not found in kpi_definitions.kpi_id"),
    ("kpi_thresholds", THRESHOLDS + "sales,fortnight,critical,1,\n",
     "grain", "kpi_id=sales", "'fortnight' is not one of day, week"),
    ("kpi_thresholds", THRESHOLDS + "sales,month,fatal,1,\n",
     "severity", "kpi_id=sales", "'fatal' is not one of warning, critical"),
    ("kpi_thresholds", THRESHOLDS + "sales,month,critical,,ten\n",
     "upper_bound", "kpi_id=sales", "'ten' is not a number"),
])
def test_broken_seed_stops_the_build_naming_seed_column_and_row(project, seed, text, column, row, problem):
    proc = build_with(project, **{seed: text})
    assert proc.returncode != 0, proc.stdout[-3000:]
    out = proc.stdout
    assert f"Seed check failed: {seed} (seeds/{seed}.csv), column {column}:" in out, out[-3000:]
    assert row in out and problem in out, out[-3000:]


def test_every_failing_column_is_named_in_one_message(project):
    proc = build_with(project, okr_objectives=OBJECTIVES + "o-b,c9,Two problems,division,b,bob,o-co\n")
    assert proc.returncode != 0
    out = proc.stdout
    for column, problem in (("cycle_id", "'c9' is not found in okr_cycles.cycle_id"),
                            ("level", "'division' is not one of company, team, individual")):
        header = f"Seed check failed: okr_objectives (seeds/okr_objectives.csv), column {column}:"
        assert header in out, out[-3000:]
        assert problem in out
    # the seeds the broken one does not touch still pass their checks
    assert "PASS check_seed_okr_cycles " in out and "PASS check_seed_kpi_definitions " in out


def test_a_missing_column_is_named(project):
    without_measure = "\n".join(",".join(cell for i, cell in enumerate(line.split(",")) if i != 6)
                                for line in KEY_RESULTS.strip().splitlines()) + "\n"
    proc = build_with(project, okr_key_results=without_measure)
    assert proc.returncode != 0
    assert ("Seed check failed: okr_key_results (seeds/okr_key_results.csv): missing column(s) measure; "
            "its header row must name key_result_id, objective_id") in proc.stdout, proc.stdout[-3000:]


def test_the_checks_are_package_nodes_and_no_yaml_is_copied(project):
    import json
    from pathlib import Path

    own_yaml = {p.relative_to(project.path).as_posix() for p in project.path.rglob("*.yml")
                if "dbt_packages" not in p.parts}
    assert own_yaml <= {"dbt_project.yml", "packages.yml", "package-lock.yml"}  # no seed YAML copied
    manifest = json.loads((Path(project.env["DBT_TARGET_PATH"]) / "manifest.json").read_text())
    checks = {n["name"]: n for n in manifest["nodes"].values() if n["name"].startswith("check_seed_")}
    assert set(checks) == {f"check_seed_{seed}" for seed in CLEAN}
    for name, node in checks.items():
        assert node["package_name"] == "okr_kpi" and node["resource_type"] == "test"
        seeds = {d.split(".")[-1] for d in node["depends_on"]["nodes"]}
        assert name.removeprefix("check_seed_") in seeds
        assert all(d.startswith("seed.okr_kpi_fixture.") for d in node["depends_on"]["nodes"])
