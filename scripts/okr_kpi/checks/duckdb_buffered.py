"""A SQLAlchemy dialect `duckdb+buffered://` that makes Great Expectations work on DuckDB.

The bug (GX issues #10738, #11579): GX's SqlAlchemyExecutionEngine.execute_query() runs a query
inside `with engine.connect()` and calls fetchall() on the result *after* the block has closed
the connection. Closing rolls back the connection's transaction; duckdb_engine's cursor is the
DuckDB connection itself, so the rollback discards the pending result and fetchall() returns
[]. GX then fails every metric with "list index out of range", hidden in exception_info.

The fix: a cursor that fetches the whole result when the statement executes, and serves
fetchone/fetchmany/fetchall from that buffer, so nothing is lost when the connection closes.
Metric queries return a handful of rows (aggregates), and unexpected-row queries are limited by
GX's result_format, so buffering costs little. Everything else is duckdb_engine's dialect.
"""

from __future__ import annotations

from typing import Any

import duckdb_engine
from sqlalchemy.dialects import registry

DIALECT_NAME = "duckdb.buffered"


class BufferedCursor(duckdb_engine.CursorWrapper):
    """duckdb_engine's cursor, with the result fetched at execute time."""

    def __init__(self, c, connection_wrapper) -> None:
        super().__init__(c, connection_wrapper)
        self._raw = c
        self._rows: list = []
        self._position = 0
        self._description = None

    def execute(self, statement: str, parameters: Any = None, context: Any = None) -> None:
        super().execute(statement, parameters, context)
        self._description = self._raw.description
        self._rows = self._raw.fetchall() if self._description is not None else []
        self._position = 0

    @property
    def description(self):
        return self._description

    @property
    def rowcount(self) -> int:
        return len(self._rows) if self._description is not None else -1

    def fetchone(self):
        if self._position >= len(self._rows):
            return None
        row = self._rows[self._position]
        self._position += 1
        return row

    def fetchmany(self, size: int | None = None) -> list:
        size = 1 if size is None else size
        rows = self._rows[self._position : self._position + size]
        self._position += len(rows)
        return rows

    def fetchall(self) -> list:
        rows = self._rows[self._position :]
        self._position = len(self._rows)
        return rows


class BufferedConnection(duckdb_engine.ConnectionWrapper):
    def __init__(self, c) -> None:
        super().__init__(c)
        self._raw = c

    def cursor(self) -> BufferedCursor:
        return BufferedCursor(self._raw, self)


class BufferedDuckDBDialect(duckdb_engine.Dialect):
    """duckdb_engine's dialect (name "duckdb", so GX treats it as DuckDB) with buffered cursors."""

    def connect(self, *cargs: Any, **cparams: Any) -> BufferedConnection:
        wrapper = super().connect(*cargs, **cparams)
        return BufferedConnection(wrapper._ConnectionWrapper__c)


def register() -> None:
    """Make `duckdb+buffered:///path` known to SQLAlchemy (idempotent)."""
    registry.register(DIALECT_NAME, __name__, "BufferedDuckDBDialect")


def connection_string(path: str, read_only: bool = True) -> str:
    url = f"duckdb+buffered:///{path}"
    return url + ("?access_mode=read_only" if read_only else "")
