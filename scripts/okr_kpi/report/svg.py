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


def _scale(values: list[float], count: int, left: float, top: float, pw: float, ph: float):
    """The shared scale of a trend chart: the range of `values` (one unit either side when flat)
    padded by 8 %, and the maps from point index (0 .. count - 1) and value to x and y.
    Returns (x, y, lo, hi, pad) with lo/hi the padded range."""
    lo, hi = min(values), max(values)
    if hi == lo:
        hi, lo = hi + 1, lo - 1
    pad = (hi - lo) * 0.08
    lo, hi = lo - pad, hi + pad

    def x(i: int) -> float:
        return left + pw * i / (count - 1)

    def y(v: float) -> float:
        return top + ph * (1 - (v - lo) / (hi - lo))

    return x, y, lo, hi, pad


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
    x, y, lo, hi, pad = _scale(values + bounds, len(points), left, top, pw, ph)

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


# Colour-blind-safe palette (Okabe-Ito), one colour per segment line of a split chart.
SEGMENT_COLOURS = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000", "#999999"]


def segment_chart(kpi: dict[str, Any], split: dict[str, Any], width: int = 420, height: int = 150) -> str:
    """A KPI's trend split by one segment dimension (report.data.collect_segments): one line per
    segment value on a shared scale, each a `polyline.segment-line` with `data-segment` and a
    title (the legend is HTML, next to the chart). Segment values are user data: escaped."""
    segments = split.get("segments") or []
    label = escape(f"Trend of {kpi.get('name')} by {kpi.get('grain')}, split by {split.get('dimension')}")
    values = [p["value"] for s in segments for p in s["trend"] if p.get("value") is not None]
    starts = [p["period_start"] for p in (segments[0]["trend"] if segments else [])]
    if len(starts) < 2 or not values:
        return (
            f'<svg class="segment-chart empty" role="img" aria-label="{label}" '
            f'viewBox="0 0 {width} {height}" '
            f'width="100%"><text x="{width / 2}" y="{height / 2}" text-anchor="middle" '
            f'fill="{COLOURS["text"]}" font-size="12">not enough data</text></svg>'
        )
    left, right, top, bottom = 44, 8, 8, 20
    pw, ph = width - left - right, height - top - bottom
    x, y, lo, hi, pad = _scale(values, len(starts), left, top, pw, ph)

    parts = [
        f'<svg class="segment-chart" role="img" aria-label="{label}" viewBox="0 0 {width} {height}" '
        f'width="100%" preserveAspectRatio="none">'
    ]
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
        f"{escape(str(starts[0]))}</text>"
    )
    parts.append(
        f'<text x="{left + pw}" y="{height - 5}" font-size="10" text-anchor="end" '
        f'fill="{COLOURS["text"]}">{escape(str(starts[-1]))}</text>'
    )
    for n, s in enumerate(segments):
        colour = SEGMENT_COLOURS[n % len(SEGMENT_COLOURS)]
        path = " ".join(
            f"{x(i):.1f},{y(p['value']):.1f}" for i, p in enumerate(s["trend"]) if p.get("value") is not None
        )
        last = next((p for p in reversed(s["trend"]) if p.get("value") is not None), None)
        tip = str(s["segment_value"])
        if last:
            tip += f": {fmt(last['value'])} on {last['period_start']}"
        parts.append(
            f'<polyline class="segment-line" data-segment="{escape(str(s["segment_value"]), quote=True)}" '
            f'points="{path}" fill="none" stroke="{colour}" stroke-width="1.5" stroke-linejoin="round">'
            f"<title>{escape(tip)}</title></polyline>"
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


def key_result_chart(kr: dict[str, Any], days: list[dict[str, Any]], width: int = 420,
                     height: int = 170) -> str:
    """A key result over its cycle (rows of rpt_key_result_days): its value by day, the target
    line, the expected-pace line from the cycle's first to last day, the forecast at cycle end
    with its uncertainty (a whisker from forecast_low to forecast_high) and a dot per check-in
    (its confidence and note in the dot's tooltip)."""
    label = escape(f"Key result {kr.get('title')} over its cycle")
    if not days:
        return (
            f'<svg class="kr-chart empty" role="img" aria-label="{label}" viewBox="0 0 {width} {height}" '
            f'width="100%"><text x="{width / 2}" y="{height / 2}" text-anchor="middle" '
            f'fill="{COLOURS["text"]}" font-size="12">no day scored yet</text></svg>'
        )
    import datetime as dt

    def day(v: Any) -> dt.date:
        return v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v)[:10])

    start, end = day(days[0]["cycle_start_date"]), day(days[0]["cycle_end_date"])
    span = max((end - start).days, 1)
    last = days[-1]
    values = [d["current_value"] for d in days if d.get("current_value") is not None]
    pace = [d["expected_value"] for d in days if d.get("expected_value") is not None]
    extra = [v for v in (last.get("target"), last.get("baseline"), last.get("forecast_low"),
                         last.get("forecast_high"), last.get("forecast_value")) if v is not None]
    extra += [d["check_in_value"] for d in days if d.get("check_in_value") is not None]
    every = values + pace + extra
    if not every:
        every = [0.0, 1.0]
    lo, hi = min(every), max(every)
    if hi == lo:
        hi, lo = hi + 1, lo - 1
    pad = (hi - lo) * 0.08
    lo, hi = lo - pad, hi + pad
    left, right, top, bottom = 44, 14, 8, 20
    pw, ph = width - left - right, height - top - bottom

    def x(d: Any) -> float:
        return left + pw * (day(d) - start).days / span

    def y(v: float) -> float:
        return top + ph * (1 - (v - lo) / (hi - lo))

    parts = [
        f'<svg class="kr-chart" role="img" aria-label="{label}" viewBox="0 0 {width} {height}" '
        'width="100%">',
        f'<line x1="{left}" x2="{left + pw}" y1="{top + ph}" y2="{top + ph}" stroke="{COLOURS["grid"]}"/>',
        f'<text x="{left}" y="{height - 4}" font-size="10" fill="{COLOURS["text"]}">'
        f'{escape(start.isoformat())}</text>',
        f'<text x="{left + pw}" y="{height - 4}" font-size="10" text-anchor="end" '
        f'fill="{COLOURS["text"]}">{escape(end.isoformat())}</text>',
    ]
    if last.get("target") is not None:
        yt = y(last["target"])
        parts.append(
            f'<line class="target" x1="{left}" x2="{left + pw}" y1="{yt:.1f}" y2="{yt:.1f}" stroke="#2e7d32" '
            f'stroke-dasharray="5 3"><title>target {escape(fmt(last["target"]))}</title></line>'
            f'<text x="{left - 4}" y="{yt + 4:.1f}" font-size="10" text-anchor="end" fill="#2e7d32">'
            f'{escape(fmt(last["target"]))}</text>'
        )
    pace_points = [(d["date_day"], d["expected_value"]) for d in days if d.get("expected_value") is not None]
    if pace_points and last.get("target") is not None and day(pace_points[-1][0]) < end:
        pace_points.append((end, last["target"]))  # the pace reaches the target on the last day
    if len(pace_points) >= 2:
        pts = " ".join(f"{x(d):.1f},{y(v):.1f}" for d, v in pace_points)
        parts.append(f'<polyline class="pace" points="{pts}" fill="none" stroke="#5d6b7a" stroke-width="1.2" '
                     f'stroke-dasharray="2 3"><title>expected pace</title></polyline>')
    points = [(d["date_day"], d["current_value"]) for d in days if d.get("current_value") is not None]
    if points:
        pts = " ".join(f"{x(d):.1f},{y(v):.1f}" for d, v in points)
        parts.append(f'<polyline class="progress-line" points="{pts}" fill="none" stroke="{COLOURS["line"]}" '
                     f'stroke-width="2"/>')
    if last.get("forecast_value") is not None and points:
        d0, v0 = points[-1]
        xf, yf = x(end), y(last["forecast_value"])
        tip = f"forecast at cycle end {fmt(last['forecast_value'])}"
        if last.get("forecast_probability") is not None:
            tip += f", {last['forecast_probability']:.0%} chance of reaching the target"
        parts.append(f'<line class="forecast" x1="{x(d0):.1f}" y1="{y(v0):.1f}" x2="{xf:.1f}" y2="{yf:.1f}" '
                     f'stroke="{COLOURS["line"]}" stroke-dasharray="4 3"><title>{escape(tip)}</title></line>')
        if last.get("forecast_low") is not None and last.get("forecast_high") is not None:
            y1, y2 = y(last["forecast_low"]), y(last["forecast_high"])
            parts.append(f'<rect class="forecast-band" x="{xf - 4:.1f}" y="{min(y1, y2):.1f}" width="8" '
                         f'height="{abs(y1 - y2):.1f}" fill="rgba(31,95,168,0.2)"><title>forecast '
                         f'{escape(fmt(last["forecast_low"]))} to {escape(fmt(last["forecast_high"]))} '
                         f'(one standard error)</title></rect>')
        parts.append(f'<circle cx="{xf:.1f}" cy="{yf:.1f}" r="3" fill="#fff" stroke="{COLOURS["line"]}"/>')
    for d in days:
        if d.get("check_in_value") is None and d.get("check_in_confidence") is None:
            continue
        v = d.get("check_in_value") if d.get("check_in_value") is not None else d.get("current_value")
        if v is None:
            continue
        tip = f"check-in {day(d['date_day']).isoformat()}: {fmt(d.get('check_in_value'))}"
        if d.get("check_in_confidence") is not None:
            tip += f", confidence {d['check_in_confidence']:.0%}"
        if d.get("check_in_note"):
            tip += f" — {d['check_in_note']}"
        parts.append(f'<circle class="check-in" cx="{x(d["date_day"]):.1f}" cy="{y(v):.1f}" r="4" '
                     f'fill="#a85400"><title>{escape(tip)}</title></circle>')
    parts.append("</svg>")
    return "".join(parts)
