"""An --as-of past the data (issue 14, "A lifecycle that knows time"; docs/checks.md, "An
as_of_date past the data"): later than the last day any KPI input has data, but not in the future.

Decision: the run is kept (neither refused nor clamped). Every source after its last data is
stale, so its periods are not judged: no breach after the data, exit 15, and one
`as_of_past_data` warning in the run log and in summary.md's stage table says by how much:
"as_of 2026-11-30 is 91 day(s) past the last data (2026-08-31) of source(s) ...: periods after it
are not judged". Tried on two companies shaped differently: the demo (eight sources, data up to
2026-08-31) and the shop of integration_tests/ (three sources known from their KPIs' input days,
a week of data up to 2024-04-04). The expected dates are read here from the raw rows.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

from harness import DBT, REPO, target_env
from publish_helpers import DEMO_AS_OF, DEMO_DIR, demo_env, duck_query, okr_kpi

OKR_KPI = str(Path(sys.executable).parent / "okr-kpi")


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip().startswith("{")]


def _sources(seed_dir: Path) -> list[str]:
    with open(seed_dir / "kpi_definitions.csv") as f:
        return sorted({row["data_source"] or row["kpi_id"] for row in csv.DictReader(f)})


def _assert_past_data(lines: list[dict], as_of: str, last: str, sources: list[str], summary: str):
    days = (dt.date.fromisoformat(as_of) - dt.date.fromisoformat(last)).days
    past = [line for line in lines if line["event"] == "as_of_past_data"]
    assert len(past) == 1, [line["event"] for line in lines]
    text = (f"as_of {as_of} is {days} day(s) past the last data ({last}) of source(s) "
            f"{', '.join(sources)}: periods after it are not judged")
    assert past[0]["message"] == text
    assert past[0]["days_past"] == days and past[0]["last_data_date"] == last
    assert sorted(past[0]["sources"]) == sources
    final = lines[-1]
    assert final["event"] == "run_finished" and final["exit_code"] == 15
    assert final["stages"]["freshness"]["status"] == "stale"
    assert final["stages"]["freshness"]["detail"].startswith(text)
    assert text in summary  # the report's stage table says it too


def test_demo_as_of_past_the_data_is_kept_stale_and_says_so(tmp_path, tmp_path_factory):
    env = demo_env(tmp_path, tmp_path_factory)
    out = tmp_path / "reports"
    as_of = "2026-11-30"
    proc = okr_kpi(env, "run", "--as-of", as_of, "--out", str(out), "--log-format", "json")
    assert proc.returncode == 15, proc.stderr[-3000:]
    db = env["OKR_KPI_DUCKDB_PATH"]
    # the demo's data ends on its generator's as_of (every event table has rows that day)
    last = max(r["d"] for r in duck_query(db, "select max(cast(created_at as date)) as d from raw.leads"))
    assert last.isoformat() == DEMO_AS_OF
    summary = next(out.rglob("summary.md")).read_text()
    _assert_past_data(_json_lines(proc.stderr), as_of, DEMO_AS_OF, _sources(DEMO_DIR / "seeds"), summary)
    # no false breach: nothing on a period that ends after the data
    late = duck_query(db, "select kpi_id, grain, period_end from okr_kpi.fct_kpi_breaches "
                          f"where period_end > date '{DEMO_AS_OF}'")
    assert late == []
    # an as_of inside the data says nothing of the kind
    inside = okr_kpi(env, "run", "--as-of", DEMO_AS_OF, "--out", str(out), "--log-format", "json")
    assert inside.returncode in (0, 10), inside.stderr[-3000:]
    assert not any(line["event"] == "as_of_past_data" for line in _json_lines(inside.stderr))


SHOP = REPO / "integration_tests"


def test_shop_as_of_past_the_data_is_kept_stale_and_says_so(tmp_path):
    path = tmp_path / "shop"
    shutil.copytree(SHOP, path, ignore=shutil.ignore_patterns("dbt_packages", "target", "logs",
                                                               "package-lock.yml", "*.duckdb"))
    (path / "packages.yml").write_text(f"packages:\n  - local: {REPO}\n")
    env = target_env(tmp_path)
    db = tmp_path / "shop.duckdb"
    env.update({"SHOP_TARGET": "duckdb", "SHOP_DUCKDB_PATH": str(db), "SHOP_SCHEMA": "analytics",
                "SHOP_RAW_SCHEMA": "shop_raw", "DBT_PROFILES_DIR": str(path),
                "OKR_KPI_LOG_DIR": str(tmp_path / "logs"), "OKR_KPI_GX_DIR": str(tmp_path / "gx")})
    for name in ("OKR_KPI_TARGET", "OKR_KPI_DUCKDB_PATH", "OKR_KPI_SCHEMA", "OKR_KPI_PROJECT_DIR",
                 "DBT_PROJECT_DIR", "OKR_KPI_SLACK_WEBHOOK_URL", "OKR_KPI_WEBHOOK_URL"):
        env.pop(name, None)
    import duckdb

    con = duckdb.connect(str(db))
    con.execute("create schema shop_raw")
    for table in ("sales", "visitors", "members"):
        con.execute(f"create table shop_raw.{table} as select * from read_csv('{path / 'raw' / table}.csv')")
    con.close()
    deps = subprocess.run([DBT, "deps", "--project-dir", str(path)], cwd=path, env=env,
                          capture_output=True, text=True)
    assert deps.returncode == 0, deps.stdout[-3000:]

    # the last day with data, from the raw rows: a sale not refunded, a visit, a join or a leave
    def days(table: str, *columns: str, where=lambda row: True) -> set[str]:
        with open(path / "raw" / f"{table}.csv") as f:
            return {row[c][:10] for row in csv.DictReader(f) if where(row) for c in columns if row[c]}

    sales = days("sales", "sale_ts", where=lambda r: r["refunded"] == "false")
    visits = days("visitors", "visit_started")
    members = days("members", "joined_on", "left_on")
    last = max(sales | visits | members)
    assert last == "2024-04-04"  # sale 6, after the shop's own as_of_date 2024-04-03

    as_of = "2024-04-30"
    out = tmp_path / "reports"
    proc = subprocess.run([OKR_KPI, "run", "--project-dir", str(path), "--as-of", as_of, "--out", str(out),
                           "--log-format", "json"], cwd=path, env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 15, proc.stderr[-4000:]
    lines = _json_lines(proc.stderr)
    summary = next(out.rglob("summary.md")).read_text()
    _assert_past_data(lines, as_of, last, _sources(path / "seeds"), summary)
    stale = {line["data_source"]: line["last_data_date"] for line in lines if line["event"] == "stale_data"}
    assert stale == {"sales": max(sales), "members": max(members), "sales+visitors": max(sales | visits)}
    con = duckdb.connect(str(db), read_only=True)
    try:
        late = con.execute("select kpi_id from analytics.fct_kpi_breaches "
                           f"where period_end > date '{last}'").fetchall()
    finally:
        con.close()
    assert late == []
