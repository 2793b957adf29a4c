"""Issue 16, piece 5: links that open. With `report.base_url` every link in the digest points at
the served report; the out dir holds the latest report at a stable path, a per-run archive and
an index page, all relative links, so any static web server can serve it as is.

Real parts: the real `okr-kpi run` on the demo company (examples/demo), a local webhook receiver
for the digest, and the out dir served by Python's http.server on 127.0.0.1; every link of the
digest is followed over HTTP and its #kpi-<id> anchor looked up in the page that came back.
"""

from __future__ import annotations

import functools
import re
import threading
import urllib.request
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

from publish_helpers import DEMO_AS_OF, WebhookReceiver, demo_env, okr_kpi


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (a local test server)
        assert response.status == 200, url
        return response.read().decode("utf-8")


def test_every_digest_link_opens_on_the_served_report(tmp_path, tmp_path_factory):
    out = tmp_path / "site"
    out.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(out)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/okr/"
    # the site root serves out/ under /okr/ (as a bucket prefix would)
    (out / "okr").mkdir()
    hook = WebhookReceiver().start()
    try:
        config = tmp_path / "okr_kpi.yml"
        config.write_text(f"report:\n  base_url: {base}\n")
        env = demo_env(
            tmp_path, tmp_path_factory, OKR_KPI_WEBHOOK_URL=hook.url("/hook"), OKR_KPI_CONFIG=str(config)
        )
        proc = okr_kpi(env, "run", "--as-of", DEMO_AS_OF, "--out", str(out / "okr"))
        assert proc.returncode in (10, 15), proc.stderr[-3000:]
        (body,) = hook.bodies("/hook")
        run_id = body["run_id"]
        assert body["report"] == f"{base}runs/{run_id}/report.html"
        links = [line["link"] for g in body["groups"] for line in g["lines"]]
        assert links and all(link.startswith(body["report"] + "#kpi-") for link in links)
        pages: dict[str, str] = {}
        for link in [body["report"], *links]:
            page, _, anchor = link.partition("#")
            html = pages.setdefault(page, fetch(page))
            if anchor:
                assert f'id="{anchor}"' in html, anchor
        # the stable path and the index, with relative links that resolve when served
        latest = fetch(f"{base}report.html")
        assert "<html" in latest
        index = fetch(f"{base}index.html")
        hrefs = re.findall(r"href='([^']+)'", index)
        assert f"runs/{run_id}/report.html" in hrefs and "report.html" in hrefs
        for href in hrefs:
            fetch(base + href)
        # nothing in the digest points at the local disk
        assert str(out) not in str(body)
    finally:
        hook.stop()
        server.shutdown()
        server.server_close()
