"""Delivery channels: one small interface (`name`, `destination`, `send(payload)`).

- `slack`: a Slack-compatible incoming webhook (OKR_KPI_SLACK_WEBHOOK_URL): `text` + `blocks`;
- `webhook`: a generic JSON webhook (OKR_KPI_WEBHOOK_URL): the digest payload as is, with the
  headers `Idempotency-Key` and `X-OKR-KPI-Schema-Version`;
- `teams`: a Microsoft Teams Workflows incoming webhook (OKR_KPI_TEAMS_WEBHOOK_URL, "When a
  Teams webhook request is received" -> "Post card in a chat or channel"): one message with an
  Adaptive Card (docs/okr_kpi_teams.schema.json), owners mentioned when `mentions` maps them;
- `email`: SMTP (okr_kpi.yml, password from the environment): one text + HTML message.

Every channel gets the same digest (lifecycle.digest_payload) and renders it. A channel raises
`DeliveryError` when the message did not arrive; the caller retries and keeps it pending.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import smtplib
import socket
import ssl
import threading
import time
import urllib.parse
import urllib.request
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from html import escape
from typing import Any

from okr_kpi.config import Config
from okr_kpi.logging import describe_url, redact, register_secret

SEVERITY_ICON = {"critical": ":red_circle:", "warning": ":large_yellow_circle:"}
EVENT_LABEL = {
    "new": "NEW",
    "escalated": "ESCALATED",
    "reminder": "REMINDER",
    "open": "OPEN",
    "resolved": "RESOLVED",
}


class DeliveryError(Exception):
    """The message was not acknowledged. `permanent`: retrying cannot help (a 4xx, a refused
    login). `reached`: the request may have arrived although no acknowledgement came back (sent,
    then a timeout or a dropped connection); a channel whose receiver cannot deduplicate is then
    not retried (at most once), see docs/publishing.md."""

    def __init__(self, message: str, permanent: bool = False, reached: bool = False) -> None:
        super().__init__(redact(message))
        self.permanent = permanent
        self.reached = reached


def fmt_num(value: Any) -> str:
    if value is None:
        return "–"
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if v != v:  # NaN
        return "–"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:,.1f}".rstrip("0").rstrip(".")
    return f"{v:.3g}"


def describe_event(e: dict[str, Any]) -> str:
    """One line for a breach event, e.g. 'New leads, day 2026-08-12: 12 below the lower bound 40'."""
    period = f"{e['grain']} {e['period_start']}"
    if e["event"] == "resolved":
        what = "no longer breached"
    elif e["rule"] == "anomaly":
        z = f", z = {float(e['z_score']):.1f}" if e.get("z_score") is not None else ""
        what = f"{fmt_num(e['value'])}, a sudden change from the expected {fmt_num(e['expected_value'])}{z}"
    else:
        bound = e.get("bound")
        side = (
            "below the lower bound"
            if (e.get("lower_bound") is not None and bound == e.get("lower_bound"))
            else "above the upper bound"
        )
        what = f"{fmt_num(e['value'])}, {side} {fmt_num(bound)}"
    if e["event"] == "escalated" and e.get("previous_severity"):
        what += f" (was {e['previous_severity']})"
    krs = e.get("affected_key_results") or []
    tail = f" · key results: {', '.join(krs)}" if krs else ""
    suspect = f" · suspect data: {e.get('suspect_reason') or 'yes'}" if e.get("is_suspect") else ""
    return f"{e['kpi_name']} ({e['rule']}), {period}: {what}{tail}{suspect}"


def _what(e: dict[str, Any]) -> str:
    if e["event"] == "resolved":
        return "no longer breached"
    if e["rule"] == "anomaly":
        z = f", z = {float(e['z_score']):.1f}" if e.get("z_score") is not None else ""
        return f"{fmt_num(e['value'])}, a sudden change from the expected {fmt_num(e['expected_value'])}{z}"
    if e["rule"] == "stale_data":
        why = f"; {e['suspect_reason']}" if e.get("suspect_reason") else ""
        return f"not complete since {e['period_start']} ({fmt_num(e.get('value'))} day(s){why})"
    bound = e.get("bound")
    side = (
        "below the lower bound"
        if (e.get("lower_bound") is not None and bound == e.get("lower_bound"))
        else "above the upper bound"
    )
    return f"{fmt_num(e['value'])}, {side} {fmt_num(bound)}"


def group_lines(group: dict[str, Any]) -> list[tuple[dict[str, Any] | None, list[dict[str, Any]]]]:
    """(line, its events) of a digest group: one line per KPI and period with every rule that
    fired (payloads queued before lines existed: one line per event)."""
    if not group.get("lines"):
        return [(None, [e]) for e in group["events"]]
    by_id = {e["breach_id"]: e for e in group["events"]}
    return [(line, [by_id[b] for b in line["breach_ids"] if b in by_id]) for line in group["lines"]]


def _signed_pct(v: float) -> str:
    """-0.382 -> '−38 %' (a minus sign, the unit apart, as the issue's digest line reads)."""
    return f"{v * 100:+.0f} %".replace("-", "\u2212")


def plain_segment(value: Any) -> str:
    """A segment value on one line (user data: any whitespace run reads as one space)."""
    return " ".join(str(value if value is not None else "(none)").split()) or "(none)"


def describe_drivers(drivers: list[dict[str, Any]] | None, seg: Any = None) -> str:
    """The drivers of a breach of a KPI's total (rpt_kpi_breach_drivers; docs/segments.md), e.g.
    'paid (lead_channel) −100 %, 81 % of the drop' or, for a ratio, 'organic (channel) +0 %, 100 %
    of the rise (rate 0 %, mix 100 %)'; drivers of a count_distinct, percentile, min or max KPI
    give no share (theirs only rank the segments). `seg` renders a segment value for the channel
    (Slack: a code span); the caller escapes the whole text. '' when there are none."""
    seg = seg or plain_segment
    parts = []
    for d in drivers or []:
        text = f"{seg(d.get('segment_value'))} ({plain_segment(d.get('segment_dimension'))})"
        if d.get("change_pct") is not None:
            text += f" {_signed_pct(float(d['change_pct']))}"
        elif d.get("change") is not None:
            change = float(d["change"])
            text += f" {'+' if change >= 0 else chr(0x2212)}{fmt_num(abs(change))}"
        share = d.get("share_of_change")
        if d.get("is_exact_share", True) and share is not None:
            text += f", {float(share):.0%} of the {d.get('direction') or 'change'}".replace("%", " %")
            if d.get("rate_share") is not None and d.get("mix_share") is not None:
                text += (
                    f" (rate {float(d['rate_share']) * 100:.0f} %, mix {float(d['mix_share']) * 100:.0f} %)"
                ).replace("-", "\u2212")
        parts.append(text)
    return "; ".join(parts)


def line_drivers(line: dict[str, Any] | None, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The drivers a digest line names (lifecycle.digest_payload); none for a resolution."""
    if events and events[0]["event"] == "resolved":
        return []
    if line is not None and "drivers" in line:
        return line["drivers"] or []
    return next((e["drivers"] for e in events if e.get("drivers")), [])


def describe_line(line: dict[str, Any] | None, events: list[dict[str, Any]], seg: Any = None) -> str:
    """One line for a KPI and period, e.g. 'New leads, day 2026-08-12: 12, below the lower bound
    40 (threshold); 12, a sudden change from the expected 50, z = -4.1 (anomaly) · drivers: paid
    (lead_channel) −76 %, 81 % of the drop · key results: Double the leads'. `seg`: see
    describe_drivers."""
    named = describe_drivers(line_drivers(line, events), seg)
    if line is None:
        return describe_event(events[0]) + (f" · drivers: {named}" if named else "")
    first = events[0]
    period = f"{first['grain']} {first['period_start']}"
    if first["event"] == "resolved":
        what = f"no longer breached ({', '.join(e['rule'] for e in events)})"
    else:
        parts = []
        for e in events:
            part = f"{_what(e)} ({e['rule']}"
            if e["event"] == "escalated" and e.get("previous_severity"):
                part += f", was {e['previous_severity']}"
            parts.append(part + ")")
        what = "; ".join(parts)
    krs = line.get("key_results") or []
    tail = f" · drivers: {named}" if named else ""
    tail += f" · open since {first['first_seen_as_of']}" if first.get("first_seen_as_of") else ""
    tail += f" · key results: {', '.join(krs)}" if krs else ""
    suspect = next((e for e in events if e.get("is_suspect")), None)
    tail += f" · suspect data: {suspect.get('suspect_reason') or 'yes'}" if suspect else ""
    return f"{first['kpi_name']}, {period}: {what}{tail}"


def slack_escape(text: Any) -> str:
    """Text for Slack mrkdwn: &, <, > as &amp; &lt; &gt; (Slack's own rule), so `<!channel>` or
    `<https://evil.example|click here>` in a seed's owner or title shows as typed, inert. For the
    toolkit's own text and URLs; text from the seeds goes through slack_literal."""
    text = str(text if text is not None else "")
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# Slack's mrkdwn formatting characters and the look-alikes seed text shows instead. Slack has no
# escape for them (no backslash; its documented escaping covers &, <, > only), and a zero-width
# space does not help: Slack reads it as a word boundary, which is what lets `*`, `_`, `~` format
# at all (jsx-slack's "exact mode" inserts U+200B to *force* formatting). A character Slack does
# not know as markup cannot format, so each one is replaced by a look-alike (the replacements
# jsx-slack uses where it cannot escape): docs/publishing.md, "Escaping".
SLACK_LOOKALIKES = {"*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb"}
# Slack formats only at word boundaries: a `*`, `_` or `~` between two letters or digits can
# neither open nor close (`lead_channel`, `Super_cali_fragilistic` show as typed), so those stay;
# every other one, and every backquote, becomes its look-alike.
_SLACK_MARKUP = re.compile(r"`|(?<![A-Za-z0-9])[*_~]|[*_~](?![A-Za-z0-9])")
# slack_segment marks a code span with these (private-use characters, never in seed text after
# slack_literal's sweep): the span's content keeps its characters, Slack does not format in it.
_SPAN_OPEN, _SPAN_CLOSE = "\ue000", "\ue001"


def slack_literal(text: Any) -> str:
    """Seed-derived text (a KPI name, an objective or key result title, an owner, a segment value
    in a line, a suspect reason) for Slack mrkdwn, shown as typed: slack_escape, and `*`, `_`,
    `~` (unless inside a word) and the backquote as look-alikes (∗ ˍ ∼ ˋ: SLACK_LOOKALIKES), so
    `*Revenue* _net_` is neither bold nor italic. Code spans made by slack_segment keep their
    content as typed."""
    text = str(text if text is not None else "")
    out = []
    for i, part in enumerate(text.split(_SPAN_OPEN)):
        span, _, rest = part.partition(_SPAN_CLOSE) if i else ("", "", part)
        if i:
            out.append("`" + slack_escape(span.replace("`", "\u02cb")) + "`")
        rest = _SLACK_MARKUP.sub(lambda m: SLACK_LOOKALIKES[m.group()], rest.replace(_SPAN_CLOSE, ""))
        out.append(slack_escape(rest))
    return "".join(out)


def slack_segment(value: Any) -> str:
    """A segment value (user data) in Slack mrkdwn: a code span, in which Slack applies no
    formatting (`*bold*`, `_x_`, `~x~` show as typed); a backquote of the value becomes ˋ so it
    cannot end the span. The span is marked for slack_literal, which renders the whole line."""
    value = plain_segment(value).replace("`", "\u02cb").replace(_SPAN_OPEN, "").replace(_SPAN_CLOSE, "")
    return _SPAN_OPEN + value + _SPAN_CLOSE


def flood_text(payload: dict[str, Any]) -> str:
    """The one line a flood summary carries instead of the list (lifecycle.flood_guard)."""
    f = payload["flood"]
    changed = f.get("changed_seeds") or []
    why = (
        f"changed since the last run: {', '.join(changed)}"
        if changed
        else "no definition seed changed since the last run"
    )
    return (
        f"{f['new']} new breaches ({f['alerted']} to alert; usually {f['usual']}) — likely a definition "
        f"change ({why}); see the report"
    )


def headline(payload: dict[str, Any]) -> str:
    if payload.get("flood"):
        return f"KPI breaches as of {payload['as_of_date']}: {flood_text(payload)}"
    c = payload["counts"]
    if payload.get("test"):
        return f"okr-kpi test message for {payload.get('destination') or 'this destination'}"
    names = {"reminder": "still open (reminder)", "open": "open from before this destination was set up"}
    parts = [
        f"{c[k]} {names.get(k, k)}" for k in ("new", "escalated", "reminder", "open", "resolved") if c.get(k)
    ]
    return f"KPI breaches as of {payload['as_of_date']}: {', '.join(parts) or 'nothing new'}"


def digest_text(payload: dict[str, Any], seg: Any = None, seed: Any = None, own: Any = None) -> str:
    """The digest as text. `seed` renders the text from the seeds (owner, severity, each line),
    `own` the toolkit's (headline, links, report, run id); both as is by default (e-mail's text
    part). Slack: slack_literal and slack_escape, with `seg` slack_segment."""
    seed = seed or str
    own = own or str
    lines = [own(headline(payload)), ""]
    if payload.get("flood"):
        lines += [own(flood_text(payload)), ""]
    for group in payload["groups"]:
        lines.append(f"{seed(group['owner'])} — {seed(group['severity'])}")
        for line, events in group_lines(group):
            link = own(f" <{line['link']}>") if line and line.get("link") else ""
            label = EVENT_LABEL[events[0]["event"]]
            lines.append(f"  [{label}] {seed(describe_line(line, events, seg))}{link}")
        lines.append("")
    if payload.get("report"):
        lines.append(own(f"Report: {payload['report']}"))
    lines.append(own(f"(okr-kpi run {payload['run_id']}, message {payload['idempotency_key']})"))
    return "\n".join(lines)


class Channel:
    name = "channel"
    destination = ""
    # True when the receiver drops a repeated Idempotency-Key: a message whose try may have
    # arrived is then retried with the same key; otherwise it is not (at most once).
    idempotent = False

    def send(self, payload: dict[str, Any], timeout: float) -> None:
        raise NotImplementedError


class Deadline:
    """A whole-try deadline (connect + send + read): at `seconds` a watchdog thread shuts down
    every socket registered with `watch`, which ends any blocked connect/recv/send at once. A
    socket timeout alone bounds each read, so a receiver trickling a byte every few seconds could
    hold the run for ever; this bounds the whole try."""

    def __init__(self, seconds: float) -> None:
        self.seconds = max(float(seconds), 0.001)
        self.end = time.monotonic() + self.seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(self.seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._timer.cancel()

    def remaining(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            self.expired = True
            raise TimeoutError(f"deadline of {self.seconds:g}s exceeded")
        return left

    def watch(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            self._sockets.append(sock)
            expired = self.expired
        if expired:
            self._expire()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _post_json(url: str, body: dict[str, Any], headers: dict[str, str], timeout: float) -> None:
    """POST one JSON body; the whole try (connect, send, read the status) within `timeout` seconds.

    Raises DeliveryError with `reached`: False when the request certainly did not reach the
    receiver (no connection, or the receiver answered an error status: it did not take it), True
    when it may have (sent, then no answer before the deadline or the connection dropped). A 2xx
    status is the receiver's acknowledgement: what happens to the rest of the answer does not matter.
    """
    data = json.dumps(body).encode("utf-8")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DeliveryError("the webhook URL is not an http(s) URL", permanent=True)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    reached = False
    with Deadline(timeout) as deadline:
        try:
            # The standard proxy variables (HTTPS_PROXY, HTTP_PROXY, NO_PROXY), as urllib reads them.
            proxy = urllib.request.getproxies().get(parts.scheme)
            if proxy and urllib.request.proxy_bypass(parts.hostname):
                proxy = None
            if proxy and "://" not in proxy:
                proxy = f"http://{proxy}"
            via = urllib.parse.urlsplit(proxy) if proxy else None
            host, port = (via.hostname, via.port or 8080) if via else (parts.hostname, parts.port)
            if parts.scheme == "https":
                conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                    host, port, timeout=deadline.remaining(), context=ssl.create_default_context()
                )
                if via:
                    conn.set_tunnel(parts.hostname, parts.port or 443)
            else:
                conn = http.client.HTTPConnection(host, port, timeout=deadline.remaining())
                if via:
                    path = url  # a plain-HTTP proxy takes the absolute URL
            try:
                conn.connect()
                deadline.watch(conn.sock)
                conn.sock.settimeout(deadline.remaining())
                conn.putrequest("POST", path, skip_accept_encoding=True)
                for name, value in {
                    "Content-Type": "application/json",
                    "Content-Length": str(len(data)),
                    "User-Agent": "okr-kpi",
                    **headers,
                }.items():
                    conn.putheader(name, value)
                conn.endheaders()
                reached = True  # from here on, the receiver may have the request
                conn.sock.sendall(data)
                response = conn.getresponse()
                if deadline.expired:  # the watchdog cut the answer short: it does not count
                    raise TimeoutError("deadline")
                status, reason = response.status, response.reason
                if 200 <= status < 300:
                    with contextlib.suppress(Exception):  # acknowledged: the rest is not needed
                        conn.sock.settimeout(min(deadline.remaining(), 1.0))
                        response.read(65536)
                    return
            finally:
                conn.close()
        except (OSError, http.client.HTTPException) as err:
            if deadline.expired:
                raise DeliveryError(
                    f"no answer within the delivery deadline of {timeout:g}s"
                    + (" (the request was sent: it may have arrived)" if reached else ""),
                    reached=reached,
                ) from None
            raise DeliveryError(
                f"cannot reach the endpoint: {err.__class__.__name__}: {err}"
                + (" (after the request was sent: it may have arrived)" if reached else ""),
                reached=reached,
            ) from None
    permanent = 400 <= status < 500 and status not in (408, 425, 429)
    raise DeliveryError(f"HTTP {status} {reason}", permanent=permanent)


class SlackChannel(Channel):
    name = "slack"

    def __init__(self, url: str) -> None:
        self.url = url
        self.destination = describe_url(url)

    def render(self, payload: dict[str, Any]) -> dict[str, Any]:
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": headline(payload)[:150]}},
        ]
        if payload.get("flood"):
            flood = slack_escape(flood_text(payload))
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": flood}})
        for group in payload["groups"]:
            # a mention id comes from okr_kpi.yml (validated U.../W...), never from a seed
            mention = (group.get("mention") or {}).get("slack")
            who = f"<@{mention}> " if mention else ""
            lines = [
                f"{who}*{slack_literal(group['owner'])}* · {SEVERITY_ICON.get(group['severity'], '')} "
                f"{slack_literal(group['severity'])}"
            ]
            for line, events in group_lines(group):
                text_ = slack_literal(describe_line(line, events, slack_segment))
                link = line.get("link") if line else None
                if link and str(link).startswith(("http://", "https://")):
                    # the link is ours (report.base_url / report.link + the KPI id, escaped)
                    text_ += f" · <{slack_escape(link).replace('|', '%7C')}|open>"
                lines.append(f"• *{EVENT_LABEL[events[0]['event']]}* {text_}")
            text = "\n".join(lines)
            # Slack limits a section to 3000 characters.
            for start in range(0, len(text), 2900):
                blocks.append(
                    {"type": "section", "text": {"type": "mrkdwn", "text": text[start : start + 2900]}}
                )
        context = f"okr-kpi run `{slack_escape(payload['run_id'])}`"
        if payload.get("report"):
            context += f" · report: {slack_escape(payload['report'])}"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
        # `text` is the notification's fallback, parsed as mrkdwn too: escaped the same way.
        text = digest_text(payload, slack_segment, seed=slack_literal, own=slack_escape)
        return {"text": text[:3000], "blocks": blocks[:50]}

    def send(self, payload, timeout):
        _post_json(self.url, self.render(payload), {"Idempotency-Key": payload["idempotency_key"]}, timeout)


def teams_escape(text: Any) -> str:
    """Text for an Adaptive Card TextBlock (Teams renders a Markdown subset): Markdown's special
    characters backslash-escaped and angle brackets shown as ‹ › so a seed's `[click](https://x)`,
    `**bold**` or `<at>someone</at>` shows as typed, inert."""
    text = str(text if text is not None else "")
    for ch in "\\`*_[]()#~|!":
        text = text.replace(ch, "\\" + ch)
    return text.replace("<", "‹").replace(">", "›")


TEAMS_MAX_LINES = 60
TEAMS_COLOUR = {"critical": "Attention", "warning": "Warning"}


class TeamsChannel(Channel):
    """Microsoft Teams through a Workflows incoming webhook (the retired Office 365 connectors
    are not used): the documented `{"type": "message", "attachments": [Adaptive Card]}` body."""

    name = "teams"

    def __init__(self, url: str) -> None:
        self.url = url
        self.destination = describe_url(url)

    def render(self, payload: dict[str, Any]) -> dict[str, Any]:
        body: list[dict[str, Any]] = [
            {
                "type": "TextBlock",
                "size": "Large",
                "weight": "Bolder",
                "wrap": True,
                "text": teams_escape(headline(payload)),
            },
        ]
        entities: list[dict[str, Any]] = []
        if payload.get("flood"):
            body.append({"type": "TextBlock", "wrap": True, "text": teams_escape(flood_text(payload))})
        shown = 0
        total = sum(len(group_lines(g)) for g in payload["groups"])
        for group in payload["groups"]:
            if shown >= TEAMS_MAX_LINES:
                break
            mention = (group.get("mention") or {}).get("teams")
            owner = teams_escape(group["owner"])
            if mention:
                tag = f"<at>{owner}</at>"
                entities.append(
                    {"type": "mention", "text": tag, "mentioned": {"id": mention, "name": group["owner"]}}
                )
                who = tag
            else:
                who = f"**{owner}**"
            body.append(
                {
                    "type": "TextBlock",
                    "wrap": True,
                    "separator": True,
                    "weight": "Bolder",
                    "color": TEAMS_COLOUR.get(group["severity"], "Default"),
                    "text": f"{who} · {teams_escape(group['severity'])}",
                }
            )
            for line, events in group_lines(group)[: TEAMS_MAX_LINES - shown]:
                shown += 1
                text = f"**{EVENT_LABEL[events[0]['event']]}** {teams_escape(describe_line(line, events))}"
                link = line.get("link") if line else None
                if link and str(link).startswith(("http://", "https://")):
                    text += f" · [open]({str(link).replace(')', '%29').replace(' ', '%20')})"
                body.append({"type": "TextBlock", "wrap": True, "spacing": "Small", "text": text})
        if shown < total:
            body.append(
                {
                    "type": "TextBlock",
                    "wrap": True,
                    "isSubtle": True,
                    "text": f"… and {total - shown} more: see the report",
                }
            )
        body.append(
            {
                "type": "TextBlock",
                "wrap": True,
                "isSubtle": True,
                "size": "Small",
                "text": teams_escape(f"okr-kpi run {payload['run_id']}"),
            }
        )
        card: dict[str, Any] = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "body": body,
            "msteams": {"width": "Full", **({"entities": entities} if entities else {})},
        }
        report = payload.get("report")
        if report and str(report).startswith(("http://", "https://")):
            card["actions"] = [{"type": "Action.OpenUrl", "title": "Open the report", "url": report}]
        return {
            "type": "message",
            "attachments": [
                {
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": None,
                    "content": card,
                }
            ],
        }

    def send(self, payload, timeout):
        _post_json(self.url, self.render(payload), {"Idempotency-Key": payload["idempotency_key"]}, timeout)


class WebhookChannel(Channel):
    name = "webhook"
    idempotent = True  # the documented contract of the generic webhook: dedupe on Idempotency-Key

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.url = url
        self.headers = {str(k): str(v) for k, v in (headers or {}).items()}
        self.destination = describe_url(url)

    def send(self, payload, timeout):
        headers = {
            **self.headers,
            "Idempotency-Key": payload["idempotency_key"],
            "X-OKR-KPI-Schema-Version": str(payload["schema_version"]),
        }
        _post_json(self.url, payload, headers, timeout)


class EmailChannel(Channel):
    name = "email"

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        self.password = os.environ.get(options.get("password_env") or "", "") or None
        register_secret(self.password)
        self.destination = (
            f"smtp://{options['smtp_host']}:{options['smtp_port']} to {', '.join(options['to'])}"
        )

    def render(self, payload: dict[str, Any]) -> EmailMessage:
        o = self.options
        msg = EmailMessage()
        msg["Subject"] = f"{o.get('subject_prefix') or ''} {headline(payload)}".strip()
        msg["From"] = o["from"]
        msg["To"] = ", ".join(o["to"])
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = make_msgid(idstring=payload["idempotency_key"], domain="okr-kpi")
        msg["X-OKR-KPI-Idempotency-Key"] = payload["idempotency_key"]
        msg.set_content(digest_text(payload))
        colours = {"critical": "#c62828", "warning": "#b26a00"}
        parts = [f"<h2 style='font-family:sans-serif'>{escape(headline(payload))}</h2>"]
        if payload.get("flood"):
            parts.append(f"<p style='font-family:sans-serif'>{escape(flood_text(payload))}</p>")
        for group in payload["groups"]:
            colour = colours.get(group["severity"], "#333")
            parts.append(
                f"<h3 style='font-family:sans-serif;color:{colour}'>{escape(group['owner'])} — "
                f"{escape(group['severity'])}</h3><ul style='font-family:sans-serif'>"
            )
            for line, events in group_lines(group):
                link = line.get("link") if line else None
                anchor = f" <a href='{escape(link, quote=True)}'>open</a>" if link else ""
                parts.append(
                    f"<li><b>{EVENT_LABEL[events[0]['event']]}</b> "
                    f"{escape(describe_line(line, events))}{anchor}</li>"
                )
            parts.append("</ul>")
        if payload.get("report"):
            parts.append(f"<p style='font-family:sans-serif'>Report: {escape(payload['report'])}</p>")
        msg.add_alternative("\n".join(parts), subtype="html")
        return msg

    def send(self, payload, timeout):
        """One SMTP session within a whole-try deadline. The message is accepted once the server
        answers 250 to DATA; a failure before DATA (connect, TLS, login, a refused sender or
        recipient, a 4xx/5xx to DATA) means it did not arrive; a dropped connection or the
        deadline during DATA means it may have (`reached`)."""
        o = self.options
        message = self.render(payload)
        accepted = False
        in_data = False
        with Deadline(timeout) as deadline:
            try:
                if o["security"] == "ssl":
                    smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                        timeout=deadline.remaining(), context=ssl.create_default_context()
                    )
                else:
                    smtp = smtplib.SMTP(timeout=deadline.remaining())
                try:
                    smtp.connect(o["smtp_host"], int(o["smtp_port"]))
                    deadline.watch(smtp.sock)
                    smtp.ehlo_or_helo_if_needed()
                    if o["security"] == "starttls":
                        smtp.starttls(context=ssl.create_default_context())
                        deadline.watch(smtp.sock)
                        smtp.ehlo()
                    if o.get("username"):
                        smtp.login(o["username"], self.password or "")
                    in_data = True
                    smtp.send_message(message)
                    accepted = True
                finally:
                    with contextlib.suppress(Exception):  # QUIT after 250 is a courtesy
                        smtp.quit() if accepted else smtp.close()
                    with contextlib.suppress(Exception):
                        smtp.close()
            except smtplib.SMTPAuthenticationError as err:
                raise DeliveryError(f"SMTP login refused ({err.smtp_code})", permanent=True) from None
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as err:
                raise DeliveryError(f"SMTP server refused the message: {err}") from None
            except (smtplib.SMTPException, OSError) as err:
                reached = in_data and not accepted
                if deadline.expired:
                    raise DeliveryError(
                        f"SMTP: no answer within the delivery deadline of {timeout:g}s", reached=reached
                    ) from None
                raise DeliveryError(f"SMTP delivery failed: {err}", reached=reached) from None


def configured_channels(config: Config) -> list[Channel]:
    """Every destination switched on (okr_kpi.publish.routing)."""
    from okr_kpi.publish.routing import configured_channels as configured

    return configured(config)
