"""Real local receivers for the publishing tests: an HTTP webhook server and an SMTP server.

Both listen on 127.0.0.1 on an ephemeral port and record what arrives; no mocks.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


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

    def __init__(self) -> None:
        self.messages = []
        self.controller = None
        self.port = None

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
