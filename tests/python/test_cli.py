"""The command line explains itself: `okr-kpi --help` and every sub-command's --help."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

OKR_KPI = str(Path(sys.executable).parent / "okr-kpi")
COMMANDS = ["run", "check", "publish", "report", "lint", "generate", "check-in"]


def test_top_level_help_lists_every_command():
    out = subprocess.run([OKR_KPI, "--help"], capture_output=True, text=True, check=True).stdout
    for command in COMMANDS:
        assert f"  {command} " in out, command


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_explains_itself(command):
    proc = subprocess.run([OKR_KPI, command, "--help"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert f"Usage: okr-kpi {command}" in proc.stdout
    # a real description, not just the usage line
    body = proc.stdout.split("Options:")[0]
    assert len(body.split()) > 8, body


def test_unknown_target_is_a_usage_error():
    proc = subprocess.run([OKR_KPI, "run", "--target", "oracle"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "oracle" in proc.stderr
