"""The var as_of_date pinned in a project's dbt_project.yml is the toolkit's default as_of too.

`dbt build` in a project that pins `vars: as_of_date:` builds as of that day (the okr-kpi init
template suggests pinning it to replay a day); `okr-kpi run` without --as-of used yesterday
instead, so the marts, the lifecycle and the digest disagreed with the user's own build. The run
of the clinic (test_vetcare_project.py) relies on the pin end to end; here the reading rules and
the refusal of a pinned day in the future (exit 2, nothing touched).
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path

import pytest
from harness import REPO, write_profile_project
from okr_kpi.project import OkrKpiError, Project

OKR_KPI = str(Path(os.sys.executable).parent / "okr-kpi")


def project_with_vars(tmp_path: Path, vars_yaml: str) -> Project:
    write_profile_project(tmp_path)
    # the package "installed" as `dbt deps` would install this checkout's (a local package: a link)
    (tmp_path / "packages.yml").write_text(f"packages:\n  - local: {REPO}\n")
    (tmp_path / "dbt_packages").mkdir()
    (tmp_path / "dbt_packages" / "okr_kpi").symlink_to(REPO)
    yml = tmp_path / "dbt_project.yml"
    yml.write_text(yml.read_text() + vars_yaml)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OKR_KPI_DUCKDB_PATH", str(tmp_path / "w.duckdb"))
        mp.delenv("OKR_KPI_AS_OF_DATE", raising=False)
        return Project(project_dir=tmp_path, profiles_dir=tmp_path, target="duckdb")


@pytest.mark.parametrize(("vars_yaml", "expected"), [
    ('vars:\n  as_of_date: "2025-03-16"\n', "2025-03-16"),
    ("vars:\n  as_of_date: 2024-02-29\n", "2024-02-29"),             # YAML reads a date
    ('vars:\n  okr_kpi:\n    as_of_date: "2023-12-31"\n  as_of_date: "2020-01-01"\n', "2023-12-31"),
    ('vars:\n  as_of_date: "{{ env_var(\'AS_OF\') }}"\n', None),      # templated: not readable here
    ("vars:\n  other: 1\n", None),
    ("", None),
])
def test_the_pinned_var_is_read_as_dbt_reads_it(tmp_path, vars_yaml, expected):
    project = project_with_vars(tmp_path, vars_yaml)
    assert project.pinned_as_of() == expected
    day, source = project.default_as_of()
    if expected:
        assert (day, source) == (expected, "the var as_of_date pinned in dbt_project.yml")
    else:
        assert (day, source) == ((dt.date.today() - dt.timedelta(days=1)).isoformat(), "yesterday")


def test_the_environment_variable_wins_over_the_pin_as_in_the_sql(tmp_path, monkeypatch):
    project = project_with_vars(tmp_path, 'vars:\n  as_of_date: "2025-03-16"\n')
    monkeypatch.setenv("OKR_KPI_AS_OF_DATE", "2025-01-31")
    assert project.default_as_of() == ("2025-01-31", "the environment variable OKR_KPI_AS_OF_DATE")


def test_a_pinned_var_that_is_no_date_is_an_error_naming_the_file(tmp_path):
    project = project_with_vars(tmp_path, 'vars:\n  as_of_date: "2025-02-30"\n')
    with pytest.raises(OkrKpiError, match=r"dbt_project.yml: vars.as_of_date '2025-02-30' is not a date"):
        project.pinned_as_of()


def test_run_refuses_a_pinned_day_in_the_future_before_touching_anything(tmp_path):
    project_with_vars(tmp_path, 'vars:\n  as_of_date: "2999-01-01"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OKR_KPI_", "DBT_"))}
    env.update(OKR_KPI_DUCKDB_PATH=str(tmp_path / "w.duckdb"), DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    proc = subprocess.run([OKR_KPI, "run", "--project-dir", str(tmp_path), "--profiles-dir", str(tmp_path),
                           "--target", "duckdb"], env=env, text=True, capture_output=True, timeout=300)
    assert proc.returncode == 2, proc.stderr[-3000:]
    pinned = "as_of_date 2999-01-01 (the var as_of_date pinned in dbt_project.yml)"
    assert f"{pinned} is in the future" in proc.stderr
    assert not (tmp_path / "w.duckdb").exists()  # nothing built, nothing written
    # an explicit --as-of wins over the pin
    proc = subprocess.run([OKR_KPI, "run", "--project-dir", str(tmp_path), "--profiles-dir", str(tmp_path),
                           "--target", "duckdb", "--as-of", "2998-01-01"], env=env, text=True,
                          capture_output=True, timeout=300)
    assert proc.returncode == 2 and "--as-of 2998-01-01 is in the future" in proc.stderr, proc.stderr[-3000:]
