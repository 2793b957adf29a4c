"""SVG charts for the HTML report, generated in Python (no chart library, no CDN)."""

from __future__ import annotations

from html import escape
from typing import Any

COLOURS = {
    "line": "#1f5fa8",
    "critical": "#c62828",
    "warning": "#ef8f00",
    "grid": "#d9dee5",
    "critical_band": "rgba(198,40,40,0.10)",
    "warning_band": "rgba(239,143,0,0.12)",
    "text": "#55606e",
}


def fmt(value: float | None) -> str:
    if value is None:
        return "–"
    v = float(value)
    if abs(v) >= 1_000_000:
        return f"{v / 1_000_000:.3g}M"
    if abs(v) >= 10_000:
        return f"{v / 1000:.3g}k"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.3g}"


def trend_chart(kpi: dict[str, Any], width: int = 420, height: int = 150) -> str:
    """A KPI's trend: line, threshold bands (shaded outside the bounds) and breach markers."""
    points = [(p["period_start"], p["value"]) for p in kpi.get("trend", []) if p.get("value") is not None]
    label = escape(f"Trend of {kpi.get('name')} by {kpi.get('grain')}")
    if len(points) < 2:
        return (
            f'<svg class="kpi-chart empty" role="img" aria-label="{label}" viewBox="0 0 {width} {height}" '
            f'width="100%"><text x="{width / 2}" y="{height / 2}" text-anchor="middle" '
            f'fill="{COLOURS["text"]}" font-size="12">not enough data</text></svg>'
        )
    left, right, top, bottom = 44, 8, 8, 20
    pw, ph = width - left - right, height - top - bottom
    values = [v for _, v in points]
    bounds = [
        b
        for t in kpi.get("thresholds", [])
        for b in (t.get("lower_bound"), t.get("upper_bound"))
        if b is not None
    ]
    lo, hi = min(values + bounds), max(values + bounds)
    if hi == lo:
        hi, lo = hi + 1, lo - 1
    pad = (hi - lo) * 0.08
    lo, hi = lo - pad, hi + pad

    def x(i: int) -> float:
        return left + pw * i / (len(points) - 1)

    def y(v: float) -> float:
        return top + ph * (1 - (v - lo) / (hi - lo))

    parts = [
        f'<svg class="kpi-chart" role="img" aria-label="{label}" viewBox="0 0 {width} {height}" '
        f'width="100%" preserveAspectRatio="none">'
    ]
    # Bands: the region outside each bound, warning drawn first so critical shows on top.
    for severity in ("warning", "critical"):
        for t in kpi.get("thresholds", []):
            if t.get("severity") != severity:
                continue
            if t.get("lower_bound") is not None:
                yb = y(t["lower_bound"])
                parts.append(
                    f'<rect class="band {severity}" x="{left}" y="{yb:.1f}" width="{pw}" '
                    f'height="{max(top + ph - yb, 0):.1f}" fill="{COLOURS[severity + "_band"]}"/>'
                )
                parts.append(
                    f'<line x1="{left}" x2="{left + pw}" y1="{yb:.1f}" y2="{yb:.1f}" '
                    f'stroke="{COLOURS[severity]}" stroke-dasharray="4 3" stroke-width="1"/>'
                )
            if t.get("upper_bound") is not None:
                yb = y(t["upper_bound"])
                parts.append(
                    f'<rect class="band {severity}" x="{left}" y="{top}" width="{pw}" '
                    f'height="{max(yb - top, 0):.1f}" fill="{COLOURS[severity + "_band"]}"/>'
                )
                parts.append(
                    f'<line x1="{left}" x2="{left + pw}" y1="{yb:.1f}" y2="{yb:.1f}" '
                    f'stroke="{COLOURS[severity]}" stroke-dasharray="4 3" stroke-width="1"/>'
                )
    # Axes: min and max labels, first and last period.
    for v in (lo + pad, hi - pad):
        parts.append(
            f'<text x="{left - 4}" y="{y(v) + 4:.1f}" text-anchor="end" font-size="10" '
            f'fill="{COLOURS["text"]}">{escape(fmt(v))}</text>'
        )
        parts.append(
            f'<line x1="{left}" x2="{left + pw}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
            f'stroke="{COLOURS["grid"]}" stroke-width="0.5"/>'
        )
    parts.append(
        f'<text x="{left}" y="{height - 5}" font-size="10" fill="{COLOURS["text"]}">'
        f"{escape(str(points[0][0]))}</text>"
    )
    parts.append(
        f'<text x="{left + pw}" y="{height - 5}" font-size="10" text-anchor="end" '
        f'fill="{COLOURS["text"]}">{escape(str(points[-1][0]))}</text>'
    )
    path = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, (_, v) in enumerate(points))
    parts.append(
        f'<polyline class="trend" points="{path}" fill="none" stroke="{COLOURS["line"]}" '
        f'stroke-width="1.6" stroke-linejoin="round"/>'
    )
    breaches: dict[str, dict] = {}
    for b in kpi.get("breaches", []):
        key = str(b["period_start"])
        if key not in breaches or b["severity"] == "critical":
            breaches[key] = b
    for i, (start, v) in enumerate(points):
        b = breaches.get(str(start))
        if b:
            colour = COLOURS["critical" if b["severity"] == "critical" else "warning"]
            parts.append(
                f'<circle class="breach-marker {escape(b["severity"])}" cx="{x(i):.1f}" cy="{y(v):.1f}" '
                f'r="3.5" fill="{colour}" stroke="#fff" stroke-width="1"><title>'
                f"{escape(str(start))}: {escape(fmt(v))} — {escape(b['severity'])} {escape(b['rule'])}"
                f"</title></circle>"
            )
    parts.append(
        f'<circle cx="{x(len(points) - 1):.1f}" cy="{y(points[-1][1]):.1f}" r="2.5" '
        f'fill="{COLOURS["line"]}"><title>{escape(str(points[-1][0]))}: {escape(fmt(points[-1][1]))}'
        "</title></circle>"
    )
    parts.append("</svg>")
    return "".join(parts)


def progress_bar(score: float | None, expected: float | None, status: str | None, width: int = 160) -> str:
    """A KR/objective progress bar: filled to the score, a tick at the expected pace."""
    colour = {"achieved": "#2e7d32", "on_track": "#33691e", "at_risk": "#a85400", "off_track": "#c62828"}.get(
        status or "", "#5d6b7a"
    )
    s = max(0.0, min(1.0, float(score))) if score is not None else 0.0
    parts = [
        f'<svg class="progress" viewBox="0 0 {width} 14" width="{width}" height="14" role="img" '
        f'aria-label="score {fmt(score)} against expected {fmt(expected)}">',
        f'<rect x="0" y="2" width="{width}" height="10" rx="5" fill="#e7ebf0"/>',
        f'<rect x="0" y="2" width="{width * s:.1f}" height="10" rx="5" fill="{colour}"/>',
    ]
    if expected is not None:
        e = max(0.0, min(1.0, float(expected)))
        parts.append(
            f'<line x1="{width * e:.1f}" x2="{width * e:.1f}" y1="0" y2="14" stroke="#1c2733" '
            f'stroke-width="2"><title>expected pace {e:.0%}</title></line>'
        )
    parts.append("</svg>")
    return "".join(parts)
