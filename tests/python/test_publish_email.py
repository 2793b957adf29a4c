"""The email digest over SMTP, received by a real local SMTP server (aiosmtpd), and config checks."""

from __future__ import annotations

import datetime as dt

import pytest
from harness import write_profile_project
from okr_kpi.config import load_config
from okr_kpi.exit_codes import ExitCode
from okr_kpi.lifecycle import new_run_id
from okr_kpi.project import OkrKpiError, Project
from okr_kpi.publish import publish_stage
from okr_kpi.warehouse import connect
from publish_helpers import SmtpReceiver
from test_publish_lifecycle import AS_OF, OLD, A, B, set_breaches, table


def publish(project):
    wh = connect(project)
    try:
        run_id = new_run_id()
        return publish_stage(
            project,
            wh,
            AS_OF,
            run_id,
            load_config(project.project_dir),
            run_info={"run_id": run_id, "command": "publish", "exit_code": 0, "stages": {}},
        )
    finally:
        wh.close()


@pytest.fixture
def email_project(tmp_path, monkeypatch):
    smtp = SmtpReceiver().start()
    monkeypatch.setenv("OKR_KPI_DUCKDB_PATH", str(tmp_path / "wh.duckdb"))
    monkeypatch.setenv("OKR_KPI_SCHEMA", "okr_kpi")
    monkeypatch.setenv("OKR_KPI_DELIVERY_BACKOFF_SECONDS", "0.01")
    monkeypatch.setenv("OKR_KPI_DELIVERY_TIMEOUT_SECONDS", "2")
    monkeypatch.delenv("OKR_KPI_SLACK_WEBHOOK_URL", raising=False)
    monkeypatch.delenv("OKR_KPI_WEBHOOK_URL", raising=False)
    config = tmp_path / "okr_kpi.yml"
    config.write_text(f"""
channels:
  email:
    enabled: true
    smtp_host: 127.0.0.1
    smtp_port: {smtp.port}
    security: none
    from: okr-kpi <alerts@x.example>
    to: [analytics@x.example, ceo@x.example]
""")
    monkeypatch.setenv("OKR_KPI_CONFIG", str(config))
    write_profile_project(tmp_path)
    yield Project(target="duckdb", project_dir=tmp_path, out_dir=tmp_path / "reports"), smtp
    smtp.stop()


def test_email_digest_is_received_once(email_project):
    project, smtp = email_project
    set_breaches(project, [A, B, OLD])
    result = publish(project)
    assert result.exit_code == ExitCode.BREACHES
    assert len(smtp.messages) == 1
    got = smtp.messages[0]
    assert got["to"] == ["analytics@x.example", "ceo@x.example"]
    msg = got["message"]
    assert msg["Subject"] == "[okr-kpi] KPI breaches as of 2026-08-31: 2 new"
    key = table(project, "select message_key from okr_kpi.okr_kpi_alert_outbox")[0]["message_key"]
    assert msg["X-OKR-KPI-Idempotency-Key"] == key
    text = (
        next(p for p in msg.walk() if p.get_content_type() == "text/plain").get_payload(decode=True).decode()
    )
    html = (
        next(p for p in msg.walk() if p.get_content_type() == "text/html").get_payload(decode=True).decode()
    )
    # Grouped by severity (critical first) and owner; OLD (outside the alert window) is not there.
    alice, bob = text.index("alice@x.example — warning"), text.index("bob@x.example — critical")
    assert (
        bob < alice < text.index("[NEW] New Leads, day 2026-08-31: 5, below the lower bound 10 (threshold)")
    )
    assert (
        "[NEW] Page Load Time, day 2026-08-30: 900, a sudden change from the expected 400, z = 4.2 (anomaly)"
        in text
    )
    assert "key results: kr-1, kr-2" in text
    assert "2026-05-23" not in text
    assert "<h3" in html and "Page Load Time" in html
    publish(project)  # rerun: nothing new, nothing re-sent
    assert len(smtp.messages) == 1


def test_smtp_down_is_kept_and_sent_next_run(email_project):
    project, smtp = email_project
    port = smtp.port
    smtp.stop()
    set_breaches(project, [A])
    assert publish(project).exit_code == ExitCode.DELIVERY_FAILED
    smtp2 = SmtpReceiver(port=port).start()  # the server is back
    received = smtp2.messages
    try:
        assert publish(project).exit_code == ExitCode.OK
        assert len(received) == 1
        publish(project)
        assert len(received) == 1
    finally:
        smtp2.stop()


def test_config_refuses_secrets_and_unknown_keys(tmp_path, monkeypatch):
    path = tmp_path / "okr_kpi.yml"
    monkeypatch.setenv("OKR_KPI_CONFIG", str(path))
    path.write_text("channels:\n  slack:\n    url: https://hooks.slack.com/services/x\n")
    with pytest.raises(OkrKpiError, match=r"okr_kpi.yml: key 'channels.slack.url' would hold a secret"):
        load_config(tmp_path)
    path.write_text("channels:\n  email:\n    password: hunter2\n")
    with pytest.raises(OkrKpiError, match="channels.email.password"):
        load_config(tmp_path)
    path.write_text("delivery:\n  retry: 3\n")
    with pytest.raises(OkrKpiError, match=r"unknown key 'delivery.retry'"):
        load_config(tmp_path)
    path.write_text("delivery:\n  retries: 5\nalerts:\n  lookback_days: 7\n")
    monkeypatch.setenv("OKR_KPI_DELIVERY_RETRIES", "1")
    cfg = load_config(tmp_path)
    assert (cfg.retries, cfg.lookback_days) == (1, 7)  # the environment wins over the file


def test_smtp_password_comes_from_env_and_is_redacted(monkeypatch):
    from okr_kpi.logging import redact
    from okr_kpi.publish.channels import EmailChannel

    monkeypatch.setenv("MAIL_PASS", "correct-horse-battery")
    channel = EmailChannel(
        {"smtp_host": "127.0.0.1", "smtp_port": 25, "to": ["a@x.example"], "password_env": "MAIL_PASS"}
    )
    assert channel.password == "correct-horse-battery"
    assert redact("login with correct-horse-battery") == "login with ***"
    assert dt.date(2026, 8, 31) == AS_OF
