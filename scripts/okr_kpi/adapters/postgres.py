"""PostgreSQL: host, port, user, password, dbname and schema of the profile's target (psycopg2).

psycopg2 is imported only here and only when a PostgreSQL target is used (the [postgres] extra).
Transactions are PostgreSQL's; one run per schema at a time through a session advisory lock.
"""

from __future__ import annotations

import contextlib
import io
from typing import Any
from urllib.parse import quote_plus

from okr_kpi.adapters import require
from okr_kpi.adapters.base import Adapter, Warehouse, WarehouseUnavailable, quote_ident, select_columns
from okr_kpi.project import OkrKpiError

TYPES = {
    "bigint": "bigint",
    "int": "integer",
    "double": "double precision",
    "varchar": "text",
    "date": "date",
    "timestamp": "timestamp without time zone",
    "boolean": "boolean",
}


def _env_params() -> dict[str, Any]:
    import os

    return {"host": os.environ.get("PGHOST", "127.0.0.1"), "port": os.environ.get("PGPORT", "5432"),
            "user": os.environ.get("PGUSER", "postgres"), "dbname": os.environ.get("PGDATABASE", "postgres")}


class PostgresWarehouse(Warehouse):
    target = "postgres"
    types = TYPES

    def __init__(self, **params: Any) -> None:
        """params: psycopg2.connect's (host, port, user, password, dbname, ...); none given: the
        libpq environment (PGHOST, PGPORT, PGUSER, PGDATABASE)."""
        psycopg2 = require("psycopg2", "postgres", "psycopg2")
        params = {"connect_timeout": 10, **(params or _env_params())}
        try:
            self.con = psycopg2.connect(**params)
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

    def insert_rows(self, schema, table, columns, rows):
        if not rows:
            return
        from psycopg2.extras import execute_values

        cols = ", ".join(quote_ident(c) for c in columns)
        with self.con.cursor() as cur:
            execute_values(cur, f"insert into {self.ident(schema, table)} ({cols}) values %s", rows,
                           page_size=500)

    @contextlib.contextmanager
    def transaction(self):
        self.execute("begin")
        try:
            yield
        except BaseException:
            self.execute("rollback")
            raise
        self.execute("commit")

    def _copy(self, cur, schema, table, frame, columns=None):
        """COPY a DataFrame in (CSV written by pyarrow: fast; nulls are unquoted empty fields)."""
        import psycopg2
        import pyarrow as pa
        import pyarrow.csv as pa_csv

        if columns is not None:
            frame = select_columns(table, columns, frame)
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
        wanted = [(name, self.sql_type(logical, name), "YES" if nullable else "NO")
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
                        cur.execute(f"create table {ident} ({self.column_ddl(columns)})")
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


class PostgresAdapter(Adapter):
    type = "postgres"
    extra = "postgres"
    warehouse_class = PostgresWarehouse

    def __init__(self, project) -> None:
        super().__init__(project)
        c = self.credentials
        self.host = c.host
        self.port = int(c.port)
        self.user = c.user
        self.password = c.password or ""
        self.database = c.database
        self.params: dict[str, Any] = {"host": c.host, "port": self.port, "user": c.user,
                                       "dbname": c.database, "connect_timeout": c.connect_timeout or 10}
        if self.password:
            self.params["password"] = self.password
        for name in ("sslmode", "sslcert", "sslkey", "sslrootcert"):
            if getattr(c, name, None):
                self.params[name] = getattr(c, name)

    def connect(self, read_only: bool = False) -> PostgresWarehouse:
        return PostgresWarehouse(**self.params)

    @contextlib.contextmanager
    def run_lock(self):
        wh = self.connect()
        key = f"okr_kpi:{self.schema}"
        got = wh.query("select pg_try_advisory_lock(hashtext(?)) as ok", (key,))[0]["ok"]
        if not got:
            wh.close()
            raise WarehouseUnavailable(
                f"another okr-kpi run is working on schema {self.schema} "
                "(PostgreSQL advisory lock held); this run stops without touching it"
            )
        try:
            yield
        finally:
            wh.close()  # the session lock ends with the session

    def gx_datasource(self):
        require("psycopg2", "postgres", "psycopg2")
        user = quote_plus(self.user)
        auth = f"{user}:{quote_plus(self.password)}" if self.password else user
        return {"dialect": "postgres", "engine": "sql",
                "url": f"postgresql+psycopg2://{auth}@{self.host}:{self.port}/{self.database}"}

    def describe(self) -> str:
        return f"PostgreSQL {self.host}:{self.port}/{self.database}, schema {self.schema}"


ADAPTER = PostgresAdapter
