"""Issue 16, piece 1: every key of okr_kpi.yml is validated (pydantic); a bad value is exit 2
with a message naming the file and the key, before anything is written; every command takes
--log-format / --quiet; dates are parsed without tracebacks; NO_COLOR; critical is coloured
apart from warning.

Real parts: the `okr-kpi` console script in a subprocess for the commands (no mocks), on the
repository's own dbt project (the okr_kpi package itself) with the demo profile.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import typing
from pathlib import Path

import pytest
from okr_kpi.config import DEFAULTS, Settings, load_config
from okr_kpi.project import OkrKpiError
from pydantic import BaseModel

REPO = Path(__file__).resolve().parents[2]
OKR_KPI = str(Path(sys.executable).parent / "okr-kpi")


def _bad_value(annotation) -> object:
    """A value of the wrong type for a field's annotation."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _bad_value(args[0])
    if origin is typing.Literal:
        return "no-such-choice"
    if origin in (typing.Union, __import__("types").UnionType):
        return _bad_value(args[0])
    if annotation is bool:
        return "maybe"
    if annotation is int:
        return "three"
    if annotation is float:
        return "fast"
    if annotation is str:
        return 42
    if origin in (list, dict):
        return 42
    raise AssertionError(f"no bad value for {annotation}")


def _leaf_cases(model: type[BaseModel], prefix: str) -> list[tuple[str, object]]:
    cases = []
    for name, info in model.model_fields.items():
        key = info.alias or name
        dotted = f"{prefix}.{key}" if prefix else key
        ann = info.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            cases += _leaf_cases(ann, dotted)
        elif dotted in ("destinations", "routes", "mentions", "default_route"):
            continue  # collections of models: the cases below
        else:
            cases.append((dotted, _bad_value(ann)))
    return cases


def _nest(dotted: str, value: object) -> dict:
    out: dict = {}
    node = out
    parts = dotted.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return out


SECTION_CASES = _leaf_cases(Settings, "")
# Keys inside collections (a destination, a route, a mention): each one wrong, the rest right.
DEST = {"type": "slack", "url_env": "OPS_SLACK_URL"}
COLLECTION_CASES = [
    ("destinations.ops.type", {"destinations": {"ops": {**DEST, "type": "pager"}}}),
    ("destinations.ops.url_env", {"destinations": {"ops": {**DEST, "url_env": "not a name"}}}),
    ("destinations.ops.enabled", {"destinations": {"ops": {**DEST, "enabled": "maybe"}}}),
    (
        "destinations.ops.headers",
        {"destinations": {"ops": {"type": "webhook", "url_env": "H", "headers": 42}}},
    ),
    ("destinations.ops.to", {"destinations": {"ops": {"type": "email", "to": 42}}}),
    ("destinations.ops.to_owners", {"destinations": {"ops": {"type": "email", "to_owners": "yes please"}}}),
    ("destinations.ops", {"destinations": {"ops": {"type": "teams"}}}),  # no url_env
    ("routes[0].match.kpi", {"routes": [{"match": {"kpi": 42}, "to": ["slack"]}]}),
    ("routes[0].match.owner", {"routes": [{"match": {"owner": 42}, "to": ["slack"]}]}),
    ("routes[0].match.team", {"routes": [{"match": {"team": 42}, "to": ["slack"]}]}),
    ("routes[0].match.objective", {"routes": [{"match": {"objective": 42}, "to": ["slack"]}]}),
    ("routes[0].match.severity[0]", {"routes": [{"match": {"severity": "high"}, "to": ["slack"]}]}),
    ("routes[0].match.rule[0]", {"routes": [{"match": {"rule": "gut_feeling"}, "to": ["slack"]}]}),
    ("routes[0].match.colour", {"routes": [{"match": {"colour": "red"}, "to": ["slack"]}]}),
    ("routes[0].to", {"routes": [{"match": {}, "to": ["nowhere"]}]}),
    ("routes[0].to", {"routes": [{"match": {}, "to": []}]}),
    ("default_route", {"default_route": ["nowhere"]}),
    ("mentions.ana@acme.example.slack", {"mentions": {"ana@acme.example": {"slack": "ana"}}}),
    ("mentions.ana@acme.example.teams", {"mentions": {"ana@acme.example": {"teams": 42}}}),
    ("mentions.ana@acme.example.phone", {"mentions": {"ana@acme.example": {"phone": "1"}}}),
]
ALL_CASES = [(k, _nest(k, v)) for k, v in SECTION_CASES] + COLLECTION_CASES
COMMANDS = ["report", "publish", "check", "run"]


def test_every_key_of_the_defaults_has_a_case():
    """A key added later without a case here fails this test."""

    def leaves(d: dict, prefix: str = "") -> set[str]:
        out = set()
        for k, v in d.items():
            dotted = f"{prefix}.{k}" if prefix else k
            out |= (
                leaves(v, dotted)
                if isinstance(v, dict) and v and dotted != "channels.webhook.headers"
                else {dotted}
            )
        return out

    covered = {k for k, _ in ALL_CASES}
    top = {k.split(".")[0].split("[")[0] for k, _ in COLLECTION_CASES}
    missing = {k for k in leaves(DEFAULTS) if k not in covered and k not in top}
    assert not missing, missing
    assert len(SECTION_CASES) >= 35


def _env(tmp_path: Path, config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKR_KPI_") and k != "NO_COLOR"}
    env.update(
        {
            "OKR_KPI_CONFIG": str(config),
            "OKR_KPI_DUCKDB_PATH": str(tmp_path / "wh.duckdb"),
            "OKR_KPI_LOG_DIR": str(tmp_path / "logs"),
            "DBT_TARGET_PATH": str(tmp_path / "target"),
            "DBT_LOG_PATH": str(tmp_path / "logs"),
            "DBT_PROFILES_DIR": str(REPO / "examples" / "demo"),
            "DBT_PROJECT_DIR": str(REPO),
        }
    )
    return env


@pytest.mark.parametrize(("key", "content"), ALL_CASES, ids=[k for k, _ in ALL_CASES])
def test_a_bad_value_names_the_file_and_the_key(tmp_path, monkeypatch, key, content):
    import yaml

    path = tmp_path / "okr_kpi.yml"
    path.write_text(yaml.safe_dump(content))
    monkeypatch.setenv("OKR_KPI_CONFIG", str(path))
    for name in (
        "OKR_KPI_DELIVERY_RETRIES",
        "OKR_KPI_DELIVERY_BACKOFF_SECONDS",
        "OKR_KPI_DELIVERY_TIMEOUT_SECONDS",
        "OKR_KPI_ALERT_LOOKBACK_DAYS",
        "OKR_KPI_CHECK_WINDOW_DAYS",
    ):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(OkrKpiError) as caught:
        load_config(tmp_path)
    message = str(caught.value)
    assert str(path) in message
    assert key in message, message


@pytest.mark.parametrize(
    ("command", "text", "key"),
    [
        ("report", "report:\n  trend_periods: abc\n", "report.trend_periods"),
        ("publish", "delivery:\n  retries: three\n", "delivery.retries"),
        ("check", "alerts:\n  lookback_days: -5\n", "alerts.lookback_days"),
        ("run", "report:\n  title: 42\n", "report.title"),
        ("run", "routes:\n  - match: {severity: high}\n    to: [slack]\n", "routes[0].match.severity"),
    ],
)
def test_the_commands_exit_2_naming_file_and_key_and_write_nothing(tmp_path, command, text, key):
    config = tmp_path / "okr_kpi.yml"
    config.write_text(text)
    out = tmp_path / "out"
    proc = subprocess.run(
        [OKR_KPI, command, "--out", str(out)],
        env=_env(tmp_path, config),
        cwd=tmp_path,
        text=True,
        capture_output=True,
        timeout=300,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"{config}: {key}" in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not out.exists() and not (tmp_path / "wh.duckdb").exists()


def test_good_values_are_kept(tmp_path, monkeypatch):
    path = tmp_path / "okr_kpi.yml"
    path.write_text(
        "delivery: {retries: 0, backoff_seconds: 1, timeout_seconds: 0.5}\n"
        "report: {base_url: 'https://kpi.acme.example/okr', trend_periods: 12}\n"
        "channels: {email: {to: one@acme.example}}\n"
        "destinations:\n  ops: {type: teams, url_env: OPS_TEAMS_URL}\n"
        "routes:\n  - {match: {severity: critical, kpi: revenue}, to: ops}\n"
        "mentions:\n  finance@acme.example: {slack: U024BE7LH, teams: fin@acme.example}\n"
    )
    monkeypatch.setenv("OKR_KPI_CONFIG", str(path))
    monkeypatch.delenv("OKR_KPI_DELIVERY_RETRIES", raising=False)
    cfg = load_config(tmp_path)
    assert cfg.retries == 0 and cfg.timeout_seconds == 0.5
    assert cfg.data["channels"]["email"]["to"] == ["one@acme.example"]
    assert cfg.data["routes"][0]["match"]["severity"] == ["critical"]
    assert cfg.data["routes"][0]["to"] == ["ops"]
    assert cfg.data["mentions"]["finance@acme.example"]["slack"] == "U024BE7LH"


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["check", "--as-of", "31/08/2026"], "--as-of"),
        (["run", "--as-of", "2026-02-30"], "--as-of"),
        (["run", "--since", "yesterday"], "--since"),
        (["lint", "--as-of", "31.08.2026"], "--as-of"),
        (["generate", "--start", "2025/01/01"], "--start"),
        (["check-in", "kr-1", "3", "--date", "tomorrow"], "--date"),
    ],
)
def test_a_bad_date_is_exit_2_without_a_traceback(tmp_path, args, option):
    proc = subprocess.run(
        [OKR_KPI, *args],
        env=_env(tmp_path, tmp_path / "none.yml"),
        cwd=tmp_path,
        text=True,
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert option in proc.stderr and "YYYY-MM-DD" in proc.stderr


COMMANDS_ALL = ["generate", "run", "check", "publish", "report", "lint", "check-in", "semantic", "init"]


@pytest.mark.parametrize("command", COMMANDS_ALL)
def test_every_command_takes_log_format_and_quiet(command):
    from click.testing import CliRunner
    from okr_kpi.cli import main

    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0
    assert "--log-format [text|json]" in result.output and "--quiet" in result.output


def test_json_errors_and_no_color(tmp_path):
    config = tmp_path / "okr_kpi.yml"
    config.write_text("delivery:\n  retries: three\n")
    env = {**_env(tmp_path, config), "FORCE_COLOR": "1"}
    proc = subprocess.run(
        [OKR_KPI, "report", "--log-format", "json"],
        env=env,
        cwd=tmp_path,
        text=True,
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == 2
    line = json.loads(proc.stderr.strip().splitlines()[-1])
    assert line["level"] == "error" and "delivery.retries" in line["message"]
    coloured = subprocess.run([OKR_KPI, "report"], env=env, cwd=tmp_path, text=True, capture_output=True)
    assert "\x1b[" in coloured.stderr
    plain = subprocess.run(
        [OKR_KPI, "report"], env={**env, "NO_COLOR": "1"}, cwd=tmp_path, text=True, capture_output=True
    )
    assert plain.returncode == 2 and "\x1b[" not in plain.stderr and "delivery.retries" in plain.stderr


def test_critical_is_coloured_apart_from_warning(monkeypatch):
    import io

    from okr_kpi.logging import log_event, setup_logging

    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.delenv("NO_COLOR", raising=False)
    stream = io.StringIO()
    setup_logging(stream=stream)
    log_event(logging.INFO, "breach", "critical breach", severity="critical")
    log_event(logging.INFO, "breach", "warning breach", severity="warning")
    log_event(logging.INFO, "note", "plain line")
    lines = stream.getvalue().splitlines()
    critical, warning, plain = lines
    assert critical.startswith("\x1b[1;31m") and warning.startswith("\x1b[33m")
    assert "\x1b[" not in plain
    monkeypatch.setenv("NO_COLOR", "1")
    stream = io.StringIO()
    setup_logging(stream=stream)
    log_event(logging.INFO, "breach", "critical breach", severity="critical")
    assert "\x1b[" not in stream.getvalue()
