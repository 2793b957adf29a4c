"""`okr-kpi generate` on a Spark cluster (target `cluster`: method thrift) loads the raw tables
through Parquet files in a staging directory (okr_kpi.adapters.spark.staging_location), and falls
back to INSERT statements, saying why, when the Spark servers cannot read that directory.

Either way the tables hold exactly what the DuckDB loader writes for the same company: per raw
table the row count and a checksum of every row (values fetched from both warehouses, written in
one canonical text form, sorted, hashed here in Python), and the column types of the contract.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from harness import CLUSTER, DEMO_DIR, cluster_query, drop_cluster_schemas, target_env
from okr_kpi.demo.schema import RAW_TABLES
from okr_kpi.generate import generate_into_warehouse
from okr_kpi.project import Project

pytestmark = pytest.mark.spark
OKR_KPI = str(Path(sys.executable).parent / "okr-kpi")
SPARK_TYPES = {"bigint": "bigint", "int": "int", "double": "double", "varchar": "string",
               "date": "date", "timestamp": "timestamp", "boolean": "boolean"}


def canonical(value) -> str:
    if value is None:
        return "<null>"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def digest(rows: list[dict], names: list[str]) -> tuple[int, str]:
    lines = sorted("\x1f".join(canonical(row[name]) for name in names) for row in rows)
    return len(lines), hashlib.sha256("\n".join(lines).encode()).hexdigest()


@pytest.fixture(scope="module")
def duckdb_digests(tmp_path_factory):
    """The company (2,000 rows, seed 7) through the DuckDB loader: (count, checksum) per table."""
    tmp = tmp_path_factory.mktemp("duckdb_reference")
    env = target_env(tmp, "duckdb")
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        generate_into_warehouse(Project(target="duckdb", project_dir=DEMO_DIR), rows=2000, seed=7)
    con = duckdb.connect(env["OKR_KPI_DUCKDB_PATH"], read_only=True)
    try:
        out = {}
        for table, columns in RAW_TABLES.items():
            names = [name for name, _, _ in columns]
            cur = con.execute(f"select * from raw.{table}")
            rows = [dict(zip([d[0] for d in cur.description], r, strict=True)) for r in cur.fetchall()]
            out[table] = digest(rows, names)
    finally:
        con.close()
    assert sum(count for count, _ in out.values()) > 1000
    return out


def generate_on_cluster(tmp_path: Path, extra_env: dict[str, str]):
    env = target_env(tmp_path, CLUSTER)
    env.update({"OKR_KPI_PROJECT_DIR": str(DEMO_DIR), "DBT_PROJECT_DIR": str(DEMO_DIR), **extra_env})
    proc = subprocess.run([OKR_KPI, "generate", "--target", CLUSTER, "--rows", "2000", "--seed", "7"],
                          cwd=DEMO_DIR, env=env, capture_output=True, text=True, timeout=1200)
    return proc, env


def assert_same_as_duckdb(env: dict[str, str], reference: dict) -> None:
    raw = env["OKR_KPI_RAW_SCHEMA"]
    names_on_cluster = {r["tableName"] for r in cluster_query(env, f"show tables in `{raw}`")}
    assert names_on_cluster == set(RAW_TABLES), names_on_cluster  # no staging table left behind
    for table, columns in RAW_TABLES.items():
        names = [name for name, _, _ in columns]
        types = {r["col_name"]: r["data_type"] for r in cluster_query(env, f"describe `{raw}`.`{table}`")}
        assert {n: types.get(n) for n in names} == {n: SPARK_TYPES[t] for n, t, _ in columns}, table
        rows = cluster_query(env, f"select * from `{raw}`.`{table}`")
        assert digest(rows, names) == reference[table], table


def test_generate_loads_parquet_files(spark_cluster, duckdb_digests, tmp_path):
    staging = tmp_path / "staging"
    proc, env = generate_on_cluster(tmp_path, {"OKR_KPI_SPARK_STAGING_DIR": str(staging)})
    try:
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
        out = proc.stdout + proc.stderr
        assert f"loading through Parquet files in {staging}/load-" in out
        assert "INSERT statements" not in out
        assert staging.is_dir() and not any(staging.iterdir())  # the load's files are removed
        assert_same_as_duckdb(env, duckdb_digests)
    finally:
        drop_cluster_schemas(env)


def test_unreadable_staging_dir_falls_back_to_insert(spark_cluster, duckdb_digests, tmp_path):
    # okr-kpi can write the directory, but the Spark servers are told it is somewhere else
    staging = tmp_path / "staging"
    elsewhere = (tmp_path / "not-there").as_uri()
    proc, env = generate_on_cluster(tmp_path, {"OKR_KPI_SPARK_STAGING_DIR": str(staging),
                                               "OKR_KPI_SPARK_STAGING_URI": elsewhere})
    try:
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
        out = proc.stdout + proc.stderr
        assert "loading the raw tables with INSERT statements" in out
        assert f"the staging directory {staging} (read by Spark as {elsewhere}) is not usable" in out
        assert "OKR_KPI_SPARK_STAGING_DIR" in out
        assert_same_as_duckdb(env, duckdb_digests)
    finally:
        drop_cluster_schemas(env)
