"""Spark: a local, in-process SparkSession (method session) or a cluster's Thrift server (thrift).

Method session is configured exactly like dbt-spark's: the target's server_side_parameters give
the warehouse directory (spark.sql.warehouse.dir, default `spark-warehouse`) and the Hive
metastore (an embedded Derby database named in javax.jdo.option.ConnectionURL, default
`metastore_db`), both relative to the project directory where dbt runs; the session time zone is
UTC. So tables written here are the tables dbt reads, and the marts dbt writes are read here.

One process at a time. An embedded Derby metastore can be open in one JVM only, and dbt runs in
a subprocess with its own JVM. So the Python side never keeps Spark open while dbt runs:
`release_local_session()` stops the session and shuts its JVM down (SparkAdapter.before_dbt,
called before every dbt command), and a SparkWarehouse opens a new session lazily the next time
it is used (a few seconds: a new JVM).

Method thrift (a cluster) is reached through PyHive (host, port, user, schema of the target),
installed by the [spark] extra. A load of FILE_LOAD_MIN_ROWS rows or more (the raw-data loader of
`okr-kpi generate`: replace_tables) writes the tables as Parquet files into a staging directory
that the Spark servers read (OKR_KPI_SPARK_STAGING_DIR, see staging_location) and creates each
table from them with one CREATE TABLE ... AS SELECT through Thrift; without a usable staging
directory it falls back to literal INSERT statements in batches (slow: a fixed cost per
statement), saying so. Smaller loads (the lifecycle's rewrites) are INSERT statements.
pyspark and pyhive are imported only here, lazily.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from okr_kpi.adapters import require
from okr_kpi.adapters.base import (
    STAGING_SUFFIX,
    Adapter,
    Columns,
    Warehouse,
    WarehouseUnavailable,
    file_lock,
    infer_columns,
)
from okr_kpi.project import OkrKpiError

# Logical column types (okr_kpi.demo.schema.RAW_TABLES) -> Spark SQL types.
TYPES = SPARK_TYPES = {
    "bigint": "bigint",
    "int": "int",
    "double": "double",
    "varchar": "string",
    "date": "date",
    "timestamp": "timestamp",
    "boolean": "boolean",
}


def _thrift_reason(err: BaseException) -> str:
    """The one-line reason of a PyHive/Thrift error (not the server's Java stack trace)."""
    message = getattr(err, "errorMessage", None)
    status = getattr(err, "status", None)
    if status is None and err.args and hasattr(err.args[0], "status"):
        status = err.args[0].status
    if not message and status is not None:
        message = getattr(status, "errorMessage", None)
    text = str(message or err) or type(err).__name__
    return text.splitlines()[0][:500]


def thrift_rows(cursor) -> list[dict[str, Any]]:
    """A PyHive cursor's rows as dicts, dates and timestamps as Python values (the Thrift server
    sends them as text), as the local session returns them."""
    import datetime as dt
    import decimal

    convert = {"DATE_TYPE": dt.date.fromisoformat,
               "TIMESTAMP_TYPE": lambda v: dt.datetime.fromisoformat(v) if isinstance(v, str) else v,
               "DECIMAL_TYPE": lambda v: decimal.Decimal(v) if isinstance(v, str) else v}
    description = cursor.description or []
    cols = [d[0].split(".")[-1] for d in description]
    fns = [convert.get(str(d[1]).upper()) for d in description]
    out = []
    for row in cursor.fetchall():
        out.append({c: (f(v) if f is not None and v is not None else v)
                    for c, f, v in zip(cols, fns, row, strict=True)})
    return out


# --- the file-based loader on a cluster ---------------------------------------------------------

STAGING_DIR_VAR = "OKR_KPI_SPARK_STAGING_DIR"  # where okr-kpi writes Parquet files ("off": INSERT)
STAGING_URI_VAR = "OKR_KPI_SPARK_STAGING_URI"  # the same directory as the Spark servers name it
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
FILE_LOAD_MIN_ROWS = 1000  # a smaller load is one INSERT statement per table (replace_tables)
# pyarrow's types of the contract's logical types (the Parquet files' schema)
_ARROW_TYPES = {"bigint": "int64", "int": "int32", "double": "float64", "varchar": "string",
                "date": "date32", "timestamp": "timestamp[us]", "boolean": "bool"}


def staging_location(host: str | None, environ=None) -> tuple[str, str] | str:
    """(directory okr-kpi writes, the same directory as the Spark servers read it) of the
    file-based loader, or the reason why there is none (then the loader inserts rows).

    OKR_KPI_SPARK_STAGING_DIR: a local path (on a cluster: a mount every node shares) or a URI
    that pyarrow writes (s3://, gs://, hdfs://, file://); "off" turns the file path off.
    OKR_KPI_SPARK_STAGING_URI: how the Spark servers name that directory, when they name it
    differently (s3a://bucket/dir for s3://bucket/dir, dbfs:/mnt/x for /dbfs/mnt/x); default: the
    staging dir itself, a local path as file://. Unset, and the Thrift server on this machine
    (127.0.0.1, localhost): a directory in the system temp dir, which that server reads too.
    """
    import tempfile

    environ = os.environ if environ is None else environ
    value = (environ.get(STAGING_DIR_VAR) or "").strip()
    if value.lower() in ("off", "none", "false", "0"):
        return f"{STAGING_DIR_VAR} is {value!r}"
    if not value:
        if str(host or "").lower() not in LOCAL_HOSTS:
            return (f"{STAGING_DIR_VAR} is not set and the Thrift server {host} is on another machine "
                    "(set it to a directory every Spark node reads: HDFS, S3, DBFS, a shared mount)")
        value = str(Path(tempfile.gettempdir()) / "okr_kpi_spark_staging")
    uri = (environ.get(STAGING_URI_VAR) or "").strip()
    if not uri:
        uri = value if "://" in value or value.startswith("dbfs:") else Path(value).resolve().as_uri()
    return value.rstrip("/"), uri.rstrip("/")


class _Staging:
    """One load's directory of Parquet files under the staging dir (removed when done)."""

    def __init__(self, directory: str, uri: str) -> None:
        import uuid

        from pyarrow import fs

        if "://" in directory:
            self.fs, root = fs.FileSystem.from_uri(directory)
        else:
            self.fs, root = fs.LocalFileSystem(), str(Path(directory).resolve())
        run = f"load-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self.root, self.uri, self.run = f"{root}/{run}", f"{uri}/{run}", run
        self.display = f"{directory}/{run}"
        self.fs.create_dir(self.root, recursive=True)
        self.files: dict[str, list[str]] = {}

    def write(self, table: str, frame, columns: Columns) -> int:
        """One DataFrame as one more Parquet file of `table`, in the contract's types."""
        import pandas as pd
        import pyarrow as pa
        import pyarrow.parquet as pq

        names = [name for name, _, _ in columns]
        missing = [name for name in names if name not in frame.columns]
        if missing:
            raise OkrKpiError(f"table {table}: the data has no column {', '.join(missing)} "
                              f"(expected {', '.join(names)})")
        arrays = []
        for name, logical, _ in columns:
            column = frame[name]
            try:
                try:
                    array = pa.array(column, from_pandas=True)
                except pa.ArrowTypeError:
                    if logical != "varchar":
                        raise
                    # mixed values in a text column: as text, as the INSERT path writes them
                    array = pa.array(column.map(lambda v: v if isinstance(v, str) or pd.isna(v) else str(v)),
                                     from_pandas=True)
                arrays.append(array.cast(pa.type_for_alias(_ARROW_TYPES[logical])))
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as err:
                raise OkrKpiError(f"table {table}, column {name}: cannot write the values as "
                                  f"{logical}: {str(err).splitlines()[0]}") from None
        files = self.files.setdefault(table, [])
        path = f"{self.root}/{table}/part-{len(files):05d}.parquet"
        if not files:
            self.fs.create_dir(f"{self.root}/{table}", recursive=True)
        pq.write_table(pa.Table.from_arrays(arrays, names=names), path, filesystem=self.fs)
        files.append(path)
        return len(frame)

    def frames(self, table: str):
        """The files written for `table`, read back (the INSERT fallback after a failed read)."""
        import pyarrow.parquet as pq

        for path in self.files.get(table, []):
            yield pq.read_table(path, filesystem=self.fs).to_pandas()

    def table_uri(self, table: str) -> str:
        return f"{self.uri}/{table}"

    def remove(self) -> None:
        with contextlib.suppress(Exception):
            self.fs.delete_dir(self.root)


LOCK_TABLE = "okr_kpi_run_lock"  # the run lock on a cluster (SparkAdapter._cluster_lock)


def close_thrift(con) -> None:
    """Close a PyHive connection; a failure to close the server's session is not an error.

    The Spark 4 Thrift server can fail CloseSession after every statement of the session has
    run and returned (NoClassDefFoundError ...LlapSigner$Signable: pyspark ships no
    hive-llap-common, and Hive's function registry wants it while tearing a session down).
    Nothing is lost then: the server drops the session on its idle timeout.
    """
    with contextlib.suppress(Exception):
        con.close()


def _dead_here(holder: str) -> bool:
    """True if the lock `holder` ("pid N on HOST since ...") is a process of this host that is gone."""
    import socket

    match = re.match(r"pid (\d+) on (\S+) since", holder or "")
    if not match or match.group(2) != socket.gethostname():
        return False
    try:
        os.kill(int(match.group(1)), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def quote_spark(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _resolve(value: str, base: Path) -> Path:
    path = Path(value)
    return path if path.is_absolute() else (base / path).resolve()


def local_paths(base: Path, parameters: dict[str, Any] | None = None) -> tuple[Path, Path]:
    """(warehouse dir, Derby metastore dir) of a session target's server_side_parameters, as dbt
    run in `base` resolves them (defaults: spark-warehouse, metastore_db)."""
    parameters = parameters or {}
    url = str(parameters.get("spark.hadoop.javax.jdo.option.ConnectionURL") or "")
    match = re.search(r"databaseName=([^;]+)", url)
    return (_resolve(str(parameters.get("spark.sql.warehouse.dir") or "spark-warehouse"), base),
            _resolve(match.group(1) if match else "metastore_db", base))


# Set by local_session itself (paths resolved, quoting the toolkit's SQL relies on)
_FIXED_CONF = {"spark.sql.warehouse.dir", "spark.hadoop.javax.jdo.option.ConnectionURL",
               "spark.driver.extraJavaOptions", "spark.sql.ansi.doubleQuotedIdentifiers",
               "spark.sql.execution.arrow.pyspark.enabled"}


# --- the one local session of this process ----------------------------------------------------

_session = None  # the SparkSession this module opened
_session_key: tuple[str, str] | None = None  # (warehouse dir, metastore dir) it was opened with


def local_session(warehouse_dir: Path, metastore_dir: Path, conf: dict[str, str] | None = None):
    """The process's local SparkSession on this warehouse and metastore (opened on demand).

    A JVM holds one SparkContext, and warehouse dir and metastore are fixed at its start: asking
    for another pair shuts the current session (and its JVM) down first. conf: further settings
    (the profile's server_side_parameters, e.g. spark.driver.memory), applied when it opens.
    """
    global _session, _session_key
    key = (str(warehouse_dir), str(metastore_dir))
    if _session is not None and _session_key == key:
        return _session
    release_local_session()
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise OkrKpiError('the spark warehouse (method session) needs pyspark, which is not installed: '
                          'pip install "okr-kpi[spark]"') from None
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
        .config("spark.driver.memory", "2g")
        # derby.log next to the metastore instead of the current directory
        .config("spark.driver.extraJavaOptions", f"-Dderby.stream.error.file={metastore_dir}.log")
    )
    for name, value in (conf or {}).items():
        if name not in _FIXED_CONF:
            builder = builder.config(name, str(value))
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
    """A local session (thrift=False: warehouse_dir, metastore_dir, conf) or a Thrift cursor."""

    target = "spark"
    types = SPARK_TYPES
    supports_dml = False  # plain (parquet) tables: no UPDATE/DELETE; the toolkit rewrites them

    def __init__(self, warehouse_dir: Path | None = None, metastore_dir: Path | None = None,
                 conf: dict[str, str] | None = None, thrift: dict[str, Any] | None = None) -> None:
        self.thrift = thrift is not None
        self._con = self._cursor = None
        self._thrift_host = (thrift or {}).get("host")
        self.load_method = ""  # how the last replace_tables loaded: parquet files, insert, session
        self.warehouse_dir, self.metastore_dir, self.conf = warehouse_dir, metastore_dir, conf or {}
        if self.thrift:
            self._connect_thrift(**thrift)

    # --- connections -------------------------------------------------------------------------
    @property
    def spark(self):
        return local_session(self.warehouse_dir, self.metastore_dir, self.conf)

    def _connect_thrift(self, host: str, port: int, username: str | None = None,
                        database: str | None = None, **kwargs) -> None:
        hive = require("pyhive.hive", "spark", "PyHive (for method thrift)")
        try:
            con = hive.connect(host=host, port=port, username=username, database=database or "default",
                               **kwargs)
        except Exception as err:
            reason = _thrift_reason(err)
            raise WarehouseUnavailable(
                f"cannot connect to the Spark Thrift server {host}:{port}: {reason}") from None
        self._con, self._cursor = con, con.cursor()

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
            from pyhive.exc import DatabaseError
            from thrift.transport.TTransport import TTransportException

            try:
                self._cursor.execute(sql.replace("?", "%s") if params else sql, params)
                if not fetch:
                    return None
                return thrift_rows(self._cursor)
            except (TTransportException, ConnectionError, EOFError) as err:
                # the server went away mid-statement (restarted, killed): nothing after it ran
                raise WarehouseUnavailable(f"lost the Spark Thrift server: {_thrift_reason(err)}") from None
            except DatabaseError as err:
                raise OkrKpiError(f"Spark SQL failed: {_thrift_reason(err)}\n  in: {sql[:500]}") from None
        from pyspark.errors import PySparkException

        try:
            frame = self.spark.sql(sql, args=list(params)) if params else self.spark.sql(sql)
            return [_row_dict(row) for row in frame.collect()] if fetch else None
        except PySparkException as err:
            raise OkrKpiError(f"Spark SQL failed: {str(err).splitlines()[0]}\n  in: {sql[:500]}") from None

    def table_exists(self, schema: str, table: str) -> bool:
        if self.thrift:
            if not self.query(f"show databases like '{schema}'"):
                return False  # SHOW TABLES IN a missing schema is an error over thrift
            rows = self.query(f"show tables in {quote_spark(schema)} like '{table}'")
            return bool(rows)
        return self.spark.catalog.tableExists(f"{schema}.{table}")

    def create_tables(self, schema: str, tables: dict[str, Columns]) -> None:
        missing = [(t, columns, []) for t, columns in tables.items() if not self.table_exists(schema, t)]
        if missing:
            self.replace_tables(schema, missing)

    def rewrite_tables(self, schema: str, tables: dict[str, tuple[Columns, list[dict[str, Any]]]]) -> None:
        """Write tables' full new contents (rows as dicts), swapped in together (replace_tables)."""
        import pandas as pd

        loads = []
        for table, (columns, rows) in tables.items():
            names = [c for c, _, _ in columns]
            frame = pd.DataFrame([{c: r.get(c) for c in names} for r in rows], columns=names)
            loads.append((table, columns, [frame] if rows else []))
        self.replace_tables(schema, loads)

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
        files = None
        if self.thrift:
            files, tables = self._plan_load(tables)
        self.load_method = "parquet files" if files is not None else ("insert" if self.thrift else "session")
        try:
            for table, columns, frames in tables:
                for name, logical, _ in columns:
                    if logical not in SPARK_TYPES:
                        raise OkrKpiError(f"table {table}, column {name}: unknown type {logical!r} for spark")
                staging = table + STAGING_SUFFIX
                self.execute(f"drop table if exists {self.ident(schema, staging)}")
                ddl = ", ".join(f"{quote_spark(name)} {SPARK_TYPES[logical]}" for name, logical, _ in columns)
                if files is not None:
                    # every frame a Parquet file, then one statement: the cluster reads them in parallel
                    counts[table] = sum(files.write(table, frame, columns) for frame in frames)
                    staged[table] = staging
                    if counts[table]:
                        select = ", ".join(f"cast({quote_spark(name)} as {SPARK_TYPES[logical]}) as "
                                           f"{quote_spark(name)}" for name, logical, _ in columns)
                        self.execute(f"create table {self.ident(schema, staging)} using parquet as "
                                     f"select {select} from parquet.{quote_spark(files.table_uri(table))}")
                    else:
                        self.execute(f"create table {self.ident(schema, staging)} ({ddl}) using parquet")
                    continue
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
        finally:
            if files is not None:
                files.remove()
        return counts

    def _plan_load(self, tables):
        """Thrift: (staging files or None, the same tables) for a load. A load of fewer than
        FILE_LOAD_MIN_ROWS rows in all (the lifecycle's and outbox's rewrites, a check-in) is a
        few INSERT statements, cheaper than files; a larger one (the raw loader) goes through
        Parquet files when a staging directory is usable. Frames are read ahead only until that
        many rows are seen, so a large load is never held in memory."""
        import itertools

        seen: list[tuple[str, Columns, list]] = []
        total = 0
        tables = iter(tables)
        for table, columns, frames in tables:
            frames = iter(frames)
            got: list = []
            for frame in frames:
                got.append(frame)
                total += len(frame)
                if total >= FILE_LOAD_MIN_ROWS:
                    rest = itertools.chain(seen, [(table, columns, itertools.chain(got, frames))], tables)
                    return self._open_staging(), rest
            seen.append((table, columns, got))
        return None, seen

    def _open_staging(self) -> _Staging | None:
        """Thrift: the staging directory of a file-based load, checked from both ends (okr-kpi
        writes a Parquet file there, the Thrift server reads it back), or None (INSERT path)."""
        from okr_kpi.logging import log_event

        location = staging_location(self._thrift_host)
        files = None
        if isinstance(location, str):
            reason = location
        else:
            directory, uri = location
            try:
                import pandas as pd

                files = _Staging(directory, uri)
                files.write("_probe", pd.DataFrame({"probe": [1]}), [("probe", "int", True)])
                self.query(f"select count(*) from parquet.{quote_spark(files.table_uri('_probe'))}")
                log_event(20, "spark_file_load", f"loading through Parquet files in {files.display} "
                          f"(read by the Spark servers as {files.uri})")
                return files
            except WarehouseUnavailable:
                if files is not None:
                    files.remove()
                raise
            except Exception as err:  # not writable here, or not readable by the Spark servers
                text = _thrift_reason(err) if not isinstance(err, OkrKpiError) else str(err).splitlines()[0]
                reason = (f"the staging directory {directory} (read by Spark as {uri}) is not usable: "
                          f"{text}")
                if files is not None:
                    files.remove()
        log_event(30, "spark_insert_load",
                  f"loading the raw tables with INSERT statements of 1000 rows each (slow on a cluster: "
                  f"a fixed cost per statement, minutes per 100,000 rows), because {reason}. Set "
                  f"{STAGING_DIR_VAR} to a directory every Spark node reads (docs/warehouses.md)")
        return None

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
            close_thrift(self._con)
            return
        # Release the metastore: the next dbt command (another process) needs it.
        release_local_session()


class SparkAdapter(Adapter):
    type = "spark"
    extra = "spark"
    warehouse_class = SparkWarehouse

    def __init__(self, project) -> None:
        super().__init__(project)
        c = self.credentials
        self.method = str(getattr(c, "method", "") or "")
        self.schema = self.schema or "default"
        self.database = None
        self.host = getattr(c, "host", None)
        self.port = getattr(c, "port", None)
        self.user = getattr(c, "user", None)
        self.parameters: dict[str, str] = {k: str(v) for k, v in
                                           (getattr(c, "server_side_parameters", None) or {}).items()}
        if self.method == "session":
            self.warehouse_dir, self.metastore_dir = local_paths(project.project_dir, self.parameters)
        elif self.method == "thrift":
            self.warehouse_dir = self.metastore_dir = None
        else:
            raise OkrKpiError(f"target {project.target!r}: okr-kpi drives Spark through method session or "
                              f"thrift, not {self.method!r}")

    @property
    def local(self) -> bool:
        return self.method == "session"

    def connect(self, read_only: bool = False) -> SparkWarehouse:
        if self.local:
            return SparkWarehouse(self.warehouse_dir, self.metastore_dir, self.parameters)
        # database "default": the target's schema may not exist yet (every statement names its schema)
        thrift: dict[str, Any] = {"host": self.host, "port": int(self.port or 10000),
                                  "username": self.user, "database": "default"}
        auth = getattr(self.credentials, "auth", None)
        if auth:
            thrift["auth"] = auth
            if getattr(self.credentials, "kerberos_service_name", None):
                thrift["kerberos_service_name"] = self.credentials.kerberos_service_name
        return SparkWarehouse(thrift=thrift)

    @property
    def lock_path(self) -> Path | None:
        if not self.local:
            return None
        return self.metastore_dir.with_name(self.metastore_dir.name + ".okr-kpi.lock")

    def run_lock(self):
        if not self.local:
            return self._cluster_lock()
        return file_lock(self.lock_path, str(self.lock_path.parent))

    @contextlib.contextmanager
    def _cluster_lock(self):
        """One run at a time on a cluster: a lock table `<schema>.okr_kpi_run_lock`.

        CREATE TABLE without IF NOT EXISTS is atomic in the metastore (the second one fails), and
        its holder (pid, host, start) is written in the same statement, as a table property. A
        run killed while holding it leaves the table behind: the next run on the same host sees
        that the pid is gone and takes the lock over; a holder on another host is reported (drop
        the table by hand once that run is known dead). Dropped when the run ends."""
        import datetime as dt
        import socket

        wh = self.connect()
        table = wh.ident(self.schema, LOCK_TABLE)
        holder = (f"pid {os.getpid()} on {socket.gethostname()} since "
                  f"{dt.datetime.now().isoformat(timespec='seconds')}")
        try:
            wh.execute(f"create database if not exists {quote_spark(self.schema)}")
            for attempt in (1, 2):
                try:
                    wh.execute(f"create table {table} (holder string) using parquet "
                               f"tblproperties ('okr_kpi.holder' = '{holder}')")
                    break
                except WarehouseUnavailable:
                    raise
                except OkrKpiError as err:
                    if "ALREADY_EXISTS" not in str(err).upper() and "already exists" not in str(err):
                        raise
                    held_by = self._lock_holder(wh, table)
                    if attempt == 1 and _dead_here(held_by):
                        from okr_kpi.logging import log_event

                        log_event(30, "stale_lock", f"the run lock {self.schema}.{LOCK_TABLE} of a run "
                                  f"that is gone ({held_by}) is taken over")
                        wh.execute(f"drop table if exists {table}")
                        continue
                    raise WarehouseUnavailable(
                        f"another okr-kpi run ({held_by or 'unknown holder'}) is working on schema "
                        f"{self.schema} (lock table {self.schema}.{LOCK_TABLE} on the Spark Thrift server "
                        f"{self.host}:{self.port}); this run stops without touching it") from None
        except BaseException:
            wh.close()
            raise
        try:
            yield
        finally:
            try:
                mine = self._lock_holder(wh, table) == holder
                if mine:
                    wh.execute(f"drop table if exists {table}")
            except Exception:
                # the server went away: the lock stays, and the next run here takes it over
                with contextlib.suppress(Exception):
                    wh.close()
                    wh = self.connect()
                    if self._lock_holder(wh, table) == holder:
                        wh.execute(f"drop table if exists {table}")
            finally:
                wh.close()

    @staticmethod
    def _lock_holder(wh, table: str) -> str:
        try:
            rows = wh.query(f"show tblproperties {table} ('okr_kpi.holder')")
        except OkrKpiError as err:
            if isinstance(err, WarehouseUnavailable):
                raise
            return ""
        for row in rows:
            values = list(row.values())
            if values and values[0] == "okr_kpi.holder":
                return str(values[-1])
            if values and str(values[-1]).startswith("pid "):
                return str(values[-1])
        return ""

    def gx_datasource(self):
        if not self.local:
            return self._thrift_gx_datasource()
        if not self.metastore_dir.exists():
            raise OkrKpiError(f"no Spark metastore at {self.metastore_dir}: run `okr-kpi run "
                              f"--target {self.project.target}` (or dbt build) first")
        # The worker's JVM needs the Derby metastore to itself: this process lets go of it.
        release_local_session()
        return {"dialect": "spark", "engine": "spark", "url": "",
                "spark": {"warehouse_dir": str(self.warehouse_dir), "metastore_dir": str(self.metastore_dir),
                          "conf": self.parameters}}

    def _thrift_gx_datasource(self) -> dict:
        """On a cluster GX runs through the same Thrift server as dbt: SQLAlchemy's Hive dialect
        (PyHive's `hive://`), GX's SQL execution engine, every metric a Spark SQL query on the
        cluster. The URL (it may hold a password) travels in the environment only (runner.py)."""
        from urllib.parse import quote

        require("pyhive.sqlalchemy_hive", "spark", "PyHive (for method thrift)")
        user = quote(str(self.user or "okr"), safe="")
        password = getattr(self.credentials, "password", None)
        userinfo = f"{user}:{quote(str(password), safe='')}" if password else user
        url = f"hive://{userinfo}@{self.host}:{int(self.port or 10000)}/default"
        auth = getattr(self.credentials, "auth", None)
        if auth:
            url += f"?auth={quote(str(auth), safe='')}"
            if getattr(self.credentials, "kerberos_service_name", None):
                url += f"&kerberos_service_name={quote(str(self.credentials.kerberos_service_name), safe='')}"
        return {"dialect": "hive", "engine": "sql", "url": url}

    def before_dbt(self) -> None:
        if self.local:  # dbt's JVM opens the embedded Derby metastore: let go of it first
            release_local_session()

    def prepare_write(self) -> None:
        if self.local:
            self.warehouse_dir.mkdir(parents=True, exist_ok=True)

    def describe(self) -> str:
        if self.local:
            return f"local Spark session, warehouse {self.warehouse_dir}, schema {self.schema}"
        return f"Spark Thrift server {self.host}:{self.port}, schema {self.schema}"


ADAPTER = SparkAdapter
