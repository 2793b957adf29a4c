"""Issue 14, finding 2, on the demo company (real dbt build, DuckDB file, a counting webhook
receiver): a backfill (as_of 08-24 after 08-31) and a typo far back (2024-06-30) alert nothing
"resolved", and the next normal run sends nothing again as "new"; an as_of in the future is
refused with exit 2 before anything is built."""

from __future__ import annotations

from publish_helpers import DEMO_AS_OF, WebhookReceiver, demo_env, okr_kpi


def test_backfill_and_typo_send_nothing_and_next_run_resends_nothing(tmp_path, tmp_path_factory):
    server = WebhookReceiver().start()
    try:
        env = demo_env(tmp_path, tmp_path_factory, OKR_KPI_WEBHOOK_URL=server.url("/hook"))
        out = str(tmp_path / "reports")
        first = okr_kpi(env, "run", "--as-of", DEMO_AS_OF, "--out", out, "--quiet")
        assert first.returncode == 10, first.stderr[-3000:]
        assert len(server.requests) == 1
        server.requests.clear()

        for as_of in ("2026-08-24", "2024-06-30"):
            back = okr_kpi(env, "run", "--as-of", as_of, "--out", out)
            assert back.returncode in (0, 10), back.stderr[-3000:]
            assert "backfill" in back.stderr
            sent = [e for b in server.bodies() for g in b["groups"] for e in g["events"]]
            assert [e for e in sent if e["event"] == "resolved"] == [], as_of

        server.requests.clear()
        again = okr_kpi(env, "run", "--as-of", DEMO_AS_OF, "--out", out, "--quiet")
        assert again.returncode == 0, again.stderr[-3000:]
        assert server.requests == []  # nothing sent again as "new"
    finally:
        server.stop()


def test_future_as_of_is_a_clear_refusal(tmp_path, tmp_path_factory):
    env = demo_env(tmp_path, tmp_path_factory)
    before = (tmp_path / "warehouse.duckdb").read_bytes()
    proc = okr_kpi(env, "run", "--as-of", "2999-12-31", "--out", str(tmp_path / "reports"))
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "--as-of 2999-12-31 is in the future" in proc.stderr
    assert (tmp_path / "warehouse.duckdb").read_bytes() == before  # nothing was built or recorded
