"""Real local receivers for the publishing tests: an HTTP webhook server and an SMTP server.

Both listen on 127.0.0.1 on an ephemeral port and record what arrives; no mocks.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class WebhookReceiver:
    """http.server in a thread; records every POST (path, headers, JSON body). `status` sets the reply."""

    def __init__(self, port: int = 0, status: int = 200) -> None:
        self.requests: list[dict] = []
        self.status = status
        self.port = port
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8")
                receiver.requests.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": json.loads(body) if body else None,
                    }
                )
                self.send_response(receiver.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):  # keep pytest output clean
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def bodies(self, path: str | None = None) -> list[dict]:
        return [r["body"] for r in self.requests if path is None or r["path"] == path]


class SmtpReceiver:
    """aiosmtpd's Controller on 127.0.0.1; records every message as an email.message.Message."""

    def __init__(self, port: int = 0) -> None:
        self.messages = []
        self.controller = None
        self.port = port

    def start(self) -> SmtpReceiver:
        import email
        import socket

        from aiosmtpd.controller import Controller

        receiver = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's naming)
                msg = email.message_from_bytes(envelope.original_content or envelope.content)
                receiver.messages.append(
                    {"from": envelope.mail_from, "to": envelope.rcpt_tos, "message": msg}
                )
                return "250 OK"

        if not self.port:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                self.port = s.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller:
            self.controller.stop()
            self.controller = None


# --- the demo company's warehouse, built once per test session and copied per test ----------------

REPO = Path(__file__).resolve().parents[2]
DEMO_DIR = REPO / "examples" / "demo"  # the demo company's dbt project (harness.DEMO_DIR)
OKR_KPI = str(Path(sys.executable).parent / "okr-kpi")
DEMO_AS_OF = "2026-08-31"
_DEMO_CACHE: dict[str, object] = {}


def run_env(tmp_path, target: str = "duckdb", **extra: str) -> dict[str, str]:
    """Environment for `okr-kpi` on the demo project (examples/demo), every output under tmp_path."""
    env = dict(os.environ)
    for name in ("OKR_KPI_SLACK_WEBHOOK_URL", "OKR_KPI_WEBHOOK_URL", "OKR_KPI_TEAMS_WEBHOOK_URL",
                 "OKR_KPI_CONFIG"):
        env.pop(name, None)
    suffix = uuid.uuid4().hex[:8]
    env.update({
        "OKR_KPI_PROJECT_DIR": str(DEMO_DIR),
        "DBT_PROJECT_DIR": str(DEMO_DIR),
        "OKR_KPI_TARGET": target,
        "OKR_KPI_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
        "OKR_KPI_SCHEMA": "okr_kpi" if target == "duckdb" else f"okr_pub_{suffix}",
        "OKR_KPI_RAW_SCHEMA": "raw" if target == "duckdb" else f"okr_pub_{suffix}_raw",
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_LOG_PATH": str(tmp_path / "logs"),
        "OKR_KPI_GX_DIR": str(tmp_path / "gx"),
        "OKR_KPI_LOG_DIR": str(tmp_path / "logs"),
        "OKR_KPI_DELIVERY_RETRIES": "1",
        "OKR_KPI_DELIVERY_BACKOFF_SECONDS": "0.01",
        "OKR_KPI_DELIVERY_TIMEOUT_SECONDS": "2",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
    })
    env.update(extra)
    return env


def okr_kpi(env: dict[str, str], *args: str, timeout: int = 600):
    cmd = [OKR_KPI, *args]
    return subprocess.run(cmd, env=env, cwd=DEMO_DIR, text=True, capture_output=True, timeout=timeout)


def demo_warehouse(tmp_path_factory, rows: int = 20000) -> str:
    """Path of a DuckDB file holding the demo company's raw tables (generated once per session)."""
    if "raw" not in _DEMO_CACHE:
        base = tmp_path_factory.mktemp("demo_raw")
        proc = okr_kpi(run_env(base), "generate", "--rows", str(rows), "--seed", "7")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        _DEMO_CACHE["raw"] = str(base / "warehouse.duckdb")
    return str(_DEMO_CACHE["raw"])


def demo_env(tmp_path, tmp_path_factory, **extra: str) -> dict[str, str]:
    """A fresh copy of the demo raw warehouse in tmp_path, and the environment to run on it."""
    shutil.copy(demo_warehouse(tmp_path_factory), tmp_path / "warehouse.duckdb")
    return run_env(tmp_path, **extra)


def duck_query(path: str, sql: str) -> list[dict]:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        cur = con.execute(sql)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()


CHANNEL_URL_VARS = ("OKR_KPI_WEBHOOK_URL", "OKR_KPI_SLACK_WEBHOOK_URL", "OKR_KPI_TEAMS_WEBHOOK_URL")


def publish_project(tmp_path: Path, monkeypatch, config: str | None = None, **env: str):
    """A project for the publishing tests that write breaches straight into a DuckDB file (no dbt):
    the warehouse tmp_path/wh.duckdb, schema okr_kpi, the config file tmp_path/okr_kpi.yml
    (`config`, when given), one delivery try, no built-in channel from the caller's environment
    (`env` sets variables, e.g. a channel URL), the repository's profile. An okr_kpi.project.Project."""
    from harness import write_profile_project
    from okr_kpi.project import Project

    monkeypatch.setenv("OKR_KPI_DUCKDB_PATH", str(tmp_path / "wh.duckdb"))
    monkeypatch.setenv("OKR_KPI_SCHEMA", "okr_kpi")
    monkeypatch.setenv("OKR_KPI_CONFIG", str(tmp_path / "okr_kpi.yml"))
    monkeypatch.setenv("OKR_KPI_DELIVERY_RETRIES", "0")
    for name in CHANNEL_URL_VARS:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    if config is not None:
        (tmp_path / "okr_kpi.yml").write_text(config)
    write_profile_project(tmp_path)
    return Project(target="duckdb", project_dir=tmp_path, out_dir=tmp_path / "reports")
