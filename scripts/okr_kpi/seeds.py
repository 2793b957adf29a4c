"""A small typed reader of the OKR/KPI seed CSVs (SPEC: "Seeds").

Reading never stops at the first problem: every cell is parsed, and each problem is
recorded as a `SeedIssue` naming the file, the line in the file, the 1-based data row and
the column. `okr-kpi lint` prints them; other code calls `load_seeds(...).raise_for_errors()`
to get one `SeedError` with all of them.

Conventions (the same as dbt's seed loading):
- the first line is the header; extra columns are allowed and kept as text;
- an empty cell (after trimming blanks) is null;
- numbers are plain decimals (`1500`, `-0.2`, `1e3`); dates are `YYYY-MM-DD`;
- `okr_check_ins.csv` may be absent (no check-ins yet); the other five files are required.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from okr_kpi.project import OkrKpiError

ERROR = "ERROR"
WARNING = "WARNING"

GRAINS = ("day", "week", "month", "quarter", "year")


@dataclass(frozen=True)
class Column:
    name: str
    kind: str = "text"  # text | id | enum | number | date
    required: bool = False  # a value is needed in every row
    values: tuple[str, ...] = ()  # allowed values of an enum column
    optional: bool = False  # the file may lack the column (docs/configuration.md: optional seed columns)


@dataclass(frozen=True)
class SeedSpec:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    optional_file: bool = False
    # optional columns that are part of the key when set (a segment's threshold is not a
    # duplicate of the total's): empty or absent cells count as one more value
    key_extra: tuple[str, ...] = ()

    @property
    def file_name(self) -> str:
        return f"{self.name}.csv"

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


def _enum(name: str, values: tuple[str, ...], required: bool = True, optional: bool = False) -> Column:
    return Column(name, "enum", required, values, optional)


SPECS: dict[str, SeedSpec] = {
    spec.name: spec
    for spec in (
        SeedSpec("kpi_definitions", (
            Column("kpi_id", "id", required=True),
            Column("name", required=True),
            Column("description"),
            Column("unit"),
            _enum("direction", ("higher_is_better", "lower_is_better", "neutral")),
            _enum("aggregation", ("sum", "count", "ratio", "average", "last", "min", "max",
                                  "count_distinct", "percentile")),
            Column("owner"),
            Column("data_source"),
            _enum("reporting_frequency", ("daily", "weekly", "monthly", "quarterly")),
            Column("reporting_lag_days", "number", optional=True),  # empty or absent: 0
            Column("segment_dimensions", optional=True),  # `|`-separated (docs/segments.md)
        ), key=("kpi_id",)),
        SeedSpec("kpi_thresholds", (
            Column("kpi_id", required=True),
            _enum("grain", GRAINS),
            _enum("severity", ("warning", "critical")),
            Column("lower_bound", "number"),
            Column("upper_bound", "number"),
            Column("segment_dimension", optional=True),  # empty: the KPI's total (docs/segments.md)
            Column("segment_value", optional=True),
        ), key=("kpi_id", "grain", "severity"), key_extra=("segment_dimension", "segment_value")),
        SeedSpec("okr_cycles", (
            Column("cycle_id", "id", required=True),
            Column("name", required=True),
            Column("start_date", "date", required=True),
            Column("end_date", "date", required=True),
        ), key=("cycle_id",)),
        SeedSpec("okr_objectives", (
            Column("objective_id", "id", required=True),
            Column("cycle_id", required=True),
            Column("title", required=True),
            _enum("level", ("company", "team", "individual")),
            Column("team"),
            Column("owner"),
            Column("parent_objective_id"),
        ), key=("objective_id",)),
        SeedSpec("okr_key_results", (
            Column("key_result_id", "id", required=True),
            Column("objective_id", required=True),
            Column("title", required=True),
            _enum("kr_type", ("increase", "decrease", "maintain_above", "maintain_below", "milestone")),
            Column("kpi_id"),  # empty: measured by check-ins
            _enum("grain", GRAINS, required=False),  # needed when kpi_id is set (checked per row)
            _enum("measure", ("latest_period", "cycle_to_date"), required=False),  # likewise
            Column("baseline", "number"),
            Column("target", "number", required=True),
            _enum("target_kind", ("absolute", "relative")),
            Column("weight", "number"),  # empty: 1
            Column("owner"),
            _enum("baseline_method", ("last_period", "average_of_periods", "same_period_last_year"),
                  required=False, optional=True),  # empty or absent: last_period
            Column("baseline_periods", "number", optional=True),  # N of average_of_periods
            Column("segment_dimension", optional=True),  # empty: the KPI's total (docs/segments.md)
            Column("segment_value", optional=True),
        ), key=("key_result_id",)),
        SeedSpec("okr_check_ins", (
            Column("key_result_id", required=True),
            Column("check_in_date", "date", required=True),
            Column("value", "number", required=True),
            Column("confidence", "number"),
            Column("note"),
        ), key=("key_result_id", "check_in_date"), optional_file=True),
    )
}

# (seed, column) -> (seed, column) it must point to, when not null.
LINKS: tuple[tuple[str, str, str, str], ...] = (
    ("kpi_thresholds", "kpi_id", "kpi_definitions", "kpi_id"),
    ("okr_objectives", "cycle_id", "okr_cycles", "cycle_id"),
    ("okr_objectives", "parent_objective_id", "okr_objectives", "objective_id"),
    ("okr_key_results", "objective_id", "okr_objectives", "objective_id"),
    ("okr_key_results", "kpi_id", "kpi_definitions", "kpi_id"),
    ("okr_check_ins", "key_result_id", "okr_key_results", "key_result_id"),
)

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# An identifier (kpi_id, cycle_id, objective_id, key_result_id) becomes part of Great Expectations
# suite names, file names and URLs: letters, digits, `_`, `-` and `.`, starting with a letter or digit.
ID_MAX_LENGTH = 100
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class SeedIssue:
    """One problem found in a seed file. line 0 means the whole file; row is the 1-based data row."""

    path: Path
    line: int
    column: str | None
    level: str
    rule: str
    message: str
    row: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}"
        if self.row is not None:
            where += f" (row {self.row})"
        return f"{where}: {self.column or '-'}: {self.level} {self.rule}: {self.message}"


class SeedError(OkrKpiError):
    """Seed files that cannot be used; the message lists every problem."""

    def __init__(self, issues: list[SeedIssue]):
        self.issues = issues
        shown = "\n".join(f"  {issue}" for issue in issues[:20])
        more = f"\n  ... and {len(issues) - 20} more" if len(issues) > 20 else ""
        super().__init__(f"{len(issues)} problem(s) in the seed files:\n{shown}{more}")


@dataclass
class SeedRow:
    """One data row: typed values (None for null or unparseable cells) and where it is."""

    path: Path
    row: int  # 1-based data row number
    line: int  # line in the file where the row starts
    values: dict[str, Any]
    raw: dict[str, str]
    bad: set[str] = field(default_factory=set)  # columns whose cell could not be parsed

    def __getitem__(self, column: str) -> Any:
        return self.values.get(column)

    def get(self, column: str, default: Any = None) -> Any:
        value = self.values.get(column)
        return default if value is None else value

    def issue(self, column: str | None, level: str, rule: str, message: str) -> SeedIssue:
        return SeedIssue(self.path, self.line, column, level, rule, message, self.row)


@dataclass
class SeedTable:
    spec: SeedSpec
    path: Path
    header: list[str] = field(default_factory=list)
    rows: list[SeedRow] = field(default_factory=list)
    issues: list[SeedIssue] = field(default_factory=list)

    def __iter__(self) -> Iterator[SeedRow]:
        return iter(self.rows)

    def by_key(self) -> dict[Any, SeedRow]:
        """Rows by key (first occurrence wins); rows with a null key part are left out."""
        out: dict[Any, SeedRow] = {}
        for row in self.rows:
            key = tuple(row[c] for c in self.spec.key)
            if None not in key:
                out.setdefault(key[0] if len(key) == 1 else key, row)
        return out


def _parse(column: Column, text: str) -> tuple[Any, str | None, str | None]:
    """(value, rule, message): rule/message set when the text is not a valid value."""
    if column.kind == "enum":
        if text in column.values:
            return text, None, None
        return None, "seed-bad-enum", f"{text!r} is not one of {', '.join(column.values)}"
    if column.kind == "id":
        if _ID.match(text) and len(text) <= ID_MAX_LENGTH:
            return text, None, None
        return text, "seed-bad-id", (f"{text!r} cannot be an identifier (GX suite names, file names, URLs): "
                                     f"use letters, digits, _, - and . (at most {ID_MAX_LENGTH}), "
                                     "starting with a letter or digit")
    if column.kind == "number":
        try:
            value = float(text)
        except ValueError:
            return None, "seed-bad-number", f"{text!r} is not a number"
        if not math.isfinite(value):
            return None, "seed-bad-number", f"{text!r} is not a finite number"
        return value, None, None
    if column.kind == "date":
        try:
            if not _DATE.match(text):
                raise ValueError
            return date.fromisoformat(text), None, None
        except ValueError:
            return None, "seed-bad-date", f"{text!r} is not a date (YYYY-MM-DD)"
    return text, None, None


def read_seed(path: Path, spec: SeedSpec | str) -> SeedTable:
    """Read one seed file: typed rows plus every structural problem found in it."""
    spec = SPECS[spec] if isinstance(spec, str) else spec
    path = Path(path)
    table = SeedTable(spec, path)

    def file_issue(line: int, column: str | None, rule: str, message: str) -> None:
        table.issues.append(SeedIssue(path, line, column, ERROR, rule, message))

    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        file_issue(0, None, "seed-unreadable", f"not UTF-8 text ({err.reason} at byte {err.start})")
        return table
    except OSError as err:
        file_issue(0, None, "seed-unreadable", f"cannot be read: {err.strerror}")
        return table

    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[tuple[int, list[str]]] = []
    end = 0
    try:
        for cells in reader:
            start, end = end + 1, reader.line_num
            if cells:  # csv yields [] for a blank line
                records.append((start, cells))
    except csv.Error as err:
        file_issue(reader.line_num or 1, None, "seed-unreadable", f"not valid CSV: {err}")
        return table

    if not records:
        file_issue(0, None, "seed-unreadable", "the file is empty: a header line is needed")
        return table
    header_line, header = records[0]
    table.header = [h.strip() for h in header]
    seen: set[str] = set()
    for name in table.header:
        if name in seen:
            file_issue(header_line, name, "seed-unreadable", f"column {name!r} appears twice in the header")
            return table
        seen.add(name)
    missing = [c.name for c in spec.columns if c.name not in seen and not c.optional]
    for name in missing:  # the rows are still read, with the missing column null
        file_issue(header_line, name, "seed-missing-column",
                   f"required column {name!r} is missing (header: {', '.join(table.header)})")

    for number, (line, cells) in enumerate(records[1:], start=1):
        if len(cells) != len(table.header):
            table.issues.append(SeedIssue(
                path, line, None, ERROR, "seed-row-shape",
                f"row has {len(cells)} cells but the header has {len(table.header)}", number))
            continue
        raw = {name: cell.strip() for name, cell in zip(table.header, cells, strict=True)}
        row = SeedRow(path, number, line, dict.fromkeys(missing), raw, set(missing))
        for name, text in raw.items():
            column = spec.column(name) or Column(name)
            if text == "":
                row.values[name] = None
                if column.required:
                    table.issues.append(row.issue(name, ERROR, "seed-empty-value", f"{name} is required"))
                continue
            value, rule, message = _parse(column, text)
            row.values[name] = value
            if rule:
                row.bad.add(name)
                table.issues.append(row.issue(name, ERROR, rule, f"{name}: {message}"))
        table.issues.extend(_row_rules(spec, row))
        table.rows.append(row)

    seen_keys: dict[tuple, SeedRow] = {}
    for row in table.rows:
        key = tuple(row[c] for c in spec.key)
        if None in key:
            continue
        key += tuple(row[c] for c in spec.key_extra)
        if key in seen_keys:
            shown = ", ".join(f"{c}={row.raw[c]}" for c in spec.key)
            extra = [f"{c}={row.raw[c]}" for c in spec.key_extra if row.raw.get(c)]
            shown = ", ".join([shown, *extra])
            table.issues.append(row.issue(
                spec.key[-1], ERROR, "seed-duplicate-key",
                f"duplicate key {shown} (first at line {seen_keys[key].line})"))
        else:
            seen_keys[key] = row
    return table


def _row_rules(spec: SeedSpec, row: SeedRow) -> list[SeedIssue]:
    """Values needed only in some rows."""
    issues = []
    if spec.name == "okr_key_results":
        needs = []
        if row["kpi_id"] is not None:
            needs = ["grain", "measure"]
        elif row["kr_type"] in ("maintain_above", "maintain_below"):
            needs = ["grain"]
        for name in needs:
            if row[name] is None and name not in row.bad:
                why = "it reads a KPI" if row["kpi_id"] is not None else "it is a maintain_* key result"
                issues.append(row.issue(name, ERROR, "seed-empty-value", f"{name} is required because {why}"))
    return issues


@dataclass
class SeedSet:
    """The six seeds of one project; a table is None when its file was not found."""

    seeds_dir: Path
    tables: dict[str, SeedTable | None]
    issues: list[SeedIssue] = field(default_factory=list)

    def __getitem__(self, name: str) -> SeedTable | None:
        return self.tables.get(name)

    def rows(self, name: str) -> list[SeedRow]:
        table = self.tables.get(name)
        return table.rows if table else []

    @property
    def errors(self) -> list[SeedIssue]:
        return [i for i in self.issues if i.level == ERROR]

    def raise_for_errors(self) -> SeedSet:
        if self.errors:
            raise SeedError(self.errors)
        return self


def find_seed_files(seeds_dir: Path) -> dict[str, Path]:
    """Each seed's file under seeds_dir (searched recursively, by file name).

    A seed found in two places is an error: point --seeds-dir at the one to use.
    """
    seeds_dir = Path(seeds_dir)
    if not seeds_dir.is_dir():
        raise OkrKpiError(f"seeds directory {seeds_dir} does not exist")
    found: dict[str, Path] = {}
    for spec in SPECS.values():
        paths = sorted(p for p in seeds_dir.rglob(spec.file_name) if p.is_file())
        if len(paths) > 1:
            listed = ", ".join(str(p) for p in paths)
            raise OkrKpiError(f"{spec.file_name} found {len(paths)} times ({listed}): "
                              "choose one with --seeds-dir")
        if paths:
            found[spec.name] = paths[0]
    if not found:
        names = ", ".join(s.file_name for s in SPECS.values())
        raise OkrKpiError(f"no seed files found under {seeds_dir} (looked for {names})")
    return found


def load_seeds(seeds_dir: Path) -> SeedSet:
    """Read every seed under seeds_dir and check keys and links between them."""
    seeds_dir = Path(seeds_dir)
    files = find_seed_files(seeds_dir)
    seeds = SeedSet(seeds_dir, {})
    for spec in SPECS.values():
        if spec.name not in files:
            seeds.tables[spec.name] = None
            if not spec.optional_file:
                seeds.issues.append(SeedIssue(
                    seeds_dir / spec.file_name, 0, None, ERROR, "seed-missing-file",
                    f"{spec.file_name} not found under {seeds_dir}"))
            continue
        table = read_seed(files[spec.name], spec)
        seeds.tables[spec.name] = table
        seeds.issues.extend(table.issues)
    seeds.issues.extend(check_links(seeds))
    return seeds


def check_links(seeds: SeedSet) -> list[SeedIssue]:
    issues = []
    for source, column, target, target_column in LINKS:
        table, parent = seeds[source], seeds[target]
        if table is None or parent is None or target_column not in parent.header:
            continue  # the missing file or column is reported already
        known = {row[target_column] for row in parent.rows}
        for row in table.rows:
            value = row[column]
            if value is not None and value not in known:
                issues.append(row.issue(
                    column, ERROR, "seed-broken-link",
                    f"{column} {value!r} is not a {target_column} in {parent.path.name}"))
    return issues
