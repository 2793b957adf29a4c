"""dbt in the toolkit's process (okr_kpi.dbt_invoke, issue 19): results from dbt's result objects,
progress from its structured events, the DuckDB file free afterwards. Real dbt on the demo
project and a real DuckDB file; the expected seeds are read from the project's seeds folder."""

from __future__ import annotations

import contextlib
import subprocess
import sys

import pytest
from harness import DEMO_DIR, demo_company
from okr_kpi import dbt_invoke

WRITE = "import duckdb, sys; duckdb.connect(sys.argv[1]).execute('create table t_probe as select 1 as x')"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    with demo_company(tmp_path_factory.mktemp("dbt_invoke"), rows=2000) as (project, env):
        yield project, env


def seed_names() -> list[str]:
    return sorted(p.stem for p in (DEMO_DIR / "seeds").rglob("*.csv"))


@pytest.mark.parametrize("in_process", [True, False], ids=["in_process", "subprocess"])
def test_seed_results_and_progress_come_from_dbt_objects(demo, monkeypatch, in_process):
    project, _ = demo
    monkeypatch.setattr(dbt_invoke, "in_process", lambda p: in_process)
    steps: list[dbt_invoke.Step] = []
    inv = dbt_invoke.invoke(project, "seed", on_step=steps.append, debug_log=False)
    names = seed_names()
    assert inv.exit_code == 0 and inv.exception is None
    got = sorted(r.node.unique_id.rsplit(".", 1)[1] for r in inv.results)
    assert got == names
    assert {str(getattr(r.status, "value", r.status)) for r in inv.results} == {"success"}
    # one start and one result step per seed, numbered 1..n of n
    assert sorted(s.index for s in steps if s.status == "start") == list(range(1, len(names) + 1))
    assert sorted(s.index for s in steps if s.status == "ok") == list(range(1, len(names) + 1))
    assert {s.total for s in steps} == {len(names)}
    # the DuckDB file is free: another process opens it for writing at once
    proc = subprocess.run([sys.executable, "-c", WRITE, str(project.duckdb_path)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    with contextlib.closing(project.adapter.connect()) as wh:  # and so does this process
        wh.execute("drop table t_probe")


def test_a_failing_node_is_dbt_exit_1_with_that_node_in_error(demo):
    project, _ = demo
    # fct_kpi_daily alone, its upstream models never built: the node runs and fails (exit 1, an
    # error result of that node), not an exception of dbt's
    inv = dbt_invoke.invoke(project, "run", "--select", "fct_kpi_daily", debug_log=False)
    statuses = {r.node.unique_id.rsplit(".", 1)[1]: str(getattr(r.status, "value", r.status))
                for r in inv.results}
    assert inv.exit_code == dbt_invoke.EXIT_FAILED and inv.exception is None
    assert statuses == {"fct_kpi_daily": "error"}
    assert "fct_kpi_daily" in inv.error_text() or "does not exist" in inv.error_text()


def test_an_unknown_option_is_an_exception_not_a_pass(demo):
    project, _ = demo
    inv = dbt_invoke.invoke(project, "build", "--no-such-option", debug_log=False)
    assert inv.exit_code == dbt_invoke.EXIT_EXCEPTION and inv.exception is not None
    assert inv.results == []
