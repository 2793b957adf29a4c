"""`okr-kpi check` after a partial dbt build that left out int_kpi_threshold_candidates.

Fixture (DuckDB, a consumer project): one KPI `sales` (sum, daily) over 14 days of 100 a day, one
threshold row (day, warning, lower bound 0: no day breaches it) and one mirrored source test
(not_null on the input seed's kpi_id, as a source). Built with `dbt seed` and
`dbt build --select +fct_kpi_periods`, the view the threshold suites read is missing: the check
says so once, exits 1 (ERROR, as for any check that could not run), reports no engine error for
it, and the source suite still runs (1 expectation, 1 passed). Once the view is built the same
check passes: 2 expectations (the threshold row and the source test), 2 passed, exit 0.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from harness import fixture_inputs_model, make_consumer_project

AS_OF = "2024-01-14"
DAYS = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(14)]
SOURCES = """\
    version: 2
    sources:
      - name: fixture
        schema: "{{ env_var('OKR_KPI_SCHEMA') }}"
        tables:
          - name: fixture_kpi_inputs
            columns:
              - name: kpi_id
                data_tests: [not_null]
"""
MESSAGE = (
    "int_kpi_threshold_candidates is not built in okr_kpi: run `dbt build` "
    "(or `dbt build --select +int_kpi_threshold_candidates`) first"
)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    inputs = "kpi_id,date_day,numerator,denominator\n" + "\n".join(f"sales,{d},100,1" for d in DAYS)
    project = make_consumer_project(
        tmp_path_factory.mktemp("partial_build"),
        seeds={
            "kpi_definitions": """
                kpi_id,name,description,unit,direction,aggregation,owner,data_source,reporting_frequency
                sales,Sales,sum KPI,EUR,higher_is_better,sum,sales@x.example,orders,daily
            """,
            "kpi_thresholds": "kpi_id,grain,severity,lower_bound,upper_bound\nsales,day,warning,0,\n",
            "fixture_kpi_inputs": inputs,
        },
        models={"fixture_inputs": fixture_inputs_model()},
        kpi_inputs=["fixture_inputs"],
        vars={"as_of_date": AS_OF},
        extra_files={"models/sources.yml": SOURCES},
    )
    project.dbt("seed")
    project.dbt("build", "--select", "+fct_kpi_periods", "--indirect-selection", "cautious")
    return project


def check(project) -> subprocess.CompletedProcess:
    okr_kpi = str(Path(sys.executable).parent / "okr-kpi")
    return subprocess.run(
        [okr_kpi, "check", "--target", "duckdb", "--as-of", AS_OF, "--full-history"],
        env={**project.env, "OKR_KPI_PROJECT_DIR": str(project.path)},
        cwd=project.path, capture_output=True, text=True,
    )


def relations(project) -> set[str]:
    return {r["table_name"] for r in project.query(
        "select table_name from information_schema.tables where table_schema = '{schema}'")}


def test_a_missing_threshold_view_is_one_clear_error_then_the_check_passes(project):
    assert "int_kpi_threshold_candidates" not in relations(project)
    assert {"fct_kpi_periods", "kpi_thresholds"} <= relations(project)
    proc = check(project)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out  # ERROR: the threshold suites could not run
    assert out.count(MESSAGE) == 1, out
    assert "1 expectations, 1 passed" in out and "0 engine errors" in out, out  # the source suite ran
    for noise in ("does not exist", "Catalog Error", "kpi_thresholds__sales__day", "Traceback"):
        assert noise not in out, out

    project.dbt("build", "--select", "int_kpi_threshold_candidates")
    assert "int_kpi_threshold_candidates" in relations(project)
    proc = check(project)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "2 expectations, 2 passed, 0 data-quality failures, 0 warnings, 0 threshold breaches, " \
           "0 engine errors" in out, out
    assert "not built" not in out
