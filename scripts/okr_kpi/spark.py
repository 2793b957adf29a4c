"""The spark target from the Python side: a local, in-process SparkSession (pyspark).

It is configured exactly like dbt-spark's `session` method in profiles.yml (output `spark`):
the same warehouse directory (OKR_KPI_SPARK_WAREHOUSE, default `spark-warehouse`), the same
Hive metastore (an embedded Derby database at OKR_KPI_SPARK_METASTORE, default `metastore_db`;
both relative to the project directory) and the session time zone UTC. So tables written here
(the demo's raw tables) are the tables dbt reads, and the marts dbt writes are read here.

One process at a time. An embedded Derby metastore can be open in one JVM only, and dbt runs in
a subprocess with its own JVM. So the Python side never keeps Spark open while dbt runs:
`release_local_session()` stops the session and shuts its JVM down (Project.dbt calls it before
every dbt command on a spark target), and a SparkWarehouse opens a new session lazily the next
time it is used (a few seconds: a new JVM).

A cluster (target `spark_thrift`, see docs/warehouses.md) is reached through PyHive when it is
installed (`pip install "dbt-spark[PyHive]"`); the raw-data loader then inserts in batches.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from okr_kpi.project import OkrKpiError, Project
from okr_kpi.warehouse import STAGING_SUFFIX, Columns, Warehouse, WarehouseUnavailable, infer_columns

# Logical column types (okr_kpi.demo.schema.RAW_TABLES) -> Spark SQL types.
SPARK_TYPES = {
    "bigint": "bigint",
    "int": "int",
    "double": "double",
    "varchar": "string",
    "date": "date",
    "timestamp": "timestamp",
    "boolean": "boolean",
}


def quote_spark(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _resolve(value: str, base: Path) -> Path:
    path = Path(value)
    return path if path.is_absolute() else (base / path).resolve()


def local_paths(base: Path, env: dict[str, str] | None = None) -> tuple[Path, Path]:
    """(warehouse dir, Derby metastore dir) as profiles.yml resolves them for dbt run in `base`."""
    env = os.environ if env is None else env
    return (_resolve(env.get("OKR_KPI_SPARK_WAREHOUSE", "spark-warehouse"), base),
            _resolve(env.get("OKR_KPI_SPARK_METASTORE", "metastore_db"), base))


# --- the one local session of this process ----------------------------------------------------

_session = None  # the SparkSession this module opened
_session_key: tuple[str, str] | None = None  # (warehouse dir, metastore dir) it was opened with


def local_session(warehouse_dir: Path, metastore_dir: Path):
    """The process's local SparkSession on this warehouse and metastore (opened on demand).

    A JVM holds one SparkContext, and warehouse dir and metastore are fixed at its start: asking
    for another pair shuts the current session (and its JVM) down first.
    """
    global _session, _session_key
    key = (str(warehouse_dir), str(metastore_dir))
    if _session is not None and _session_key == key:
        return _session
    release_local_session()
    try:
        from pyspark.sql import SparkSession
    except ImportError:  # pragma: no cover - pyspark is a dependency
        raise WarehouseUnavailable("the spark target needs pyspark (pip install pyspark)") from None
    warehouse_dir.mkdir(parents=True, exist_ok=True)
    metastore_dir.parent.mkdir(parents=True, exist_ok=True)
    builder = (
        SparkSession.builder.enableHiveSupport()
        .master(os.environ.get("OKR_KPI_SPARK_MASTER", "local[*]"))
        .appName("okr-kpi")
        .config("spark.sql.warehouse.dir", str(warehouse_dir))
        .config("spark.hadoop.javax.jdo.option.ConnectionURL",
                f"jdbc:derby:;databaseName={metastore_dir};create=true")
        .config("spark.sql.session.timeZone", "UTC")
        # The Python side's SQL quotes identifiers the standard way ("name", okr_kpi.warehouse.quote_ident)
        .config("spark.sql.ansi.doubleQuotedIdentifiers", "true")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", os.environ.get("OKR_KPI_SPARK_DRIVER_MEMORY", "2g"))
        # derby.log next to the metastore instead of the current directory
        .config("spark.driver.extraJavaOptions", f"-Dderby.stream.error.file={metastore_dir}.log")
    )
    try:
        session = builder.getOrCreate()
    except Exception as err:  # Java missing, Derby locked by another process, ...
        text = str(err)
        if "XSDB6" in text or "another instance of Derby" in text.lower():
            text = (f"the Spark metastore {metastore_dir} is in use by another process (an embedded "
                    "Derby metastore allows one process at a time): wait for it to finish, then run again")
        raise WarehouseUnavailable(f"cannot start a local Spark session: {text.splitlines()[0]}") from None
    session.sparkContext.setLogLevel("ERROR")
    _session, _session_key = session, key
    return session


def release_local_session() -> None:
    """Stop this process's Spark session and its JVM, releasing the Derby metastore for dbt."""
    global _session, _session_key
    if _session is None:
        return
    from pyspark import SparkContext

    with contextlib.suppress(Exception):
        _session.stop()
    gateway = SparkContext._gateway
    if gateway is not None:
        proc = getattr(gateway, "proc", None)
        with contextlib.suppress(Exception):
            gateway.shutdown()
        if proc is not None:
            with contextlib.suppress(Exception):
                if proc.stdin:
                    proc.stdin.close()  # the JVM exits when its stdin closes
                proc.wait(timeout=60)
    SparkContext._gateway = None
    SparkContext._jvm = None
    _session, _session_key = None, None


def _row_dict(row) -> dict[str, Any]:
    return row.asDict(recursive=True)


class SparkWarehouse(Warehouse):
    """Target `spark` (local session) or `spark_thrift` (a cluster's Thrift server via PyHive)."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.target = project.target
        self.thrift = project.target != "spark"
        self._cursor = None
        if self.thrift:
            self._connect_thrift()
        else:
            self.warehouse_dir, self.metastore_dir = local_paths(project.project_dir)

    # --- connections -------------------------------------------------------------------------
    @property
    def spark(self):
        return local_session(self.warehouse_dir, self.metastore_dir)

    def _connect_thrift(self) -> None:
        try:
            from pyhive import hive
        except ImportError:
            raise WarehouseUnavailable(
                f"target {self.target}: the Python side reaches a Spark Thrift server through PyHive, "
                "which is not installed (pip install 'dbt-spark[PyHive]')") from None
        host = os.environ.get("OKR_KPI_SPARK_HOST", "localhost")
        port = int(os.environ.get("OKR_KPI_SPARK_PORT", "10000"))
        try:
            con = hive.connect(host=host, port=port, username=os.environ.get("OKR_KPI_SPARK_USER", "spark"))
        except Exception as err:
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise WarehouseUnavailable(
                f"cannot connect to the Spark Thrift server {host}:{port}: {reason}") from None
        self._cursor = con.cursor()

    # --- SQL -----------------------------------------------------------------------------------
    def schema_ident(self, schema: str) -> str:
        return quote_spark(schema)

    def ident(self, schema: str, table: str) -> str:
        return f"{quote_spark(schema)}.{quote_spark(table)}"

    def execute(self, sql: str, params: tuple | None = None) -> None:
        self._run(sql, params, fetch=False)

    def query(self, sql: str, params: tuple | None = None) -> list[dict[str, Any]]:
        return self._run(sql, params, fetch=True)

    def _run(self, sql, params, fetch):
        if self.thrift:
            self._cursor.execute(sql.replace("?", "%s") if params else sql, params)
            if not fetch:
                return None
            cols = [d[0].split(".")[-1] for d in self._cursor.description]
            return [dict(zip(cols, row, strict=True)) for row in self._cursor.fetchall()]
        from pyspark.errors import PySparkException

        try:
            frame = self.spark.sql(sql, args=list(params)) if params else self.spark.sql(sql)
            return [_row_dict(row) for row in frame.collect()] if fetch else None
        except PySparkException as err:
            raise OkrKpiError(f"Spark SQL failed: {str(err).splitlines()[0]}\n  in: {sql[:500]}") from None

    def table_exists(self, schema: str, table: str) -> bool:
        if self.thrift:
            rows = self.query(f"show tables in {quote_spark(schema)} like '{table}'")
            return bool(rows)
        return self.spark.catalog.tableExists(f"{schema}.{table}")

    # --- loading -------------------------------------------------------------------------------
    def _spark_frame(self, table: str, frame, columns: Columns):
        """A pandas DataFrame as a Spark DataFrame with the contract's column types."""
        names = [name for name, _, _ in columns]
        missing = [name for name in names if name not in frame.columns]
        if missing:
            raise OkrKpiError(f"table {table}: the data has no column {', '.join(missing)} "
                              f"(expected {', '.join(names)})")
        frame = frame[names]
        # Spark infers nothing from an all-null object column: send such columns as strings.
        frame = frame.astype({name: "string" for name in names
                              if frame[name].dtype == object and frame[name].isna().all()})
        spark_frame = self.spark.createDataFrame(frame)
        return spark_frame.selectExpr(*(
            f"cast({quote_spark(name)} as {SPARK_TYPES[logical]}) as {quote_spark(name)}"
            for name, logical, _ in columns
        ))

    def append_dataframe(self, schema: str, table: str, frame) -> None:
        columns = [(name, logical, True) for name, logical, _ in infer_columns(frame)]
        if self.thrift:
            self._insert_values(schema, table, frame, columns)
            return
        self._spark_frame(table, frame, columns).write.mode("append").saveAsTable(f"{schema}.{table}")

    def replace_tables(self, schema: str, tables: Iterable[tuple[str, Columns, Iterable]]) -> dict[str, int]:
        """Load every table under a staging name, then swap each in.

        Spark has no multi-table transactions: a failure while loading leaves the previous tables
        untouched (only staging tables are written, and dropped again); the final swap is a drop
        and a rename per table.
        """
        self.execute(f"create database if not exists {quote_spark(schema)}")
        staged: dict[str, str] = {}
        counts: dict[str, int] = {}
        try:
            for table, columns, frames in tables:
                for name, logical, _ in columns:
                    if logical not in SPARK_TYPES:
                        raise OkrKpiError(f"table {table}, column {name}: unknown type {logical!r} for spark")
                staging = table + STAGING_SUFFIX
                self.execute(f"drop table if exists {self.ident(schema, staging)}")
                ddl = ", ".join(f"{quote_spark(name)} {SPARK_TYPES[logical]}" for name, logical, _ in columns)
                self.execute(f"create table {self.ident(schema, staging)} ({ddl}) using parquet"
                             if not self.thrift else f"create table {self.ident(schema, staging)} ({ddl})")
                staged[table] = staging
                counts[table] = 0
                for frame in frames:
                    if self.thrift:
                        self._insert_values(schema, staging, frame, columns)
                    else:
                        self._spark_frame(table, frame, columns).write.mode("append").insertInto(
                            f"{quote_spark(schema)}.{quote_spark(staging)}")
                    counts[table] += len(frame)
            for table, staging in staged.items():
                self.execute(f"drop table if exists {self.ident(schema, table)}")
                self.execute(f"alter table {self.ident(schema, staging)} "
                             f"rename to {self.ident(schema, table)}")
        except BaseException:
            for staging in staged.values():
                with contextlib.suppress(Exception):
                    self.execute(f"drop table if exists {self.ident(schema, staging)}")
            raise
        return counts

    def _insert_values(self, schema: str, table: str, frame, columns: Columns, batch: int = 1000) -> None:
        """Thrift only: insert a DataFrame as literal rows, `batch` rows per statement."""
        import pandas as pd

        def literal(value, logical):
            if value is None or (not isinstance(value, str) and pd.isna(value)):
                return "null"
            if logical in ("bigint", "int"):
                return str(int(value))
            if logical == "double":
                return repr(float(value))
            if logical == "boolean":
                return "true" if value else "false"
            if logical == "date":
                return f"date '{pd.Timestamp(value).date().isoformat()}'"
            if logical == "timestamp":
                return f"timestamp '{pd.Timestamp(value).isoformat(sep=' ')}'"
            return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"

        names = [name for name, _, _ in columns]
        rows = frame[names].itertuples(index=False, name=None)
        chunk: list[str] = []
        for row in rows:
            values = (literal(value, logical) for value, (_, logical, _) in zip(row, columns, strict=True))
            chunk.append("(" + ", ".join(values) + ")")
            if len(chunk) == batch:
                self.execute(f"insert into {self.ident(schema, table)} values {', '.join(chunk)}")
                chunk = []
        if chunk:
            self.execute(f"insert into {self.ident(schema, table)} values {', '.join(chunk)}")

    def close(self) -> None:
        if self.thrift:
            with contextlib.suppress(Exception):
                self._cursor.close()
            return
        # Release the metastore: the next dbt command (another process) needs it.
        release_local_session()
