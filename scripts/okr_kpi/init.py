"""`okr-kpi init DIR`: scaffold a consumer dbt project that builds and runs as created.

The project installs the okr-kpi dbt package that ships with this toolkit (packages.yml,
`local:` the package's directory, so package and toolkit always match), keeps a DuckDB profile
named after the project, one KPI input model over the user's own table, the six definition seeds
with an example row each, and a README of next steps:

    okr-kpi init my_kpis --source raw.orders --date-column ordered_at --duckdb shop.duckdb
    cd my_kpis && dbt deps && dbt build && okr-kpi run

Everything is validated before anything is written: names (a dbt project name, a kpi_id and the
source's schema, table and columns are identifiers), the target directory (empty, unless
--force), and, when --duckdb names an existing file, that the table and columns exist there.
The templates are package data (okr_kpi/init_templates/).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from okr_kpi import __version__
from okr_kpi.exit_codes import ExitCode
from okr_kpi.project import OkrKpiError
from okr_kpi.resources import dbt_package_dir, init_templates_dir

# A dbt project name and a kpi_id: lowercase identifiers (dbt: letters, digits, underscores).
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# A schema, table or column of the user's warehouse: an unquoted SQL identifier.
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Names a project may not take: the package itself, dbt's own namespaces.
RESERVED = frozenset({"okr_kpi", "dbt", "dbt_utils", "metricflow", "test", "tests"})

# template (under init_templates/) -> file in the new project; {model} is the KPI input model.
FILES = {
    "dbt_project.yml.j2": "dbt_project.yml",
    "packages.yml.j2": "packages.yml",
    "profiles.yml.j2": "profiles.yml",
    "README.md.j2": "README.md",
    "gitignore.j2": ".gitignore",
    "models/sources.yml.j2": "models/sources.yml",
    "models/kpi_input.sql.j2": "models/kpis/{model}.sql",
    "models/source_loads.sql.j2": "models/kpis/{loads_model}.sql",
    "seeds/kpi_definitions.csv.j2": "seeds/kpi_definitions.csv",
    "seeds/kpi_thresholds.csv.j2": "seeds/kpi_thresholds.csv",
    "seeds/okr_cycles.csv.j2": "seeds/okr_cycles.csv",
    "seeds/okr_objectives.csv.j2": "seeds/okr_objectives.csv",
    "seeds/okr_key_results.csv.j2": "seeds/okr_key_results.csv",
    "seeds/okr_check_ins.csv.j2": "seeds/okr_check_ins.csv",
}


class InitError(OkrKpiError):
    """Bad input for `okr-kpi init`: nothing was written."""

    exit_code = ExitCode.USAGE


@dataclass(frozen=True)
class Scaffold:
    directory: Path
    name: str
    files: dict[str, str]  # path relative to directory -> content

    def write(self) -> list[Path]:
        written = []
        for rel, text in self.files.items():
            path = self.directory / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            written.append(path)
        return written


def default_name(directory: Path) -> str:
    """A dbt project name from the directory's name: lowercase, other characters as `_`."""
    name = re.sub(r"[^a-z0-9_]", "_", directory.resolve().name.lower()).strip("_")
    return re.sub(r"_+", "_", name)


def _check_name(value: str, what: str, option: str) -> str:
    if not _NAME.match(value):
        raise InitError(f"{what} {value!r} is not valid: use lowercase letters, digits and _ "
                        f"(a letter first), e.g. my_kpis; give one with {option}")
    return value


def _check_ident(value: str, what: str) -> str:
    if not _IDENT.match(value):
        raise InitError(f"{what} {value!r} is not a plain SQL identifier (letters, digits, _)")
    return value


def _quarter(day: dt.date) -> tuple[str, str, dt.date, dt.date]:
    q = (day.month - 1) // 3 + 1
    start = dt.date(day.year, 3 * q - 2, 1)
    end = (dt.date(day.year + (q == 4), (3 * q) % 12 + 1, 1)) - dt.timedelta(days=1)
    return f"{day.year}-q{q}", f"Q{q} {day.year}", start, end


def inspect_source(duckdb_path: Path, schema: str, table: str,
                   columns: list[str]) -> tuple[dt.date | None, str]:
    """Check the table and columns exist in the DuckDB file; the last day of data (or None) and
    the date column's type."""
    import duckdb

    try:
        con = duckdb.connect(str(duckdb_path), read_only=True)
    except duckdb.Error as err:
        raise InitError(f"cannot open the DuckDB file {duckdb_path}: {str(err).splitlines()[0]}") from None
    try:
        found = {
            row[0].lower(): row[1]
            for row in con.execute(
                "select column_name, data_type from information_schema.columns "
                "where lower(table_schema) = lower(?) and lower(table_name) = lower(?)",
                [schema, table],
            ).fetchall()
        }
        if not found:
            tables = sorted(f"{s}.{t}" for s, t in con.execute(
                "select table_schema, table_name from information_schema.tables "
                "where table_schema not in ('information_schema', 'pg_catalog')").fetchall())
            raise InitError(f"{duckdb_path} has no table {schema}.{table} (it has: "
                            f"{', '.join(tables[:20]) or 'no tables'})")
        for column in columns:
            if column.lower() not in found:
                raise InitError(f"{schema}.{table} in {duckdb_path} has no column {column!r} (it has: "
                                f"{', '.join(sorted(found))})")
        date_column = columns[0]
        try:
            last = con.execute(
                f'select max(cast("{date_column}" as date)) from "{schema}"."{table}"').fetchone()[0]
        except duckdb.Error as err:
            raise InitError(f"{schema}.{table}.{date_column} is not a date or timestamp "
                            f"({found[date_column.lower()]}): {str(err).splitlines()[0]}") from None
        return last, str(found[date_column.lower()]).upper()
    finally:
        con.close()


def plan(directory: Path, *, source: str, date_column: str, duckdb: Path | None = None,
         name: str | None = None, kpi_id: str | None = None, value: str | None = None,
         force: bool = False, today: dt.date | None = None) -> Scaffold:
    """Validate everything and render the project's files; writes nothing."""
    import jinja2

    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise InitError(f"{directory} exists and is not a directory")
    if directory.is_dir() and any(directory.iterdir()) and not force:
        raise InitError(f"{directory} is not empty: choose a new directory, or --force to write "
                        "the project's files into it (files of the same name are replaced)")
    name = _check_name(name or default_name(directory), "project name", "--name")
    if name in RESERVED:
        raise InitError(f"project name {name!r} is taken (by okr-kpi or dbt): choose another with --name")
    if source.count(".") != 1:
        raise InitError(f"--source {source!r}: give the table as SCHEMA.TABLE, e.g. raw.orders")
    source_schema, source_table = source.split(".")
    _check_ident(source_schema, "schema")
    _check_ident(source_table, "table")
    _check_ident(date_column, "date column")
    if value is not None:
        _check_ident(value, "value column")
    aggregation = "sum" if value else "count"
    default_kpi = f"{source_table.lower()}_{value.lower() if value else 'rows'}"
    kpi_id = _check_name(kpi_id or default_kpi, "kpi_id", "--kpi-id")

    today = today or dt.date.today()
    last_day = None
    date_type = "TIMESTAMP"  # unknown without the file: a timestamp (a date column works too)
    if duckdb is not None:
        duckdb = Path(duckdb).expanduser().resolve()
        if not duckdb.is_file():
            raise InitError(f"--duckdb {duckdb}: no such file (leave --duckdb out to start a new one)")
        last_day, date_type = inspect_source(duckdb, source_schema, source_table,
                                  [date_column] + ([value] if value else []))
        duckdb_path = str(duckdb)
    else:
        duckdb_path = f"{name}.duckdb"
    if "'" in duckdb_path or '"' in duckdb_path:
        raise InitError(f"the DuckDB path {duckdb_path!r} holds a quote: rename or move the file")
    # The marts' schema must not be named like the DuckDB file (DuckDB: catalog = file stem).
    schema = "analytics" if Path(duckdb_path).stem.lower() != "analytics" else "okr_analytics"

    package_dir = dbt_package_dir()
    cycle_day = last_day or (today - dt.timedelta(days=1))
    cycle_id, cycle_name, cycle_start, cycle_end = _quarter(cycle_day)
    model_name = f"{name}_kpi_{kpi_id}"
    loads_model = f"{name}_source_loads"
    if value:
        kpi_name = f"{value} of {source_table}"
        description = f"the sum of {value} over the rows of {source_schema}.{source_table} per day"
    else:
        kpi_name = f"Rows of {source_table}"
        description = f"the number of rows of {source_schema}.{source_table} per day"
    context = {
        "version": __version__,
        "name": name,
        "env_prefix": name.upper(),
        "dir_hint": str(directory),
        "package_dir": package_dir.as_posix(),
        "duckdb_path": duckdb_path,
        "duckdb_given": duckdb is not None,
        "schema": schema,
        "source_schema": source_schema,
        "source_table": source_table,
        "date_column": date_column,
        "value_column": value,
        "aggregation": aggregation,
        "kpi_id": kpi_id,
        "kpi_name": kpi_name[:1].upper() + kpi_name[1:],
        "description": description,
        "unit": value or "rows",
        "owner": f"owner@{name.replace('_', '-')}.example",
        "model_name": model_name,
        "loads_model": loads_model,
        "data_source": f"{source_schema}.{source_table}",
        # a DATE column has no hour: only volumes are judged (no early-stop check)
        "has_time": date_type != "DATE",
        "cycle_id": cycle_id,
        "cycle_name": cycle_name,
        "cycle_start": cycle_start.isoformat(),
        "cycle_end": cycle_end.isoformat(),
        "objective_id": f"co-{cycle_id}",
        "last_day": cycle_day.isoformat(),
    }
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(init_templates_dir())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    files = {out.format(model=model_name, loads_model=loads_model):
             env.get_template(template).render(**context)
             for template, out in FILES.items()}
    return Scaffold(directory=directory, name=name, files=files)


def init_project(directory: Path, **options) -> list[Path]:
    """Scaffold the project in `directory` (see `plan`); returns the files written."""
    return plan(directory, **options).write()
