"""Logs of the scheduled job: a progress display for people, plain or JSON lines for schedulers.

- text (default): `HH:MM:SS  message`, with a one-line progress ticker for `dbt build` when
  stderr is a terminal;
- json (`--log-format json`): one JSON object per line with `ts`, `level`, `event`, `message`
  and the record's fields, for Airflow, Dagster or a log shipper;
- `--quiet`: only warnings, errors and the final summary line.

Every command takes `--log-format` and `--quiet`. Colour (text logs, a terminal or FORCE_COLOR
set) marks errors and critical breaches red, warnings and warning breaches yellow; NO_COLOR (any
non-empty value, https://no-color.org) switches every colour off.

Secrets never reach a log line: every handler carries a `RedactingFilter` that replaces the
values of secret environment variables (webhook URLs, PGPASSWORD, the SMTP password, anything
named *PASSWORD*, *SECRET*, *TOKEN*, *WEBHOOK_URL*, *API_KEY*) and the user:password part of
URLs by `***`. `redact()` is the same function for reports and stored errors.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import sys
from typing import Any
from urllib.parse import urlsplit

LOGGER_NAME = "okr_kpi"
REDACTED = "***"

# Names of environment variables whose values are secrets, exactly or by pattern.
SECRET_ENV_NAMES = ("OKR_KPI_SLACK_WEBHOOK_URL", "OKR_KPI_WEBHOOK_URL", "PGPASSWORD", "OKR_KPI_SMTP_PASSWORD")
SECRET_ENV_PATTERN = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|WEBHOOK_URL|API_KEY|PRIVATE_KEY)", re.I)
_URL_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@", re.I)
_SLACK_PATH = re.compile(r"hooks\.slack\.com/\S+", re.I)

_extra_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Redact `value` (e.g. a password named in the config file's `password_env`) from now on."""
    if value and len(value) >= 4:
        _extra_secrets.add(value)


def secret_values(environ: dict[str, str] | None = None) -> list[str]:
    """Every secret value known now, longest first (so a URL is replaced before its parts)."""
    env = os.environ if environ is None else environ
    values = set(_extra_secrets)
    for name, value in env.items():
        if not value or len(value) < 4:
            continue
        if name in SECRET_ENV_NAMES or SECRET_ENV_PATTERN.search(name):
            values.add(value)
            if "://" in value:  # the path of a webhook URL is its secret part, too
                parts = urlsplit(value)
                tail = parts.path + (("?" + parts.query) if parts.query else "")
                if len(tail) >= 8:
                    values.add(tail)
    return sorted(values, key=len, reverse=True)


def redact(text: Any, environ: dict[str, str] | None = None) -> Any:
    """`text` with every secret replaced by `***`; non-strings are returned unchanged."""
    if not isinstance(text, str) or not text:
        return text
    for value in secret_values(environ):
        if value in text:
            text = text.replace(value, REDACTED)
    text = _URL_USERINFO.sub(lambda m: m.group("scheme") + REDACTED + "@", text)
    return _SLACK_PATH.sub("hooks.slack.com/" + REDACTED, text)


def redact_obj(obj: Any) -> Any:
    """Redact every string inside a JSON-like structure."""
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        return {k: redact_obj(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [redact_obj(v) for v in obj]
    return obj


def describe_url(url: str) -> str:
    """A URL's host and port only: safe to log or store ("where it was sent")."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}{':' + str(parts.port) if parts.port else ''}/{REDACTED}"


class RedactingFilter(logging.Filter):
    """Formats the message and redacts it (and string fields) before any handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not hide the log line
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            record.fields = redact_obj(fields)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class QuietFilter(logging.Filter):
    """With --quiet: warnings and errors, and records marked `always` (the final summary)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or bool(getattr(record, "always", False))


def colour_wanted(stream: Any = None) -> bool:
    """Colour for `stream`: never with NO_COLOR set (non-empty); else with FORCE_COLOR set, or
    when the stream is a terminal."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    stream = stream or sys.stderr
    return bool(getattr(stream, "isatty", None) and stream.isatty())


def click_colour() -> bool | None:
    """The `color=` argument for click.echo/secho: False under NO_COLOR, True under FORCE_COLOR,
    else None (click's own terminal detection)."""
    if os.environ.get("NO_COLOR"):
        return False
    return True if os.environ.get("FORCE_COLOR") else None


# ANSI SGR codes: critical (and errors) bold red, warning yellow: the two never look alike.
COLOURS = {"critical": "\x1b[1;31m", "error": "\x1b[1;31m", "warning": "\x1b[33m"}
RESET = "\x1b[0m"


def record_tone(record: logging.LogRecord) -> str | None:
    """critical / warning / error: a breach's severity (field `severity`) wins over the level."""
    fields = getattr(record, "fields", None)
    severity = fields.get("severity") if isinstance(fields, dict) else None
    if severity in ("critical", "warning"):
        return severity
    if record.levelno >= logging.ERROR:
        return "error"
    if record.levelno >= logging.WARNING:
        return "warning"
    return None


class TextFormatter(logging.Formatter):
    def __init__(self, colour: bool = False) -> None:
        super().__init__()
        self.colour = colour

    def format(self, record: logging.LogRecord) -> str:
        ts = dt.datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        prefix = "" if record.levelno == logging.INFO else f"{record.levelname.lower()}: "
        text = f"{ts}  {prefix}{record.getMessage()}"
        tone = record_tone(record) if self.colour else None
        if tone:
            text = f"{COLOURS[tone]}{text}{RESET}"
        if record.exc_text:
            text += "\n" + record.exc_text
        return text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        obj: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": getattr(record, "event", None) or "log",
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            obj.update({k: v for k, v in fields.items() if k not in obj})
        if record.exc_text:
            obj["exception"] = record.exc_text
        return json.dumps(obj, default=str, ensure_ascii=False)


def setup_logging(
    quiet: bool = False, log_format: str = "text", log_file: str | os.PathLike | None = None, stream=None
) -> logging.Logger:
    """Configure the `okr_kpi` logger for one command; returns it. Idempotent."""
    logger = logging.getLogger(LOGGER_NAME)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    level_name = os.environ.get("OKR_KPI_LOG_LEVEL", "info").upper()
    logger.setLevel(getattr(logging, level_name, logging.INFO))
    logger.propagate = False
    stream = stream or sys.stderr
    formatter = JsonFormatter() if log_format == "json" else TextFormatter(colour=colour_wanted(stream))
    console = logging.StreamHandler(stream)
    console.setFormatter(formatter)
    console.addFilter(RedactingFilter())
    if quiet:
        console.addFilter(QuietFilter())
    logger.addHandler(console)
    if log_file:
        add_log_file(log_file, log_format)
    return logger


# The run log is appended to (never truncated: a second run refused by the lock must not wipe the
# log of the run that holds it); once it passes LOG_ROTATE_BYTES, the run that holds the lock moves
# it to <name>.1 (.1 to .2, ..., LOG_KEEP files kept) before it writes (docs/publishing.md, "Logs").
LOG_ROTATE_BYTES = 10 * 1024 * 1024
LOG_KEEP = 5


def rotate_log(log_file: str | os.PathLike, max_bytes: int = LOG_ROTATE_BYTES, keep: int = LOG_KEEP) -> bool:
    """Move a log over max_bytes to <name>.1 (shifting older ones); call it only under the run lock."""
    path = os.path.abspath(log_file)
    try:
        if os.path.getsize(path) <= max_bytes:
            return False
    except OSError:
        return False
    for n in range(keep - 1, 0, -1):
        if os.path.exists(f"{path}.{n}"):
            os.replace(f"{path}.{n}", f"{path}.{n + 1}")
    os.replace(path, f"{path}.1")
    return True


def add_log_file(log_file: str | os.PathLike, log_format: str = "text") -> logging.Handler:
    """Append the `okr_kpi` logger's records to log_file (created with its directory if needed)."""
    logger = logging.getLogger(LOGGER_NAME)
    os.makedirs(os.path.dirname(os.path.abspath(log_file)), exist_ok=True)
    file_handler = logging.FileHandler(log_file, mode="a", encoding="utf-8")
    file_handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    file_handler.addFilter(RedactingFilter())
    logger.addHandler(file_handler)
    return file_handler


def get_logger() -> logging.Logger:
    return logging.getLogger(LOGGER_NAME)


def log_event(level: int, event: str, message: str, *, always: bool = False, **fields: Any) -> None:
    """Log `message` with a machine-readable `event` name and fields (shown in JSON logs)."""
    get_logger().log(level, message, extra={"event": event, "fields": fields, "always": always})


class Progress:
    """A one-line ticker on a terminal (text logs, not quiet); silent otherwise."""

    def __init__(self, enabled: bool, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self._width = 0

    def update(self, text: str) -> None:
        if not self.enabled:
            return
        text = redact(text)[:100]
        self.stream.write("\r" + text.ljust(self._width))
        self.stream.flush()
        self._width = len(text)

    def done(self) -> None:
        if self.enabled and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0
