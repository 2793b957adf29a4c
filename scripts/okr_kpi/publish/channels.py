"""Delivery channels: one small interface (`name`, `destination`, `send(payload)`).

- `slack`: a Slack-compatible incoming webhook (OKR_KPI_SLACK_WEBHOOK_URL): `text` + `blocks`;
- `webhook`: a generic JSON webhook (OKR_KPI_WEBHOOK_URL): the digest payload as is, with the
  headers `Idempotency-Key` and `X-OKR-KPI-Schema-Version`;
- `email`: SMTP (okr_kpi.yml, password from the environment): one text + HTML message.

Every channel gets the same digest (lifecycle.digest_payload) and renders it. A channel raises
`DeliveryError` when the message did not arrive; the caller retries and keeps it pending.
"""

from __future__ import annotations

import json
import os
import smtplib
import ssl
import urllib.error
import urllib.request
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from html import escape
from typing import Any

from okr_kpi.config import Config
from okr_kpi.logging import describe_url, redact, register_secret

SEVERITY_ICON = {"critical": ":red_circle:", "warning": ":large_yellow_circle:"}
EVENT_LABEL = {"new": "NEW", "escalated": "ESCALATED", "resolved": "RESOLVED"}


class DeliveryError(Exception):
    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(redact(message))
        self.permanent = permanent


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


def headline(payload: dict[str, Any]) -> str:
    c = payload["counts"]
    parts = [f"{c[k]} {k}" for k in ("new", "escalated", "resolved") if c.get(k)]
    return f"KPI breaches as of {payload['as_of_date']}: {', '.join(parts) or 'nothing new'}"


def digest_text(payload: dict[str, Any]) -> str:
    lines = [headline(payload), ""]
    for group in payload["groups"]:
        lines.append(f"{group['owner']} — {group['severity']}")
        for e in group["events"]:
            lines.append(f"  [{EVENT_LABEL[e['event']]}] {describe_event(e)}")
        lines.append("")
    if payload.get("report"):
        lines.append(f"Report: {payload['report']}")
    lines.append(f"(okr-kpi run {payload['run_id']}, message {payload['idempotency_key']})")
    return "\n".join(lines)


class Channel:
    name = "channel"
    destination = ""

    def send(self, payload: dict[str, Any], timeout: float) -> None:
        raise NotImplementedError


def _post_json(url: str, body: dict[str, Any], headers: dict[str, str], timeout: float) -> None:
    data = json.dumps(body).encode("utf-8")
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (configured URL)
            response.read()
    except urllib.error.HTTPError as err:
        permanent = 400 <= err.code < 500 and err.code not in (408, 425, 429)
        raise DeliveryError(f"HTTP {err.code} {err.reason}", permanent=permanent) from None
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise DeliveryError(f"cannot reach the endpoint: {reason}") from None


class SlackChannel(Channel):
    name = "slack"

    def __init__(self, url: str) -> None:
        self.url = url
        self.destination = describe_url(url)

    def render(self, payload: dict[str, Any]) -> dict[str, Any]:
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": headline(payload)[:150]}},
        ]
        for group in payload["groups"]:
            lines = [f"*{group['owner']}* · {SEVERITY_ICON.get(group['severity'], '')} {group['severity']}"]
            lines += [f"• *{EVENT_LABEL[e['event']]}* {describe_event(e)}" for e in group["events"]]
            text = "\n".join(lines)
            # Slack limits a section to 3000 characters.
            for start in range(0, len(text), 2900):
                blocks.append(
                    {"type": "section", "text": {"type": "mrkdwn", "text": text[start : start + 2900]}}
                )
        context = f"okr-kpi run `{payload['run_id']}`"
        if payload.get("report"):
            context += f" · report: {payload['report']}"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
        return {"text": digest_text(payload)[:3000], "blocks": blocks[:50]}

    def send(self, payload, timeout):
        _post_json(self.url, self.render(payload), {"Idempotency-Key": payload["idempotency_key"]}, timeout)


class WebhookChannel(Channel):
    name = "webhook"

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
        for group in payload["groups"]:
            colour = colours.get(group["severity"], "#333")
            parts.append(
                f"<h3 style='font-family:sans-serif;color:{colour}'>{escape(group['owner'])} — "
                f"{escape(group['severity'])}</h3><ul style='font-family:sans-serif'>"
            )
            parts += [
                f"<li><b>{EVENT_LABEL[e['event']]}</b> {escape(describe_event(e))}</li>"
                for e in group["events"]
            ]
            parts.append("</ul>")
        if payload.get("report"):
            parts.append(f"<p style='font-family:sans-serif'>Report: {escape(payload['report'])}</p>")
        msg.add_alternative("\n".join(parts), subtype="html")
        return msg

    def send(self, payload, timeout):
        o = self.options
        try:
            if o["security"] == "ssl":
                smtp = smtplib.SMTP_SSL(
                    o["smtp_host"], int(o["smtp_port"]), timeout=timeout, context=ssl.create_default_context()
                )
            else:
                smtp = smtplib.SMTP(o["smtp_host"], int(o["smtp_port"]), timeout=timeout)
            with smtp:
                if o["security"] == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if o.get("username"):
                    smtp.login(o["username"], self.password or "")
                smtp.send_message(self.render(payload))
        except smtplib.SMTPAuthenticationError as err:
            raise DeliveryError(f"SMTP login refused ({err.smtp_code})", permanent=True) from None
        except (smtplib.SMTPException, OSError) as err:
            raise DeliveryError(f"SMTP delivery failed: {err}") from None


def configured_channels(config: Config) -> list[Channel]:
    """The channels switched on: webhooks by their environment variable, email by the config file."""
    channels: list[Channel] = []
    slack = config.channel("slack")
    url = os.environ.get(slack.get("url_env") or "OKR_KPI_SLACK_WEBHOOK_URL", "").strip()
    if slack.get("enabled", True) and url:
        channels.append(SlackChannel(url))
    hook = config.channel("webhook")
    url = os.environ.get(hook.get("url_env") or "OKR_KPI_WEBHOOK_URL", "").strip()
    if hook.get("enabled", True) and url:
        channels.append(WebhookChannel(url, hook.get("headers")))
    email = config.channel("email")
    if email.get("enabled") and email.get("to"):
        channels.append(EmailChannel(email))
    return channels
