"""The optional config file `okr_kpi.yml` (project root; `OKR_KPI_CONFIG` names another file).

It holds channel options and publishing settings, never secrets: webhook URLs and passwords
come only from the environment (docs/publishing.md lists every key). A secret-looking key with
a literal value (`url`, `password`, `webhook_url`, ...) is refused with a message naming the
file and the key.

```yaml
checks:
  window_days: 7             # nightly data tests read rows of the last days (0: all of history)
  keep_runs: 30              # Great Expectations results (and Data Docs pages) kept, in runs
alerts:
  lookback_days: 31          # older breaches are recorded in the history but not alerted
  include_suspect: true      # alert breaches flagged is_suspect (marked as such)
  flood_min_new: 20          # flood guard: a run with at least this many new breaches ...
  flood_ratio: 5             # ... and more than 5x the usual number sends one summary (0: off)
delivery:
  retries: 3                 # attempts per message and run, after the first
  backoff_seconds: 2         # 2, 4, 8 ... between attempts
  timeout_seconds: 10        # whole-try deadline per delivery try (connect + send + answer)
report:
  title: KPIs and OKRs
  trend_periods: 60          # periods per KPI trend chart
  data_docs_url: null        # link to hosted GX Data Docs (default: the local file)
  link: null                 # URL of the published report, put in the digests (default: the local path)
channels:
  slack:   {enabled: true}   # on when OKR_KPI_SLACK_WEBHOOK_URL is set
  webhook: {enabled: true, headers: {X-Team: analytics}}   # on when OKR_KPI_WEBHOOK_URL is set
  email:
    enabled: false
    smtp_host: smtp.example.com
    smtp_port: 587
    security: starttls       # starttls | ssl | none
    username: alerts@example.com
    password_env: OKR_KPI_SMTP_PASSWORD
    from: okr-kpi <alerts@example.com>
    to: [analytics@example.com]
```

Environment overrides (handy for tests and schedulers): OKR_KPI_DELIVERY_RETRIES,
OKR_KPI_DELIVERY_BACKOFF_SECONDS, OKR_KPI_DELIVERY_TIMEOUT_SECONDS, OKR_KPI_ALERT_LOOKBACK_DAYS,
OKR_KPI_CHECK_WINDOW_DAYS.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from okr_kpi.project import OkrKpiError

CONFIG_FILE = "okr_kpi.yml"

DEFAULTS: dict[str, Any] = {
    "checks": {"window_days": 7, "keep_runs": 30},
    "alerts": {"lookback_days": 31, "include_suspect": True, "flood_min_new": 20, "flood_ratio": 5},
    "delivery": {"retries": 3, "backoff_seconds": 2.0, "timeout_seconds": 10.0},
    "report": {"title": "KPIs and OKRs", "trend_periods": 60, "data_docs_url": None, "link": None},
    "channels": {
        "slack": {"enabled": True, "url_env": "OKR_KPI_SLACK_WEBHOOK_URL"},
        "webhook": {"enabled": True, "url_env": "OKR_KPI_WEBHOOK_URL", "headers": {}},
        "email": {
            "enabled": False,
            "smtp_host": "localhost",
            "smtp_port": 25,
            "security": "none",
            "username": None,
            "password_env": "OKR_KPI_SMTP_PASSWORD",
            "from": "okr-kpi@localhost",
            "to": [],
            "subject_prefix": "[okr-kpi]",
        },
    },
}

# Keys that would hold a secret: refused in the file (secrets only from the environment).
FORBIDDEN_KEYS = {"url", "webhook_url", "password", "smtp_password", "token", "secret", "api_key"}

ENV_OVERRIDES = {
    "OKR_KPI_DELIVERY_RETRIES": ("delivery", "retries", int),
    "OKR_KPI_DELIVERY_BACKOFF_SECONDS": ("delivery", "backoff_seconds", float),
    "OKR_KPI_DELIVERY_TIMEOUT_SECONDS": ("delivery", "timeout_seconds", float),
    "OKR_KPI_ALERT_LOOKBACK_DAYS": ("alerts", "lookback_days", int),
    "OKR_KPI_CHECK_WINDOW_DAYS": ("checks", "window_days", int),
}


@dataclass
class Config:
    data: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(DEFAULTS))
    path: Path | None = None

    def section(self, name: str) -> dict[str, Any]:
        return self.data[name]

    def channel(self, name: str) -> dict[str, Any]:
        return self.data["channels"][name]

    @property
    def retries(self) -> int:
        return int(self.data["delivery"]["retries"])

    @property
    def backoff_seconds(self) -> float:
        return float(self.data["delivery"]["backoff_seconds"])

    @property
    def timeout_seconds(self) -> float:
        return float(self.data["delivery"]["timeout_seconds"])

    @property
    def lookback_days(self) -> int:
        return int(self.data["alerts"]["lookback_days"])

    @property
    def check_window_days(self) -> int:
        return int(self.data["checks"]["window_days"] or 0)

    @property
    def keep_runs(self) -> int:
        return int(self.data["checks"]["keep_runs"] or 1)


def _merge(base: dict, override: dict, where: str, path: Path) -> None:
    for key, value in override.items():
        dotted = f"{where}.{key}" if where else key
        if key.lower() in FORBIDDEN_KEYS:
            raise OkrKpiError(
                f"{path}: key {dotted!r} would hold a secret; secrets come only from the "
                "environment (see docs/publishing.md)"
            )
        if key not in base:
            if where.endswith("headers"):
                base[key] = value
                continue
            raise OkrKpiError(f"{path}: unknown key {dotted!r} (known: {', '.join(sorted(base))})")
        if isinstance(base[key], dict):
            if not isinstance(value, dict):
                raise OkrKpiError(f"{path}: key {dotted!r} must be a mapping")
            _merge(base[key], value, dotted, path)
        else:
            base[key] = value


def load_config(project_dir: Path | None = None) -> Config:
    """Defaults, then the config file (if any), then environment overrides."""
    cfg = Config()
    env_path = os.environ.get("OKR_KPI_CONFIG")
    path = Path(env_path) if env_path else (Path(project_dir) / CONFIG_FILE if project_dir else None)
    if env_path and not path.is_file():
        raise OkrKpiError(f"OKR_KPI_CONFIG names {path}, which does not exist")
    if path is not None and path.is_file():
        import yaml

        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as err:
            raise OkrKpiError(f"{path}: not valid YAML: {err}") from None
        if not isinstance(loaded, dict):
            raise OkrKpiError(f"{path}: the top level must be a mapping")
        _merge(cfg.data, loaded, "", path)
        cfg.path = path
    for name, (section, key, cast) in ENV_OVERRIDES.items():
        if os.environ.get(name):
            try:
                cfg.data[section][key] = cast(os.environ[name])
            except ValueError:
                raise OkrKpiError(
                    f"environment variable {name}={os.environ[name]!r} is not a number"
                ) from None
    for key in ("window_days", "keep_runs"):
        value = cfg.data["checks"][key]
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise OkrKpiError(
                f"{path or 'config'}: checks.{key} must be a whole number, 0 or more, not {value!r}"
            )
    for key in ("flood_min_new", "flood_ratio"):
        value = cfg.data["alerts"][key]
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise OkrKpiError(f"{path or 'config'}: alerts.{key} must be a number, 0 or more, not {value!r}")
    security = cfg.data["channels"]["email"]["security"]
    if security not in ("starttls", "ssl", "none"):
        raise OkrKpiError(f"{path}: channels.email.security must be starttls, ssl or none, not {security!r}")
    to = cfg.data["channels"]["email"]["to"]
    if isinstance(to, str):
        cfg.data["channels"]["email"]["to"] = [to]
    return cfg
