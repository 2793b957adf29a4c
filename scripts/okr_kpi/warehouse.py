"""A small connection layer over the three warehouses, for the Python side.

The Python side reads contract tables written by dbt and writes the few tables it owns
(raw demo data, the alert log). It never re-derives KPI values.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any, Iterator

from okr_kpi.exit_codes import ExitCode
from okr_kpi.project import OkrKpiError, Project


class WarehouseUnavailable(OkrKpiError):
    exit_code = ExitCode.WAREHOUSE_UNAVAILABLE


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Warehouse:
    """Common interface: execute, query (list of dicts), load a pandas DataFrame, close."""

    target: str

    def execute(self, sql: str, params: tuple | None = None) -> None:
        raise NotImplementedError

    def query(self, sql: str, params: tuple | None = None) -> list[dict[str, Any]]:
        raise NotImplementedError

    def load_dataframe(self, schema: str, table: str, frame, replace: bool = True) -> None:
        raise NotImplementedError

    def table_exists(self, schema: str, table: str) -> bool:
        raise NotImplementedError

    def ident(self, schema: str, table: str) -> str:
        return f"{quote_ident(schema)}.{quote_ident(table)}"

    def close(self) -> None:
        pass


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

    def execute(self, sql, params=None):
        self.con.execute(sql, params or ())

    def query(self, sql, params=None):
        cur = self.con.execute(sql, params or ())
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, row)) for row in cur.fetchall()]

    def load_dataframe(self, schema, table, frame, replace=True):
        self.con.execute(f"create schema if not exists {quote_ident(schema)}")
        self.con.register("_okr_kpi_frame", frame)
        try:
            if replace:
                self.con.execute(f"create or replace table {self.ident(schema, table)} as "
                                 "select * from _okr_kpi_frame")
            else:
                self.con.execute(f"insert into {self.ident(schema, table)} select * from _okr_kpi_frame")
        finally:
            self.con.unregister("_okr_kpi_frame")

    def table_exists(self, schema, table):
        rows = self.query("select 1 from information_schema.tables where table_schema = ? and table_name = ?",
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
            return [dict(zip(cols, row)) for row in cur.fetchall()]

    def load_dataframe(self, schema, table, frame, replace=True):
        import io

        from okr_kpi.demo.schema import postgres_type

        ident = self.ident(schema, table)
        self.execute(f"create schema if not exists {quote_ident(schema)}")
        if replace:
            self.execute(f"drop table if exists {ident}")
            cols = ", ".join(f"{quote_ident(c)} {postgres_type(frame[c].dtype)}" for c in frame.columns)
            self.execute(f"create table {ident} ({cols})")
        buf = io.StringIO()
        frame.to_csv(buf, index=False, header=False, na_rep="\\N")
        buf.seek(0)
        with self.con.cursor() as cur:
            cur.copy_expert(f"copy {ident} from stdin with (format csv, null '\\N')", buf)

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
