"""The connection layer for the Python side: `connect(project)` opens the project's warehouse.

The Python side reads contract tables written by dbt and writes the few tables it owns (raw demo
data, the alert log). It never re-derives KPI values. What differs per warehouse is in
okr_kpi.adapters (one module per warehouse); this module is its adapter-free entry point.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from okr_kpi.adapters.base import (  # noqa: F401 (the public names of this module)
    LOGICAL_TYPES,
    STAGING_SUFFIX,
    Columns,
    Warehouse,
    WarehouseUnavailable,
    infer_columns,
    quote_ident,
)
from okr_kpi.project import Project


def __getattr__(name: str):
    # The concrete classes, imported on demand (psycopg2 only when asked for).
    if name == "DuckDBWarehouse":
        from okr_kpi.adapters.duckdb import DuckDBWarehouse

        return DuckDBWarehouse
    if name == "PostgresWarehouse":
        from okr_kpi.adapters.postgres import PostgresWarehouse

        return PostgresWarehouse
    raise AttributeError(name)


def connect(project: Project, read_only: bool = False) -> Warehouse:
    """A connection to the warehouse of the project's target (read_only: where supported)."""
    return project.adapter.connect(read_only=read_only)


@contextlib.contextmanager
def connected(project: Project, read_only: bool = False) -> Iterator[Warehouse]:
    wh = connect(project, read_only=read_only)
    try:
        yield wh
    finally:
        wh.close()
