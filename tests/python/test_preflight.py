"""`okr-kpi run` checks what it reads and where it writes before anything is built (issue 14,
findings 3, 8 and 9; okr_kpi/preflight.py; docs/lint.md "What `okr-kpi run` refuses").

A small consumer project is built once with a real `okr-kpi run` (a real DuckDB file, breach
history, runs table). Then every definition seed is mutated in the documented ways (docs/lint.md,
"The seeds-fuzz test"): each mutation is refused with exit 2 and a message naming the file, the
line and the column — and the DuckDB file is byte for byte the same afterwards (so are the breach
history and the outbox) — or it is one of the documented accepted mutations, which then builds.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
from harness import fixture_inputs_model, make_consumer_project

OKR_KPI = str(Path(sys.executable).parent / "okr-kpi")
AS_OF = "2024-03-31"

SEEDS = {
    "kpi_definitions": """\
        kpi_id,name,description,unit,direction,aggregation,owner,data_source,reporting_frequency
        sales,Sales,sum KPI,EUR,higher_is_better,sum,a@x.example,orders,daily
        """,
    "kpi_thresholds": """\
        kpi_id,grain,severity,lower_bound,upper_bound
        sales,month,warning,5,
        sales,day,critical,104,
        """,
    "okr_cycles": """\
        cycle_id,name,start_date,end_date
        c1,Q1,2024-01-01,2024-03-31
        """,
    "okr_objectives": """\
        objective_id,cycle_id,title,level,team,owner,parent_objective_id
        o-co,c1,Company,company,,ceo,
        o-a,c1,Team A,team,a,ann,o-co
        """,
    "okr_key_results": """\
        key_result_id,objective_id,title,kr_type,kpi_id,grain,measure,baseline,target,target_kind,weight,owner
        kr-1,o-a,Sales up,increase,sales,month,latest_period,10,20,absolute,,ann
        kr-2,o-a,Launch,milestone,,,,0,1,absolute,1,ann
        kr-3,o-co,Sales total,increase,sales,month,latest_period,10,30,absolute,2,ceo
        """,
    "okr_check_ins": """\
        key_result_id,check_in_date,value,confidence,note
        kr-2,2024-01-15,0,0.5,
        """,
}


def _inputs() -> str:
    rows = ["kpi_id,date_day,numerator,denominator"]
    for i in range(120):
        rows.append(f"sales,{dt.date(2024, 1, 1) + dt.timedelta(days=i)},{100 + i % 7},1")
    return "\n".join(rows) + "\n"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The consumer project after one real `okr-kpi run` (its warehouse, history and runs)."""
    tmp = tmp_path_factory.mktemp("preflight")
    project = make_consumer_project(tmp, seeds={**SEEDS, "fixture_kpi_inputs": _inputs()},
                                    models={"kpi_inputs": fixture_inputs_model()}, kpi_inputs=["kpi_inputs"])
    with (project.path / "dbt_project.yml").open("a") as f:
        f.write('vars:\n  okr_kpi_kpi_inputs: ["kpi_inputs"]\n')
    env = {**project.env, "OKR_KPI_GX_DIR": str(tmp / "gx"), "OKR_KPI_LOG_DIR": str(tmp / "logs"),
           "DBT_PROJECT_DIR": str(project.path)}
    for name in ("OKR_KPI_SLACK_WEBHOOK_URL", "OKR_KPI_WEBHOOK_URL", "OKR_KPI_CONFIG"):
        env.pop(name, None)
    project.env = env
    first = run(project, "run", "--as-of", AS_OF, "--skip-publish")
    assert first.returncode in (0, 10), first.stderr[-4000:]
    project.originals = {p.name: p.read_bytes() for p in (project.path / "seeds").glob("*.csv")}
    return project


def run(project, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([OKR_KPI, *args], cwd=project.path, env=env or project.env, text=True,
                          capture_output=True, timeout=600)


def db_path(project) -> Path:
    return Path(project.env["OKR_KPI_DUCKDB_PATH"])


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tables(project) -> dict[str, list]:
    """The toolkit's own tables (breach history, outbox, runs, ...) and the seeds, row for row."""
    import duckdb

    con = duckdb.connect(str(db_path(project)), read_only=True)
    try:
        names = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'okr_kpi' and "
            "(table_name like 'okr_kpi_%' or table_name in ('kpi_definitions', 'okr_key_results')) "
            "order by 1").fetchall()]
        return {n: sorted(map(repr, con.execute(f'select * from okr_kpi."{n}"').fetchall())) for n in names}
    finally:
        con.close()


@contextlib.contextmanager
def restored(project):
    """Put the project's seeds back as they were after the block."""
    try:
        yield
    finally:
        seeds = project.path / "seeds"
        for p in seeds.glob("*.csv"):
            if p.name not in project.originals:
                p.unlink()
        for name, data in project.originals.items():
            (seeds / name).write_bytes(data)


# --- the mutations (docs/lint.md, "The seeds-fuzz test") ----------------------------------------

def lines_of(project, seed: str) -> list[str]:
    return project.originals[f"{seed}.csv"].decode().splitlines()


def cell(project, seed: str, line: int, column: str, value: str) -> bytes:
    rows = [r.split(",") for r in lines_of(project, seed)]
    rows[line - 1][rows[0].index(column)] = value
    return ("\n".join(",".join(r) for r in rows) + "\n").encode()


def drop_column(project, seed: str, column: str) -> bytes:
    rows = [r.split(",") for r in lines_of(project, seed)]
    i = rows[0].index(column)
    return ("\n".join(",".join(r[:i] + r[i + 1:]) for r in rows) + "\n").encode()


def add_column(project, seed: str, name: str = "notes", value: str = "kept") -> bytes:
    rows = lines_of(project, seed)
    return ("\n".join([rows[0] + "," + name] + [r + "," + value for r in rows[1:]]) + "\n").encode()


def duplicate_row(project, seed: str, line: int = 2) -> bytes:
    rows = lines_of(project, seed)
    return ("\n".join(rows + [rows[line - 1]]) + "\n").encode()


def extra_cell(project, seed: str, line: int = 2) -> bytes:
    rows = lines_of(project, seed)
    rows[line - 1] += ",oops"
    return ("\n".join(rows) + "\n").encode()


def crlf_bom(project, seed: str) -> bytes:
    return b"\xef\xbb\xbf" + project.originals[f"{seed}.csv"].replace(b"\n", b"\r\n")


# (id, seed, mutation(project) -> new bytes or None to delete the file, expected) where expected is
# (line, column, rule) for a refusal, or "accepted".
def lazy(fn, *args):
    """A mutation: fn(project, *args) when applied."""
    return lambda project: fn(project, *args)


MUTATIONS = [
    # kpi_definitions
    ("kpi-direction-enum", "kpi_definitions", lazy(cell, "kpi_definitions", 2, "direction", "up"),
     (2, "direction", "seed-bad-enum")),
    ("kpi-aggregation-enum", "kpi_definitions", lazy(cell, "kpi_definitions", 2, "aggregation", "Sum"),
     (2, "aggregation", "seed-bad-enum")),
    ("kpi-frequency-empty", "kpi_definitions",
     lazy(cell, "kpi_definitions", 2, "reporting_frequency", ""),
     (2, "reporting_frequency", "seed-empty-value")),
    ("kpi-id-slash", "kpi_definitions", lazy(cell, "kpi_definitions", 2, "kpi_id", "sales/eu"),
     (2, "kpi_id", "seed-bad-id")),
    ("kpi-id-space", "kpi_definitions", lazy(cell, "kpi_definitions", 2, "kpi_id", "sales eu"),
     (2, "kpi_id", "seed-bad-id")),
    ("kpi-id-empty", "kpi_definitions", lazy(cell, "kpi_definitions", 2, "kpi_id", ""),
     (2, "kpi_id", "seed-empty-value")),
    ("kpi-duplicate", "kpi_definitions", lazy(duplicate_row, "kpi_definitions"),
     (3, "kpi_id", "seed-duplicate-key")),
    ("kpi-missing-column", "kpi_definitions", lazy(drop_column, "kpi_definitions", "direction"),
     (1, "direction", "seed-missing-column")),
    ("kpi-row-shape", "kpi_definitions", lazy(extra_cell, "kpi_definitions"), (2, "-", "seed-row-shape")),
    ("kpi-empty-file", "kpi_definitions", lambda p: b"", (0, "-", "seed-unreadable")),
    ("kpi-not-utf8", "kpi_definitions", lambda p: p.originals["kpi_definitions.csv"].replace(b"EUR", b"\xa4"),
     (0, "-", "seed-unreadable")),
    ("kpi-unclosed-quote", "kpi_definitions",
     lambda p: p.originals["kpi_definitions.csv"].replace(b"Sales,sum", b'"Sales,sum'),
     (2, "-", "seed-unreadable")),
    ("kpi-file-missing", "kpi_definitions", lambda p: None, (0, "-", "seed-missing-file")),
    ("kpi-extra-column", "kpi_definitions", lazy(add_column, "kpi_definitions"), "accepted"),
    ("kpi-crlf-bom", "kpi_definitions", lazy(crlf_bom, "kpi_definitions"), "accepted"),
    # kpi_thresholds
    ("threshold-bounds-order", "kpi_thresholds",
     lazy(cell, "kpi_thresholds", 2, "upper_bound", "1"), (2, "lower_bound", "kpi-threshold-bounds")),
    ("threshold-bound-word", "kpi_thresholds", lazy(cell, "kpi_thresholds", 2, "lower_bound", "five"),
     (2, "lower_bound", "seed-bad-number")),
    ("threshold-bound-percent", "kpi_thresholds", lazy(cell, "kpi_thresholds", 3, "lower_bound", "5%"),
     (3, "lower_bound", "seed-bad-number")),
    ("threshold-severity-enum", "kpi_thresholds", lazy(cell, "kpi_thresholds", 2, "severity", "major"),
     (2, "severity", "seed-bad-enum")),
    ("threshold-grain-enum", "kpi_thresholds", lazy(cell, "kpi_thresholds", 2, "grain", "monthly"),
     (2, "grain", "seed-bad-enum")),
    ("threshold-unknown-kpi", "kpi_thresholds", lazy(cell, "kpi_thresholds", 2, "kpi_id", "salez"),
     (2, "kpi_id", "seed-broken-link")),
    ("threshold-duplicate", "kpi_thresholds", lazy(duplicate_row, "kpi_thresholds"),
     (4, "severity", "seed-duplicate-key")),
    ("threshold-crlf-bom", "kpi_thresholds", lazy(crlf_bom, "kpi_thresholds"), "accepted"),
    # okr_cycles
    ("cycle-ends-before-start", "okr_cycles", lazy(cell, "okr_cycles", 2, "end_date", "2023-12-31"),
     (2, "end_date", "okr-cycle-dates")),
    ("cycle-date-not-real", "okr_cycles", lazy(cell, "okr_cycles", 2, "start_date", "2024-02-30"),
     (2, "start_date", "seed-bad-date")),
    ("cycle-date-format", "okr_cycles", lazy(cell, "okr_cycles", 2, "start_date", "01/01/2024"),
     (2, "start_date", "seed-bad-date")),
    ("cycle-date-empty", "okr_cycles", lazy(cell, "okr_cycles", 2, "end_date", ""),
     (2, "end_date", "seed-empty-value")),
    ("cycle-duplicate", "okr_cycles", lazy(duplicate_row, "okr_cycles"),
     (3, "cycle_id", "seed-duplicate-key")),
    ("cycle-missing-column", "okr_cycles", lazy(drop_column, "okr_cycles", "end_date"),
     (1, "end_date", "seed-missing-column")),
    ("cycle-extra-column", "okr_cycles", lazy(add_column, "okr_cycles", "fiscal_year", "2024"), "accepted"),
    # okr_objectives
    ("objective-own-parent", "okr_objectives",
     lazy(cell, "okr_objectives", 2, "parent_objective_id", "o-co"), (2, "parent_objective_id",
                                                                             "okr-parent-circular")),
    ("objective-circle", "okr_objectives", lazy(cell, "okr_objectives", 2, "parent_objective_id", "o-a"),
     (2, "parent_objective_id", "okr-parent-circular")),
    ("objective-unknown-cycle", "okr_objectives", lazy(cell, "okr_objectives", 3, "cycle_id", "c9"),
     (3, "cycle_id", "seed-broken-link")),
    ("objective-unknown-parent", "okr_objectives",
     lazy(cell, "okr_objectives", 3, "parent_objective_id", "o-x"), (3, "parent_objective_id",
                                                                            "seed-broken-link")),
    ("objective-level-enum", "okr_objectives", lazy(cell, "okr_objectives", 3, "level", "Team"),
     (3, "level", "seed-bad-enum")),
    ("objective-id-slash", "okr_objectives",
     lambda p: p.originals["okr_objectives.csv"].replace(b"o-a,c1", b"o/a,c1"),
     (3, "objective_id", "seed-bad-id")),
    # okr_key_results
    ("kr-weight-negative", "okr_key_results", lazy(cell, "okr_key_results", 4, "weight", "-1"),
     (4, "weight", "okr-weight")),
    ("kr-weight-zero", "okr_key_results", lazy(cell, "okr_key_results", 4, "weight", "0"),
     (4, "weight", "okr-weight")),
    ("kr-target-equals-baseline", "okr_key_results", lazy(cell, "okr_key_results", 2, "target", "10"),
     (2, "target", "okr-target-equals-baseline")),
    ("kr-target-word", "okr_key_results", lazy(cell, "okr_key_results", 2, "target", "twenty"),
     (2, "target", "seed-bad-number")),
    ("kr-target-empty", "okr_key_results", lazy(cell, "okr_key_results", 2, "target", ""),
     (2, "target", "seed-empty-value")),
    ("kr-type-enum", "okr_key_results", lazy(cell, "okr_key_results", 2, "kr_type", "grow"),
     (2, "kr_type", "seed-bad-enum")),
    ("kr-unknown-kpi", "okr_key_results", lazy(cell, "okr_key_results", 2, "kpi_id", "salez"),
     (2, "kpi_id", "seed-broken-link")),
    ("kr-unknown-objective", "okr_key_results", lazy(cell, "okr_key_results", 2, "objective_id", "o-b"),
     (2, "objective_id", "seed-broken-link")),
    ("kr-duplicate", "okr_key_results", lazy(duplicate_row, "okr_key_results"),
     (5, "key_result_id", "seed-duplicate-key")),
    ("kr-missing-column", "okr_key_results", lazy(drop_column, "okr_key_results", "target_kind"),
     (1, "target_kind", "seed-missing-column")),
    ("kr-extra-column", "okr_key_results", lazy(add_column, "okr_key_results", "comment", "x"), "accepted"),
    # okr_check_ins
    ("check-in-date", "okr_check_ins", lazy(cell, "okr_check_ins", 2, "check_in_date", "2024-13-01"),
     (2, "check_in_date", "seed-bad-date")),
    ("check-in-confidence", "okr_check_ins", lazy(cell, "okr_check_ins", 2, "confidence", "70"),
     (2, "confidence", "okr-check-in-confidence")),
    ("check-in-unknown-kr", "okr_check_ins", lazy(cell, "okr_check_ins", 2, "key_result_id", "kr-9"),
     (2, "key_result_id", "seed-broken-link")),
    ("check-in-value-empty", "okr_check_ins", lazy(cell, "okr_check_ins", 2, "value", ""),
     (2, "value", "seed-empty-value")),
    ("check-in-duplicate", "okr_check_ins", lazy(duplicate_row, "okr_check_ins"),
     (3, "check_in_date", "seed-duplicate-key")),
    ("check-in-crlf-bom", "okr_check_ins", lazy(crlf_bom, "okr_check_ins"), "accepted"),
]


def apply(project, seed: str, mutate) -> None:
    data = mutate(project)
    path = project.path / "seeds" / f"{seed}.csv"
    if data is None:
        path.unlink()
    else:
        path.write_bytes(data)


def test_seeds_fuzz(built, tmp_path):
    """Every documented mutation of every definition seed: exit 2 naming file, line and column with
    the warehouse file unchanged byte for byte, or accepted by the preflight (then built below)."""
    from click.testing import CliRunner
    from okr_kpi.cli import main
    from okr_kpi.preflight import check_seeds

    db = db_path(built)
    before_hash, before_tables = digest(db), tables(built)
    log = Path(built.env["OKR_KPI_LOG_DIR"]) / "okr_kpi_run.log"
    outcomes = {}
    for mutation_id, seed, mutate, expected in MUTATIONS:
        with restored(built):
            apply(built, seed, mutate)
            if expected == "accepted":
                check_seeds(built.path)  # no PreflightError
                outcomes[mutation_id] = "accepted"
                continue
            log_before = log.read_bytes()
            result = CliRunner().invoke(main, ["run", "--as-of", AS_OF, "--skip-publish",
                                               "--project-dir", str(built.path)], env=built.env)
            line, column, rule = expected
            assert result.exit_code == 2, (mutation_id, result.output[-3000:])
            where = f"{seed}.csv:{line}: {column}: ERROR {rule}:"
            assert where in result.output, (mutation_id, result.output)
            assert "Traceback" not in result.output, mutation_id
            assert digest(db) == before_hash, mutation_id  # not even opened
            assert not Path(str(db) + ".wal").exists(), mutation_id
            assert log.read_bytes().startswith(log_before), mutation_id  # appended, never truncated
            outcomes[mutation_id] = "refused"
    assert len(outcomes) == len(MUTATIONS) >= 40
    assert tables(built) == before_tables

    # The accepted mutations, all at once: a real run builds them (extra columns kept as text).
    with restored(built):
        for _, seed, mutate, expected in MUTATIONS:
            if expected == "accepted" and not (seed == "kpi_definitions" and "crlf" in _):
                apply(built, seed, mutate)
        (built.path / "seeds" / "kpi_definitions.csv").write_bytes(
            b"\xef\xbb\xbf" + add_column(built, "kpi_definitions").replace(b"\n", b"\r\n"))
        accepted = run(built, "run", "--as-of", AS_OF, "--skip-publish")
        assert accepted.returncode in (0, 10), accepted.stderr[-4000:]
        assert "reloading" in accepted.stderr  # the changed seeds were loaded anew
        import duckdb

        con = duckdb.connect(str(db), read_only=True)
        try:
            kpis = con.execute("select kpi_id, notes from okr_kpi.kpi_definitions").fetchall()
            assert kpis == [("sales", "kept")]
            krs = con.execute("select count(*) from okr_kpi.okr_key_results where comment = 'x'").fetchone()
            assert krs == (3,)
        finally:
            con.close()


# --- finding 3: invalid seeds were scored silently (exit 0) or gave 1/30/40 ----------------------

FINDING_3 = [
    ("okr_cycles", "end_date", 2, "2023-12-31", "okr-cycle-dates"),
    ("okr_key_results", "weight", 4, "-1", "okr-weight"),
    ("okr_key_results", "weight", 4, "0", "okr-weight"),
    ("okr_objectives", "parent_objective_id", 2, "o-co", "okr-parent-circular"),
    ("okr_key_results", "target", 2, "10", "okr-target-equals-baseline"),
    ("kpi_definitions", "direction", 2, "upwards", "seed-bad-enum"),
    ("okr_cycles", "start_date", 2, "2024-1-1", "seed-bad-date"),
]


def test_finding_3_invalid_seeds_refused_before_the_build(built):
    """The real command: exit 2 with file/line/column; warehouse, history and outbox untouched."""
    db = db_path(built)
    before_hash, before_tables = digest(db), tables(built)
    for seed, column, line, value, rule in FINDING_3:
        with restored(built):
            (built.path / "seeds" / f"{seed}.csv").write_bytes(cell(built, seed, line, column, value))
            proc = run(built, "run", "--as-of", AS_OF, "--skip-publish")
            assert proc.returncode == 2, (seed, column, value, proc.stderr[-3000:])
            assert f"seeds/{seed}.csv:{line}: {column}: ERROR {rule}:" in proc.stderr, proc.stderr
            assert "dbt build" not in proc.stderr
            assert digest(db) == before_hash
    assert tables(built) == before_tables
    # empty file, missing column: file/line/column, not DuckDB's CSV sniffer
    for seed, data, where in (("okr_cycles", b"", "okr_cycles.csv:0: -: ERROR seed-unreadable"),
                              ("okr_cycles", drop_column(built, "okr_cycles", "start_date"),
                               "okr_cycles.csv:1: start_date: ERROR seed-missing-column")):
        with restored(built):
            (built.path / "seeds" / f"{seed}.csv").write_bytes(data)
            proc = run(built, "run", "--as-of", AS_OF, "--skip-publish")
            assert proc.returncode == 2 and where in proc.stderr, proc.stderr[-3000:]
            assert "sniff" not in proc.stderr.lower()
    assert digest(db) == before_hash


# --- finding 8: exit codes that mislead ----------------------------------------------------------

def test_finding_8_unwritable_out_is_refused_before_the_build(built, tmp_path):
    db = db_path(built)
    before = digest(db)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    for out in (blocker, blocker / "reports"):
        proc = run(built, "run", "--as-of", AS_OF, "--out", str(out))
        assert proc.returncode == 2, proc.stderr[-3000:]
        assert "--out" in proc.stderr and str(blocker) in proc.stderr
        assert "Traceback" not in proc.stderr and "dbt build" not in proc.stderr
        assert digest(db) == before
    proc = run(built, "publish", "--out", str(blocker / "reports"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-3000:]


def test_finding_8_a_slash_in_a_kpi_id_is_refused_by_lint_and_run(built):
    with restored(built):
        (built.path / "seeds" / "kpi_definitions.csv").write_bytes(
            cell(built, "kpi_definitions", 2, "kpi_id", "sales/eu"))
        lint = run(built, "lint")
        assert lint.returncode == 2 and "kpi_definitions.csv:2: kpi_id: ERROR seed-bad-id" in lint.stdout
        proc = run(built, "run", "--as-of", AS_OF, "--skip-publish")
        assert proc.returncode == 2 and "kpi_definitions.csv:2: kpi_id: ERROR seed-bad-id" in proc.stderr


def test_finding_8_check_on_a_locked_warehouse_exits_50(built):
    db = db_path(built)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
         "print('held', flush=True); time.sleep(120)", str(db)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        proc = run(built, "check", "--as-of", AS_OF)
        assert proc.returncode == 50, proc.stdout[-2000:] + proc.stderr[-2000:]
        assert "in use by another process" in proc.stderr
    finally:
        holder.kill()
        holder.wait()
    lock = Path(str(db) + ".okr-kpi.lock")  # a run holds the run lock
    with open(lock, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        proc = run(built, "check", "--as-of", AS_OF)
        assert proc.returncode == 50, proc.stderr[-2000:]


def test_finding_8_warehouse_taken_after_the_build_started_is_not_50(built, monkeypatch):
    """50 means nothing was touched; once the build ran, a warehouse taken away is the build's 40."""
    from okr_kpi import run as run_module
    from okr_kpi.project import Project
    from okr_kpi.warehouse import WarehouseUnavailable

    for key, value in built.env.items():
        monkeypatch.setenv(key, value)
    project = Project(project_dir=built.path)
    built_marts = []

    def build(*args, **kwargs):  # the build "ran" (the marts changed) ...
        built_marts.append(True)
        return {"status": "ok", "exit_code": 0, "detail": "stub"}

    def taken(*args, **kwargs):  # ... then another process took the file
        raise WarehouseUnavailable("the DuckDB warehouse is in use by another process")

    monkeypatch.setattr(run_module, "run_dbt_build", build)
    passed = ({"status": "passed", "exit_code": 0}, None)
    monkeypatch.setattr(run_module, "run_checks_stage", lambda *a, **k: passed)
    monkeypatch.setattr(run_module, "connect", taken)
    monkeypatch.setattr("okr_kpi.preflight.changed_seed_columns", lambda project: [])
    monkeypatch.setattr(run_module, "choose_window", lambda *a, **k: type(
        "W", (), {"since": None, "describe": lambda self: "all rows"})())
    code = run_module.run_job(project, as_of=AS_OF, publish=False)
    assert built_marts and code == 40


# --- finding 9: a refused second run truncated the running job's log ----------------------------

def test_finding_9_a_refused_run_keeps_the_running_jobs_log(built):
    log = Path(built.env["OKR_KPI_LOG_DIR"]) / "okr_kpi_run.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as f:
        f.write("12:00:00  the running job's line\n")
    before = log.read_bytes()
    lock = Path(str(db_path(built)) + ".okr-kpi.lock")
    with open(lock, "a+") as handle:  # the running job holds the run lock
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        proc = run(built, "run", "--as-of", AS_OF, "--skip-publish")
    assert proc.returncode == 50, proc.stderr[-3000:]
    after = log.read_bytes()
    assert after.startswith(before)  # appended to, never truncated
    assert b"exit 50" in after[len(before):]


def test_the_run_log_is_rotated_under_the_lock(tmp_path):
    from okr_kpi.logging import rotate_log

    log = tmp_path / "okr_kpi_run.log"
    log.write_text("x" * 100)
    assert rotate_log(log, max_bytes=1000) is False and log.exists()
    assert rotate_log(log, max_bytes=10) is True
    assert not log.exists() and (tmp_path / "okr_kpi_run.log.1").read_text() == "x" * 100
    log.write_text("y" * 100)
    assert rotate_log(log, max_bytes=10, keep=3)
    assert (tmp_path / "okr_kpi_run.log.2").read_text() == "x" * 100
    assert (tmp_path / "okr_kpi_run.log.1").read_text() == "y" * 100


def test_identifier_rule_has_one_home():
    """The lint (seeds.py) and the run's preflight share the rule: a good id passes both."""
    from okr_kpi.seeds import SPECS, _parse

    column = SPECS["kpi_definitions"].column("kpi_id")
    assert _parse(column, "new_leads")[1] is None and _parse(column, "kr-1.v2")[1] is None
    for bad in ("a/b", "a b", "-x", ".x", "x" * 101, "é"):
        assert _parse(column, bad)[1] == "seed-bad-id", bad


