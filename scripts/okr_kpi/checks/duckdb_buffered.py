"""A SQLAlchemy dialect `duckdb+buffered://` that makes Great Expectations work on DuckDB.

The bug (GX issues #10738, #11579): GX's SqlAlchemyExecutionEngine.execute_query() runs a query
inside `with engine.connect()` and calls fetchall() on the result *after* the block has closed
the connection. Closing rolls back the connection's transaction; duckdb_engine's cursor is the
DuckDB connection itself, so the rollback discards the pending result and fetchall() returns
[]. GX then fails every metric with "list index out of range", hidden in exception_info.

The fix: a cursor that fetches the result when the statement executes, and serves
fetchone/fetchmany/fetchall from that buffer, so nothing is lost when the connection closes.
Metric queries return a handful of rows (aggregates), and unexpected-row queries are limited by
GX's result_format. Everything else is duckdb_engine's dialect.

The buffer is capped at MAX_BUFFERED_ROWS: GX also runs a batch's whole query only to read its
column names (column_reflection_fallback on a query asset, `select * from raw.orders` say), and
fetching that in full cost seconds and gigabytes on large tables. DuckDB streams a result, so
reading the first rows is cheap; the rest is dropped. Reading past the cap raises
ResultTooLarge, which GX reports as an engine error of that expectation: a capped result is
never read as a complete one.
"""

from __future__ import annotations

from typing import Any

import duckdb_engine
from sqlalchemy.dialects import registry

DIALECT_NAME = "duckdb.buffered"
# More than any metric or unexpected-row query of okr_kpi.checks returns (their largest is the
# list of a KPI's breached periods, capped at worker.MAX_UNEXPECTED_PERIODS = 100,000, plus one).
MAX_BUFFERED_ROWS = 100_001


class ResultTooLarge(RuntimeError):
    """A result had more rows than the buffer holds, and more were asked for."""


class BufferedCursor(duckdb_engine.CursorWrapper):
    """duckdb_engine's cursor, with the result fetched at execute time."""

    def __init__(self, c, connection_wrapper) -> None:
        super().__init__(c, connection_wrapper)
        self._raw = c
        self._rows: list = []
        self._position = 0
        self._description = None
        self._truncated = False

    def execute(self, statement: str, parameters: Any = None, context: Any = None) -> None:
        super().execute(statement, parameters, context)
        self._description = self._raw.description
        self._rows = self._raw.fetchmany(MAX_BUFFERED_ROWS + 1) if self._description is not None else []
        self._truncated = len(self._rows) > MAX_BUFFERED_ROWS
        if self._truncated:
            del self._rows[MAX_BUFFERED_ROWS:]
        self._position = 0

    def _check(self, wanted: int) -> None:
        if self._truncated and self._position + wanted > len(self._rows):
            raise ResultTooLarge(
                f"the query returned more than {MAX_BUFFERED_ROWS:,} rows, more than okr_kpi's "
                "buffered DuckDB dialect keeps (okr_kpi.checks.duckdb_buffered.MAX_BUFFERED_ROWS)"
            )

    @property
    def description(self):
        return self._description

    @property
    def rowcount(self) -> int:
        return len(self._rows) if self._description is not None and not self._truncated else -1

    def fetchone(self):
        self._check(1)
        if self._position >= len(self._rows):
            return None
        row = self._rows[self._position]
        self._position += 1
        return row

    def fetchmany(self, size: int | None = None) -> list:
        size = 1 if size is None else size
        self._check(size)
        rows = self._rows[self._position : self._position + size]
        self._position += len(rows)
        return rows

    def fetchall(self) -> list:
        self._check(len(self._rows) - self._position + 1)
        rows = self._rows[self._position :]
        self._position = len(self._rows)
        return rows


class BufferedConnection(duckdb_engine.ConnectionWrapper):
    def __init__(self, c) -> None:
        super().__init__(c)
        self._raw = c

    def cursor(self) -> BufferedCursor:
        return BufferedCursor(self._raw, self)


_opened: list = []  # the DuckDB connections this dialect opened (close_all closes them)


class BufferedDuckDBDialect(duckdb_engine.Dialect):
    """duckdb_engine's dialect (name "duckdb", so GX treats it as DuckDB) with buffered cursors."""

    def connect(self, *cargs: Any, **cparams: Any) -> BufferedConnection:
        wrapper = super().connect(*cargs, **cparams)
        raw = wrapper._ConnectionWrapper__c
        _opened.append(raw)
        return BufferedConnection(raw)


def close_all() -> None:
    """Close every DuckDB connection this dialect opened. The checks run in the run's process: a
    read-only DuckDB instance left open there (GX's engines keep theirs) would stop the toolkit
    from opening the same file for writing next ("different configuration")."""
    while _opened:
        raw = _opened.pop()
        try:
            raw.close()
        except Exception:
            pass


def register() -> None:
    """Make `duckdb+buffered:///path` known to SQLAlchemy (idempotent)."""
    registry.register(DIALECT_NAME, __name__, "BufferedDuckDBDialect")


def connection_string(path: str, read_only: bool = True) -> str:
    url = f"duckdb+buffered:///{path}"
    return url + ("?access_mode=read_only" if read_only else "")
