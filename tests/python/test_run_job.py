"""The real `okr-kpi run` on the demo company (small, deterministic): dbt build -> checks ->
lifecycle -> publish, against a real local webhook server.

What is expected is worked out from the warehouse with plain Python, independently of the
publishing code: the digest must carry exactly the breaches of fct_kpi_breaches whose period
ended within the alert window (31 days before as_of_date, the documented default).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import jsonschema
from publish_helpers import DEMO_AS_OF, REPO, WebhookReceiver, demo_env, duck_query, okr_kpi


def test_run_publishes_once_then_nothing(tmp_path, tmp_path_factory):
    server = WebhookReceiver().start()
    try:
        env = demo_env(tmp_path, tmp_path_factory, OKR_KPI_WEBHOOK_URL=server.url("/hooks/e2e"))
        out = tmp_path / "reports"
        first = okr_kpi(env, "run", "--as-of", DEMO_AS_OF, "--out", str(out), "--log-format", "json")
        # Every log line is one JSON object; the last one is the summary.
        lines = [json.loads(line) for line in first.stderr.splitlines() if line.strip()]
        assert lines, first.stdout
        final = lines[-1]
        assert final["event"] == "run_finished", first.stderr[-3000:]
        assert first.returncode == final["exit_code"] == 10, first.stderr[-3000:]
        assert {line["event"] for line in lines} >= {
            "run_started",
            "build",
            "checks",
            "lifecycle",
            "delivered",
        }

        db = env["OKR_KPI_DUCKDB_PATH"]
        rows = duck_query(db, "select breach_id, owner, severity, period_end from okr_kpi.fct_kpi_breaches")
        window_start = dt.date.fromisoformat(DEMO_AS_OF) - dt.timedelta(days=31)
        expected = {r["breach_id"] for r in rows if r["period_end"] >= window_start}
        assert expected, "the demo has planted incidents in August 2026"
        assert len(server.requests) == 1
        body = server.requests[0]["body"]
        jsonschema.validate(body, json.loads((REPO / "docs" / "okr_kpi_digest.schema.json").read_text()))
        got = [e for g in body["groups"] for e in g["events"]]
        assert {e["breach_id"] for e in got} == expected
        assert {e["event"] for e in got} == {"new"}
        assert body["counts"] == {"new": len(expected), "escalated": 0, "resolved": 0}
        # One group per (owner, severity): critical groups first, owners sorted within (issue 16).
        pairs = [(g["owner"], g["severity"]) for g in body["groups"]]
        assert pairs == sorted(set(pairs), key=lambda p: (p[1] != "critical", p[0]))
        assert server.requests[0]["headers"]["Idempotency-Key"] == body["idempotency_key"]

        # The published files.
        doc = json.loads((out / "okr_kpi.json").read_text())
        jsonschema.validate(doc, json.loads((REPO / "docs" / "okr_kpi.schema.json").read_text()))
        assert doc["schema_version"] == 1 and doc["as_of_date"] == DEMO_AS_OF
        assert doc["run"]["exit_code"] == 10 and doc["run"]["stages"]["build"]["status"] == "ok"
        assert doc["breaches"]["total"] == len(rows)
        assert sum(1 for e in doc["breaches"]["events"] if e["is_alerted"]) == len(expected)
        assert (out / "summary.md").read_text().startswith("# KPIs and OKRs — as of 2026-08-31")
        html = (out / "report.html").read_text()
        assert "<svg" in html and "http://" not in html.replace("http://www.w3.org", "")
        history = duck_query(
            db, "select status, count(*) as n from okr_kpi.okr_kpi_breach_history group by status"
        )
        assert history == [{"status": "new", "n": len(rows)}]

        # An immediate rerun of the same day: nothing sent, exit 0, --quiet prints only the summary.
        again = okr_kpi(env, "run", "--as-of", DEMO_AS_OF, "--out", str(out), "--quiet")
        assert again.returncode == 0, again.stderr[-3000:]
        assert len(server.requests) == 1
        assert again.stderr.strip().splitlines()[-1].endswith(f"report: {out / 'report.html'}")
        assert "okr-kpi run: exit 0 (ok)" in again.stderr
        assert "dbt build:" not in again.stderr  # progress lines are hidden by --quiet
        statuses = duck_query(db, "select distinct status from okr_kpi.okr_kpi_breach_history")
        assert statuses == [{"status": "ongoing"}]
        runs = duck_query(db, "select command, exit_code from okr_kpi.okr_kpi_runs order by started_at")
        assert runs == [{"command": "run", "exit_code": 10}, {"command": "run", "exit_code": 0}]

        # `okr-kpi publish` re-publishes the files and never re-sends.
        publish = okr_kpi(env, "publish", "--out", str(out))
        assert publish.returncode == 0, publish.stderr[-3000:]
        assert len(server.requests) == 1
    finally:
        server.stop()


def test_build_failure_publishes_nothing_new_and_reports_it(tmp_path, tmp_path_factory):
    server = WebhookReceiver().start()
    try:
        # The raw schema does not exist: the staging models fail, so the build fails.
        env = demo_env(
            tmp_path,
            tmp_path_factory,
            OKR_KPI_WEBHOOK_URL=server.url("/hooks/e2e"),
            OKR_KPI_RAW_SCHEMA="no_such_schema",
        )
        out = tmp_path / "reports"
        proc = okr_kpi(env, "run", "--as-of", DEMO_AS_OF, "--out", str(out))
        assert proc.returncode == 40, proc.stderr[-3000:]
        assert "dbt build: failed" in proc.stderr
        assert server.requests == []
        doc = json.loads((out / "okr_kpi.json").read_text())
        assert doc["run"]["status"] == "build_failed"
        assert doc["run"]["stages"]["checks"]["status"] == "skipped"
        assert "dbt build failed in this run" in (out / "report.html").read_text()
    finally:
        server.stop()


def test_bad_as_of_is_a_usage_error(tmp_path):
    from publish_helpers import run_env

    proc = okr_kpi(run_env(tmp_path), "run", "--as-of", "2026-13-01", "--out", str(tmp_path / "r"))
    assert proc.returncode == 2
    assert "'--as-of': '2026-13-01' is not a date" in proc.stderr and "Traceback" not in proc.stderr
    assert not Path(tmp_path / "warehouse.duckdb").exists()
