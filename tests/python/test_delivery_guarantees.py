"""Issue 14, findings 2, 4, 5, 6, 7: backfills, the flood guard, exactly/at-most-once delivery,
the whole-try deadline and escaping per channel.

Real parts: a DuckDB file holding a hand-made okr_kpi.fct_kpi_breaches (as in
test_publish_lifecycle), local HTTP receivers on 127.0.0.1 that count posts (one that trickles its
answer, one that answers 200 and drops the connection, one that holds the request until the run
is killed with SIGKILL), aiosmtpd for mail. Expected values are written out by hand.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from harness import write_profile_project
from okr_kpi.exit_codes import ExitCode
from okr_kpi.project import Project
from publish_helpers import SmtpReceiver, WebhookReceiver
from test_publish_lifecycle import AS_OF, breach, set_breaches, table

REPO = Path(__file__).resolve().parents[2]
SLACK = "/services/T000/B000/slack"
HOOK = "/hook/generic"


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.setenv("OKR_KPI_DUCKDB_PATH", str(tmp_path / "wh.duckdb"))
    monkeypatch.setenv("OKR_KPI_SCHEMA", "okr_kpi")
    monkeypatch.setenv("OKR_KPI_CONFIG", str(tmp_path / "okr_kpi.yml"))
    monkeypatch.setenv("OKR_KPI_DELIVERY_RETRIES", "2")
    monkeypatch.setenv("OKR_KPI_DELIVERY_BACKOFF_SECONDS", "0.01")
    monkeypatch.setenv("OKR_KPI_DELIVERY_TIMEOUT_SECONDS", "2")
    monkeypatch.setenv("OKR_KPI_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.delenv("OKR_KPI_WEBHOOK_URL", raising=False)
    monkeypatch.delenv("OKR_KPI_SLACK_WEBHOOK_URL", raising=False)
    (tmp_path / "okr_kpi.yml").write_text("alerts:\n  lookback_days: 31\n")
    write_profile_project(tmp_path)
    return Project(target="duckdb", project_dir=tmp_path, out_dir=tmp_path / "reports")


@pytest.fixture
def receiver(monkeypatch):
    server = WebhookReceiver().start()
    monkeypatch.setenv("OKR_KPI_WEBHOOK_URL", server.url(HOOK))
    monkeypatch.setenv("OKR_KPI_SLACK_WEBHOOK_URL", server.url(SLACK))
    yield server
    server.stop()


def publish(project, as_of=AS_OF, force_lifecycle=False):
    """One publish stage and its okr_kpi_runs row, as `okr-kpi run` / `okr-kpi publish` do."""
    from okr_kpi.config import load_config
    from okr_kpi.lifecycle import new_run_id, now, record_run
    from okr_kpi.publish import publish_stage
    from okr_kpi.warehouse import connect

    wh = connect(project)
    try:
        run_id, started = new_run_id(), now()
        result = publish_stage(
            project,
            wh,
            as_of,
            run_id,
            load_config(project.project_dir),
            run_info={"run_id": run_id, "command": "publish", "exit_code": 0, "stages": {}},
            **({"force_lifecycle": True} if force_lifecycle else {}),
        )
        record_run(wh, project.schema, run_id, "publish", as_of, started, result.exit_code,
                   {"seed_hashes": getattr(result, "seed_hashes", None)})
        return result
    finally:
        wh.close()


def day_breach(bid: str, day: str, owner: str = "alice@x.example", kpi: str = "new_leads"):
    return breach(bid, kpi, owner, day, value=5, lower=10)


def keys(body) -> list[tuple[str, str]]:
    return [(e["event"], e["breach_id"]) for g in body["groups"] for e in g["events"]]


def statuses(project) -> dict[str, str]:
    rows = table(project, "select * from okr_kpi.okr_kpi_breach_history")
    return {r["breach_id"]: r["status"] for r in rows}


# --- finding 2: as_of going backwards ---------------------------------------------------------------


def test_backfill_neither_resolves_nor_resends(project, receiver):
    # The run of 08-31 sees three breaches: 08-31, 08-30 and 08-20.
    a, b, e = day_breach("a", "2026-08-31"), day_breach("b", "2026-08-30"), day_breach("e", "2026-08-20")
    set_breaches(project, [a, b, e])
    publish(project, as_of=AS_OF)
    assert sorted(keys(receiver.bodies(HOOK)[0])) == [("new", "a"), ("new", "b"), ("new", "e")]
    receiver.requests.clear()

    # A backfill of 08-24: the marts hold only what was complete then (e). a and b are after its
    # as_of: neither resolved nor sent.
    set_breaches(project, [e])
    backfill = publish(project, as_of=dt.date(2026, 8, 24))
    assert receiver.requests == []
    assert backfill.lifecycle.backfill_of == AS_OF
    assert [ev["event"] for ev in backfill.lifecycle.events] == []
    assert statuses(project) == {"a": "new", "b": "new", "e": "ongoing"}

    # A typo far back (2024-06-30) does not alert every later breach as resolved either.
    set_breaches(project, [])
    publish(project, as_of=dt.date(2024, 6, 30))
    assert receiver.requests == []

    # The next normal run: the same breaches again are not "new".
    set_breaches(project, [a, b, e])
    again = publish(project, as_of=AS_OF)
    assert receiver.requests == []
    assert again.lifecycle.backfill_of is None
    assert statuses(project) == {"a": "ongoing", "b": "ongoing", "e": "ongoing"}

    # --force-lifecycle: the backfill applies the lifecycle as for a new day (a and b resolve).
    set_breaches(project, [e])
    forced = publish(project, as_of=dt.date(2026, 8, 24), force_lifecycle=True)
    assert sorted(keys(receiver.bodies(HOOK)[0])) == [("resolved", "a"), ("resolved", "b")]
    assert forced.lifecycle.backfill_of is None


def test_future_as_of_is_refused_before_anything(project, tmp_path):
    from okr_kpi.run import run_job

    code = run_job(project, as_of="2999-12-31", quiet=True)
    assert code == ExitCode.USAGE
    log = (tmp_path / "logs" / "okr_kpi_run.log").read_text()
    assert "--as-of 2999-12-31 is in the future" in log
    assert not (tmp_path / "wh.duckdb").exists()  # nothing was built, nothing was touched


# --- finding 4: the flood guard -------------------------------------------------------------------


def test_flood_guard_sends_one_summary_and_names_the_changed_seed(project, receiver):
    seeds = project.project_dir / "seeds"
    seeds.mkdir()
    header = "kpi_id,grain,severity,lower_bound,upper_bound\n"
    (seeds / "kpi_thresholds.csv").write_text(header + "new_leads,day,warning,10,\n")
    (seeds / "kpi_definitions.csv").write_text("kpi_id,name\nnew_leads,New leads\n")
    first = [day_breach("a", "2026-08-31")]
    set_breaches(project, first)
    publish(project)  # the first run (not judged)
    usual = first + [day_breach("u1", "2026-08-30"), day_breach("u2", "2026-08-29")]
    set_breaches(project, usual)
    publish(project)  # two new: an ordinary day, listed
    assert sorted(keys(receiver.bodies(HOOK)[-1])) == [("new", "u1"), ("new", "u2")]
    receiver.requests.clear()

    # A one-cell typo in kpi_thresholds: 30 new breaches at once.
    (seeds / "kpi_thresholds.csv").write_text(header + "new_leads,day,warning,100,1\n")
    flood = usual + [day_breach(f"f{i:02d}", f"2026-08-{i:02d}") for i in range(1, 31)]
    set_breaches(project, flood)
    result = publish(project)
    assert len(receiver.bodies(HOOK)) == 1 and len(receiver.bodies(SLACK)) == 1
    body = receiver.bodies(HOOK)[0]
    assert body["groups"] == []  # no list
    import jsonschema

    jsonschema.validate(body, json.loads((REPO / "docs" / "okr_kpi_digest.schema.json").read_text()))
    assert body["flood"]["new"] == 30 and body["flood"]["changed_seeds"] == ["kpi_thresholds"]
    assert body["flood"]["usual"] == 2
    slack = receiver.bodies(SLACK)[0]
    assert "30 new breaches" in slack["text"] and "likely a definition change" in slack["text"]
    assert "kpi_thresholds" in slack["text"] and "see the report" in slack["text"]
    assert "f01" not in json.dumps(slack)
    # Still recorded, one by one, and in the report.
    assert sum(1 for s in statuses(project).values() if s == "new") == 30
    assert result.exit_code == ExitCode.BREACHES
    assert "f01" not in json.dumps(body)
    # Each run keeps the definition seeds' hashes.
    runs = table(project, "select summary from okr_kpi.okr_kpi_runs order by started_at")
    hashes = [json.loads(r["summary"])["seed_hashes"] for r in runs]
    assert hashes[0] == hashes[1] != hashes[2]
    assert hashes[1]["kpi_definitions"] == hashes[2]["kpi_definitions"]


# --- finding 5: duplicates where the receiver cannot deduplicate ----------------------------------


class HoldingReceiver(WebhookReceiver):
    """Records every POST; a POST to `hold_path` is held (no answer) until `release` is set."""

    def __init__(self, hold_path: str) -> None:
        super().__init__()
        self.hold_path = hold_path
        self.arrived = threading.Event()
        self.release = threading.Event()

    def start(self) -> HoldingReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                receiver.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": json.loads(body)}
                )
                if self.path == receiver.hold_path and not receiver.release.is_set():
                    receiver.arrived.set()
                    receiver.release.wait(120)
                with_reply = True
                try:
                    self.send_response(200)
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    with_reply = False
                return with_reply

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self


PUBLISH_SCRIPT = """
import datetime as dt, sys
from pathlib import Path
from okr_kpi.config import load_config
from okr_kpi.lifecycle import new_run_id
from okr_kpi.project import Project
from okr_kpi.publish import publish_stage
from okr_kpi.warehouse import connect
root = Path(sys.argv[1])
project = Project(target="duckdb", project_dir=root, out_dir=root / "reports")
wh = connect(project)
run_id = new_run_id()
publish_stage(project, wh, dt.date(2026, 8, 31), run_id, load_config(root),
              run_info={"run_id": run_id, "command": "publish", "exit_code": 0, "stages": {}})
"""


@pytest.mark.parametrize("hold", [SLACK, HOOK])
def test_kill_9_during_delivery_then_rerun(project, monkeypatch, hold):
    server = HoldingReceiver(hold).start()
    monkeypatch.setenv("OKR_KPI_WEBHOOK_URL", server.url(HOOK))
    monkeypatch.setenv("OKR_KPI_SLACK_WEBHOOK_URL", server.url(SLACK))
    monkeypatch.setenv("OKR_KPI_DELIVERY_TIMEOUT_SECONDS", "300")  # the kill comes first
    try:
        set_breaches(project, [day_breach("a", "2026-08-31")])
        env = {**os.environ, "PYTHONPATH": str(REPO / "scripts")}
        proc = subprocess.Popen([sys.executable, "-c", PUBLISH_SCRIPT, str(project.project_dir)], env=env)
        try:
            assert server.arrived.wait(120), "the held request never arrived"
            os.kill(proc.pid, signal.SIGKILL)  # the request has left; no answer yet
            proc.wait(60)
        finally:
            if proc.poll() is None:
                proc.kill()
        server.release.set()
        rows = table(project, "select * from okr_kpi.okr_kpi_alert_outbox")
        outbox = {o["channel"]: o["status"] for o in rows}
        held = "slack" if hold == SLACK else "webhook"
        assert outbox[held] == "sending"  # recorded before the request left

        rerun = publish(project)
        publish(project)  # and once more: nothing changes
        slack = [r for r in server.requests if r["path"] == SLACK]
        hook = [r for r in server.requests if r["path"] == HOOK]
        outbox = {o["channel"]: o for o in table(project, "select * from okr_kpi.okr_kpi_alert_outbox")}
        assert len(slack) == 1  # Slack cannot deduplicate: never a second copy
        if hold == SLACK:
            # At most once: the copy that left before the kill arrived; it is not sent again.
            assert outbox["slack"]["status"] == "unknown"
            assert "may have arrived" in outbox["slack"]["last_error"]
            assert rerun.exit_code == ExitCode.DELIVERY_FAILED  # the scheduler hears of the doubt
            assert len(hook) == 1 and outbox["webhook"]["status"] == "sent"
        else:
            # The generic webhook honours Idempotency-Key: re-sent with the same key, so the
            # receiver keeps exactly one.
            assert len(hook) == 2
            assert len({r["headers"]["Idempotency-Key"] for r in hook}) == 1
            assert outbox["webhook"]["status"] == "sent" and outbox["slack"]["status"] == "sent"
    finally:
        server.release.set()
        server.stop()


class RawReceiver:
    """A TCP server answering every HTTP request with `behaviour(conn)` after reading it; counts them."""

    def __init__(self, behaviour) -> None:
        self.count = 0
        self.behaviour = behaviour
        receiver = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                conn = self.request
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head, _, body = data.partition(b"\r\n\r\n")
                lines = head.split(b"\r\n")
                sizes = [int(x.split(b":")[1]) for x in lines if x.lower().startswith(b"content-length")]
                length = sizes[0] if sizes else 0
                while len(body) < length:
                    body += conn.recv(65536)
                receiver.count += 1
                try:
                    receiver.behaviour(conn)
                except OSError:
                    pass

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def trickle(conn: socket.socket) -> None:
    """200, then a header one byte every 0.3 s (7 s in all), then the end: never 2 s of silence."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
    for _ in range(24):
        time.sleep(0.3)
        conn.sendall(b"x")
    conn.sendall(b"\r\nContent-Length: 2\r\n\r\nok")


def test_trickling_receiver_is_cut_at_the_whole_try_deadline(project, monkeypatch):
    server = RawReceiver(trickle)
    monkeypatch.setenv("OKR_KPI_SLACK_WEBHOOK_URL", server.url(SLACK))
    monkeypatch.setenv("OKR_KPI_DELIVERY_TIMEOUT_SECONDS", "1")  # each read is faster than that
    try:
        set_breaches(project, [day_breach("a", "2026-08-31")])
        result = publish(project)
        (row,) = table(project, "select * from okr_kpi.okr_kpi_alert_outbox")
        # Cut at the deadline, not after the 7 s trickle; the request had left, so Slack's copy is
        # not tried again (at most once), and the run says so.
        assert row["status"] == "unknown" and row["attempts"] == 1
        assert "deadline of 1s" in row["last_error"]
        assert server.count == 1
        assert result.exit_code == ExitCode.DELIVERY_FAILED
        publish(project)
        assert server.count == 1
    finally:
        server.stop()


def ok_then_drop(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nok")
    conn.shutdown(socket.SHUT_RDWR)
    conn.close()


def test_200_then_dropped_connection_is_delivered_once(project, monkeypatch):
    server = RawReceiver(ok_then_drop)
    monkeypatch.setenv("OKR_KPI_SLACK_WEBHOOK_URL", server.url(SLACK))
    monkeypatch.setenv("OKR_KPI_WEBHOOK_URL", server.url(HOOK))
    try:
        set_breaches(project, [day_breach("a", "2026-08-31")])
        result = publish(project)
        publish(project)
        assert server.count == 2  # one per channel, no retry: the 200 is the acknowledgement
        rows = table(
            project, "select channel, status, attempts from okr_kpi.okr_kpi_alert_outbox order by channel"
        )
        assert rows == [
            {"channel": "slack", "status": "sent", "attempts": 1},
            {"channel": "webhook", "status": "sent", "attempts": 1},
        ]
        assert result.exit_code == ExitCode.BREACHES
    finally:
        server.stop()


def test_refused_connection_is_retried_and_kept_pending(project, monkeypatch):
    # Certainly not delivered (nothing listens): retried, kept pending, delivered next run.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("OKR_KPI_SLACK_WEBHOOK_URL", f"http://127.0.0.1:{port}{SLACK}")
    set_breaches(project, [day_breach("a", "2026-08-31")])
    assert publish(project).exit_code == ExitCode.DELIVERY_FAILED
    (row,) = table(project, "select status, attempts from okr_kpi.okr_kpi_alert_outbox")
    assert row == {"status": "pending", "attempts": 3}
    server = WebhookReceiver(port=port).start()
    try:
        publish(project)
        publish(project)
        assert len(server.bodies(SLACK)) == 1
    finally:
        server.stop()


# --- finding 7: escaping per channel --------------------------------------------------------------

HOSTILE_OWNER = "<!channel> <@U123>"
HOSTILE_NAME = "<https://evil.example|click here> & <script>alert(1)</script> [x](https://evil.example)"


def hostile_breach():
    row = list(day_breach("h", "2026-08-31"))
    row[2] = HOSTILE_NAME
    row[3] = HOSTILE_OWNER
    return tuple(row)


def test_slack_payload_escapes_mrkdwn(project, receiver):
    set_breaches(project, [hostile_breach()])
    publish(project)
    slack = receiver.bodies(SLACK)[0]
    texts = [slack["text"]] + [b["text"]["text"] for b in slack["blocks"] if b["type"] == "section"]
    texts += [el["text"] for b in slack["blocks"] if b["type"] == "context" for el in b["elements"]]
    for text in texts:
        assert "<!channel>" not in text and "<https://evil.example" not in text and "<@U123>" not in text
        assert "<" not in text and ">" not in text
    joined = "\n".join(texts)
    assert "&lt;!channel&gt;" in joined and "&lt;https://evil.example|click here&gt; &amp; " in joined
    # The generic webhook carries the data as typed (JSON; the receiver renders it).
    assert receiver.bodies(HOOK)[0]["groups"][0]["owner"] == HOSTILE_OWNER


def test_summary_md_escapes_seed_text(project, receiver):
    set_breaches(project, [hostile_breach()])
    publish(project)
    md = (project.out_dir / "summary.md").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    assert "<script>" not in md and "<!channel>" not in md
    assert "\\[x\\](https://evil.example)" in md and "[x](" not in md  # no Markdown link
    html = (project.out_dir / "report.html").read_text()
    assert "<script>alert(1)</script>" not in html


def test_email_html_escapes_seed_text(project, monkeypatch):
    smtp = SmtpReceiver().start()
    try:
        (project.project_dir / "okr_kpi.yml").write_text(
            "channels:\n  email:\n    enabled: true\n    smtp_host: 127.0.0.1\n"
            f"    smtp_port: {smtp.port}\n    security: none\n    to: [team@x.example]\n"
        )
        set_breaches(project, [hostile_breach()])
        publish(project)
        (msg,) = smtp.messages
        parts = {p.get_content_type(): p.get_payload(decode=True).decode() for p in msg["message"].walk()
                 if not p.is_multipart()}
        html = parts["text/html"]
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
        assert "&lt;!channel&gt;" in html
    finally:
        smtp.stop()
