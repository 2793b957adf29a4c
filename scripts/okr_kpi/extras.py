"""Optional dependencies: the warehouses beyond DuckDB and MetricFlow are pip extras.

    from okr_kpi.extras import require
    psycopg2 = require("psycopg2", "postgres")

imports the module, or stops with a message that says which extra installs it (exit 2).
The extras (pyproject.toml, docs/install.md): postgres, spark, semantic, all, dev.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from okr_kpi.exit_codes import ExitCode
from okr_kpi.project import OkrKpiError

EXTRAS = ("postgres", "spark", "semantic", "all", "dev")


class MissingExtra(OkrKpiError):
    """A module of an optional extra is not installed."""

    exit_code = ExitCode.USAGE


def require(module: str, extra: str, what: str | None = None) -> ModuleType:
    """Import `module`, or raise MissingExtra naming the extra that installs it (`what`: how to
    call the module in the message, e.g. "PyHive (for method thrift)"). The one place an
    optional import is made: the warehouse adapters call it too (okr_kpi.adapters.require)."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        missing = err.name or module
        raise MissingExtra(
            f"{what or module} is not installed ({missing} is missing): this needs the [{extra}] extra: "
            f"pip install 'okr-kpi[{extra}]'"
        ) from None
