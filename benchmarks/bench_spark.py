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
import json
import os
import statistics
import subprocess
import sys
import tempfile
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


def timed(cmd: list[str], env: dict[str, str]) -> float:
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=DEMO, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - started
    if proc.returncode not in (0,):
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n"
                           f"{proc.stderr[-2000:]}")
    return seconds


def nodes(env: dict[str, str]) -> tuple[int, float]:
    results = json.loads((Path(env["DBT_TARGET_PATH"]) / "run_results.json").read_text())["results"]
    times = [r.get("execution_time") or 0.0 for r in results]
    return len(results), statistics.median(times) if times else 0.0


def bench(target: str, rows: int, work: Path, cluster) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    env = env_for(target, work, cluster)
    out = {"target": target, "rows": rows}
    out["generate"] = timed([str(BIN / "okr-kpi"), "generate", "--target", target, "--rows", str(rows),
                             "--seed", "42"], env)
    for step, as_of in (("full", FULL_AS_OF), ("nightly", NIGHTLY_AS_OF)):
        seconds = timed([str(BIN / "dbt"), "build", "--project-dir", str(DEMO), "--target", target,
                         "--vars", json.dumps({"as_of_date": as_of})], env)
        count, median = nodes(env)
        out[step] = {"seconds": seconds, "nodes": count, "per_node": seconds / max(count, 1),
                     "median_node": median}
    if target == "cluster":
        from okr_kpi.spark_cluster import thrift_query

        base = env["OKR_KPI_SCHEMA"]
        for schema in (base, env["OKR_KPI_RAW_SCHEMA"], base + "_dbt_test__audit"):
            thrift_query(cluster.thrift_port, f"drop database if exists `{schema}` cascade")
    return out


def render(results: list[dict]) -> str:
    lines = ["| rows | target | generate | full build | nodes | s/node (median dbt) | nightly build "
             "| s/node (median dbt) |",
             "|---:|---|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        f, n = r["full"], r["nightly"]
        lines.append(f"| {r['rows']:,} | {r['target']} | {r['generate']:.0f} s | {f['seconds']:.0f} s "
                     f"| {f['nodes']} | "
                     f"{f['per_node']:.2f} ({f['median_node']:.2f}) | {n['seconds']:.0f} s | "
                     f"{n['per_node']:.2f} ({n['median_node']:.2f}) |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/bench_spark.py",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=os.environ.get("BENCH_SPARK_SIZES", "20000"))
    parser.add_argument("--targets", default=os.environ.get("BENCH_SPARK_TARGETS", "duckdb,spark,cluster"))
    parser.add_argument("--work-dir", default=os.environ.get("BENCH_WORK_DIR"))
    parser.add_argument("--write-docs", action="store_true",
                        help="replace the measured table in docs/benchmarks.md (section on Spark)")
    args = parser.parse_args(argv)
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="okr_kpi_bench_spark_"))
    targets = args.targets.split(",")
    cluster = None
    results = []
    try:
        if "cluster" in targets:
            from okr_kpi.spark_cluster import Cluster

            started = time.monotonic()
            cluster = Cluster(work / "cluster").start()
            print(f"cluster started in {time.monotonic() - started:.0f} s", file=sys.stderr)
        for rows in (int(s) for s in args.sizes.split(",")):
            for target in targets:
                print(f"{rows:,} rows on {target} ...", file=sys.stderr)
                results.append(bench(target, rows, work / f"{target}_{rows}", cluster))
                print(render(results[-1:]).splitlines()[-1], file=sys.stderr)
    finally:
        if cluster is not None:
            cluster.stop()
    table = render(results)
    print(table)
    if args.write_docs:
        doc = REPO / "docs" / "benchmarks.md"
        text = doc.read_text()
        begin, end = "<!-- bench_spark:begin -->", "<!-- bench_spark:end -->"
        if begin in text and end in text:
            stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
            block = (f"{begin}\nMeasured by `python benchmarks/bench_spark.py --sizes {args.sizes}` "
                     f"({stamp}, load average at the end {os.getloadavg()[0]:.1f}):\n\n{table}\n{end}")
            doc.write_text(text[:text.index(begin)] + block + text[text.index(end) + len(end):])
            print(f"written: {doc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
