"""The MetricFlow metrics of the KPI registry: one metric per KPI, named after its kpi_id.

Registering a KPI is one row in `kpi_definitions.csv`; `okr-kpi semantic` turns the registry
into a YAML file of metrics over the package's semantic model `kpi_daily`
(models/semantic/_semantic__kpis.yml), so that

    mf query --metrics <kpi_id> --group-by metric_time__<grain>

returns the same values as fct_kpi_periods. Each aggregation kind maps to one metric shape:

    sum, count      simple metric on the measure kpi_numerator
    ratio, average  ratio metric kpi_numerator_total / kpi_denominator_total
    last            simple metric on kpi_value_last (non-additive over days: the last day)
    min, max        simple metric on kpi_value_min / kpi_value_max
    count_distinct  simple metric on kpi_distinct_members (count_distinct of member)
    percentile      simple metric on kpi_value_p<NN> (percentile p of value, continuous)

every one filtered on its KPI with `{{ Entity('kpi') }} = '<kpi_id>'`.

count_distinct and percentile KPIs are computed from rows, not days: when the registry has any,
the file also holds a semantic model `kpi_rows` over the package's row-level view
int_kpi_row_inputs, with the measure kpi_distinct_members and one continuous percentile measure
per percentile used (MetricFlow's percentile measures take p as a constant).

A KPI with segment_dimensions also gets the metric `<kpi_id>_by_segment`: the same shape on the
measures `kpi_segment_*` of the package's semantic model kpi_segment_daily (over
fct_kpi_segment_daily) or, for a row-level KPI, of a generated semantic model `kpi_segment_rows`
over int_kpi_segment_row_inputs, so that grouped by segment dimension and value it equals
fct_kpi_segment_periods (docs/semantic_layer.md, "By segment").
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from okr_kpi.project import OkrKpiError, find_project_dir
from okr_kpi.seeds import read_seed

# Metric names of the package itself (models/semantic/_semantic__kpis.yml): a KPI may not take them.
RESERVED_NAMES = frozenset({"kpi_numerator_total", "kpi_denominator_total", "kpi_segment_numerator_total",
                            "kpi_segment_denominator_total", "metric_time"})
SEGMENT_SUFFIX = "_by_segment"  # the metric of a KPI by segment: <kpi_id>_by_segment
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

SIMPLE_MEASURES = {
    "sum": "kpi_numerator",
    "count": "kpi_numerator",
    "last": "kpi_value_last",
    "min": "kpi_value_min",
    "max": "kpi_value_max",
}
RATIO_KINDS = ("ratio", "average")
ROW_LEVEL_KINDS = ("count_distinct", "percentile")

# Where a project's metrics file is written (the package itself has no KPI registry: the project
# that installs it, such as examples/demo, has).
CONSUMER_OUT = Path("models/semantic/_kpi__metrics.yml")


class SemanticError(OkrKpiError):
    """A registry that cannot become MetricFlow metrics; the message names file, row and column."""


@dataclass(frozen=True)
class KpiMetric:
    kpi_id: str
    name: str
    description: str
    unit: str
    direction: str
    aggregation: str
    owner: str
    percentile: float | None = None
    segment_dimensions: tuple[str, ...] = ()


def read_kpis(seed_path: Path) -> list[KpiMetric]:
    """The KPIs of a kpi_definitions seed, checked for what MetricFlow needs of a metric name."""
    table = read_seed(Path(seed_path), "kpi_definitions")
    problems = [str(issue) for issue in table.issues if issue.level == "ERROR"]
    seen: dict[str, int] = {}
    kpis: list[KpiMetric] = []
    for row in table.rows:
        kpi_id = row["kpi_id"]
        where = f"{seed_path}:{row.line} (row {row.row}): kpi_id"
        if kpi_id is None:
            continue  # reported by the seed reader
        if not _NAME.match(kpi_id) or "__" in kpi_id or len(kpi_id) > 250:
            problems.append(f"{where}: {kpi_id!r} cannot be a MetricFlow metric name: use lowercase letters, "
                            "digits and single underscores, starting with a letter")
            continue
        if kpi_id in RESERVED_NAMES:
            problems.append(f"{where}: {kpi_id!r} is reserved by the okr_kpi semantic layer")
            continue
        if kpi_id in seen:
            problems.append(f"{where}: {kpi_id!r} is registered twice (first on row {seen[kpi_id]})")
            continue
        seen[kpi_id] = row.row
        if row["aggregation"] is None:
            continue  # reported by the seed reader
        kpis.append(KpiMetric(
            kpi_id=kpi_id,
            name=row.get("name", kpi_id),
            description=row.get("description", ""),
            unit=row.get("unit", ""),
            direction=row.get("direction", ""),
            aggregation=row["aggregation"],
            owner=row.get("owner", ""),
            percentile=_percentile(row, problems, seed_path),
            segment_dimensions=_segment_dimensions(row.raw.get("segment_dimensions")),
        ))
    ids = {k.kpi_id for k in kpis}
    for kpi in kpis:
        if kpi.segment_dimensions and kpi.kpi_id + SEGMENT_SUFFIX in ids:
            problems.append(f"{seed_path}: kpi_id: {kpi.kpi_id + SEGMENT_SUFFIX!r} is the metric of "
                            f"{kpi.kpi_id!r} by segment: rename one of them")
    if problems:
        shown = "\n".join(f"  {p}" for p in problems)
        raise SemanticError(f"{len(problems)} problem(s) in the KPI registry:\n{shown}")
    return kpis


def _segment_dimensions(text: str | None) -> tuple[str, ...]:
    """The declared dimensions of a KPI (`a|b`); their form is checked by `okr-kpi lint`."""
    return tuple(part.strip() for part in (text or "").split("|") if part.strip())


def _percentile(row, problems: list[str], seed_path: Path) -> float | None:
    """The p of a percentile KPI (0 < p < 1; `median` = 0.5), else None; a problem when missing."""
    from okr_kpi.lint_row_level import parse_percentile

    if row["aggregation"] != "percentile":
        return None
    p = parse_percentile(row.raw.get("percentile"))
    if p is None or not 0 < p < 1:
        problems.append(f"{seed_path}:{row.line} (row {row.row}): percentile: percentile KPI "
                        f"{row['kpi_id']!r} needs 0 < p < 1 or median, got {row.raw.get('percentile')!r}")
        return None
    return p


def percentile_measure(p: float) -> str:
    """The measure of percentile p: kpi_value_p90 for 0.9, kpi_value_p50 for the median,
    kpi_value_p99_9 for 0.999."""
    text = f"{p * 100:.6f}".rstrip("0").rstrip(".").replace(".", "_")
    return f"kpi_value_p{text}"


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def _metric(kpi: KpiMetric, enabled_var: str | None, segment: bool = False) -> list[str]:
    where = f"{{{{ Entity('kpi') }}}} = '{kpi.kpi_id}'"
    description = kpi.description.strip() or kpi.name
    prefix = "kpi_segment_" if segment else "kpi_"
    if segment:
        description += f", by segment ({', '.join(kpi.segment_dimensions)})"
    how = {
        "sum": "sum of the days",
        "count": "sum of the daily counts",
        "ratio": "sum(numerator) / sum(denominator) over the period",
        "average": "sum(numerator) / sum(denominator) over the period (weighted by its count)",
        "last": "the value on the period's last day",
        "min": "the lowest daily value",
        "max": "the highest daily value",
        "count_distinct": "distinct members over the period's rows",
        "percentile": f"percentile {kpi.percentile:g} of the period's rows (continuous)"
        if kpi.percentile is not None else "percentile of the period's rows",
    }[kpi.aggregation]
    unit = kpi.unit or "no unit"
    text = f"{description} ({unit}; {kpi.aggregation}: {how})."
    lines = [
        f"  - name: {kpi.kpi_id}{SEGMENT_SUFFIX if segment else ''}",
        f"    label: {_q(kpi.name + (' by segment' if segment else ''))}",
        f"    description: {_q(text)}",
    ]
    if kpi.aggregation in RATIO_KINDS:
        lines += [
            "    type: ratio",
            "    type_params:",
            "      numerator:",
            f"        name: {prefix}numerator_total",
            f"        filter: {_q(where)}",
            "      denominator:",
            f"        name: {prefix}denominator_total",
            f"        filter: {_q(where)}",
        ]
    elif kpi.aggregation == "count_distinct":
        # a period without rows has no member: 0, as in fct_kpi_periods
        lines += [
            "    type: simple",
            "    type_params:",
            "      measure:",
            f"        name: {_simple_measure(kpi, prefix)}",
            "        fill_nulls_with: 0",
            f"    filter: {_q(where)}",
        ]
    else:
        lines += [
            "    type: simple",
            "    type_params:",
            f"      measure: {_simple_measure(kpi, prefix)}",
            f"    filter: {_q(where)}",
        ]
    lines += ["    config:"]
    if enabled_var:
        lines += [f"      enabled: \"{{{{ var('{enabled_var}', true) }}}}\""]
    lines += [
        "      meta:",
        f"        kpi_id: {kpi.kpi_id}",
        f"        unit: {_q(kpi.unit)}",
        f"        direction: {_q(kpi.direction)}",
        f"        aggregation: {kpi.aggregation}",
        f"        owner: {_q(kpi.owner)}",
    ]
    return lines


def _simple_measure(kpi: KpiMetric, prefix: str = "kpi_") -> str:
    if kpi.aggregation == "count_distinct":
        name = "kpi_distinct_members"
    elif kpi.aggregation == "percentile":
        name = percentile_measure(kpi.percentile if kpi.percentile is not None else 0.5)
    else:
        name = SIMPLE_MEASURES[kpi.aggregation]
    return prefix + name.removeprefix("kpi_")


def _row_semantic_model(kpis: list[KpiMetric], segment: bool = False) -> list[str]:
    """The semantic model kpi_rows over int_kpi_row_inputs (count_distinct and percentile KPIs), or
    kpi_segment_rows over int_kpi_segment_row_inputs (their segments)."""
    percentiles = sorted({k.percentile for k in kpis if k.aggregation == "percentile" and k.percentile})
    prefix = "kpi_segment_" if segment else "kpi_"
    if segment:
        lines = [
            "  - name: kpi_segment_rows",
            "    description: >",
            "      One row per event, segment dimension and segment value of the count_distinct and",
            "      percentile KPIs (the package's view int_kpi_segment_row_inputs): distinct members",
            "      and percentiles of a segment are computed over the segment's rows in the period.",
            "    model: ref('int_kpi_segment_row_inputs')",
            "    defaults:",
            "      agg_time_dimension: date_day",
            "    primary_entity: segment_row",
        ]
    else:
        lines = [
            "  - name: kpi_rows",
            "    description: >",
            "      One row per event of the count_distinct and percentile KPIs (the package's view",
            "      int_kpi_row_inputs): distinct members and percentiles are computed over a period's rows.",
            "    model: ref('int_kpi_row_inputs')",
            "    defaults:",
            "      agg_time_dimension: date_day",
            "    primary_entity: kpi_row",
        ]
    lines += [
        "    entities:",
        "      - name: kpi",
        "        type: foreign",
        "        expr: kpi_id",
        "    dimensions:",
        "      - name: date_day",
        "        type: time",
        "        description: The event's day.",
        "        type_params:",
        "          time_granularity: day",
    ]
    if segment:
        lines += [
            "      - name: segment_dimension",
            "        type: categorical",
            "        description: The dimension the KPI is cut by (kpi_definitions.segment_dimensions).",
            "      - name: segment_value",
            "        type: categorical",
            "        description: The segment of the dimension.",
        ]
    lines += [
        "    measures:",
        f"      - name: {prefix}distinct_members",
        "        description: Distinct members of the period's rows (count_distinct KPIs).",
        "        agg: count_distinct",
        "        expr: member",
    ]
    for p in percentiles:
        lines += [
            f"      - name: {prefix}{percentile_measure(p).removeprefix('kpi_')}",
            f"        description: \"Percentile {p:g} of the period's values, continuous "
            "(percentile KPIs).\"",
            "        agg: percentile",
            "        expr: value",
            "        agg_params:",
            f"          percentile: {p!r}",
            "          use_discrete_percentile: false",
            "          use_approximate_percentile: false",
        ]
    return lines


def render_metrics(kpis: list[KpiMetric], *, source: str, enabled_var: str | None = None) -> str:
    """The metrics YAML for `kpis`; `source` is the seed path named in the header."""
    lines = [
        f"# Generated by `okr-kpi semantic` from {source}: one MetricFlow metric per KPI.",
        "# Do not edit: change the seed and run `okr-kpi semantic` again.",
        "version: 2",
        "",
    ]
    if not kpis:
        return "\n".join(lines + ["metrics: []", ""])
    row_level = [k for k in kpis if k.aggregation in ROW_LEVEL_KINDS]
    segmented_rows = [k for k in row_level if k.segment_dimensions]
    if row_level:
        lines.append("semantic_models:")
        lines += _row_semantic_model(row_level)
        if segmented_rows:
            lines += [""] + _row_semantic_model(segmented_rows, segment=True)
        lines.append("")
    lines.append("metrics:")
    for kpi in kpis:
        lines += _metric(kpi, enabled_var)
    for kpi in kpis:
        if kpi.segment_dimensions:
            lines += _metric(kpi, enabled_var, segment=True)
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Paths:
    seed: Path
    out: Path
    enabled_var: str | None
    source: str  # the seed path as written in the header


def default_paths(project_dir: Path | None = None, seed: Path | None = None, out: Path | None = None,
                  enabled_var: str | None = None) -> Paths:
    """Where the project's KPI registry and its metrics file are."""
    project_dir = find_project_dir(project_dir)
    if seed is None:
        found = sorted(p for p in (project_dir / "seeds").rglob("kpi_definitions.csv")
                       if "dbt_packages" not in p.parts)
        if not found:
            raise SemanticError(f"no seeds/**/kpi_definitions.csv in {project_dir}: pass --seed")
        seed = found[0]
    if out is None:
        out = project_dir / CONSUMER_OUT
    seed, out = Path(seed), Path(out)
    try:
        source = str(seed.resolve().relative_to(project_dir))
    except ValueError:
        source = seed.name
    return Paths(seed=seed, out=out, enabled_var=enabled_var, source=source)


def generate(paths: Paths) -> str:
    return render_metrics(read_kpis(paths.seed), source=paths.source, enabled_var=paths.enabled_var)


def stale_diff(paths: Paths) -> str:
    """'' when the metrics file is up to date with the seed, else a unified diff."""
    expected = generate(paths)
    current = paths.out.read_text() if paths.out.exists() else ""
    if current == expected:
        return ""
    return "".join(difflib.unified_diff(current.splitlines(True), expected.splitlines(True),
                                        fromfile=str(paths.out), tofile="generated"))


def write(paths: Paths) -> bool:
    """Write the metrics file; True when it changed."""
    text = generate(paths)
    if paths.out.exists() and paths.out.read_text() == text:
        return False
    paths.out.parent.mkdir(parents=True, exist_ok=True)
    paths.out.write_text(text)
    return True
