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

every one filtered on its KPI with `{{ Entity('kpi') }} = '<kpi_id>'`.
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
RESERVED_NAMES = frozenset({"kpi_numerator_total", "kpi_denominator_total", "metric_time"})
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

SIMPLE_MEASURES = {
    "sum": "kpi_numerator",
    "count": "kpi_numerator",
    "last": "kpi_value_last",
    "min": "kpi_value_min",
    "max": "kpi_value_max",
}
RATIO_KINDS = ("ratio", "average")

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
        ))
    if problems:
        shown = "\n".join(f"  {p}" for p in problems)
        raise SemanticError(f"{len(problems)} problem(s) in the KPI registry:\n{shown}")
    return kpis


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def _metric(kpi: KpiMetric, enabled_var: str | None) -> list[str]:
    where = f"{{{{ Entity('kpi') }}}} = '{kpi.kpi_id}'"
    description = kpi.description.strip() or kpi.name
    how = {
        "sum": "sum of the days",
        "count": "sum of the daily counts",
        "ratio": "sum(numerator) / sum(denominator) over the period",
        "average": "sum(numerator) / sum(denominator) over the period (weighted by its count)",
        "last": "the value on the period's last day",
        "min": "the lowest daily value",
        "max": "the highest daily value",
    }[kpi.aggregation]
    unit = kpi.unit or "no unit"
    text = f"{description} ({unit}; {kpi.aggregation}: {how})."
    lines = [
        f"  - name: {kpi.kpi_id}",
        f"    label: {_q(kpi.name)}",
        f"    description: {_q(text)}",
    ]
    if kpi.aggregation in RATIO_KINDS:
        lines += [
            "    type: ratio",
            "    type_params:",
            "      numerator:",
            "        name: kpi_numerator_total",
            f"        filter: {_q(where)}",
            "      denominator:",
            "        name: kpi_denominator_total",
            f"        filter: {_q(where)}",
        ]
    else:
        lines += [
            "    type: simple",
            "    type_params:",
            f"      measure: {SIMPLE_MEASURES[kpi.aggregation]}",
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
    lines.append("metrics:")
    for kpi in kpis:
        lines += _metric(kpi, enabled_var)
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
