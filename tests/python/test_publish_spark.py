"""The breach lifecycle on the spark target (no UPDATE/DELETE there: tables are rewritten).

A local Spark session (pyspark, embedded Derby metastore in tmp_path) holds a hand-made
fct_kpi_breaches; the same transitions as on DuckDB are checked against a real HTTP server.
"""

from __future__ import annotations

import pandas as pd
import pytest
from harness import release_spark, require_target, write_profile_project
from okr_kpi.config import load_config
from okr_kpi.exit_codes import ExitCode
from okr_kpi.lifecycle import new_run_id
from okr_kpi.project import Project
from okr_kpi.publish import publish_stage
from okr_kpi.warehouse import connect
from publish_helpers import WebhookReceiver
from test_publish_lifecycle import AS_OF, COLUMNS, OLD, A, B, events

pytestmark = pytest.mark.spark

NAMES = [part.split()[0] for part in COLUMNS.split(", ")]
LOGICAL = {"varchar": "varchar", "date": "date", "double": "double", "boolean": "boolean"}
TYPES = [
    (name, LOGICAL[part.split()[1]], True) for name, part in zip(NAMES, COLUMNS.split(", "), strict=True)
]


@pytest.fixture
def spark_project(tmp_path, monkeypatch):
    require_target("spark")
    monkeypatch.setenv("OKR_KPI_SPARK_WAREHOUSE", str(tmp_path / "spark-warehouse"))
    monkeypatch.setenv("OKR_KPI_SPARK_METASTORE", str(tmp_path / "metastore_db"))
    monkeypatch.setenv("OKR_KPI_SCHEMA", "okr_pub_spark")
    monkeypatch.setenv("OKR_KPI_CONFIG", str(tmp_path / "okr_kpi.yml"))
    monkeypatch.setenv("OKR_KPI_DELIVERY_RETRIES", "1")
    monkeypatch.setenv("OKR_KPI_DELIVERY_BACKOFF_SECONDS", "0.01")
    monkeypatch.setenv("OKR_KPI_DELIVERY_TIMEOUT_SECONDS", "2")
    monkeypatch.delenv("OKR_KPI_SLACK_WEBHOOK_URL", raising=False)
    (tmp_path / "okr_kpi.yml").write_text("alerts:\n  lookback_days: 31\n")
    server = WebhookReceiver().start()
    monkeypatch.setenv("OKR_KPI_WEBHOOK_URL", server.url("/hook"))
    write_profile_project(tmp_path)
    project = Project(target="spark", project_dir=tmp_path, out_dir=tmp_path / "reports")
    wh = connect(project)
    yield project, wh, server
    server.stop()
    wh.close()
    release_spark()


def set_breaches(wh, rows):
    frame = pd.DataFrame([dict(zip(NAMES, row, strict=True)) for row in rows], columns=NAMES)
    wh.replace_tables("okr_pub_spark", [("fct_kpi_breaches", TYPES, [frame])])


def publish(project, wh):
    run_id = new_run_id()
    return publish_stage(
        project,
        wh,
        AS_OF,
        run_id,
        load_config(project.project_dir),
        run_info={"run_id": run_id, "command": "publish", "exit_code": 0, "stages": {}},
    )


def test_lifecycle_on_spark(spark_project):
    project, wh, server = spark_project
    set_breaches(wh, [A, B, OLD])
    assert publish(project, wh).exit_code == ExitCode.BREACHES
    assert [events(b) for b in server.bodies()] == [
        [("bob@x.example", "critical", "new", "b"), ("alice@x.example", "warning", "new", "a")]
    ]  # critical first (issue 16)
    assert publish(project, wh).exit_code == ExitCode.OK  # rerun: nothing
    assert len(server.requests) == 1
    set_breaches(wh, [B, OLD])
    publish(project, wh)
    assert events(server.bodies()[-1]) == [("alice@x.example", "warning", "resolved", "a")]
    # Server down: kept pending; back up: delivered once.
    port = server.port
    server.stop()
    set_breaches(wh, [A, B, OLD])
    assert publish(project, wh).exit_code == ExitCode.DELIVERY_FAILED
    up = WebhookReceiver(port=port).start()
    try:
        assert publish(project, wh).exit_code == ExitCode.OK
        assert [events(b) for b in up.bodies()] == [[("alice@x.example", "warning", "new", "a")]]
        publish(project, wh)
        assert len(up.requests) == 1
    finally:
        up.stop()
    statuses = {
        r["breach_id"]: r["status"]
        for r in wh.query("select breach_id, status from okr_pub_spark.okr_kpi_breach_history")
    }
    assert statuses == {"a": "ongoing", "b": "ongoing", "old": "ongoing"}
    outbox = wh.query("select status, attempts from okr_pub_spark.okr_kpi_alert_outbox order by created_at")
    assert [(o["status"], o["attempts"]) for o in outbox] == [("sent", 1), ("sent", 1), ("sent", 3)]
