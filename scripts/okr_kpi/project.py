"""Where the dbt project, its profile and its warehouse are, and how dbt is invoked.

Everything the toolkit does goes through `Project`. It finds things the way dbt does:

- the project dir: the `project_dir` argument (--project-dir), else DBT_PROJECT_DIR, else the
  current directory or the nearest parent holding dbt_project.yml; never anything else;
- the profiles dir: the `profiles_dir` argument (--profiles-dir), else DBT_PROFILES_DIR, else the
  project dir if it holds profiles.yml, else ~/.dbt;
- the profile: dbt_project.yml's `profile:`; the target: the `target` argument (--target), else
  DBT_TARGET (OKR_KPI_TARGET is a deprecated alias), else the profile's own `target:`.

The profile is read and rendered by dbt's own code (dbt.config.profile, ProfileRenderer), so
env_var() and its defaults behave exactly as in dbt, and the output's credentials are dbt's
Credentials object of its adapter. The adapter's `type` picks the toolkit's adapter module
(okr_kpi.adapters): the one place that knows what differs per warehouse.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PACKAGE_NAME = "okr_kpi"


class OkrKpiError(Exception):
    """An error the user can act on; the CLI prints its message without a traceback (exit 2)."""


def _explicit(value: str | os.PathLike | None) -> str | None:
    return str(value) if value not in (None, "") else None


def find_project_dir(project_dir: str | os.PathLike | None = None, start: Path | None = None) -> Path:
    """The dbt project dir: `project_dir`, else DBT_PROJECT_DIR, else the cwd or a parent with
    dbt_project.yml. A dir without dbt_project.yml is an error (exit 2), as in dbt."""
    given = _explicit(project_dir)
    source = "--project-dir"
    if given is None and os.environ.get("DBT_PROJECT_DIR"):
        given, source = os.environ["DBT_PROJECT_DIR"], "DBT_PROJECT_DIR"
    if given is None and os.environ.get("OKR_KPI_PROJECT_DIR"):  # deprecated alias
        given, source = os.environ["OKR_KPI_PROJECT_DIR"], "OKR_KPI_PROJECT_DIR"
    if given is not None:
        path = Path(given).expanduser().resolve()
        if not (path / "dbt_project.yml").is_file():
            raise OkrKpiError(f"no dbt_project.yml in {path} (from {source}): point --project-dir "
                              "(or DBT_PROJECT_DIR) at your dbt project")
        return path
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "dbt_project.yml").is_file():
            return candidate
    raise OkrKpiError(f"no dbt_project.yml in {here} or any parent: run okr-kpi inside your dbt project, "
                      "or pass --project-dir (or set DBT_PROJECT_DIR)")


def find_profiles_dir(project_dir: Path, profiles_dir: str | os.PathLike | None = None) -> Path:
    """dbt's rule: --profiles-dir, else DBT_PROFILES_DIR, else the project dir if it holds
    profiles.yml, else ~/.dbt."""
    given = _explicit(profiles_dir) or os.environ.get("DBT_PROFILES_DIR") or None
    if given is not None:
        return Path(given).expanduser().resolve()
    if (project_dir / "profiles.yml").is_file():
        return project_dir
    return (Path.home() / ".dbt").resolve()


def resolve_target(target: str | None = None) -> str | None:
    """--target, else DBT_TARGET, else OKR_KPI_TARGET (deprecated), else None (the profile's)."""
    return _explicit(target) or os.environ.get("DBT_TARGET") or os.environ.get("OKR_KPI_TARGET") or None


def read_project_file(project_dir: Path) -> dict[str, Any]:
    import yaml

    path = project_dir / "dbt_project.yml"
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as err:
        raise OkrKpiError(f"cannot read {path}: {err}") from None
    if not isinstance(data, dict):
        raise OkrKpiError(f"{path} is not a mapping")
    return data


def pinned_var(project_config: dict[str, Any], name: str) -> Any:
    """A var of dbt_project.yml: `vars: {name: ...}` or, scoped to the package, `vars: {okr_kpi:
    {name: ...}}` (the scoped one wins, as in dbt); None when neither sets it."""
    variables = project_config.get("vars") or {}
    if not isinstance(variables, dict):
        return None
    scoped = variables.get(PACKAGE_NAME)
    if isinstance(scoped, dict) and scoped.get(name) is not None:
        return scoped[name]
    return variables.get(name)


def _dbt_error(err: Exception) -> str:
    """A dbt exception's message without dbt's 'Runtime Error' banners."""
    lines = [line.strip() for line in str(err).splitlines()]
    lines = [line for line in lines if line and line not in ("Runtime Error", "Compilation Error")]
    return " ".join(lines) or type(err).__name__


@dataclass
class Profile:
    """One rendered output of a dbt profile."""

    profile_name: str
    target_name: str
    adapter_type: str
    profiles_file: Path
    data: dict[str, Any]  # the output as dbt renders it (env_var() applied), with `type`
    credentials: Any  # dbt's Credentials object of the adapter (e.g. DuckDBCredentials)
    threads: int | None = None


def load_profile(profiles_dir: Path, profile_name: str, target: str | None = None) -> Profile:
    """Read and render `profile_name` from profiles_dir/profiles.yml with dbt's own code."""
    from okr_kpi import adapters

    profiles_file = profiles_dir / "profiles.yml"
    wanted = f" (target {target!r})" if target else ""
    if not profiles_file.is_file():
        raise OkrKpiError(f"no profiles.yml in {profiles_dir}: the dbt profile {profile_name!r}{wanted} "
                          "is needed; pass --profiles-dir (or set DBT_PROFILES_DIR), or put profiles.yml "
                          "in the project or ~/.dbt")
    try:
        from dbt.config.profile import Profile as DbtProfile
        from dbt.config.profile import read_profile
        from dbt.config.renderer import ProfileRenderer
        from dbt_common.context import set_invocation_context
    except ImportError as err:  # pragma: no cover - dbt-core is a dependency
        raise OkrKpiError(f"dbt-core is not installed ({err}): pip install okr-kpi") from None
    set_invocation_context(dict(os.environ))
    try:
        raw = read_profile(str(profiles_dir))
    except Exception as err:  # dbt's validation errors
        raise OkrKpiError(f"cannot read {profiles_file}: {_dbt_error(err)}") from None
    if profile_name not in (raw or {}):
        known = ", ".join(sorted(raw or {})) or "none"
        raise OkrKpiError(f"{profiles_file} has no profile {profile_name!r}{wanted} (the profile "
                          f"dbt_project.yml names); profiles there: {known}")
    raw_profile = raw[profile_name]
    if not isinstance(raw_profile, dict) or not isinstance(raw_profile.get("outputs"), dict):
        raise OkrKpiError(f"profile {profile_name!r} in {profiles_file} has no outputs")
    renderer = ProfileRenderer({})
    try:
        target_name, data = DbtProfile.render_profile(raw_profile, profile_name, target, renderer)
    except Exception as err:
        if getattr(err, "result_type", None) == "invalid_target" or "does not have a target" in str(err):
            shown = repr(target) if target else "(its default)"
            if not target:
                try:
                    shown = f"{renderer.render_value(raw_profile.get('target', 'default'))!r} (its default)"
                except Exception:
                    pass
            raise OkrKpiError(
                f"unknown target {shown}: profile {profile_name!r} in {profiles_file} has the targets "
                f"{', '.join(raw_profile['outputs'])}") from None
        raise OkrKpiError(f"cannot render profile {profile_name!r} in {profiles_file}: {_dbt_error(err)}"
                          ) from None
    data = dict(data)
    adapter_type = str(data.get("type") or "")
    if not adapter_type:
        raise OkrKpiError(f"target {target_name!r} of profile {profile_name!r} has no `type`")
    adapters.module_name(adapter_type, target_name)  # unsupported type: exit 2 naming it
    threads = data.get("threads")
    creds_data = {k: v for k, v in data.items() if k != "threads"}
    try:
        credentials = DbtProfile._credentials_from_profile(dict(creds_data), profile_name, target_name)
    except Exception as err:
        text = _dbt_error(err)
        extra = adapters.EXTRAS.get(adapter_type)
        if "Could not find adapter type" in text or "PyHive" in text or "dependencies" in text:
            hint = f': pip install "okr-kpi[{extra}]"' if extra else ""
            raise OkrKpiError(f"target {target_name!r} (type {adapter_type}) needs packages that are not "
                              f"installed{hint} ({text})") from None
        raise OkrKpiError(text) from None
    return Profile(profile_name=profile_name, target_name=target_name, adapter_type=adapter_type,
                   profiles_file=profiles_file, data=data, credentials=credentials,
                   threads=int(threads) if threads is not None else None)


@dataclass
class Project:
    """A dbt project, its profile's target and that target's warehouse.

    Arguments (each None = resolved as dbt does; see the module docstring):
      target        dbt target name (--target / DBT_TARGET / the profile's default)
      project_dir   the dbt project (--project-dir / DBT_PROJECT_DIR / cwd or a parent)
      out_dir       where reports go (default: <project_dir>/reports)
      profiles_dir  where profiles.yml is (--profiles-dir / DBT_PROFILES_DIR / project / ~/.dbt)

    After construction: project_dir, profiles_dir, out_dir (Paths), project_name, profile_name,
    target (the resolved target name), profile (okr_kpi.project.Profile), adapter (an
    okr_kpi.adapters.Adapter: type, schema, database, connect(), run_lock(), ...), adapter_type,
    schema, database, raw_schema, target_path; duckdb_path for a DuckDB target (else None).
    """

    target: str | None = None
    project_dir: Path | None = None
    out_dir: Path | None = None
    profiles_dir: Path | None = None
    profile: Profile = field(init=False, repr=False)
    adapter: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        from okr_kpi import adapters

        self.project_dir = find_project_dir(self.project_dir)
        self.project_config = read_project_file(self.project_dir)
        self.project_name = str(self.project_config.get("name") or "")
        profile_name = self.project_config.get("profile")
        if not profile_name:
            raise OkrKpiError(f"{self.project_dir / 'dbt_project.yml'} names no `profile:`")
        self.profile_name = str(profile_name)
        self.profiles_dir = find_profiles_dir(self.project_dir, self.profiles_dir)
        self.profile = load_profile(self.profiles_dir, self.profile_name, resolve_target(self.target))
        self.target = self.profile.target_name
        self.adapter = adapters.adapter_for(self)
        self.out_dir = Path(self.out_dir or self.project_dir / "reports").resolve()

    # --- locations -------------------------------------------------------------------------
    @property
    def adapter_type(self) -> str:
        return self.profile.adapter_type

    @property
    def schema(self) -> str:
        """The schema (Spark: database) the package's models are built in: the target's."""
        return self.adapter.schema

    @property
    def database(self) -> str | None:
        return self.adapter.database

    @property
    def duckdb_path(self) -> Path | None:
        """The DuckDB file of a DuckDB target (None on other warehouses)."""
        return getattr(self.adapter, "path", None)

    @property
    def raw_schema(self) -> str:
        """Where `okr-kpi generate` writes the demo company's raw tables."""
        return os.environ.get("OKR_KPI_RAW_SCHEMA", "raw")

    @property
    def target_path(self) -> Path:
        path = Path(os.environ.get("DBT_TARGET_PATH")
                    or self.project_config.get("target-path") or "target")
        return path if path.is_absolute() else (self.project_dir / path).resolve()

    def pinned_as_of(self) -> str | None:
        """The var `as_of_date` pinned in dbt_project.yml (`vars: as_of_date:` or, scoped to the
        package, `vars: okr_kpi: as_of_date:`), as YYYY-MM-DD; None when it is not set.

        `dbt build` in the project uses it, so the toolkit's commands take it as their default
        as_of too (an explicit --as-of wins). A templated value (`{{ env_var(...) }}`) cannot be
        read here: None, and the caller says so. A value that is no date is an error (exit 2).
        """
        import datetime as dt

        found = pinned_var(self.project_config, "as_of_date")
        if found is None:
            return None
        value = str(found)
        if "{{" in value or "{%" in value:
            return None
        try:
            return dt.date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            raise OkrKpiError(
                f"{self.project_dir / 'dbt_project.yml'}: vars.as_of_date {value!r} is not a date "
                "(YYYY-MM-DD)") from None

    def default_as_of(self) -> tuple[str, str]:
        """(as_of_date, where it came from) when no --as-of is given, in the order of the package's
        SQL (macro as_of_date): the environment variable OKR_KPI_AS_OF_DATE, the project's pinned
        var as_of_date, else yesterday (the machine's date)."""
        import datetime as dt

        env = os.environ.get("OKR_KPI_AS_OF_DATE", "").strip()
        if env:
            return env, "the environment variable OKR_KPI_AS_OF_DATE"
        pinned = self.pinned_as_of()
        if pinned:
            return pinned, "the var as_of_date pinned in dbt_project.yml"
        return (dt.date.today() - dt.timedelta(days=1)).isoformat(), "yesterday"

    def env(self) -> dict[str, str]:
        """The environment dbt runs in: the caller's, with the adapter's additions."""
        env = dict(os.environ)
        env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
        env.setdefault("DO_NOT_TRACK", "1")
        return self.adapter.dbt_env(env)

    # --- the okr_kpi dbt package -------------------------------------------------------------
    def installed_package_dir(self) -> Path | None:
        """The okr_kpi dbt package this project runs: itself, or the one `dbt deps` installed."""
        if self.project_name == PACKAGE_NAME:
            return self.project_dir
        base = self.project_dir / str(self.project_config.get("packages-install-path") or "dbt_packages")
        if not base.is_dir():
            return None
        for candidate in sorted(base.iterdir()):
            yml = candidate / "dbt_project.yml"
            if yml.is_file():
                try:
                    if read_project_file(candidate).get("name") == PACKAGE_NAME:
                        return candidate
                except OkrKpiError:
                    continue
        return None

    def declares_package(self) -> bool:
        """Whether packages.yml or dependencies.yml lists okr_kpi (any source: local, git, hub)."""
        for name in ("packages.yml", "dependencies.yml"):
            path = self.project_dir / name
            if path.is_file() and re.search(r"okr[_-]kpi", path.read_text()):
                return True
        return False

    def check_package(self) -> Path:
        """The project runs the okr_kpi dbt package of this toolkit's version (major.minor);
        else an OkrKpiError naming what is missing. Writes nothing."""
        from okr_kpi import __version__

        installed = self.installed_package_dir()
        if installed is None:
            if self.project_name != PACKAGE_NAME and not self.declares_package():
                raise OkrKpiError(
                    f"the dbt project {self.project_dir} does not install the okr_kpi package: add it to "
                    "packages.yml (docs/use_in_your_project.md), then run `dbt deps`")
            raise OkrKpiError(f"the okr_kpi package is declared but not installed in {self.project_dir}: "
                              "run `dbt deps` there first")
        version = str(read_project_file(installed).get("version") or "")

        def major_minor(v: str) -> tuple[str, ...]:
            return tuple(v.split(".")[:2])

        if major_minor(version) != major_minor(__version__):
            raise OkrKpiError(
                f"version mismatch: the okr_kpi dbt package in {installed} is {version or 'unversioned'}, "
                f"this okr-kpi toolkit is {__version__} (major.minor must agree): install matching "
                "versions (pin the package in packages.yml, then `dbt deps`)")
        return installed

    # --- dbt -------------------------------------------------------------------------------
    def dbt_executable(self) -> str:
        local = Path(sys.executable).parent / "dbt"
        return str(local) if local.exists() else "dbt"

    def dbt_args(self, command: str, *args: str, vars: dict | None = None) -> list[str]:
        cmd = [self.dbt_executable(), command, "--project-dir", str(self.project_dir),
               "--profiles-dir", str(self.profiles_dir), "--target", self.target, *args]
        if vars:
            import json

            cmd += ["--vars", json.dumps(vars)]
        return cmd

    def before_dbt(self) -> None:
        """What the adapter needs before dbt runs in another process (Spark: release the session)."""
        self.adapter.before_dbt()

    def dbt(self, command: str, *args: str, vars: dict | None = None, capture: bool = False,
            check: bool = False) -> subprocess.CompletedProcess:
        """Run a dbt command in the project; returns the completed process."""
        self.before_dbt()
        proc = subprocess.run(
            self.dbt_args(command, *args, vars=vars),
            cwd=self.project_dir,
            env=self.env(),
            text=True,
            stdout=subprocess.PIPE if capture else None,
            stderr=subprocess.STDOUT if capture else None,
        )
        if check and proc.returncode != 0:
            tail = (proc.stdout or "")[-4000:] if capture else ""
            raise OkrKpiError(f"dbt {command} failed (exit {proc.returncode})\n{tail}")
        return proc

    def describe(self) -> str:
        return f"profile {self.profile_name}, target {self.target} ({self.adapter.describe()})"
