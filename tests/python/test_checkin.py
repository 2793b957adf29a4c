"""`okr-kpi check-in`: validated against the key result, appended to the okr_check_ins seed in its
own format, exit 2 naming the problem (nothing written), and scored by the next run."""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from publish_helpers import DEMO_AS_OF, DEMO_DIR, OKR_KPI, REPO, demo_env, duck_query


@pytest.fixture()
def seeds(tmp_path) -> Path:
    out = tmp_path / "seeds"
    shutil.copytree(DEMO_DIR / "seeds", out)
    return out


def cli(seeds_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO / "scripts")}
    return subprocess.run(
        [OKR_KPI, "check-in", "--seeds-dir", str(seeds_dir), *args],
        env=env, cwd=seeds_dir.parent, text=True, capture_output=True, timeout=120,
    )


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_valid_check_in_is_appended(seeds):
    path = seeds / "okr_check_ins.csv"
    before = rows(path)
    note = 'Drafts for 12 topics, "FAQ" done, one more\nline'
    proc = cli(seeds, "kr-q3-help-articles", "14", "--confidence", "0.75", "--note", note,
               "--date", "2026-08-28")
    assert proc.returncode == 0, proc.stderr
    assert "check-in recorded" in proc.stdout
    after = rows(path)
    assert after[:-1] == before
    assert after[-1] == {
        "key_result_id": "kr-q3-help-articles",
        "check_in_date": "2026-08-28",
        "value": "14",
        "confidence": "0.75",
        "note": 'Drafts for 12 topics, "FAQ" done, one more line',
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["kr-nope", "1", "--date", "2026-08-01"], "unknown key result 'kr-nope'"),
        (["kr-q3-help-articles", "3", "--date", "2026-10-02"], "outside cycle '2026-q3'"),
        (["kr-q3-help-articles", "3", "--date", "2026-02-30"], "is not a date"),
        (["kr-q3-help-articles", "3", "--confidence", "1.5", "--date", "2026-08-01"],
         "confidence 1.5 is outside [0, 1]"),
        (["kr-q3-help-articles", "3", "--confidence", "-0.1", "--date", "2026-08-01"], "outside [0, 1]"),
        (["kr-q3-help-articles", "many", "--date", "2026-08-01"], "value 'many' is not a number"),
        (["kr-q3-help-articles", "nan", "--date", "2026-08-01"], "not a finite number"),
        (["kr-q3-partners", "2", "--date", "2026-08-01"], "milestone: value must be 0 or 1"),
        (["kr-q3-partners", "0", "--date", "2026-08-03"], "already has a check-in on 2026-08-03"),
    ],
)
def test_invalid_check_in_exits_2_and_writes_nothing(seeds, args, message):
    path = seeds / "okr_check_ins.csv"
    before = path.read_bytes()
    proc = cli(seeds, *args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr
    assert path.read_bytes() == before


def test_milestone_done_and_kpi_measured_warning(seeds):
    proc = cli(seeds, "kr-q3-partners", "1", "--date", "2026-09-15")
    assert proc.returncode == 0, proc.stderr
    assert rows(seeds / "okr_check_ins.csv")[-1]["value"] == "1"
    proc = cli(seeds, "kr-q3-revenue", "5000", "--confidence", "0.4", "--date", "2026-08-20")
    assert proc.returncode == 0, proc.stderr
    assert "measured by KPI 'revenue'" in proc.stderr


def test_crlf_file_without_final_newline_keeps_its_format(seeds):
    from okr_kpi.checkin import record, validate

    path = seeds / "okr_check_ins.csv"
    text = path.read_text().replace("\r\n", "\n").rstrip("\n").replace("\n", "\r\n")
    path.write_bytes(text.encode())
    done = validate(seeds, "kr-q3-help-articles", "20", "0.6", "half, done", "2026-08-29")
    record(done)
    raw = path.read_bytes()
    assert raw.startswith(text.encode() + b"\r\n")
    assert raw.endswith(b'kr-q3-help-articles,2026-08-29,20,0.6,"half, done"\r\n')
    assert b"\n" not in raw.replace(b"\r\n", b"")


def test_default_date_is_today(seeds):
    from okr_kpi.checkin import CheckInError, validate

    done = validate(seeds, "kr-q3-help-articles", "3", today=dt.date(2026, 9, 1))
    assert done.check_in_date == dt.date(2026, 9, 1)
    with pytest.raises(CheckInError, match="outside cycle"):
        validate(seeds, "kr-q3-help-articles", "3", today=dt.date(2026, 12, 1))


def test_check_in_then_run_scores_it(tmp_path, tmp_path_factory):
    """On a copy of the demo project: check in, run, and fct_key_result_progress shows the value
    and confidence from that day on."""
    project = tmp_path / "demo"
    shutil.copytree(DEMO_DIR, project, ignore=shutil.ignore_patterns("dbt_packages", "logs", "target"))
    (project / "dbt_packages").mkdir()
    (project / "dbt_packages" / "okr_kpi").symlink_to(REPO)
    env = demo_env(tmp_path, tmp_path_factory)
    env.update({"OKR_KPI_PROJECT_DIR": str(project), "DBT_PROJECT_DIR": str(project),
                "PYTHONPATH": str(REPO / "scripts")})
    proc = subprocess.run(
        [OKR_KPI, "check-in", "kr-q3-help-articles", "37", "--confidence", "0.95",
         "--note", "Nearly there", "--date", "2026-08-30"],
        env=env, cwd=project, text=True, capture_output=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert str(project / "seeds") in proc.stdout  # the copy's seed, never the repository's
    proc = subprocess.run(
        [OKR_KPI, "run", "--as-of", DEMO_AS_OF, "--out", str(tmp_path / "reports"), "--skip-publish"],
        env=env, cwd=project, text=True, capture_output=True, timeout=900,
    )
    assert proc.returncode in (0, 10), proc.stderr[-3000:]
    got = duck_query(
        env["OKR_KPI_DUCKDB_PATH"],
        "select date_day, current_value, latest_confidence, last_check_in_date "
        "from okr_kpi.fct_key_result_progress where key_result_id = 'kr-q3-help-articles' "
        "and date_day between date '2026-08-29' and date '2026-08-31' order by date_day",
    )
    assert [r["date_day"].isoformat() for r in got] == ["2026-08-29", "2026-08-30", "2026-08-31"]
    assert got[0]["current_value"] != 37
    assert [r["current_value"] for r in got[1:]] == [37, 37]
    assert [r["latest_confidence"] for r in got[1:]] == [pytest.approx(0.95)] * 2
    assert got[2]["last_check_in_date"] == dt.date(2026, 8, 30)


def lint(seeds_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO / "scripts")}
    return subprocess.run(
        [OKR_KPI, "lint", "--seeds-dir", str(seeds_dir), *args],
        env=env, cwd=seeds_dir.parent, text=True, capture_output=True, timeout=120,
    )


def test_lint_warns_about_key_results_without_a_recent_check_in(seeds):
    # demo: kr-q3-partners' last check-in is 2026-08-24, kr-q3-help-articles' 2026-08-17 or earlier
    last = {}
    for r in rows(seeds / "okr_check_ins.csv"):
        last[r["key_result_id"]] = max(r["check_in_date"], last.get(r["key_result_id"], ""))
    as_of = dt.date(2026, 9, 20)
    stale = sorted(k for k, d in last.items()
                   if k.startswith("kr-q3") and (as_of - dt.date.fromisoformat(d)).days > 14)
    assert "kr-q3-partners" in stale
    proc = lint(seeds, "--as-of", as_of.isoformat())
    flagged = sorted(re.findall(r"okr-check-in-stale: key result '([^']+)'", proc.stdout))
    assert flagged == stale
    # a check-in today clears it; finished cycles and KPI-measured key results are never flagged
    assert cli(seeds, "kr-q3-partners", "0", "--date", "2026-09-19").returncode == 0
    proc = lint(seeds, "--as-of", as_of.isoformat())
    assert "'kr-q3-partners'" not in proc.stdout
    assert "okr-check-in-stale" not in lint(seeds, "--as-of", "2026-12-01").stdout
    # the age is a documented dbt var
    (seeds.parent / "dbt_project.yml").write_text("name: x\nvars:\n  okr_kpi_check_in_max_age_days: 400\n")
    from okr_kpi.checkin import check_in_max_age_days

    assert check_in_max_age_days(seeds.parent) == 400
    assert lint(seeds, "--as-of", "not-a-day").returncode == 2
