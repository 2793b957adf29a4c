"""The breach lifecycle on Spark (no UPDATE/DELETE there: tables are rewritten).

A hand-made fct_kpi_breaches, once in a local Spark session (pyspark, embedded Derby metastore
in tmp_path: the local session's small subset) and once on the Spark cluster through its Thrift
server (target `cluster`, conftest.py: spark_cluster); the same transitions as on DuckDB are
checked against a real HTTP server.
"""

from __future__ import annotations

import uuid

import pandas as pd
import pytest
from harness import (
    CLUSTER,
    SPARK_SESSION,
    drop_cluster_schemas,
    release_spark,
    require_target,
    write_profile_project,
)
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


@pytest.fixture(params=[SPARK_SESSION, pytest.param(CLUSTER, id="cluster")])
def spark_project(request, tmp_path, monkeypatch):
    require_target("spark")
    target = request.param
    schema = "okr_pub_spark" if target == "spark" else f"okr_pub_cluster_{uuid.uuid4().hex[:8]}"
    if target == CLUSTER:
        request.getfixturevalue("spark_cluster")
    monkeypatch.setenv("OKR_KPI_SPARK_WAREHOUSE", str(tmp_path / "spark-warehouse"))
    monkeypatch.setenv("OKR_KPI_SPARK_METASTORE", str(tmp_path / "metastore_db"))
    monkeypatch.setenv("OKR_KPI_SCHEMA", schema)
    monkeypatch.setenv("OKR_KPI_CONFIG", str(tmp_path / "okr_kpi.yml"))
    monkeypatch.setenv("OKR_KPI_DELIVERY_RETRIES", "1")
    monkeypatch.setenv("OKR_KPI_DELIVERY_BACKOFF_SECONDS", "0.01")
    monkeypatch.setenv("OKR_KPI_DELIVERY_TIMEOUT_SECONDS", "2")
    monkeypatch.delenv("OKR_KPI_SLACK_WEBHOOK_URL", raising=False)
    (tmp_path / "okr_kpi.yml").write_text("alerts:\n  lookback_days: 31\n")
    server = WebhookReceiver().start()
    monkeypatch.setenv("OKR_KPI_WEBHOOK_URL", server.url("/hook"))
    write_profile_project(tmp_path)
    project = Project(target=target, project_dir=tmp_path, out_dir=tmp_path / "reports")
    wh = connect(project)
    yield project, wh, server, schema
    server.stop()
    wh.close()
    release_spark()
    if target == CLUSTER:
        import os

        drop_cluster_schemas({**os.environ, "OKR_KPI_SCHEMA": schema, "OKR_KPI_RAW_SCHEMA": schema + "_raw"})


def set_breaches(wh, rows, schema):
    frame = pd.DataFrame([dict(zip(NAMES, row, strict=True)) for row in rows], columns=NAMES)
    wh.replace_tables(schema, [("fct_kpi_breaches", TYPES, [frame])])


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
    # (spark_session: in this process; cluster: every statement through the Thrift server)
    project, wh, server, schema = spark_project
    set_breaches(wh, [A, B, OLD], schema)
    assert publish(project, wh).exit_code == ExitCode.BREACHES
    assert [events(b) for b in server.bodies()] == [
        [("bob@x.example", "critical", "new", "b"), ("alice@x.example", "warning", "new", "a")]
    ]  # critical first (issue 16)
    assert publish(project, wh).exit_code == ExitCode.OK  # rerun: nothing
    assert len(server.requests) == 1
    set_breaches(wh, [B, OLD], schema)
    publish(project, wh)
    assert events(server.bodies()[-1]) == [("alice@x.example", "warning", "resolved", "a")]
    # Server down: kept pending; back up: delivered once.
    port = server.port
    server.stop()
    set_breaches(wh, [A, B, OLD], schema)
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
        for r in wh.query(f"select breach_id, status from {schema}.okr_kpi_breach_history")
    }
    assert statuses == {"a": "ongoing", "b": "ongoing", "old": "ongoing"}
    outbox = wh.query(f"select status, attempts from {schema}.okr_kpi_alert_outbox order by created_at")
    assert [(o["status"], o["attempts"]) for o in outbox] == [("sent", 1), ("sent", 1), ("sent", 3)]
