"""`okr-kpi ack` / `unack` and the reminders they silence, on a real PostgreSQL server (the DuckDB
case, with escalation, is test_reminders_ack.py). The acknowledgements live in the warehouse
(okr_kpi_breach_acks): written by the CLI in its own process, read by the next run.

Which breach is sent on which day is written out by hand.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from harness import postgres_available, write_profile_project
from okr_kpi.project import Project
from publish_helpers import WebhookReceiver
from test_publish_lifecycle import COLUMNS, breach, publish

pytestmark = pytest.mark.postgres

OKR_KPI = str(Path(sys.executable).parent / "okr-kpi")
DAY1 = dt.date(2026, 8, 31)


def day(n: int) -> dt.date:
    return DAY1 + dt.timedelta(days=n - 1)


def pg():
    import psycopg2

    env = os.environ.get
    return psycopg2.connect(host=env("PGHOST", "127.0.0.1"), port=int(env("PGPORT", "5432")),
                            user=env("PGUSER", "postgres"), dbname=env("PGDATABASE", "postgres"))


@pytest.fixture
def setup(tmp_path, monkeypatch):
    if not postgres_available():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not reachable")
        pytest.skip("PostgreSQL is not reachable")
    schema = f"okr_ack_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("OKR_KPI_SCHEMA", schema)
    monkeypatch.setenv("OKR_KPI_CONFIG", str(tmp_path / "okr_kpi.yml"))
    monkeypatch.setenv("OKR_KPI_DELIVERY_RETRIES", "0")
    monkeypatch.setenv("OKR_KPI_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.setenv("DBT_TARGET", "postgres")
    monkeypatch.delenv("OKR_KPI_SLACK_WEBHOOK_URL", raising=False)
    monkeypatch.delenv("OKR_KPI_TEAMS_WEBHOOK_URL", raising=False)
    (tmp_path / "okr_kpi.yml").write_text(
        "alerts:\n  lookback_days: 31\n  reminders: {critical: 1, warning: 1}\n")
    server = WebhookReceiver().start()
    monkeypatch.setenv("OKR_KPI_WEBHOOK_URL", server.url("/hook"))
    write_profile_project(tmp_path)
    project = Project(target="postgres", project_dir=tmp_path, out_dir=tmp_path / "reports")
    yield project, server, tmp_path, schema
    server.stop()
    with pg() as con, con.cursor() as cur:
        cur.execute(f"drop schema if exists {schema} cascade")


def set_breaches(schema: str, rows) -> None:
    with pg() as con, con.cursor() as cur:
        cur.execute(f"create schema if not exists {schema}")
        cur.execute(f"drop table if exists {schema}.fct_kpi_breaches")
        columns = COLUMNS.replace("double", "double precision")
        cur.execute(f"create table {schema}.fct_kpi_breaches ({columns})")
        for row in rows:
            cur.execute(f"insert into {schema}.fct_kpi_breaches values ({', '.join(['%s'] * len(row))})", row)


def run_day(project, server, n: int) -> list[tuple[str, str]]:
    before = len(server.requests)
    publish(project, as_of=day(n))
    new = [[(e["event"], e["breach_id"]) for g in r["body"]["groups"] for e in g["events"]]
           for r in server.requests[before:]]
    assert len(new) <= 1
    return sorted(new[0]) if new else []


def cli(tmp_path, *args: str):
    return subprocess.run([OKR_KPI, *args, "--project-dir", str(tmp_path), "--target", "postgres"],
                          env={**os.environ, "USER": "carol"}, text=True, capture_output=True, timeout=120)


def test_ack_snooze_and_unack_on_postgres(setup):
    project, server, tmp_path, schema = setup
    a = breach("a", "orders", "ops@x.example", "2026-08-31", value=5, lower=10)
    b = breach("b", "signups", "mkt@x.example", "2026-08-31", value=5, lower=10)
    set_breaches(schema, [a, b])
    assert run_day(project, server, 1) == [("new", "a"), ("new", "b")]

    acked = cli(tmp_path, "ack", "a", "--note", "looking")
    assert acked.returncode == 0, acked.stderr
    snoozed = cli(tmp_path, "ack", "b", "--until", day(3).isoformat())
    assert snoozed.returncode == 0, snoozed.stderr
    assert cli(tmp_path, "ack", "nope").returncode == 2
    with pg() as con, con.cursor() as cur:
        cur.execute(f"select breach_id, action, acked_by, until_date, note from {schema}.okr_kpi_breach_acks "
                    "order by breach_id")
        assert cur.fetchall() == [("a", "ack", "carol", None, "looking"), ("b", "ack", "carol", day(3), None)]

    assert run_day(project, server, 2) == []                  # both acknowledged: no reminder
    assert run_day(project, server, 3) == [("reminder", "b")]  # b's snooze ended on day 3
    assert cli(tmp_path, "unack", "a").returncode == 0
    assert run_day(project, server, 4) == [("reminder", "a"), ("reminder", "b")]
