"""Secrets never appear in a log line, a report or an artifact written by a run.

A real `okr-kpi run` on PostgreSQL (the password in PGPASSWORD; the local server trusts any
password, so the run really uses it) with both webhook URLs carrying secret tokens; one
webhook is unreachable so that error paths are logged too. Then every file written under the
out dir, the dbt target dir, the logs and the GX dir, the command's output, and the tables the
run wrote are searched for the secrets and their distinctive parts.
"""

from __future__ import annotations

import logging
import uuid

import pytest
from harness import drop_postgres_schemas, require_target
from okr_kpi.logging import RedactingFilter, redact
from publish_helpers import DEMO_AS_OF, WebhookReceiver, okr_kpi, run_env


def files_under(*dirs):
    for d in dirs:
        if d.exists():
            yield from (p for p in d.rglob("*") if p.is_file())


@pytest.mark.postgres
def test_no_secret_in_logs_reports_or_artifacts(tmp_path):
    require_target("postgres")
    password = f"pw-{uuid.uuid4().hex}"
    slack_token = f"T0SECRET/B0SECRET/{uuid.uuid4().hex}"
    hook_token = f"hook-{uuid.uuid4().hex}"
    server = WebhookReceiver().start()
    env = run_env(
        tmp_path,
        target="postgres",
        PGPASSWORD=password,
        OKR_KPI_WEBHOOK_URL=server.url(f"/generic/{hook_token}"),
        # nothing listens on port 9 (discard): delivery fails, errors are logged
        OKR_KPI_SLACK_WEBHOOK_URL=f"http://127.0.0.1:9/services/{slack_token}",
    )
    secrets = [password, hook_token, slack_token, server.url(f"/generic/{hook_token}")]
    try:
        gen = okr_kpi(env, "generate", "--target", "postgres", "--rows", "20000", "--seed", "7")
        assert gen.returncode == 0, gen.stderr[-3000:]
        out = tmp_path / "reports"
        runs = [
            okr_kpi(env, "run", "--target", "postgres", "--as-of", DEMO_AS_OF, "--out", str(out), *fmt)
            for fmt in ((), ("--log-format", "json"))
        ]
        assert runs[0].returncode == 20, runs[0].stderr[-3000:]  # the Slack webhook is unreachable
        assert len(server.requests) == 1  # the generic webhook got its digest, once
        texts = {
            f"run {i} {stream}": getattr(r, stream)
            for i, r in enumerate(runs)
            for stream in ("stdout", "stderr")
        }
        assert "slack: attempt 1 failed" in texts["run 0 stderr"]
        written = list(files_under(out, tmp_path / "target", tmp_path / "logs", tmp_path / "gx"))
        assert any(p.name == "okr_kpi_run.log" for p in written) and any(
            p.name == "report.html" for p in written
        )
        for path in written:
            texts[str(path)] = path.read_bytes().decode("utf-8", "replace")
        # The tables the run wrote (outbox, events, history, runs).
        import psycopg2

        con = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres")
        with con.cursor() as cur:
            for table in (
                "okr_kpi_alert_outbox",
                "okr_kpi_breach_events",
                "okr_kpi_breach_history",
                "okr_kpi_runs",
            ):
                cur.execute(f'select * from "{env["OKR_KPI_SCHEMA"]}"."{table}"')
                texts[table] = repr(cur.fetchall())
        con.close()
        leaks = [(where, s) for where, text in texts.items() for s in secrets if s in text]
        assert leaks == []
        assert "127.0.0.1:9" in texts["okr_kpi_alert_outbox"]  # where it was sent: host only
    finally:
        server.stop()
        drop_postgres_schemas(env)


def test_redaction_rules(monkeypatch):
    monkeypatch.setenv("OKR_KPI_SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T1/B2/abcdefgh")
    monkeypatch.setenv("PGPASSWORD", "s3cr3t-pass")
    monkeypatch.setenv("MY_API_TOKEN", "tok-123456")
    assert redact("url https://hooks.slack.com/services/T1/B2/abcdefgh failed") == "url *** failed"
    assert redact("path /services/T1/B2/abcdefgh") == "path ***"
    assert redact("password s3cr3t-pass and tok-123456") == "password *** and ***"
    assert redact("postgresql://user:pw@host/db") == "postgresql://***@host/db"
    assert redact("posting to hooks.slack.com/services/OTHER/X/Y") == "posting to hooks.slack.com/***"
    record = logging.LogRecord(
        "okr_kpi", logging.ERROR, __file__, 1, "cannot reach %s", ("s3cr3t-pass",), None
    )
    RedactingFilter().filter(record)
    assert record.getMessage() == "cannot reach ***"
