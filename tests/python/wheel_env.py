"""okr-kpi installed from a wheel into a fresh virtualenv outside the checkout (a pytest fixture).

    from wheel_env import venv_environ, wheel_env_fixture  # noqa: F401  (registers `wheel_env`)

    def test_x(wheel_env, tmp_path):
        okr_kpi = wheel_env / "okr-kpi"           # wheel_env: the venv's bin directory
        subprocess.run([okr_kpi, "--version"], env=venv_environ(wheel_env), cwd=tmp_path)

What it does, once per test session (shared by the xdist workers through a file lock):
1. builds the wheel of this checkout (`pip wheel --no-deps` on a copy of the working tree;
   setup.py copies the dbt package in);
2. creates a virtualenv in the session's temp directory (never inside the checkout);
3. installs the wheel there with constraints.txt and no extra: the DuckDB-only install
   (fixture `wheel_env`); `wheel_env_postgres` is a second venv with the [postgres] extra.

Installs come from a local wheelhouse, offline (`--no-index`): OKR_KPI_WHEELHOUSE, default
~/.cache/okr-kpi/wheelhouse. When it lacks a distribution, `pip download` fills it once from the
configured index (pip's own cache makes that quick) and the offline install is tried again.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CONSTRAINTS = REPO / "constraints.txt"
BUILD_REQUIREMENTS = ("setuptools>=70.1",)


def wheelhouse() -> Path:
    path = Path(os.environ.get("OKR_KPI_WHEELHOUSE", Path.home() / ".cache" / "okr-kpi" / "wheelhouse"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def venv_environ(bin_dir: Path, **extra: str) -> dict[str, str]:
    """An environment that runs the venv's programs alone: its bin first, nothing of the checkout."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "OKR_KPI_GX_DIR", "OKR_KPI_PROJECT_DIR",
                          "DBT_PROJECT_DIR", "DBT_PROFILES_DIR", "DBT_TARGET_PATH", "DBT_LOG_PATH")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(bin_dir.parent)
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    env["DO_NOT_TRACK"] = "1"
    env["GX_ANALYTICS_ENABLED"] = "false"
    env.update(extra)
    return env


def _pip(python: Path | str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return subprocess.run([str(python), "-m", "pip", *args], cwd=cwd, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _offline_then_fill(python: Path | str, args: list[str], fill: list[str]) -> None:
    """`pip <args>` from the wheelhouse alone; on failure fill the wheelhouse once and retry."""
    house = str(wheelhouse())
    offline = ["--no-index", "--find-links", house]
    proc = _pip(python, *args, *offline)
    if proc.returncode == 0:
        return
    filled = _pip(sys.executable, "download", "-q", "-d", house, "-c", str(CONSTRAINTS), *fill)
    if filled.returncode != 0:
        raise RuntimeError(f"pip download into the wheelhouse {house} failed:\n{filled.stdout[-4000:]}")
    proc = _pip(python, *args, *offline)
    if proc.returncode != 0:
        raise RuntimeError(f"pip {' '.join(args)} failed:\n{proc.stdout[-4000:]}")


# Not copied into the build's source tree: VCS, virtualenvs, caches and what builds and runs
# write (at any depth), and the run outputs at the top (a `reports/` deeper down is a models folder).
_ANYWHERE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "*.pyc", "target", "target_*",
    "dbt_packages", "uncommitted", "*.duckdb", "*.duckdb.wal", "spark-warehouse", "metastore_db",
    ".pytest_cache", ".ruff_cache",
)
_TOP = {"logs", "reports"}


def _source_ignore(directory: str, names: list[str]) -> set[str]:
    ignored = set(_ANYWHERE(directory, names))
    if Path(directory) == REPO:
        ignored |= _TOP & set(names)
    return ignored


def build_wheel(dest: Path) -> Path:
    """The wheel of this checkout, built into dest (the dbt package inside, by setup.py).

    It is built from a copy of the working tree (uncommitted edits included), so the build
    writes nothing (build/, *.egg-info) into the checkout."""
    dest.mkdir(parents=True, exist_ok=True)
    source = dest.parent / "source"
    shutil.rmtree(source, ignore_errors=True)
    shutil.copytree(REPO, source, ignore=_source_ignore, symlinks=True)
    _offline_then_fill(sys.executable, ["wheel", "-q", "--no-deps", "-w", str(dest), str(source)],
                       fill=list(BUILD_REQUIREMENTS))
    wheels = sorted(dest.glob("okr_kpi-*.whl"))
    if not wheels:
        raise RuntimeError(f"no okr_kpi wheel was written to {dest}")
    return wheels[-1]


def create_venv(path: Path, wheel: Path, extras: str = "") -> Path:
    """A new virtualenv at path with the wheel (and extras, e.g. "postgres") installed; its bin dir."""
    venv.EnvBuilder(with_pip=True, clear=True).create(path)
    python = path / "bin" / "python"
    requirement = f"okr-kpi[{extras}] @ {wheel.as_uri()}" if extras else str(wheel)
    _offline_then_fill(python, ["install", "-q", "-c", str(CONSTRAINTS), requirement],
                       fill=[requirement])
    return path / "bin"


def session_venv(tmp_path_factory, extras: str = "") -> Path:
    """The bin dir of this session's venv with the wheel (+ extras); built once, under a file lock."""
    # One venv per session. xdist: every worker's basetemp lies in the session's directory; the
    # first worker builds, the others wait on the lock.
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    root = shared / "okr_kpi_wheel_env"
    root.mkdir(exist_ok=True)
    name = f"venv-{extras.replace(',', '-')}" if extras else "venv"
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        wheels = sorted((root / "dist").glob("okr_kpi-*.whl"))
        wheel = wheels[-1] if wheels else build_wheel(root / "dist")
        if not (root / f".{name}.ready").exists():
            create_venv(root / name, wheel, extras)
            (root / f".{name}.ready").write_text(str(wheel))
    return root / name / "bin"


@pytest.fixture(scope="session", name="wheel_env")
def wheel_env_fixture(tmp_path_factory) -> Path:
    """The bin dir of a fresh virtualenv holding okr-kpi installed from its wheel (DuckDB only)."""
    return session_venv(tmp_path_factory)


@pytest.fixture(scope="session", name="wheel_env_postgres")
def wheel_env_postgres_fixture(tmp_path_factory) -> Path:
    """The same with the [postgres] extra (dbt-postgres, psycopg2): a second venv."""
    return session_venv(tmp_path_factory, "postgres")
