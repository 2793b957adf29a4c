"""dbt in this process: dbt's programmatic runner (dbt.cli.main.dbtRunner), for `okr-kpi run`.

`invoke(project, "build", ...)` runs one dbt command in the toolkit's own process (issue 19, "one
process for the run"): no second interpreter start, no text output parsed. What the run needs
comes from dbt's objects:

- results: the command's result object (RunExecutionResult: each node's status, failures and
  timing), not run_results.json and not the console text;
- progress: dbt's structured log events (callbacks): LogStartLine, LogModelResult, LogTestResult,
  LogSeedResult, ... carry index, total, status and the node's description;
- the debug log: the message of every event dbt would print (info and above), redacted.

dbt's own console output is off (`--log-level none`): the user sees the toolkit's lines only, as
before (dbt.log under the log path is written as always). Each invocation gets a fresh dbtRunner
(dbt: "dbtRunner is not safe for concurrent use"; its adapters are reset by dbt at the start of
every invocation), with the project's environment (Project.env(), plus the given variables) set
in os.environ for its duration: dbt reads env_var() from os.environ when it starts.

After each invocation the DuckDB adapter's database instance is closed (dbt-duckdb keeps it in a
class attribute): the toolkit's own connections, GX, and other processes (a BI tool once the
build is over) then find the file free, as after a dbt subprocess.

Kill safety: dbt runs inside the okr-kpi process, so a `kill -9` of the run stops dbt with it; no
child is left holding the DuckDB file.

Spark stays a subprocess (in_process): the same command in a dbt process of its own, tied to
this one (okr_kpi.children, PR_SET_PDEATHSIG), read the same way: its structured events from its
JSON log lines (`--log-format json`), its results from run_results.json.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from okr_kpi.logging import log_event, redact

# dbt's exit codes (dbt.cli.main): 0 success, 1 a node failed, 2 dbt could not run the command
EXIT_OK, EXIT_FAILED, EXIT_EXCEPTION = 0, 1, 2

_PROGRESS_EVENTS = {
    "LogStartLine", "LogModelResult", "LogTestResult", "LogSeedResult", "LogSnapshotResult",
    "SkippingDetails", "LogNodeNoOpResult",
}
_STATUS = {"success": "ok", "pass": "pass", "fail": "fail", "warn": "warn", "error": "error",
           "skipped": "skip", "skip": "skip"}

_lock = threading.Lock()  # one dbt invocation at a time in this process


@dataclass
class Step:
    """One progress step of a dbt command: node `index` of `total`, its status and description."""

    index: int
    total: int
    status: str  # start, ok, pass, warn, fail, error, skip, no-op
    description: str


def progress_step(msg: Any) -> Step | None:
    """The progress step an event of dbt's structured log reports (None for other events)."""
    name = msg.info.name
    if name not in _PROGRESS_EVENTS:
        return None
    d = msg.data
    if name == "LogStartLine":
        return Step(d.index, d.total, "start", d.description)
    if name == "LogTestResult":
        return Step(d.index, d.num_models, _STATUS.get(d.status, d.status), d.name)
    if name == "LogSeedResult":
        return Step(d.index, d.total, _STATUS.get(d.status, "ok"), f"seed file {d.schema}.{d.relation}")
    if name == "SkippingDetails":
        return Step(d.index, d.total, "skip", f"{d.resource_type} {d.schema}.{d.node_name}")
    if name == "LogNodeNoOpResult":
        return Step(d.index, d.total, "no-op", d.description)
    status = str(d.status).lower()
    return Step(d.index, d.total, "error" if status == "error" else _STATUS.get(status, "ok"), d.description)


@dataclass
class Invocation:
    """What one dbt command did."""

    command: str
    exit_code: int  # as the dbt CLI's: 0, 1 (a node failed) or 2 (dbt could not run)
    results: list[Any] = field(default_factory=list)  # dbt's RunResult objects (build, run, test, seed)
    exception: BaseException | None = None
    messages: list[str] = field(default_factory=list)  # dbt's info-and-above messages (redacted), last 200
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.exit_code == EXIT_OK

    def error_text(self) -> str:
        """dbt's error messages (or the exception) for a message to the user."""
        lines = [m for m in self.messages if "error" in m.lower() or "Error" in m][-12:]
        if self.exception is not None:
            lines.append(redact(str(self.exception)))
        return "\n".join(lines) or "\n".join(self.messages[-12:])


@contextlib.contextmanager
def _environment(env: dict[str, str]) -> Iterator[None]:
    """os.environ is `env` for the block (dbt reads env_var() from os.environ), then restored."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def release_adapters() -> None:
    """Close what dbt's adapters keep open between invocations in this process (dbt-duckdb: its
    database instance, held by a class attribute), so the file is free for others."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:
        return
    with DuckDBConnectionManager._LOCK:
        env = DuckDBConnectionManager._ENV
        DuckDBConnectionManager._ENV = None
        if env is not None:
            with contextlib.suppress(Exception):
                env.close()


def invoke(
    project: Any,
    command: str,
    *args: str,
    env: dict[str, str] | None = None,
    on_step: Callable[[Step], None] | None = None,
    debug_log: bool = True,
) -> Invocation:
    """Run `dbt <command> <args>` on the project in this process. Never raises for dbt's errors
    (see Invocation.exit_code / exception)."""
    import time

    from dbt.cli.main import dbtRunner

    project.before_dbt()  # e.g. Spark: release the toolkit's session (see the adapter)
    messages: list[str] = []

    def callback(msg: Any) -> None:
        level = msg.info.level
        if level not in ("info", "warn", "error"):
            return
        text = redact(msg.info.msg or "")
        if text:
            messages.append(text)
            if len(messages) > 400:
                del messages[:200]
            if debug_log:
                log_event(logging.DEBUG, "dbt", text)
        if on_step is not None:
            step = progress_step(msg)
            if step is not None:
                on_step(step)

    environ = {**project.env(), **(env or {})}
    started = time.perf_counter()
    if not in_process(project):
        code, results, exception = _invoke_subprocess(project, command, args, environ, callback)
        return Invocation(command=command, exit_code=code, results=results, exception=exception,
                          messages=messages[-200:], seconds=time.perf_counter() - started)
    # no console output; dbt.log as a dbt command writes it (--log-level alone would turn it off)
    argv = [command, "--project-dir", str(project.project_dir), "--profiles-dir", str(project.profiles_dir),
            "--target", str(project.target), "--log-level", "none", "--no-use-colors",
            "--log-level-file", environ.get("DBT_LOG_LEVEL_FILE") or "debug", *args]
    # in the project dir, as the subprocess (cwd=project_dir): a relative path in the profile (a
    # DuckDB file) means the same thing whichever way dbt runs, wherever okr-kpi was started
    with _lock, _environment(environ), contextlib.chdir(project.project_dir):
        try:
            res = dbtRunner(callbacks=[callback]).invoke(argv)
        finally:
            release_adapters()
    seconds = time.perf_counter() - started
    results = list(getattr(res.result, "results", None) or [])
    if res.success:
        code = EXIT_OK
    elif res.exception is not None:
        code = EXIT_EXCEPTION
    else:
        code = EXIT_FAILED
    return Invocation(command=command, exit_code=code, results=results, exception=res.exception,
                      messages=messages[-200:], seconds=seconds)


def in_process(project: Any) -> bool:
    """Whether dbt runs in this process for the project's warehouse. Spark stays a subprocess
    (docs/running.md, "One process"): dbt-spark's session method opens its own SparkSession in
    the process that runs dbt, and the toolkit's local session shares the embedded Derby
    metastore; the in-process path is not verified on Spark yet."""
    return project.adapter_type != "spark"


class _Event:
    """A JSON log line of a dbt subprocess, with the attributes of a callback's EventMsg that
    invoke() reads (info.name, info.level, info.msg, data.<field>)."""

    def __init__(self, raw: dict) -> None:
        from types import SimpleNamespace

        info = raw.get("info") or {}
        self.info = SimpleNamespace(name=info.get("name", ""), level=info.get("level", ""),
                                    msg=info.get("msg", ""))
        self.data = SimpleNamespace(**{k: v for k, v in (raw.get("data") or {}).items()
                                       if isinstance(k, str) and k.isidentifier()})


def _invoke_subprocess(project: Any, command: str, args: tuple[str, ...], environ: dict[str, str],
                       callback: Callable[[Any], None]) -> tuple[int, list[Any], BaseException | None]:
    """The same command in a dbt process of its own (tied to this one: okr_kpi.children), its
    events read from its JSON log lines (--log-format json), its results from run_results.json."""
    import json
    import subprocess
    import time
    from types import SimpleNamespace

    from okr_kpi.children import preexec

    argv = [project.dbt_executable(), command, "--project-dir", str(project.project_dir),
            "--profiles-dir", str(project.profiles_dir), "--target", str(project.target),
            "--log-format", "json", "--no-use-colors", *args]
    started = time.time()
    proc = subprocess.Popen(argv, cwd=project.project_dir, env=environ, text=True, bufsize=1,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **preexec())
    assert proc.stdout is not None
    for line in proc.stdout:
        try:
            raw = json.loads(line)
        except ValueError:
            raw = {"info": {"name": "", "level": "info", "msg": line.rstrip()}}
        if not isinstance(raw, dict):
            continue
        try:
            callback(_Event(raw))
        except (AttributeError, TypeError):  # an event without the fields a progress step reads
            continue
    rc = proc.wait()
    results: list[Any] = []
    path = project.target_path / "run_results.json"
    if command in ("build", "run", "test", "seed", "snapshot") and path.is_file() \
            and path.stat().st_mtime >= started - 1:
        for r in json.loads(path.read_text()).get("results", []):
            results.append(SimpleNamespace(status=r.get("status"), failures=r.get("failures"),
                                           execution_time=r.get("execution_time"),
                                           node=SimpleNamespace(unique_id=r.get("unique_id", ""))))
    code = rc if rc in (EXIT_OK, EXIT_FAILED) else EXIT_EXCEPTION
    return code, results, None
