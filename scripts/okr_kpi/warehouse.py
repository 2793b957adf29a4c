"""A small connection layer over the three warehouses, for the Python side.

The Python side reads contract tables written by dbt and writes the few tables it owns
(raw demo data, the alert log). It never re-derives KPI values.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterable, Iterator
from typing import Any

from okr_kpi.exit_codes import ExitCode
from okr_kpi.project import OkrKpiError, Project


class WarehouseUnavailable(OkrKpiError):
    exit_code = ExitCode.WAREHOUSE_UNAVAILABLE


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# Logical column types (okr_kpi.demo.schema.RAW_TABLES) -> each warehouse's type.
LOGICAL_TYPES: dict[str, dict[str, str]] = {
    "bigint": {"duckdb": "bigint", "postgres": "bigint"},
    "int": {"duckdb": "integer", "postgres": "integer"},
    "double": {"duckdb": "double", "postgres": "double precision"},
    "varchar": {"duckdb": "varchar", "postgres": "text"},
    "date": {"duckdb": "date", "postgres": "date"},
    "timestamp": {"duckdb": "timestamp", "postgres": "timestamp without time zone"},
    "boolean": {"duckdb": "boolean", "postgres": "boolean"},
}
# Tables are loaded under this suffix, then swapped in (a failed load leaves the old tables).
STAGING_SUFFIX = "__okr_kpi_staging"

Columns = list[tuple[str, str, bool]]  # (name, logical type, nullable)


def infer_columns(frame) -> Columns:
    """Logical column types of a DataFrame, every column nullable."""
    columns = []
    for name, dtype in frame.dtypes.items():
        kind = str(dtype)
        if kind.startswith("datetime64"):
            logical = "timestamp"
        elif kind in ("int64", "Int64", "uint32", "UInt32"):
            logical = "bigint"
        elif kind in ("int32", "Int32", "int16", "Int16", "int8", "Int8"):
            logical = "int"
        elif kind.startswith(("float", "Float")):
            logical = "double"
        elif kind in ("bool", "boolean"):
            logical = "boolean"
        elif "date32" in kind:
            logical = "date"
        else:
            logical = "varchar"
        columns.append((str(name), logical, True))
    return columns


def column_ddl(columns: Columns, target: str) -> str:
    parts = []
    for name, logical, nullable in columns:
        try:
            sql_type = LOGICAL_TYPES[logical][target]
        except KeyError:
            raise OkrKpiError(f"column {name}: unknown type {logical!r} for {target}") from None
        parts.append(f"{quote_ident(name)} {sql_type}{'' if nullable else ' not null'}")
    return ", ".join(parts)


def _select_columns(table: str, columns: Columns, frame):
    """The frame's columns in contract order; a missing column is a clear error."""
    names = [name for name, _, _ in columns]
    missing = [name for name in names if name not in frame.columns]
    if missing:
        raise OkrKpiError(f"table {table}: the data has no column {', '.join(missing)} "
                          f"(expected {', '.join(names)})")
    return frame[names]


class Warehouse:
    """Common interface: execute, query (list of dicts), load a pandas DataFrame, close."""

    target: str

    def execute(self, sql: str, params: tuple | None = None) -> None:
        raise NotImplementedError

    def query(self, sql: str, params: tuple | None = None) -> list[dict[str, Any]]:
        raise NotImplementedError

    def load_dataframe(self, schema: str, table: str, frame, replace: bool = True) -> None:
        """Load one DataFrame, types inferred from its dtypes; replace=False appends."""
        if replace:
            self.load_table(schema, table, frame)
        else:
            self.append_dataframe(schema, table, frame)

    def append_dataframe(self, schema: str, table: str, frame) -> None:
        raise NotImplementedError

    def load_table(self, schema: str, table: str, frames, columns: Columns | None = None) -> int:
        """Replace one table with a DataFrame (or an iterable of them, appended in turn).

        columns: (name, logical type, nullable) as in okr_kpi.demo.schema.RAW_TABLES; inferred
        from the first frame's dtypes when omitted. Returns the number of rows loaded.
        """
        import pandas as pd

        frames = [frames] if isinstance(frames, pd.DataFrame) else list(frames)
        if columns is None:
            if not frames:
                raise OkrKpiError(f"table {table}: no data and no column types to create it from")
            columns = infer_columns(frames[0])
        return self.replace_tables(schema, [(table, columns, frames)])[table]

    def replace_tables(self, schema: str, tables: Iterable[tuple[str, Columns, Iterable]]) -> dict[str, int]:
        """Replace several tables, all or nothing, with explicit column types.

        tables: (table, columns, frames), frames an iterable of DataFrames (consumed lazily, so a
        generator bounds memory). If anything fails, every previous table is left as it was.
        Returns the rows loaded per table, in order.
        """
        raise NotImplementedError

    def table_exists(self, schema: str, table: str) -> bool:
        raise NotImplementedError

    def schema_ident(self, schema: str) -> str:
        return quote_ident(schema)

    def ident(self, schema: str, table: str) -> str:
        return f"{self.schema_ident(schema)}.{quote_ident(table)}"

    def close(self) -> None:
        pass


def duckdb_error():
    import duckdb

    return duckdb.Error


class DuckDBWarehouse(Warehouse):
    target = "duckdb"

    def __init__(self, path: str, read_only: bool = False) -> None:
        import duckdb

        try:
            self.con = duckdb.connect(path, read_only=read_only)
        except duckdb.IOException as err:
            if "lock" in str(err).lower():
                raise WarehouseUnavailable(
                    f"the DuckDB warehouse {path} is in use by another process (DuckDB allows one "
                    "writer per file). Wait for it to finish, or stop it, then run again."
                ) from None
            raise WarehouseUnavailable(f"cannot open the DuckDB warehouse {path}: {err}") from None
        memory_limit = os.environ.get("OKR_KPI_DUCKDB_MEMORY_LIMIT", "4GB")
        self.con.execute(f"set memory_limit = '{memory_limit}'")
        # The file okr_kpi.duckdb opens as the catalog "okr_kpi"; a schema of the same name would make
        # unqualified names ambiguous, so every name is catalog-qualified.
        self.catalog = self.con.execute("select current_database()").fetchone()[0]

    def schema_ident(self, schema):
        return f"{quote_ident(self.catalog)}.{quote_ident(schema)}"

    def execute(self, sql, params=None):
        self.con.execute(sql, params or ())

    def query(self, sql, params=None):
        cur = self.con.execute(sql, params or ())
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    def _insert(self, schema, table, frame, columns=None, name=None):
        """Insert a DataFrame, casting each column to its declared type (name: the table, for errors)."""
        name = name or table
        if columns is None:
            select = "*"
        else:
            frame = _select_columns(name, columns, frame)
            select = ", ".join(f"cast({quote_ident(name)} as {LOGICAL_TYPES[logical]['duckdb']})"
                               for name, logical, _ in columns)
        self.con.register("_okr_kpi_frame", frame)
        try:
            self.con.execute(f"insert into {self.ident(schema, table)} select {select} from _okr_kpi_frame")
        except duckdb_error() as err:
            raise OkrKpiError(f"loading {schema}.{name} failed: {err}") from None
        finally:
            self.con.unregister("_okr_kpi_frame")

    def append_dataframe(self, schema, table, frame):
        self._insert(schema, table, frame)

    def replace_tables(self, schema, tables):
        # Load every table under a staging name, then swap them all in one transaction.
        self.con.execute(f"create schema if not exists {self.schema_ident(schema)}")
        staged: dict[str, str] = {}
        counts: dict[str, int] = {}
        try:
            for table, columns, frames in tables:
                staging = table + STAGING_SUFFIX
                self.con.execute(f"create or replace table {self.ident(schema, staging)} "
                                 f"({column_ddl(columns, 'duckdb')})")
                staged[table] = staging
                counts[table] = 0
                for frame in frames:
                    self._insert(schema, staging, frame, columns, name=table)
                    counts[table] += len(frame)
            self.con.execute("begin transaction")
            try:
                for table, staging in staged.items():
                    self.con.execute(f"drop table if exists {self.ident(schema, table)}")
                    self.con.execute(f"alter table {self.ident(schema, staging)} "
                                     f"rename to {quote_ident(table)}")
                self.con.execute("commit")
            except BaseException:
                self.con.execute("rollback")
                raise
        except BaseException:
            for staging in staged.values():
                with contextlib.suppress(Exception):
                    self.con.execute(f"drop table if exists {self.ident(schema, staging)}")
            raise
        return counts

    def table_exists(self, schema, table):
        rows = self.query("select 1 from information_schema.tables where table_catalog = current_database() "
                          "and table_schema = ? and table_name = ?",
                          (schema, table))
        return bool(rows)

    def close(self):
        self.con.close()


class PostgresWarehouse(Warehouse):
    target = "postgres"

    def __init__(self) -> None:
        import psycopg2

        try:
            # psycopg2 reads PGHOST, PGPORT, PGUSER, PGPASSWORD and PGDATABASE itself.
            self.con = psycopg2.connect(
                host=os.environ.get("PGHOST", "127.0.0.1"),
                port=os.environ.get("PGPORT", "5432"),
                user=os.environ.get("PGUSER", "postgres"),
                dbname=os.environ.get("PGDATABASE", "postgres"),
                connect_timeout=10,
            )
        except psycopg2.OperationalError as err:
            # The message of libpq never contains the password.
            raise WarehouseUnavailable(f"cannot connect to PostgreSQL: {str(err).strip()}") from None
        self.con.autocommit = True

    def execute(self, sql, params=None):
        with self.con.cursor() as cur:
            cur.execute(sql.replace("?", "%s") if params else sql, params)

    def query(self, sql, params=None):
        with self.con.cursor() as cur:
            cur.execute(sql.replace("?", "%s") if params else sql, params)
            cols = [d[0] for d in cur.description]
            return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    def _copy(self, cur, schema, table, frame, columns=None):
        """COPY a DataFrame in (CSV written by pyarrow: fast; nulls are unquoted empty fields)."""
        import psycopg2
        import pyarrow as pa
        import pyarrow.csv as pa_csv

        if columns is not None:
            frame = _select_columns(table, columns, frame)
        names = ", ".join(quote_ident(str(name)) for name in frame.columns)
        buf = io.BytesIO()
        pa_csv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), buf,
                         pa_csv.WriteOptions(include_header=False))
        buf.seek(0)
        try:
            cur.copy_expert(f"copy {self.ident(schema, table)} ({names}) from stdin with (format csv)", buf)
        except psycopg2.Error as err:
            raise OkrKpiError(f"loading {schema}.{table} failed: {str(err).strip()}") from None

    def append_dataframe(self, schema, table, frame):
        with self.con.cursor() as cur:
            self._copy(cur, schema, table, frame)

    def _has_columns(self, cur, schema, table, columns) -> bool:
        cur.execute("select column_name, data_type, is_nullable from information_schema.columns "
                    "where table_schema = %s and table_name = %s order by ordinal_position", (schema, table))
        wanted = [(name, LOGICAL_TYPES[logical]["postgres"], "YES" if nullable else "NO")
                  for name, logical, nullable in columns]
        return [tuple(row) for row in cur.fetchall()] == wanted

    def replace_tables(self, schema, tables):
        # One transaction for all tables: a failure rolls everything back. A table whose columns
        # already match is truncated and refilled (views built on it by dbt survive); otherwise it
        # is dropped (with dependent views: dbt build recreates them) and created.
        counts: dict[str, int] = {}
        self.con.autocommit = False
        try:
            with self.con.cursor() as cur:
                cur.execute(f"create schema if not exists {quote_ident(schema)}")
                for table, columns, frames in tables:
                    ident = self.ident(schema, table)
                    if self._has_columns(cur, schema, table, columns):
                        cur.execute(f"truncate table {ident}")
                    else:
                        cur.execute(f"drop table if exists {ident} cascade")
                        cur.execute(f"create table {ident} ({column_ddl(columns, 'postgres')})")
                    counts[table] = 0
                    for frame in frames:
                        self._copy(cur, schema, table, frame, columns)
                        counts[table] += len(frame)
            self.con.commit()
        except BaseException:
            self.con.rollback()
            raise
        finally:
            self.con.autocommit = True
        return counts

    def table_exists(self, schema, table):
        return bool(self.query("select 1 from information_schema.tables where table_schema = %s "
                               "and table_name = %s", (schema, table)))

    def close(self):
        self.con.close()


def connect(project: Project, read_only: bool = False) -> Warehouse:
    if project.target == "duckdb":
        return DuckDBWarehouse(str(project.duckdb_path), read_only=read_only)
    if project.target == "postgres":
        return PostgresWarehouse()
    if project.target.startswith("spark"):
        from okr_kpi.spark import SparkWarehouse

        return SparkWarehouse(project)
    raise OkrKpiError(f"unknown target {project.target}")


@contextlib.contextmanager
def connected(project: Project, read_only: bool = False) -> Iterator[Warehouse]:
    wh = connect(project, read_only=read_only)
    try:
        yield wh
    finally:
        wh.close()
