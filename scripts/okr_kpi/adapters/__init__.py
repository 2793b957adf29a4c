"""One module per warehouse behind one interface (the seam; STYLE.md "One seam per warehouse").

The dbt profile's adapter `type` picks the module: duckdb, postgres or spark. Each module holds
everything the Python side does differently on that warehouse:

- the connection (a `Warehouse`: execute, query, load tables, create/insert/transactions),
- the type map (okr_kpi's logical column types -> the warehouse's SQL types),
- transactions (or, on Spark, none: tables are rewritten and swapped in),
- the run lock (`Adapter.run_lock`: a lock file, or a PostgreSQL advisory lock),
- the Great Expectations datasource (`Adapter.gx_datasource`),
- the dbt-invocation quirks (`Adapter.before_dbt`: Spark releases its local session first).

Everything else in the toolkit is adapter-free. A new warehouse is a new module here (plus the
package's dispatch macros), registered in ADAPTERS. Driver packages (psycopg2, pyspark, pyhive)
are imported lazily inside the modules, so a DuckDB-only install never imports them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from okr_kpi.adapters.base import (  # noqa: F401 (the interface, re-exported)
    LOGICAL_TYPES,
    STAGING_SUFFIX,
    Adapter,
    Columns,
    Warehouse,
    WarehouseUnavailable,
    infer_columns,
    quote_ident,
)
from okr_kpi.project import OkrKpiError

if TYPE_CHECKING:
    from okr_kpi.project import Project

# dbt adapter type -> the toolkit's module for it
ADAPTERS = {
    "duckdb": "okr_kpi.adapters.duckdb",
    "postgres": "okr_kpi.adapters.postgres",
    "spark": "okr_kpi.adapters.spark",
}
# dbt adapter type -> the okr-kpi extra that installs its drivers
EXTRAS = {"postgres": "postgres", "spark": "spark"}


def module_name(adapter_type: str, target_name: str | None = None) -> str:
    """The module of an adapter type; an unsupported type is an OkrKpiError (exit 2) naming it."""
    try:
        return ADAPTERS[adapter_type]
    except KeyError:
        where = f" (target {target_name!r})" if target_name else ""
        raise OkrKpiError(f"unsupported adapter type {adapter_type!r}{where}: okr-kpi works with "
                          f"{', '.join(ADAPTERS)}") from None


def adapter_class(adapter_type: str) -> type[Adapter]:
    return importlib.import_module(module_name(adapter_type)).ADAPTER


def adapter_for(project: Project) -> Adapter:
    """The adapter of a project's resolved profile target."""
    return adapter_class(project.profile.adapter_type)(project)


def require(module: str, adapter_type: str, what: str | None = None):
    """Import a driver module of a warehouse; missing, MissingExtra (exit 2) naming the extra of
    that warehouse (okr_kpi.extras.require, the one implementation)."""
    from okr_kpi.extras import require as require_extra

    return require_extra(module, EXTRAS.get(adapter_type, adapter_type), what)
