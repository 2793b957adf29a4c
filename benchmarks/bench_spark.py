"""The demo's full and nightly build on DuckDB, the local Spark session and a Spark cluster.

    python benchmarks/bench_spark.py --sizes 20000,1000000 [--targets duckdb,spark,cluster]

For each size and target: `okr-kpi generate` (the raw tables through the target's loader),
the full build (`dbt build` of the demo project from nothing, as_of 2026-08-31) and the nightly
build (`dbt build` again the next day, as_of 2026-09-01: incremental models append), with the
wall time, the number of nodes dbt ran and the cost per node (wall time / nodes, and the median
of dbt's own per-node timings from run_results.json). The cluster is the local standalone one
of okr_kpi.spark_cluster (2 workers of 1 core), started once here and stopped at the end.
Prints a Markdown table (docs/benchmarks.md, *Spark: local session and cluster*).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "examples" / "demo"
BIN = Path(sys.executable).parent
FULL_AS_OF, NIGHTLY_AS_OF = "2026-08-31", "2026-09-01"


def env_for(target: str, work: Path, cluster) -> dict[str, str]:
    env = dict(os.environ)
    suffix = uuid.uuid4().hex[:8]
    env.update({
        "OKR_KPI_TARGET": target, "OKR_KPI_PROJECT_DIR": str(DEMO), "DBT_PROFILES_DIR": str(DEMO),
        "OKR_KPI_DUCKDB_PATH": str(work / "warehouse.duckdb"),
        "OKR_KPI_SCHEMA": "okr_kpi" if target == "duckdb" else f"okr_bench_{suffix}",
        "OKR_KPI_RAW_SCHEMA": "raw" if target == "duckdb" else f"okr_bench_{suffix}_raw",
        "OKR_KPI_SPARK_WAREHOUSE": str(work / "spark-warehouse"),
        "OKR_KPI_SPARK_METASTORE": str(work / "metastore_db"),
        "DBT_TARGET_PATH": str(work / "target"), "DBT_LOG_PATH": str(work / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1",
    })
    if cluster is not None:
        env.update({"OKR_KPI_SPARK_HOST": "127.0.0.1", "OKR_KPI_SPARK_PORT": str(cluster.thrift_port)})
    return env


BUILD_TIMEOUT = float(os.environ.get("BENCH_SPARK_TIMEOUT", 1200))  # s per build: 20 min


class TooSlow(RuntimeError):
    pass


def _tree(roots: set[int]) -> set[int]:
    """The pids of `roots` and all their descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = set(), list(roots)
    while todo:
        pid = todo.pop()
        if pid not in out:
            out.add(pid)
            todo.extend(children.get(pid, []))
    return out


def _rss(pids: set[int]) -> int:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    return total


class PeakMemory:
    """Peak summed RSS of a process tree (the command: dbt or okr-kpi, and a local session's JVM)
    and, apart, of the cluster's processes (Thrift server, executors, workers, master), polled
    from /proc every 0.5 s."""

    def __init__(self, root: int, cluster_roots: set[int]) -> None:
        self.root, self.cluster_roots = root, cluster_roots
        self.peak = self.cluster_peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss(_tree({self.root})))
            if self.cluster_roots:
                self.cluster_peak = max(self.cluster_peak, _rss(_tree(self.cluster_roots)))
            self._stop.wait(0.5)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def timed(cmd: list[str], env: dict[str, str], cluster=None, timeout: float | None = None) -> dict:
    """Run a command; wall seconds, peak memory (GB) and the load average before and after.
    Raises TooSlow (after killing its process group) past `timeout` seconds."""
    load_before = os.getloadavg()
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=DEMO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    memory = PeakMemory(proc.pid, set((cluster.pids if cluster is not None else {}).values()))
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        memory.stop()
        raise TooSlow(f"did not finish in {timeout / 60:.0f} min (killed)") from None
    memory.stop()
    seconds = time.monotonic() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{stdout[-3000:]}\n{stderr[-2000:]}")
    return {"seconds": seconds, "peak_gb": memory.peak / 2**30,
            "cluster_peak_gb": memory.cluster_peak / 2**30 if cluster is not None else None,
            "load_before": load_before[0], "load_after": os.getloadavg()[0], "output": stdout + stderr}


def nodes(env: dict[str, str]) -> tuple[int, float]:
    results = json.loads((Path(env["DBT_TARGET_PATH"]) / "run_results.json").read_text())["results"]
    times = [r.get("execution_time") or 0.0 for r in results]
    return len(results), statistics.median(times) if times else 0.0


def finished_nodes(log: Path) -> str:
    """'N of M nodes' that the last dbt invocation in `log` (dbt.log) finished, for a build that
    was stopped."""
    import re

    if not log.exists():
        return ""
    text = log.read_text(errors="replace")
    text = text[text.rfind("Running with dbt"):]
    done = re.findall(r"\b(\d+) of (\d+) (?:OK|PASS|WARN|ERROR|FAIL|SKIP)", text)
    return f"{len(done)} of {done[-1][1]} nodes" if done else "0 nodes"


def raw_rows(output: str) -> int:
    """The rows `okr-kpi generate` reports having loaded (its summary lines)."""
    import re

    lines = re.finditer(r"^\s+\w+\s+([\d,]+) rows$", output, re.M)
    return sum(int(m.group(1).replace(",", "")) for m in lines)


def bench(target: str, rows: int, work: Path, cluster, deadline: float) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    env = env_for(target, work, cluster)
    out: dict = {"target": target, "rows": rows}
    try:
        gen = timed([str(BIN / "okr-kpi"), "generate", "--target", target, "--rows", str(rows),
                     "--seed", "42"], env, cluster, timeout=BUILD_TIMEOUT)
        output = gen.pop("output")
        out["raw_rows"] = raw_rows(output)
        if target == "cluster":
            out["load_method"] = ("parquet" if "loading through Parquet files" in output else "insert")
        out["generate"] = gen
        for step, as_of in (("full", FULL_AS_OF), ("nightly", NIGHTLY_AS_OF)):
            left = deadline - time.monotonic()
            if left < 60:
                out[step] = {"skipped": "not started: the benchmark's time budget was used up"}
                continue
            try:
                result = timed([str(BIN / "dbt"), "build", "--project-dir", str(DEMO), "--target", target,
                                "--vars", json.dumps({"as_of_date": as_of})], env, cluster,
                               timeout=min(BUILD_TIMEOUT, left))
            except TooSlow as err:
                done = finished_nodes(Path(env["DBT_LOG_PATH"]) / "dbt.log")
                out[step] = {"skipped": f"{err}, {done} finished" if done else str(err)}
                if step == "full":
                    out["nightly"] = {"skipped": "not run: the full build did not finish"}
                    break
                continue
            result.pop("output")
            count, median = nodes(env)
            result.update({"nodes": count, "per_node": result["seconds"] / max(count, 1),
                           "median_node": median})
            out[step] = result
    finally:
        if target == "cluster":
            from okr_kpi.spark_cluster import thrift_query

            base = env["OKR_KPI_SCHEMA"]
            for schema in (base, env["OKR_KPI_RAW_SCHEMA"], base + "_dbt_test__audit"):
                with contextlib.suppress(Exception):
                    thrift_query(cluster.thrift_port, f"drop database if exists `{schema}` cascade")
        if target != "cluster":  # the local warehouses: free the disk
            for name in ("spark-warehouse", "metastore_db", "warehouse.duckdb"):
                path = work / name
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                elif path.exists():
                    path.unlink()
    return out


TARGET_NAMES = {"duckdb": "DuckDB", "spark": "local Spark session (1 JVM, local[*])",
                "cluster": "cluster via Thrift (2 workers × 1 core)"}


def _gb(value) -> str:
    return "" if value is None else f"{value:.2f}"


def render(results: list[dict]) -> str:
    lines = ["| raw rows | target | build | wall s | nodes | s/node | median node s | peak GB: client "
             "| peak GB: cluster | load before → after |",
             "|---:|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in results:
        shown = f"{r.get('raw_rows') or r['rows']:,}"
        g = r.get("generate")
        if g is None:
            lines.append(f"| {shown} | {TARGET_NAMES.get(r['target'], r['target'])} | generate | "
                         f"{r.get('error', 'not run')} | | | | | | |")
            continue
        lines.append(f"| {shown} | {TARGET_NAMES.get(r['target'], r['target'])} | generate (raw load) "
                     f"| {g['seconds']:.0f} | | | | {_gb(g['peak_gb'])} | {_gb(g['cluster_peak_gb'])} "
                     f"| {g['load_before']:.1f} → {g['load_after']:.1f} |")
        for step, label in (("full", "full build"), ("nightly", "nightly build")):
            b = r.get(step)
            if b is None:
                continue
            if "skipped" in b:
                lines.append(f"| {shown} | {TARGET_NAMES.get(r['target'], r['target'])} | {label} "
                             f"| {b['skipped']} | | | | | | |")
                continue
            lines.append(f"| {shown} | {TARGET_NAMES.get(r['target'], r['target'])} | {label} "
                         f"| {b['seconds']:.0f} | {b['nodes']} | {b['per_node']:.2f} "
                         f"| {b['median_node']:.2f} "
                         f"| {_gb(b['peak_gb'])} | {_gb(b['cluster_peak_gb'])} "
                         f"| {b['load_before']:.1f} → {b['load_after']:.1f} |")
    return "\n".join(lines)


def write_docs(results: list[dict], meta: dict) -> Path:
    doc = REPO / "docs" / "benchmarks.md"
    text = doc.read_text()
    begin, end = "<!-- bench_spark:begin -->", "<!-- bench_spark:end -->"
    if begin not in text or end not in text:
        raise SystemExit(f"{doc} has no {begin} ... {end} section")
    methods = sorted({r["load_method"] for r in results if r.get("load_method")})
    side = f"; {meta['side_by_side']} runs of this script side by side" if meta.get("side_by_side") else ""
    block = (f"{begin}\nMeasured by `python benchmarks/bench_spark.py --sizes {meta['sizes']} --targets "
             f"{meta['targets']}` from {meta['started']} to {meta['ended']} on this 2-core machine "
             f"(load average {meta['load_start']:.1f} at the start, {meta['load_end']:.1f} at the end; "
             f"other sessions' test suites ran at the same time: see the load column{side}). "
             f"Cluster start-up: {meta.get('cluster_start_s', 0):.0f} s; raw load on the cluster: "
             f"{', '.join(methods) or 'n/a'}; build timeout {BUILD_TIMEOUT / 60:.0f} min.\n\n"
             f"{render(results)}\n{end}")
    doc.write_text(text[:text.index(begin)] + block + text[text.index(end) + len(end):])
    return doc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/bench_spark.py",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=os.environ.get("BENCH_SPARK_SIZES", "1000000,10000000"))
    parser.add_argument("--targets", default=os.environ.get("BENCH_SPARK_TARGETS", "duckdb,cluster,spark"))
    parser.add_argument("--work-dir", default=os.environ.get("BENCH_WORK_DIR"))
    parser.add_argument("--budget-minutes", type=float,
                        default=float(os.environ.get("BENCH_SPARK_BUDGET", 600)),
                        help="start no build after this many minutes (what did not run is reported)")
    parser.add_argument("--write-docs", action="store_true",
                        help="replace the measured table in docs/benchmarks.md (section on Spark)")
    parser.add_argument("--from-json", help="write the docs from the results.json of earlier runs "
                        "(comma-separated: runs made side by side are shown together)")
    args = parser.parse_args(argv)
    if args.from_json:
        runs = []
        for path in args.from_json.split(","):
            run = json.loads(Path(path).read_text())
            for r in run["results"]:  # a stopped build of a run before finished_nodes existed
                log = Path(path).parent / f"{r['target']}_{r['rows']}" / "logs" / "dbt.log"
                for step in ("full", "nightly"):
                    b = r.get(step) or {}
                    if b.get("skipped", "").startswith("did not finish") and "finished" not in b["skipped"]:
                        b["skipped"] += f", {finished_nodes(log)} finished"
            runs.append(run)
        results = sorted((r for run in runs for r in run["results"]),
                         key=lambda r: (r["rows"], ["duckdb", "cluster", "spark"].index(r["target"])
                                        if r["target"] in ("duckdb", "cluster", "spark") else 9))
        print(render(results))
        if args.write_docs:
            meta = runs[0]["meta"]
            if len(runs) > 1:
                meta = {**meta, "sizes": ",".join(dict.fromkeys(x["meta"]["sizes"] for x in runs)),
                        "targets": " and --targets ".join(x["meta"]["targets"] for x in runs),
                        "started": min(x["meta"]["started"] for x in runs),
                        "ended": max(x["meta"]["ended"] for x in runs),
                        "load_start": max(x["meta"]["load_start"] for x in runs),
                        "load_end": runs[-1]["meta"]["load_end"],
                        "cluster_start_s": max(x["meta"].get("cluster_start_s", 0) for x in runs),
                        "side_by_side": len(runs)}
            print(f"written: {write_docs(results, meta)}", file=sys.stderr)
        return 0
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="okr_kpi_bench_spark_"))
    work.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + args.budget_minutes * 60
    targets = args.targets.split(",")
    stamp = lambda: time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())  # noqa: E731
    meta = {"sizes": args.sizes, "targets": args.targets, "started": stamp(),
            "load_start": os.getloadavg()[0]}
    cluster = None
    results: list[dict] = []

    def save() -> None:
        meta.update({"ended": stamp(), "load_end": os.getloadavg()[0]})
        (work / "results.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1))

    try:
        if "cluster" in targets:
            from okr_kpi.spark_cluster import Cluster

            started = time.monotonic()
            cluster = Cluster(work / "cluster").start()
            meta["cluster_start_s"] = time.monotonic() - started
            print(f"cluster started in {meta['cluster_start_s']:.0f} s", file=sys.stderr)
        for rows in (int(s) for s in args.sizes.split(",")):
            for target in targets:
                if deadline - time.monotonic() < 120:
                    results.append({"target": target, "rows": rows,
                                    "error": "not started: the benchmark's time budget was used up"})
                    save()
                    continue
                print(f"{stamp()} {rows:,} rows on {target} ...", file=sys.stderr)
                try:
                    results.append(bench(target, rows, work / f"{target}_{rows}", cluster, deadline))
                except (RuntimeError, TooSlow) as err:
                    results.append({"target": target, "rows": rows, "error": str(err).splitlines()[0][:200]})
                    print(str(err)[-3000:], file=sys.stderr)
                save()
                print("\n".join(render(results[-1:]).splitlines()[2:]), file=sys.stderr)
    finally:
        if cluster is not None:
            cluster.stop()
        save()
    print(render(results))
    if args.write_docs:
        print(f"written: {write_docs(results, meta)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
