"""DuckDB: one file, named by the profile's `path` (relative to the project dir, where dbt runs).

The models' schema is the target's `schema` (dbt-duckdb's default: main); the catalog is the one
the file opens as (dbt-duckdb's `database`: the file name without .duckdb). The profile's
`settings` (memory_limit, ...) are applied to the toolkit's connections too. One writer per file:
a run holds a lock file next to the DuckDB file and checks that the file can be opened for writing.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from okr_kpi.adapters.base import (
    STAGING_SUFFIX,
    Adapter,
    Warehouse,
    WarehouseUnavailable,
    file_lock,
    quote_ident,
    select_columns,
)
from okr_kpi.project import OkrKpiError

TYPES = {
    "bigint": "bigint",
    "int": "integer",
    "double": "double",
    "varchar": "varchar",
    "date": "date",
    "timestamp": "timestamp",
    "boolean": "boolean",
}


def duckdb_error():
    import duckdb

    return duckdb.Error


class DuckDBWarehouse(Warehouse):
    target = "duckdb"
    types = TYPES

    def __init__(self, path: str, read_only: bool = False, settings: dict[str, Any] | None = None) -> None:
        import duckdb

        settings = {"memory_limit": "4GB", **(settings or {})}
        config = {k: (v if isinstance(v, bool) else str(v)) for k, v in settings.items()}
        try:
            self.con = duckdb.connect(path, read_only=read_only, config=config)
        except duckdb.IOException as err:
            if "lock" in str(err).lower():
                raise WarehouseUnavailable(
                    f"the DuckDB warehouse {path} is in use by another process (DuckDB allows one "
                    "writer per file). Wait for it to finish, or stop it, then run again."
                ) from None
            raise WarehouseUnavailable(f"cannot open the DuckDB warehouse {path}: {err}") from None
        except duckdb.Error as err:  # e.g. an unknown setting in the profile
            raise OkrKpiError(f"cannot open the DuckDB warehouse {path}: {err}") from None
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

    def insert_rows(self, schema, table, columns, rows):
        if rows:
            cols = ", ".join(quote_ident(c) for c in columns)
            self.con.executemany(f"insert into {self.ident(schema, table)} ({cols}) "
                                 f"values ({', '.join('?' * len(columns))})", rows)

    @contextlib.contextmanager
    def transaction(self):
        self.con.execute("begin transaction")
        try:
            yield
        except BaseException:
            self.con.execute("rollback")
            raise
        self.con.execute("commit")

    def _insert(self, schema, table, frame, columns=None, name=None):
        """Insert a DataFrame, casting each column to its declared type (name: the table, for errors)."""
        name = name or table
        if columns is None:
            select = "*"
        else:
            frame = select_columns(name, columns, frame)
            select = ", ".join(f"cast({quote_ident(col)} as {self.sql_type(logical, col)})"
                               for col, logical, _ in columns)
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
                                 f"({self.column_ddl(columns)})")
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


class DuckDBAdapter(Adapter):
    type = "duckdb"
    warehouse_class = DuckDBWarehouse

    def __init__(self, project) -> None:
        super().__init__(project)
        raw = str(getattr(self.credentials, "path", "") or "")
        if not raw or raw == ":memory:" or raw.startswith(("md:", "motherduck:")):
            raise OkrKpiError(f"target {project.target!r}: okr-kpi needs a DuckDB file (`path:` in the "
                              f"profile), not {raw or 'an in-memory database'!r}")
        self.path: Path = self.resolve_path(raw)
        self.schema = self.schema or "main"
        self.database = self.database or self.path.stem
        self.duckdb_settings: dict[str, Any] = dict(getattr(self.credentials, "settings", None) or {})

    def connect(self, read_only: bool = False) -> DuckDBWarehouse:
        if read_only and not self.path.exists():
            raise OkrKpiError(f"no DuckDB warehouse at {self.path} ({self.project.describe()}): "
                              "run `okr-kpi run` (or dbt build) first")
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        return DuckDBWarehouse(str(self.path), read_only=read_only, settings=self.duckdb_settings)

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".okr-kpi.lock")

    def run_lock(self):
        # DuckDB allows one writer per file: fail now (not halfway through dbt) if a BI tool,
        # a notebook or a dbt command holds it.
        return file_lock(self.lock_path, str(self.path), check=lambda: self.connect().close())

    def gx_datasource(self):
        from okr_kpi.checks.duckdb_buffered import connection_string

        if not self.path.exists():
            raise OkrKpiError(f"no DuckDB warehouse at {self.path}: run `okr-kpi run` (or dbt build) first")
        return {"dialect": "duckdb", "engine": "sql", "setup": "okr_kpi.checks.duckdb_buffered",
                "url": connection_string(str(self.path))}

    def prepare_write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def describe(self) -> str:
        return f"DuckDB file {self.path}, schema {self.schema}"


ADAPTER = DuckDBAdapter
