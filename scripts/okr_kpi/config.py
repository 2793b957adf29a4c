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

Routing (docs/publishing.md, "Routing"): named `destinations` (Slack, Teams, generic webhooks,
e-mail lists or the owners' e-mail), `routes` (match KPI, owner, team, objective, severity,
rule -> destinations), `default_route`, `mentions` (owner -> Slack user id / Teams user).

Every key is validated (pydantic): a wrong type, a value out of range or an unknown key is an
error naming the file and the key (exit 2).

Environment overrides (handy for tests and schedulers): OKR_KPI_DELIVERY_RETRIES,
OKR_KPI_DELIVERY_BACKOFF_SECONDS, OKR_KPI_DELIVERY_TIMEOUT_SECONDS, OKR_KPI_ALERT_LOOKBACK_DAYS,
OKR_KPI_CHECK_WINDOW_DAYS.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from okr_kpi.project import OkrKpiError

CONFIG_FILE = "okr_kpi.yml"

# Keys that would hold a secret: refused in the file (secrets only from the environment).
FORBIDDEN_KEYS = {"url", "webhook_url", "password", "smtp_password", "token", "secret", "api_key"}

ENV_OVERRIDES = {
    "OKR_KPI_DELIVERY_RETRIES": ("delivery", "retries", int),
    "OKR_KPI_DELIVERY_BACKOFF_SECONDS": ("delivery", "backoff_seconds", float),
    "OKR_KPI_DELIVERY_TIMEOUT_SECONDS": ("delivery", "timeout_seconds", float),
    "OKR_KPI_ALERT_LOOKBACK_DAYS": ("alerts", "lookback_days", int),
    "OKR_KPI_CHECK_WINDOW_DAYS": ("checks", "window_days", int),
}

NonNegInt = Annotated[int, Field(ge=0)]
PosInt = Annotated[int, Field(ge=1)]
NonNegFloat = Annotated[float, Field(ge=0)]
PosFloat = Annotated[float, Field(gt=0)]
Text = Annotated[str, Field(min_length=1)]
EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
HttpUrl = Annotated[str, Field(pattern=r"^https?://[^\s/]+(/\S*)?$")]
Severity = Literal["warning", "critical"]
Rule = Literal["threshold", "anomaly", "stale_data"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)


class Checks(_Section):
    window_days: NonNegInt | None = 7
    keep_runs: NonNegInt | None = 30


class Reminders(_Section):
    """Days between reminders of a breach that stays open, per severity (0: never)."""

    critical: NonNegInt = 1
    warning: NonNegInt = 7


class Alerts(_Section):
    lookback_days: NonNegInt = 31
    include_suspect: bool = True
    flood_min_new: NonNegInt = 20
    flood_ratio: NonNegFloat = 5
    reminders: Reminders = Field(default_factory=Reminders)
    stale_data: bool = True
    backlog: Literal["open", "none"] = "open"


class Delivery(_Section):
    retries: NonNegInt = 3
    backoff_seconds: NonNegFloat = 2.0
    timeout_seconds: PosFloat = 10.0


class Report(_Section):
    title: Text = "KPIs and OKRs"
    trend_periods: PosInt = 60
    data_docs_url: HttpUrl | None = None
    link: HttpUrl | None = None
    base_url: HttpUrl | None = None
    archive_runs: NonNegInt = 30


class Slack(_Section):
    enabled: bool = True
    url_env: EnvName = "OKR_KPI_SLACK_WEBHOOK_URL"


class Teams(_Section):
    enabled: bool = True
    url_env: EnvName = "OKR_KPI_TEAMS_WEBHOOK_URL"


class Webhook(_Section):
    enabled: bool = True
    url_env: EnvName = "OKR_KPI_WEBHOOK_URL"
    headers: dict[str, str] = Field(default_factory=dict)


class Email(_Section):
    enabled: bool = False
    smtp_host: Text = "localhost"
    smtp_port: Annotated[int, Field(ge=1, le=65535)] = 25
    security: Literal["starttls", "ssl", "none"] = "none"
    username: Text | None = None
    password_env: EnvName = "OKR_KPI_SMTP_PASSWORD"
    from_: Text = Field("okr-kpi@localhost", alias="from")
    to: list[Text] = Field(default_factory=list)
    subject_prefix: str = "[okr-kpi]"

    @field_validator("to", mode="before")
    @classmethod
    def _one_address(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class Channels(_Section):
    slack: Slack = Field(default_factory=Slack)
    teams: Teams = Field(default_factory=Teams)
    webhook: Webhook = Field(default_factory=Webhook)
    email: Email = Field(default_factory=Email)


class Destination(_Section):
    """A named place digests go to. slack / teams / webhook: the URL from the environment variable
    `url_env`; email: the list `to` and/or the owners' own addresses (`to_owners`), sent through
    the SMTP server of channels.email."""

    type: Literal["slack", "teams", "webhook", "email"]
    url_env: EnvName | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    to: list[Text] = Field(default_factory=list)
    to_owners: bool = False
    enabled: bool = True

    @field_validator("to", mode="before")
    @classmethod
    def _one_address(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _complete(self) -> Destination:
        if self.type in ("slack", "teams", "webhook") and not self.url_env:
            raise ValueError(
                f"is a {self.type} destination: it needs url_env (the environment variable holding its URL)"
            )
        if self.type == "email" and not (self.to or self.to_owners):
            raise ValueError("is an email destination: it needs `to` or `to_owners: true`")
        if self.type != "email" and (self.to or self.to_owners):
            raise ValueError("has `to`/`to_owners`, which are for email destinations")
        if self.type != "webhook" and self.headers:
            raise ValueError("has `headers`, which are for webhook destinations")
        return self


StrList = list[Text]


class Match(_Section):
    """Every key given must match (and); a list matches any of its values (or)."""

    kpi: StrList | None = None
    owner: StrList | None = None
    team: StrList | None = None
    objective: StrList | None = None
    severity: list[Severity] | None = None
    rule: list[Rule] | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _one_value(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class Route(_Section):
    match: Match = Field(default_factory=Match)
    to: Annotated[list[Name], Field(min_length=1)]

    @field_validator("to", mode="before")
    @classmethod
    def _one_value(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class Mention(_Section):
    slack: Annotated[str, Field(pattern=r"^[UW][A-Z0-9]{2,}$")] | None = None
    teams: Text | None = None


class Settings(_Section):
    checks: Checks = Field(default_factory=Checks)
    alerts: Alerts = Field(default_factory=Alerts)
    delivery: Delivery = Field(default_factory=Delivery)
    report: Report = Field(default_factory=Report)
    channels: Channels = Field(default_factory=Channels)
    destinations: dict[Name, Destination] = Field(default_factory=dict)
    routes: list[Route] = Field(default_factory=list)
    default_route: list[Name] | None = None
    mentions: dict[Text, Mention] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_destinations(self) -> Settings:
        known = set(self.destinations) | {"slack", "teams", "webhook", "email"}
        clash = sorted(set(self.destinations) & {"slack", "teams", "webhook", "email"})
        if clash:
            raise ValueError(
                f"destinations.{clash[0]}: the name {clash[0]!r} is taken by channels.{clash[0]}: "
                "pick another"
            )
        for i, route in enumerate(self.routes):
            for name in route.to:
                if name not in known:
                    raise ValueError(
                        f"routes[{i}].to names {name!r}, which is not a destination "
                        f"(known: {', '.join(sorted(known))})"
                    )
        for name in self.default_route or []:
            if name not in known:
                raise ValueError(
                    f"default_route names {name!r}, which is not a destination "
                    f"(known: {', '.join(sorted(known))})"
                )
        return self


DEFAULTS: dict[str, Any] = Settings().model_dump(by_alias=True)


@dataclass
class Config:
    data: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(DEFAULTS))
    path: Path | None = None

    def section(self, name: str) -> Any:
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


def _refuse_secrets(obj: Any, where: str, path: Path) -> None:
    if isinstance(obj, dict):
        for key, value in obj.items():
            dotted = f"{where}.{key}" if where else str(key)
            if str(key).lower() in FORBIDDEN_KEYS and where != "mentions":
                raise OkrKpiError(
                    f"{path}: key {dotted!r} would hold a secret; secrets come only from the "
                    "environment (see docs/publishing.md)"
                )
            _refuse_secrets(value, dotted, path)
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            _refuse_secrets(value, f"{where}[{i}]", path)


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part) in ("str", "list[str]", "int", "float", "bool", "none", "function-after[_complete()]"):
            continue  # pydantic's union / validator branch names, not keys
        else:
            out += ("." if out else "") + str(part)
    return out


PHRASES = {
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be text",
    "list_type": "must be a list",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
    "string_too_short": "must not be empty",
    "too_short": "must not be empty",
}


def _explain(err: dict[str, Any]) -> str:
    value = err.get("input")
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind == "greater_than_equal":
        phrase = (
            f"must be {'a whole number' if isinstance(value, int) else 'a number'}, {ctx.get('ge')} or more"
        )
    elif kind in ("greater_than", "less_than_equal"):
        limit = f"above {ctx.get('gt')}" if kind == "greater_than" else f"{ctx.get('le')} or less"
        phrase = f"must be {limit}"
    elif kind == "literal_error":
        phrase = f"must be {ctx.get('expected', 'one of the documented values')}"
    elif kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        phrase = (
            "must be an http(s) URL"
            if pattern.startswith("^https?")
            else "must be an environment variable name (letters, digits, _)"
            if pattern.startswith("^[A-Za-z_]")
            else "must be a Slack user id (U... or W...)"
            if pattern.startswith("^[UW]")
            else "must be a name of letters, digits, '_', '.', '-'"
        )
    elif kind == "value_error":
        return str(err.get("msg", "invalid")).removeprefix("Value error, ")
    else:
        phrase = PHRASES.get(kind, str(err.get("msg", "is invalid")))
    shown = repr(value) if not isinstance(value, dict | list) else type(value).__name__
    return f"{phrase} (got {shown})"


def validation_message(path: Path | str, error: ValidationError) -> str:
    """One line per problem, each naming the file and the dotted key."""
    lines = []
    seen = set()
    for err in error.errors(include_url=False):
        key = _dotted(tuple(err.get("loc", ())))
        if key in seen:  # a union reports each branch: the first says enough
            continue
        seen.add(key)
        if err.get("type") == "extra_forbidden":
            lines.append(f"{path}: unknown key {key!r}")
        elif err.get("type") == "value_error" and not key:
            lines.append(f"{path}: {_explain(err)}")
        else:
            lines.append(f"{path}: {key} {_explain(err)}" if key else f"{path}: {_explain(err)}")
    return "\n".join(lines)


def validate_settings(raw: dict[str, Any], path: Path | str) -> Settings:
    try:
        return Settings.model_validate(raw)
    except ValidationError as err:
        raise OkrKpiError(validation_message(path, err)) from None


def load_config(project_dir: Path | None = None) -> Config:
    """Defaults, then the config file (if any), then environment overrides; validated."""
    env_path = os.environ.get("OKR_KPI_CONFIG")
    path = Path(env_path) if env_path else (Path(project_dir) / CONFIG_FILE if project_dir else None)
    if env_path and not path.is_file():
        raise OkrKpiError(f"OKR_KPI_CONFIG names {path}, which does not exist")
    raw: dict[str, Any] = {}
    found = None
    if path is not None and path.is_file():
        import yaml

        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as err:
            raise OkrKpiError(f"{path}: not valid YAML: {err}") from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise OkrKpiError(f"{path}: the top level must be a mapping")
        _refuse_secrets(loaded, "", path)
        raw = loaded
        found = path
    settings = validate_settings(raw, found or "okr_kpi.yml (defaults)")
    data = settings.model_dump(by_alias=True)
    for name, (section, key, cast) in ENV_OVERRIDES.items():
        if os.environ.get(name):
            try:
                data[section][key] = cast(os.environ[name])
            except ValueError:
                raise OkrKpiError(
                    f"environment variable {name}={os.environ[name]!r} is not a number"
                ) from None
            if data[section][key] < 0:
                raise OkrKpiError(f"environment variable {name}={os.environ[name]!r} must be 0 or more")
    return Config(data=data, path=found)
