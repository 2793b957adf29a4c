"""The `okr-kpi` command line. Each sub-command is a thin wrapper around a module function."""

from __future__ import annotations

import datetime as _dt
import json
import re
import sys
from pathlib import Path

import click

from okr_kpi import __version__
from okr_kpi.exit_codes import ExitCode
from okr_kpi.project import OkrKpiError, Project, find_project_dir

_project_dir = click.option(
    "--project-dir", "project_dir", envvar="DBT_PROJECT_DIR", show_envvar=True, default=None,
    type=click.Path(file_okay=False, path_type=Path),
    help="The dbt project (as dbt's --project-dir); default: the current directory or the nearest "
         "parent holding dbt_project.yml.",
)
_profiles_dir = click.option(
    "--profiles-dir", "profiles_dir", envvar="DBT_PROFILES_DIR", show_envvar=True, default=None,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where profiles.yml is (as dbt's --profiles-dir); default: the project dir if it has one, "
         "else ~/.dbt.",
)
_target = click.option(
    "--target", "-t", "target", envvar=["DBT_TARGET", "OKR_KPI_TARGET"], show_envvar=True, default=None,
    metavar="NAME",
    help="The target (output) of the project's dbt profile; default: the profile's own `target:`. "
         "The warehouse, its schema and credentials come from that output. (OKR_KPI_TARGET is a "
         "deprecated alias of DBT_TARGET.)",
)


def target_option(f):
    """--project-dir, --profiles-dir and --target, as dbt's flags (every command takes them)."""
    return _project_dir(_profiles_dir(_target(f)))


def make_project(project_dir: Path | None, profiles_dir: Path | None, target: str | None,
                 out: Path | None = None, package: bool = True) -> Project:
    """The resolved project (exit 2 with a message when anything is missing; nothing written).
    package: the command runs the okr_kpi dbt package, which must be installed, same version."""
    try:
        project = Project(target=target, project_dir=project_dir, profiles_dir=profiles_dir, out_dir=out)
        if package:
            project.check_package()
    except OkrKpiError as err:
        _fail(err, getattr(err, "exit_code", ExitCode.USAGE))
    return project


class DateType(click.ParamType):
    """A day written YYYY-MM-DD. Anything else is a usage error (exit 2) naming the option and
    showing the expected form; never a traceback. Converts to the ISO string."""

    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx):
        if isinstance(value, _dt.date):
            return value.isoformat()
        text = str(value).strip()
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                raise ValueError
            return _dt.date.fromisoformat(text).isoformat()
        except ValueError:
            self.fail(f"{value!r} is not a date: write it as YYYY-MM-DD (e.g. 2026-08-31)", param, ctx)


DATE = DateType()

_log_state = {"format": "text"}


def _log_format_callback(ctx, param, value):
    _log_state["format"] = value
    return value


_quiet = click.option("--quiet", "-q", is_flag=True, help="Only errors, warnings and the final summary line.")
_log_format = click.option(
    "--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
    envvar="OKR_KPI_LOG_FORMAT", is_eager=True, callback=_log_format_callback,
    help="json: one JSON object per line on stderr, for schedulers. NO_COLOR switches colour off.",
)


def log_options(f):
    """--quiet and --log-format: every command takes them."""
    return _quiet(_log_format(f))


def start_logging(quiet: bool, log_format: str) -> None:
    from okr_kpi.logging import setup_logging

    _log_state["format"] = log_format
    setup_logging(quiet=quiet, log_format=log_format)


out_option = click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Directory for published results (default: reports/ in the project).",
)
as_of_option = click.option(
    "--as-of", "as_of", default=None, type=DATE,
    help="as_of_date: the last day with complete data (default: OKR_KPI_AS_OF_DATE, else the var "
         "as_of_date pinned in dbt_project.yml, else yesterday).",
)


_full_history = click.option(
    "--full-history", is_flag=True,
    help="Data tests read every row. By default a nightly run's tests on raw and staging columns "
         "read the rows since the last clean run, minus checks.window_days (docs/checks.md).",
)
_since = click.option(
    "--since", "since", default=None, type=DATE,
    help="Data tests on raw and staging columns read the rows since this day (instead of the "
         "window chosen from the run history).",
)


def window_options(f):
    return _full_history(_since(f))


def _fail(err: Exception | str, code: int = ExitCode.USAGE) -> None:
    from okr_kpi.logging import click_colour, redact

    message = redact(str(err))
    if _log_state["format"] == "json":
        click.echo(json.dumps({"ts": _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds"),
                               "level": "error", "event": "error", "message": message,
                               "exit_code": int(code)}, ensure_ascii=False), err=True)
    else:
        click.secho(f"okr-kpi: {message}", fg="red", bold=True, err=True, color=click_colour())
    sys.exit(int(code))


def _warn(text: str) -> None:
    from okr_kpi.logging import click_colour

    if _log_state["format"] == "json":
        click.echo(json.dumps({"level": "warning", "event": "warning", "message": text}), err=True)
    else:
        click.secho(f"okr-kpi: warning: {text}", fg="yellow", err=True, color=click_colour())


def _say(text: str, quiet: bool = False) -> None:
    """Informational output on stdout (not under --quiet)."""
    if not quiet:
        click.echo(text)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="okr-kpi")
def main() -> None:
    """okr-kpi: KPIs and OKRs kept, scored and checked in your warehouse.

    \b
    Typical use:
      okr-kpi generate            # demo company's raw tables into the warehouse
      okr-kpi run                 # dbt build -> checks -> breaches -> publish
      okr-kpi report              # write the HTML report again
    """


@main.command()
@target_option
@click.option("--rows", default=500_000, show_default=True, type=click.IntRange(min=100),
              help="Approximate number of raw rows across all tables.")
@click.option("--seed", default=42, show_default=True, type=int, help="Random seed: same seed, same tables.")
@click.option("--start", "start", default="2025-01-01", show_default=True, type=DATE,
              help="First day of the demo company's history.")
@click.option("--end", "end", default="2026-08-31", show_default=True, type=DATE,
              help="Last day of the demo company's history.")
@log_options
def generate(project_dir: Path | None, profiles_dir: Path | None, target: str | None, rows: int, seed: int,
             start: str, end: str, quiet: bool, log_format: str) -> None:
    """Write the demo company's raw tables into the target warehouse's raw schema.

    Deterministic: the same --rows, --seed, --start and --end give identical tables.
    The raw schema is OKR_KPI_RAW_SCHEMA (default "raw"). Planted incidents are listed
    in the table demo_incidents of that schema.
    """
    from okr_kpi.generate import generate_into_warehouse

    start_logging(quiet, log_format)
    try:
        project = make_project(project_dir, profiles_dir, target, package=False)
        summary = generate_into_warehouse(project, rows=rows, seed=seed, start=start, end=end)
    except OkrKpiError as err:
        _fail(err, getattr(err, "exit_code", ExitCode.USAGE))
    for table, count in summary.items():
        _say(f"  {table:<22} {count:>12,} rows", quiet)


@main.command()
@target_option
@out_option
@as_of_option
@log_options
@click.option("--skip-publish", is_flag=True, help="Build and check, but send nothing.")
@click.option("--force-lifecycle", is_flag=True,
              help="An --as-of earlier than the last run's (a backfill) normally leaves later breaches "
                   "alone; resolve and alert them as for a new day (docs/publishing.md).")
@window_options
def run(project_dir: Path | None, profiles_dir: Path | None, target: str | None, out: Path | None,
        as_of: str | None, quiet: bool, log_format: str, skip_publish: bool, force_lifecycle: bool,
        full_history: bool, since: str | None) -> None:
    """The scheduled job: dbt build -> checks -> breach lifecycle -> publish.

    The exit status tells the scheduler what happened (see README, "Exit codes"):
    0 clean, 10 breaches, 20 delivery failed, 30 data quality, 40 build failed,
    50 warehouse unavailable, 1 unexpected error.
    """
    from okr_kpi.run import run_job

    try:
        project = make_project(project_dir, profiles_dir, target, out)
        code = run_job(project, as_of=as_of, quiet=quiet,
                       log_format=log_format, publish=not skip_publish, full_history=full_history,
                       since=since, force_lifecycle=force_lifecycle)
    except OkrKpiError as err:
        _fail(err, getattr(err, "exit_code", ExitCode.USAGE))
    sys.exit(int(code))


@main.command()
@target_option
@out_option
@as_of_option
@window_options
@log_options
def check(project_dir: Path | None, profiles_dir: Path | None, target: str | None, out: Path | None,
          as_of: str | None, full_history: bool, since: str | None, quiet: bool, log_format: str) -> None:
    """Run the Great Expectations suites alone, on what is built, and print a summary."""
    from okr_kpi.checks import run_checks_command
    from okr_kpi.preflight import check_lock, check_paths

    start_logging(quiet, log_format)
    try:
        project = make_project(project_dir, profiles_dir, target, out)
        check_paths({"--out": project.out_dir})
        # the run's lock: a warehouse held by a run or another process is exit 50, as for `run`
        with check_lock(project):
            code = run_checks_command(project, as_of=as_of,
                                      full_history=full_history, since=since)
    except OkrKpiError as err:
        _fail(err, getattr(err, "exit_code", ExitCode.USAGE))
    sys.exit(int(code))


@main.command()
@target_option
@out_option
@click.option("--test", "test", is_flag=False, flag_value="", default=None, metavar="[DESTINATION]",
              help="Send a test message to every destination switched on (or to the one named) and "
                   "stop; nothing is stored. Exit 20 when one did not arrive.")
@log_options
def publish(project_dir: Path | None, profiles_dir: Path | None, target: str | None,
            out: Path | None, test: str | None, quiet: bool, log_format: str) -> None:
    """Publish the latest results to the configured channels (never re-sends what was sent).

    A destination configured after breaches were recorded receives the breaches still open that
    are routed to it, once, in its first digest (alerts.backlog; docs/publishing.md)."""
    from okr_kpi.preflight import check_paths
    from okr_kpi.publish import publish_command

    start_logging(quiet, log_format)
    try:
        project = make_project(project_dir, profiles_dir, target, out)
        check_paths({"--out": project.out_dir})
        code = publish_command(project, quiet=quiet, log_format=log_format, test=test)
    except OkrKpiError as err:
        _fail(err, getattr(err, "exit_code", ExitCode.USAGE))
    sys.exit(int(code))


@main.command()
@target_option
@out_option
@log_options
def report(project_dir: Path | None, profiles_dir: Path | None, target: str | None,
           out: Path | None, quiet: bool, log_format: str) -> None:
    """Write the HTML report (and the JSON and Markdown summaries) from the built marts."""
    from okr_kpi.report import report_command

    start_logging(quiet, log_format)
    try:
        path = report_command(make_project(project_dir, profiles_dir, target, out))
    except OkrKpiError as err:
        _fail(err, getattr(err, "exit_code", ExitCode.USAGE))
    click.echo(f"report: {path}")


@main.command()
@target_option
@click.option("--seeds-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Directory holding the OKR/KPI seed CSVs (default: the resolved project's seed-paths).")
@click.option("--strict", is_flag=True, help="Treat warnings (advice) as errors.")
@click.option("--as-of", "as_of", default=None, type=DATE,
              help="The day stale check-ins are counted to (default: today).")
@log_options
def lint(project_dir: Path | None, profiles_dir: Path | None, target: str | None, seeds_dir: Path | None,
         strict: bool, as_of: str | None, quiet: bool, log_format: str) -> None:
    """Check the OKR/KPI seeds against OKR practice; errors fail, advice is printed as warnings."""
    from okr_kpi.lint import lint_command

    start_logging(quiet, log_format)
    day = _dt.date.fromisoformat(as_of) if as_of else None
    try:
        code = lint_command(seeds_dir=seeds_dir, strict=strict,
                            project_dir=None if seeds_dir else find_project_dir(project_dir), as_of=day)
    except OkrKpiError as err:
        _fail(err)
    sys.exit(int(code))


@main.command("check-in")
@target_option
@click.argument("key_result_id")
@click.argument("value")
@click.option("--confidence", default=None, metavar="0..1",
              help="The owner's confidence of reaching the target.")
@click.option("--note", default=None, metavar="TEXT", help="What happened (one line).")
@click.option("--date", "day", default=None, type=DATE,
              help="The check-in's day (default: today).")
@click.option("--seeds-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Directory holding the OKR seed CSVs (default: the resolved project's seed-paths).")
@log_options
def check_in(project_dir: Path | None, profiles_dir: Path | None, target: str | None, key_result_id: str,
             value: str, confidence: str | None, note: str | None, day: str | None,
             seeds_dir: Path | None, quiet: bool, log_format: str) -> None:
    """Record a check-in of a key result in the project's okr_check_ins seed (docs/check_ins.md).

    Validated against the key result (exit 2 naming the problem, nothing written); the next
    `okr-kpi run` seeds and scores it.
    """
    from okr_kpi.checkin import check_in_command
    from okr_kpi.lint import project_seeds_dir

    start_logging(quiet, log_format)
    try:
        seeds = seeds_dir if seeds_dir else project_seeds_dir(find_project_dir(project_dir))
        done = check_in_command(seeds, key_result_id, value, confidence, note, day)
    except OkrKpiError as err:
        _fail(err, getattr(err, "exit_code", ExitCode.USAGE))
    for warning in done.warnings:
        _warn(warning)
    _say(f"check-in recorded: {done.key_result_id} {done.check_in_date} value {done.value:g}"
               f"{'' if done.confidence is None else f' confidence {done.confidence:g}'} -> {done.path}",
         quiet)


@main.command()
@target_option
@click.option("--seed", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="The kpi_definitions CSV (default: the project's seeds/**/kpi_definitions.csv).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The metrics YAML to write (default: models/semantic/_kpi__metrics.yml).")
@click.option("--enabled-var", default=None, metavar="VAR",
              help="Enable the metrics only while this dbt var is true.")
@click.option("--check", "check_only", is_flag=True, help="Write nothing; exit 1 if the file is stale.")
@log_options
def semantic(project_dir: Path | None, profiles_dir: Path | None, target: str | None, seed: Path | None,
             out: Path | None, enabled_var: str | None, check_only: bool, quiet: bool,
             log_format: str) -> None:
    """Write one MetricFlow metric per KPI of the registry (kpi_definitions) as YAML."""
    from okr_kpi import semantic as sem

    start_logging(quiet, log_format)
    try:
        paths = sem.default_paths(project_dir=find_project_dir(project_dir), seed=seed, out=out,
                                  enabled_var=enabled_var)
        if check_only:
            diff = sem.stale_diff(paths)
            if diff:
                click.echo(diff)
                _fail(OkrKpiError(f"{paths.out} is out of date with {paths.seed}: run okr-kpi semantic"), 1)
            click.echo(f"{paths.out}: up to date")
            return
        changed = sem.write(paths)
    except OkrKpiError as err:
        _fail(err)
    click.echo(f"{paths.out}: {'written' if changed else 'unchanged'}")


def _ack(project_dir, profiles_dir, target, breach_id, action, by, until, note, quiet, log_format):
    import getpass
    import os

    from okr_kpi.lifecycle import acknowledge
    from okr_kpi.warehouse import connected

    start_logging(quiet, log_format)
    who = by or os.environ.get("USER") or os.environ.get("USERNAME")
    if not who:
        try:
            who = getpass.getuser()
        except Exception:  # no user name at all: say so rather than guess
            _fail("who acknowledges? set --by NAME (no $USER)")
    try:
        project = make_project(project_dir, profiles_dir, target, package=False)
        from okr_kpi.run import run_lock

        with run_lock(project), connected(project) as wh:
            row = acknowledge(wh, project.schema, breach_id, action, who,
                              until=_dt.date.fromisoformat(until) if until else None, note=note)
    except OkrKpiError as err:  # WarehouseUnavailable (held by a run) is exit 50
        _fail(err, getattr(err, "exit_code", ExitCode.USAGE))
    if action == "ack":
        quiet_until = (f" until {row['until_date']} (snoozed: reminded again from that day)"
                       if row["until_date"] else "")
        _say(f"breach {breach_id} ({row['kpi_id']}, {row['severity']}) acknowledged by {who}{quiet_until}; "
             "not re-sent unless it escalates", quiet)
    else:
        _say(f"breach {breach_id} ({row['kpi_id']}) no longer acknowledged (by {who}): reminders resume",
             quiet)


_by = click.option("--by", default=None, metavar="NAME", help="Who (default: $USER).")


@main.command()
@target_option
@click.argument("breach_id")
@click.option("--until", default=None, type=DATE,
              help="Snooze: quiet until this day, then reminded again (default: until it escalates).")
@click.option("--note", default=None, metavar="TEXT", help="What is being done (one line).")
@_by
@log_options
def ack(project_dir: Path | None, profiles_dir: Path | None, target: str | None, breach_id: str,
        until: str | None, note: str | None, by: str | None, quiet: bool, log_format: str) -> None:
    """Acknowledge a breach ("seen, working on it"): no reminders until it escalates, or until
    --until DATE (snooze). Kept in the warehouse (okr_kpi_breach_acks) with who and when."""
    _ack(project_dir, profiles_dir, target, breach_id, "ack", by, until, note, quiet, log_format)


@main.command()
@target_option
@click.argument("breach_id")
@_by
@log_options
def unack(project_dir: Path | None, profiles_dir: Path | None, target: str | None, breach_id: str,
          by: str | None, quiet: bool, log_format: str) -> None:
    """Withdraw the acknowledgement of a breach: its reminders resume."""
    _ack(project_dir, profiles_dir, target, breach_id, "unack", by, None, None, quiet, log_format)


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--source", required=True, metavar="SCHEMA.TABLE",
              help="Your raw table the first KPI counts (or sums) per day.")
@click.option("--date-column", required=True, metavar="COLUMN", help="The table's date or timestamp column.")
@click.option("--duckdb", "duckdb_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Your existing DuckDB file holding the table (default: a new <name>.duckdb in DIRECTORY).")
@click.option("--name", default=None, help="The dbt project (and profile) name (default: from DIRECTORY).")
@click.option("--kpi-id", default=None, help="The first KPI's id (default: <table>_rows or <table>_<value>).")
@click.option("--value", default=None, metavar="COLUMN",
              help="Sum this column per day instead of counting rows.")
@click.option("--force", is_flag=True, help="Write into a non-empty DIRECTORY (same-named files replaced).")
@log_options
def init(directory: Path, source: str, date_column: str, duckdb_path: Path | None, name: str | None,
         kpi_id: str | None, value: str | None, force: bool, quiet: bool, log_format: str) -> None:
    """Scaffold a dbt project that installs okr-kpi, over your own table (docs/use_in_your_project.md).

    \b
      okr-kpi init my_kpis --source raw.orders --date-column ordered_at --duckdb shop.duckdb
      cd my_kpis && dbt deps && dbt build && okr-kpi run
    """
    from okr_kpi.init import init_project

    start_logging(quiet, log_format)
    try:
        written = init_project(directory, source=source, date_column=date_column, duckdb=duckdb_path,
                               name=name, kpi_id=kpi_id, value=value, force=force)
    except OkrKpiError as err:
        _fail(err, getattr(err, "exit_code", ExitCode.USAGE))
    for path in written:
        _say(f"  wrote {path}", quiet)
    _say(f"Next: cd {directory} && dbt deps && dbt build && okr-kpi run   (see README.md there)", quiet)


if __name__ == "__main__":  # pragma: no cover
    main()
