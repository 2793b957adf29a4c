"""The interface every warehouse module implements: `Adapter` (what the toolkit asks of a
warehouse: where, how to connect, lock, check, call dbt) and `Warehouse` (a connection)."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from okr_kpi.exit_codes import ExitCode
from okr_kpi.project import OkrKpiError

if TYPE_CHECKING:
    from okr_kpi.project import Project


class WarehouseUnavailable(OkrKpiError):
    exit_code = ExitCode.WAREHOUSE_UNAVAILABLE


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# okr_kpi's logical column types (okr_kpi.demo.schema.RAW_TABLES, okr_kpi.lifecycle.TABLES);
# each adapter maps them to its SQL types (Adapter.types / Warehouse.types).
LOGICAL_TYPES = ("bigint", "int", "double", "varchar", "date", "timestamp", "boolean")
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


def select_columns(table: str, columns: Columns, frame):
    """The frame's columns in contract order; a missing column is a clear error."""
    names = [name for name, _, _ in columns]
    missing = [name for name in names if name not in frame.columns]
    if missing:
        raise OkrKpiError(f"table {table}: the data has no column {', '.join(missing)} "
                          f"(expected {', '.join(names)})")
    return frame[names]


class Warehouse:
    """A connection: execute, query (list of dicts), load DataFrames, create/insert, close.

    Subclasses set `target` (the adapter type) and `types` (logical -> SQL type), and implement
    execute, query, append_dataframe, replace_tables and table_exists.
    """

    target: ClassVar[str] = ""
    types: ClassVar[dict[str, str]] = {}
    # UPDATE and DELETE on the toolkit's own tables; False (Spark): rewrite them instead.
    supports_dml: ClassVar[bool] = True

    def execute(self, sql: str, params: tuple | None = None) -> None:
        raise NotImplementedError

    def query(self, sql: str, params: tuple | None = None) -> list[dict[str, Any]]:
        raise NotImplementedError

    def sql_type(self, logical: str, column: str = "?") -> str:
        try:
            return self.types[logical]
        except KeyError:
            raise OkrKpiError(f"column {column}: unknown type {logical!r} for {self.target}") from None

    def column_ddl(self, columns: Columns) -> str:
        return ", ".join(
            f"{quote_ident(name)} {self.sql_type(logical, name)}{'' if nullable else ' not null'}"
            for name, logical, nullable in columns)

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

    def create_tables(self, schema: str, tables: dict[str, Columns]) -> None:
        """Create the tables that do not exist yet (and the schema), empty."""
        self.execute(f"create schema if not exists {self.schema_ident(schema)}")
        for table, columns in tables.items():
            if not self.table_exists(schema, table):
                self.execute(f"create table if not exists {self.ident(schema, table)} "
                             f"({self.column_ddl(columns)})")

    def insert_rows(self, schema: str, table: str, columns: list[str], rows: list[tuple]) -> None:
        """Insert rows (tuples in `columns` order); one statement per row unless overridden."""
        cols = ", ".join(quote_ident(c) for c in columns)
        for row in rows:
            self.execute(f"insert into {self.ident(schema, table)} ({cols}) "
                         f"values ({', '.join('?' * len(columns))})", row)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """All statements inside commit together (a no-op where the warehouse has none)."""
        yield

    def schema_ident(self, schema: str) -> str:
        return quote_ident(schema)

    def ident(self, schema: str, table: str) -> str:
        return f"{self.schema_ident(schema)}.{quote_ident(table)}"

    def close(self) -> None:
        pass


class Adapter:
    """What the toolkit asks of the warehouse a dbt target names.

    Built from a resolved Project (project.profile: the rendered output and dbt's Credentials).
    Attributes: type (the dbt adapter type), extra (the okr-kpi extra of its drivers), types
    (logical -> SQL type), project, credentials, schema, database.
    """

    type: ClassVar[str] = ""
    extra: ClassVar[str | None] = None
    warehouse_class: ClassVar[type[Warehouse]] = Warehouse

    def __init__(self, project: Project) -> None:
        self.project = project
        self.credentials = project.profile.credentials
        self.settings = project.profile.data
        self.schema: str = str(getattr(self.credentials, "schema", None) or "")
        self.database: str | None = getattr(self.credentials, "database", None)

    @property
    def types(self) -> dict[str, str]:
        return self.warehouse_class.types

    # --- to implement ----------------------------------------------------------------------
    def connect(self, read_only: bool = False) -> Warehouse:
        raise NotImplementedError

    def gx_datasource(self) -> dict[str, Any]:
        """The checks' datasource: {"dialect": ..., "url": SQLAlchemy URL or "", ...extra spec}.
        The URL may hold a password: never print it."""
        raise OkrKpiError(f"okr-kpi check does not support the {self.type} warehouse")

    @contextlib.contextmanager
    def run_lock(self) -> Iterator[None]:
        """Hold the warehouse for one run; WarehouseUnavailable at once if another run holds it."""
        yield

    def before_dbt(self) -> None:
        """Called before every dbt subprocess."""

    def dbt_env(self, env: dict[str, str]) -> dict[str, str]:
        """The environment of a dbt subprocess (env is the caller's, changed in place or not)."""
        return env

    def prepare_write(self) -> None:
        """Called by the first command that writes (okr-kpi generate): make local folders."""

    def describe(self) -> str:
        return f"{self.type}, schema {self.schema}"

    # --- helpers ---------------------------------------------------------------------------
    def resolve_path(self, value: str | os.PathLike) -> Path:
        """A path of the profile: relative paths are relative to the project dir (where dbt runs)."""
        path = Path(value).expanduser()
        return path if path.is_absolute() else (self.project.project_dir / path).resolve()


@contextlib.contextmanager
def file_lock(path: Path, where: str, check=None) -> Iterator[None]:
    """An exclusive lock file for a file-based warehouse; `check()` runs while it is held."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")  # noqa: SIM115 (held for the whole run)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise WarehouseUnavailable(
            f"another okr-kpi run ({holder}) is using the warehouse {where} "
            f"(lock file {path}); this run stops without touching it"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()} since {dt.datetime.now().isoformat(timespec='seconds')}")
    handle.flush()
    try:
        if check is not None:
            check()
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()
