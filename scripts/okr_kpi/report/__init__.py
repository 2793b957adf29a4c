"""The published results in reports/ (or --out):

- `okr_kpi.json`: the report document, versioned (`schema_version`), schema in
  docs/okr_kpi.schema.json;
- `summary.md`: a short Markdown summary (for a PR comment, a wiki, a chat);
- `report.html`: one self-contained page (inline CSS, a few lines of JS, SVG charts made here):
  KPI tiles, trend charts with threshold bands and breach markers, the OKR scoreboard, the
  objective tree, breaches and the data-quality summary with a link to the GX Data Docs.

Every text written here goes through the redaction of okr_kpi.logging (no secret in a report).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

from okr_kpi.config import Config, load_config
from okr_kpi.logging import redact
from okr_kpi.project import Project
from okr_kpi.publish.channels import describe_drivers
from okr_kpi.report.data import build_document
from okr_kpi.report.svg import (
    SEGMENT_COLOURS,
    fmt,
    key_result_chart,
    progress_bar,
    segment_chart,
    trend_chart,
)

TEMPLATES = Path(__file__).parent / "templates"
STATUS_CLASS = {"ok": "ok", "breaches": "breaches"}
# How a tile names its comparisons (rpt_kpi_tiles.comparison_basis / year_comparison_basis).
BASIS_LABEL = {
    "same_weekday_last_week": "same weekday last week",
    "same_weekday_52_weeks_ago": "same weekday 52 weeks ago",
    "prior_period": "prior",
    "same_period_last_year": "last year",
}


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{v:+.1%}"


def _pct0(v: float | None) -> str:
    return "–" if v is None else f"{v:.0%}"


def _tone(kpi: dict[str, Any], change: float | None) -> str:
    """CSS class of a change: good / bad for a KPI with a desired direction, `neutral` (a move,
    neither good nor bad) for a neutral KPI, flat for no change."""
    if change is None or abs(change) < 1e-9:
        return "flat"
    if kpi.get("direction") == "neutral":
        return "neutral"
    good = change > 0 if kpi.get("direction") != "lower_is_better" else change < 0
    return "good" if good else "bad"


def objective_tree(objectives: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Objectives nested by parent_objective_id (an unknown parent makes a root)."""
    nodes = {o["objective_id"]: {**o, "children": []} for o in objectives}
    roots = []
    for o in objectives:
        parent = o.get("parent_objective_id")
        if parent and parent in nodes and parent != o["objective_id"]:
            nodes[parent]["children"].append(nodes[o["objective_id"]])
        else:
            roots.append(nodes[o["objective_id"]])
    return roots


def cycle_sections(okrs: dict[str, Any]) -> list[dict[str, Any]]:
    """The cycles of the document in their order, each with its objectives (already in tree order)."""
    by_cycle: dict[str, list[dict[str, Any]]] = {}
    for o in okrs.get("objectives") or []:
        by_cycle.setdefault(o.get("cycle_id"), []).append(o)
    return [{**c, "objectives": by_cycle.get(c["cycle_id"], [])} for c in okrs.get("cycles") or []]


def cycle_label(c: dict[str, Any]) -> str:
    """"2025-07-01 to 2025-09-30 · quarter · day 51 of 92" (active) or "... · ended" (finished)."""
    length = str(c.get("length") or "").replace("_", " ")
    if c.get("state") == "active":
        when = f"day {c.get('elapsed_days')} of {c.get('cycle_days')}"
    else:
        when = f"ended, {c.get('cycle_days')} days"
    return f"{c.get('start_date')} to {c.get('end_date')} · {length} · {when}"


def md_cell(text: Any) -> str:
    """Text as typed, safe in a Markdown table cell: no HTML (&, <, > as entities), no column
    break, no link or code span (`[`, `]`, backquote escaped), no line break."""
    out = str(text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for ch in ("\\", "|", "[", "]", "`"):  # the backslash first
        out = out.replace(ch, "\\" + ch)
    return " ".join(out.splitlines())


def md_text(text: Any) -> str:
    """md_cell, and no emphasis either: `*`, `_` and `~` escaped, so a segment value typed as
    `*bold*` shows as typed (segment values are user data)."""
    out = md_cell(text)
    for ch in ("*", "_", "~"):
        out = out.replace(ch, "\\" + ch)
    return out


def _facets(doc: dict[str, Any]) -> dict[str, list[str]]:
    """The values the owner / team / level filters offer (every section carries them)."""
    owners = {k.get("owner") for k in doc["kpis"]["items"]}
    teams, levels = set(), set()
    for o in doc["okrs"].get("objectives") or []:
        owners.add(o.get("owner"))
        owners.update(kr.get("owner") for kr in o.get("key_results") or [])
        teams.add(o.get("team"))
        levels.add(o.get("level"))
    order = {"company": 0, "team": 1, "individual": 2}
    return {
        "owner": sorted(v for v in owners if v),
        "team": sorted(v for v in teams if v),
        "level": sorted((v for v in levels if v), key=lambda v: (order.get(v, 9), v)),
    }


def render_html(doc: dict[str, Any], out_dir: Path) -> str:
    import jinja2
    from markupsafe import Markup

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=jinja2.ChainableUndefined
    )
    env.globals.update(
        fmt=fmt,
        pct=_pct,
        pct0=_pct0,
        cycle_label=cycle_label,
        tone=_tone,
        arrow=lambda v: "" if v is None or v == 0 else ("▲" if v > 0 else "▼"),
        bar=lambda s, e, st, w=160: Markup(progress_bar(s, e, st, w)),
        basis_label=BASIS_LABEL,
        drivers_text=describe_drivers,  # plain text: the template's autoescape escapes it
        segment_colour=lambda n: SEGMENT_COLOURS[n % len(SEGMENT_COLOURS)],
    )
    sections = cycle_sections(doc["okrs"])
    active = [o for c in sections if c["state"] == "active" for o in c["objectives"]]
    docs = doc["data_quality"].get("data_docs")
    href = docs
    if docs and "://" not in docs:
        try:
            href = os.path.relpath(docs, out_dir)
        except ValueError:
            href = Path(docs).as_uri()
    status = doc["run"].get("status", "ok")
    events = doc["breaches"].get("events", [])
    return env.get_template("report.html.j2").render(
        doc=doc,
        charts={k["kpi_id"]: Markup(trend_chart(k)) for k in doc["kpis"]["items"]},
        split_charts={
            f"{k['kpi_id']}|{sp['dimension']}": Markup(segment_chart(k, sp))
            for k in doc["kpis"]["items"]
            for sp in k.get("segments") or []
        },
        kr_charts={
            kr["key_result_id"]: Markup(key_result_chart(kr, kr["days"]))
            for o in doc["okrs"].get("objectives") or []
            for kr in o.get("key_results") or []
            if kr.get("days")
        },
        active_cycles=[c for c in sections if c["state"] == "active"],
        finished_cycles=[c for c in sections if c["state"] == "finished"],
        tree=objective_tree(active),
        kpi_by_id={k["kpi_id"]: k for k in doc["kpis"]["items"]},
        facets=_facets(doc),
        status_class=STATUS_CLASS.get(status, "bad"),
        data_docs_href=href,
        event_counts={k: sum(1 for e in events if e["event"] == k) for k in ("new", "escalated", "resolved")},
    )


def render_markdown(doc: dict[str, Any]) -> str:
    lines = [
        f"# {md_cell(doc['title'])} — as of {doc['as_of_date']}",
        "",
        f"Run `{doc['run'].get('run_id') or '–'}`: **{doc['run'].get('status')}** "
        f"(exit {doc['run'].get('exit_code')}).",
        "",
    ]
    stages = doc["run"].get("stages") or {}
    if stages:
        lines += ["| stage | status | detail |", "| --- | --- | --- |"]
        for name, s in stages.items():
            lines.append(f"| {name} | {s.get('status')} | {md_cell(s.get('detail', ''))} |")
        lines.append("")
    b = doc["breaches"]
    lines.append("## Breaches")
    if not b["available"]:
        lines.append("Not available (fct_kpi_breaches is not built).")
    else:
        counts = {k: sum(1 for e in b["events"] if e["event"] == k) for k in ("new", "escalated", "resolved")}
        lines.append(
            f"{b['total']} in the log ({b['by_severity']['critical']} critical, "
            f"{b['by_severity']['warning']} warning); this run {counts['new']} new, "
            f"{counts['escalated']} escalated, {counts['resolved']} resolved."
        )
        alerted = [e for e in b["events"] if e.get("is_alerted")]
        if alerted:
            lines += [
                "",
                "| event | KPI | owner | period | rule | severity | value | drivers |",
                "| --- " * 8 + "|",
            ]
            for e in alerted[:50]:
                lines.append(
                    f"| {e['event']} | {md_text(e['kpi_name'])} | {md_text(e['owner'])} "
                    f"| {e['grain']} {e['period_start']} "
                    f"| {e['rule']} | {e['severity']} | {fmt(e['value'])} "
                    f"| {md_text(describe_drivers(e.get('drivers')))} |"
                )
    lines += ["", "## KPIs", ""]
    if doc["kpis"]["available"]:
        lines += ["| KPI | period | value | vs prior | vs last year |", "| --- | --- | --- | --- | --- |"]
        for k in doc["kpis"]["items"]:
            la = k.get("latest") or {}
            lines.append(
                f"| {md_text(k['name'])} | {k['grain']} {la.get('period_start', '–')} "
                f"| {fmt(la.get('value'))} "
                f"| {_pct(la.get('change_pct'))} | {_pct(la.get('change_pct_last_year'))} |"
            )
    else:
        lines.append("Not available.")
    lines += ["", "## OKRs", ""]
    okrs = doc["okrs"]
    sections = cycle_sections(okrs) if okrs["available"] else []
    if not okrs["available"]:
        lines.append("Not available.")
    elif not sections:
        lines.append("No OKR cycle is active on the as_of_date, and none has finished yet.")
    for c in sections:
        if c["state"] == "active":
            lines += [
                f"### {md_text(c['name'])} · active · {cycle_label(c)} ({_pct0(c.get('expected_progress'))})",
                "",
                "| objective / key result | score | expected | status |",
                "| --- | --- | --- | --- |",
            ]
        else:
            lines += [
                f"### {md_text(c['name'])} · finished · {cycle_label(c)} · score {fmt(c.get('score'))}, "
                f"grade **{c.get('grade') or '–'}**",
                "",
                "| objective / key result | final score | grade / status |",
                "| --- | --- | --- |",
            ]
        for o in c["objectives"]:
            indent = "&nbsp;&nbsp;" * (2 * int(o.get("cycle_depth") or 0))
            aligned = ""
            if o.get("parent_cycle_id") and o.get("parent_cycle_id") != o.get("cycle_id"):
                parent = f"{md_text(o.get('parent_title'))}, {md_text(o.get('parent_cycle_name'))}"
                aligned = f" (aligned to {parent})"
            title = f"{indent}**{md_text(o['title'])}**{aligned}"
            score = o.get("score") if o.get("score") is not None else o.get("progress")
            if c["state"] == "active":
                expected = fmt(o.get("expected_progress"))
                lines.append(f"| {title} | {fmt(score)} | {expected} | {o.get('status') or '–'} |")
            else:
                lines.append(f"| {title} | {fmt(score)} | {o.get('grade') or '–'} |")
            for kr in o["key_results"]:
                kr_title = f"{indent}&nbsp;&nbsp;&nbsp;&nbsp;{md_text(kr['title'])}"
                if c["state"] == "active":
                    lines.append(
                        f"| {kr_title} | {fmt(kr.get('score'))} | {fmt(kr.get('expected_progress'))} "
                        f"| {kr.get('status') or '–'} |"
                    )
                else:
                    lines.append(f"| {kr_title} | {fmt(kr.get('score'))} | {kr.get('status') or '–'} |")
        lines.append("")
    dq = doc["data_quality"]
    lines += ["", "## Data quality", ""]
    if dq.get("available"):
        lines.append(
            f"{dq['status']}: {dq['passed']} data-quality checks passed, {dq['failed']} failed"
            f"; {dq.get('threshold_checks_breached', 0)} of {dq.get('threshold_checks', 0)} KPI threshold "
            "expectations found breached periods."
            + (f" Data Docs: {dq['data_docs']}" if dq.get("data_docs") else "")
        )
    else:
        lines.append(f"Not available (checks {dq.get('status', 'skipped')}).")
    lines += ["", "Full report: report.html · machine-readable: okr_kpi.json", ""]
    return "\n".join(lines)


def _write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(redact(text), encoding="utf-8")
    tmp.replace(path)


def write_reports(
    project: Project,
    wh,
    as_of: dt.date,
    *,
    config: Config,
    run_info: dict[str, Any],
    lifecycle: Any = None,
    delivery: Any = None,
    checks: Any = None,
) -> dict[str, str]:
    """Write okr_kpi.json, summary.md and report.html into the out dir; returns their paths."""
    out = Path(project.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    section = config.section("report")
    if checks is None and (out / "okr_kpi.json").is_file():
        try:  # keep the previous run's data-quality results when only re-rendering
            previous = json.loads((out / "okr_kpi.json").read_text(encoding="utf-8"))
            if previous.get("as_of_date") == as_of.isoformat() and previous.get("data_quality", {}).get(
                "available"
            ):
                checks = previous["data_quality"]
        except (OSError, ValueError):
            pass
    counts = None
    if lifecycle is None:
        from okr_kpi.lifecycle import HISTORY

        if wh.table_exists(project.schema, HISTORY):
            rows = wh.query(
                f"select status, count(*) as n from {wh.ident(project.schema, HISTORY)} group by status"
            )
            counts = {r["status"]: int(r["n"]) for r in rows}
    doc = build_document(
        wh,
        project.schema,
        as_of,
        title=section.get("title") or "KPIs and OKRs",
        trend_periods=int(section.get("trend_periods") or 60),
        run_info=run_info,
        lifecycle=lifecycle,
        delivery=delivery,
        checks=checks,
        data_docs_url=section.get("data_docs_url"),
        history_counts=counts,
    )
    paths = {"json": out / "okr_kpi.json", "markdown": out / "summary.md", "html": out / "report.html"}
    _write(paths["json"], json.dumps(doc, indent=2, sort_keys=False) + "\n")
    _write(paths["markdown"], render_markdown(doc))
    _write(paths["html"], render_html(doc, out))
    keep = int(section.get("archive_runs", 30) or 0)
    run_id = run_info.get("run_id")
    if keep > 0 and run_id and lifecycle is not None:
        # the per-run archive: what this run alerted keeps its page (digests link to it)
        archive = out / "runs" / str(run_id)
        archive.mkdir(parents=True, exist_ok=True)
        _write(archive / "okr_kpi.json", json.dumps(doc, indent=2, sort_keys=False) + "\n")
        _write(archive / "summary.md", render_markdown(doc))
        _write(archive / "report.html", render_html(doc, archive))
        paths["archive"] = archive / "report.html"
        prune_archive(out / "runs", keep)
    paths["index"] = out / "index.html"
    _write(paths["index"], render_index(out, title=section.get("title") or "KPIs and OKRs"))
    return {k: str(v) for k, v in paths.items()}


def prune_archive(runs: Path, keep: int) -> list[str]:
    """Keep the newest `keep` run directories (run ids start with their UTC time)."""
    import shutil

    dirs = sorted(
        (d for d in runs.iterdir() if d.is_dir() and (d / "report.html").is_file()), key=lambda d: d.name
    )
    gone = dirs[: max(len(dirs) - keep, 0)]
    for d in gone:
        shutil.rmtree(d, ignore_errors=True)
    return [d.name for d in gone]


def render_index(out: Path, title: str) -> str:
    """index.html of the out dir: the latest report, then every archived run, newest first. Links
    are relative, so the directory can be served as is by any static web server or bucket."""
    from html import escape

    rows = []
    runs = out / "runs"
    archived = [d for d in runs.iterdir() if d.is_dir()] if runs.is_dir() else []
    for d in sorted(archived, key=lambda d: d.name, reverse=True):
        try:
            doc = json.loads((d / "okr_kpi.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        b = doc.get("breaches", {})
        rows.append(
            f"<tr><td><a href='runs/{escape(d.name)}/report.html'>{escape(d.name)}</a></td>"
            f"<td>{escape(str(doc.get('as_of_date')))}</td>"
            f"<td>{escape(str(doc.get('run', {}).get('status')))}</td>"
            f"<td>{int((b.get('by_severity') or {}).get('critical') or 0)}</td>"
            f"<td>{int((b.get('by_severity') or {}).get('warning') or 0)}</td></tr>"
        )
    table = "".join(rows) or "<tr><td colspan='5'>No archived run yet.</td></tr>"
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)}</title><style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem}}"
        "td,th{padding:.25rem .75rem;text-align:left}</style></head><body>"
        f"<h1>{escape(title)}</h1><p><a href='report.html'>Latest report</a> · "
        "<a href='okr_kpi.json'>okr_kpi.json</a> · <a href='summary.md'>summary.md</a></p>"
        "<h2>Runs</h2><table><thead><tr><th>Run</th><th>as_of_date</th><th>Status</th><th>Critical</th>"
        f"<th>Warning</th></tr></thead><tbody>{table}</tbody></table></body></html>\n"
    )


def report_command(project: Project) -> Path:
    """`okr-kpi report`: write the reports from what is built (no build, no lifecycle, no sending)."""
    from okr_kpi.publish import resolve_as_of
    from okr_kpi.warehouse import connected

    config = load_config(project.project_dir)
    with connected(project, read_only=True) as wh:
        as_of = resolve_as_of(wh, project.schema)
        write_reports(project, wh, as_of, config=config, run_info=last_run_info(wh, project.schema, as_of))
    return Path(project.out_dir) / "report.html"


def last_run_info(wh, schema: str, as_of: dt.date) -> dict[str, Any]:
    """The latest `okr-kpi run` of this as_of_date (its id, exit code and stages), for re-rendering."""
    from okr_kpi.lifecycle import RUNS

    info: dict[str, Any] = {"run_id": None, "command": "report", "exit_code": 0, "stages": {}}
    if not wh.table_exists(schema, RUNS):
        return info
    rows = wh.query(
        f"select run_id, exit_code, summary from {wh.ident(schema, RUNS)} where command = 'run' "
        "and as_of_date = ? order by started_at desc limit 1",
        (as_of,),
    )
    if rows:
        try:
            stages = json.loads(rows[0]["summary"] or "{}").get("stages", {})
        except ValueError:
            stages = {}
        info.update(
            run_id=rows[0]["run_id"], command="run", exit_code=int(rows[0]["exit_code"]), stages=stages
        )
    return info
