"""`okr-kpi lint`: check the OKR/KPI seeds against OKR practice (docs/lint.md lists every rule).

Two layers:
- structure (seeds.py): files, columns, types, allowed values, keys and links — always errors;
- practice (here): 3–5 key results, measurable key results, targets that mean progress,
  cycles, alignment, KPI ownership and thresholds.

Every problem is printed as `path:line: column: LEVEL rule-id: message`, grouped by file,
then a summary line. Exit code 0 when there are no errors (warnings are advice), 2
(ExitCode.USAGE) when there are errors, or warnings with --strict.
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path

import click

from okr_kpi.exit_codes import ExitCode
from okr_kpi.lint_kpi_options import kpi_option_issues
from okr_kpi.lint_row_level import row_level_issues
from okr_kpi.lint_segments import segment_issues
from okr_kpi.project import find_project_dir
from okr_kpi.seeds import ERROR, SPECS, WARNING, SeedIssue, SeedRow, SeedSet, load_seeds

KR_MIN, KR_MAX = 3, 5  # key results per objective (OKR literature)
SUMMABLE = ("sum", "count")  # aggregations whose empty cycle_to_date baseline is 0 (SPEC)


# --- entry points ---------------------------------------------------------------------------

def project_seeds_dir(project_dir: Path | None = None) -> Path:
    """The project's seed directory: the first of dbt_project.yml's seed-paths (default seeds/);
    the project is found as dbt finds it (okr_kpi.project.find_project_dir)."""
    project_dir = find_project_dir(project_dir)
    seed_path = "seeds"
    try:
        import yaml

        config = yaml.safe_load((project_dir / "dbt_project.yml").read_text()) or {}
        seed_path = (config.get("seed-paths") or ["seeds"])[0]
    except (OSError, ValueError, AttributeError, TypeError):
        pass
    return project_dir / seed_path


def lint_seeds(seeds_dir: Path) -> list[SeedIssue]:
    """Every problem in the seeds under seeds_dir, structure first, sorted by file and line."""
    seeds = load_seeds(seeds_dir)
    issues = list(seeds.issues) + practice_issues(seeds)
    return sort_issues(issues)


def lint_command(seeds_dir: Path | None = None, strict: bool = False, project_dir: Path | None = None,
                 as_of: date | None = None) -> int:
    seeds_dir = Path(seeds_dir) if seeds_dir is not None else project_seeds_dir(project_dir)
    issues = lint_seeds(seeds_dir)
    # key results measured by check-ins without a recent one (okr_kpi.checkin, docs/check_ins.md)
    from okr_kpi.checkin import check_in_max_age_days, stale_check_in_issues

    issues = sort_issues(issues + stale_check_in_issues(
        load_seeds(seeds_dir), as_of or date.today(),
        check_in_max_age_days(project_dir if project_dir is not None else seeds_dir.parent)))
    for line in format_issues(issues):
        click.echo(line)
    errors = sum(i.level == ERROR for i in issues)
    warnings = len(issues) - errors
    click.echo(summary_line(errors, warnings, seeds_dir, strict))
    if errors or (strict and warnings):
        return int(ExitCode.USAGE)
    return int(ExitCode.OK)


# --- output -----------------------------------------------------------------------------------

_FILE_ORDER = {spec.file_name: n for n, spec in enumerate(SPECS.values())}


def sort_issues(issues: Iterable[SeedIssue]) -> list[SeedIssue]:
    return sorted(issues, key=lambda i: (_FILE_ORDER.get(i.path.name, 99), str(i.path), i.line,
                                         i.column or "", i.rule, i.message))


def display_path(path: Path) -> str:
    """Relative to the working directory when below it, else as given."""
    try:
        return os.path.relpath(path) if Path(path).resolve().is_relative_to(Path.cwd()) else str(path)
    except ValueError:
        return str(path)


def format_issue(issue: SeedIssue) -> str:
    return (f"{display_path(issue.path)}:{issue.line}: {issue.column or '-'}: "
            f"{issue.level} {issue.rule}: {issue.message}")


def format_issues(issues: list[SeedIssue]) -> list[str]:
    """One line per issue, a blank line between files."""
    lines: list[str] = []
    previous = None
    for issue in sort_issues(issues):
        if previous is not None and issue.path != previous:
            lines.append("")
        lines.append(format_issue(issue))
        previous = issue.path
    return lines


def summary_line(errors: int, warnings: int, seeds_dir: Path, strict: bool) -> str:
    where = display_path(seeds_dir)
    if not errors and not warnings:
        return f"okr-kpi lint: no problems in the seeds under {where}"
    plural = lambda n, word: f"{n} {word}{'' if n == 1 else 's'}"  # noqa: E731
    verdict = "failed" if errors or (strict and warnings) else "passed with advice"
    note = " (--strict: warnings fail)" if strict and warnings and not errors else ""
    return (f"okr-kpi lint {verdict}: {plural(errors, 'error')}, {plural(warnings, 'warning')} "
            f"in the seeds under {where}{note}")


# --- practice rules ---------------------------------------------------------------------------

def practice_issues(seeds: SeedSet) -> list[SeedIssue]:
    ctx = _Context(seeds)
    issues: list[SeedIssue] = []
    for rule in (_kpi_rules, _cycle_rules, _objective_rules, _key_result_rules, _check_in_rules,
                 row_level_issues, kpi_option_issues, segment_issues):
        issues.extend(rule(ctx))
    return issues


class _Context:
    """Lookups shared by the rules; rows with broken values are skipped by the rules that need them."""

    def __init__(self, seeds: SeedSet):
        self.seeds = seeds
        self.kpis = _index(seeds.rows("kpi_definitions"), "kpi_id")
        self.cycles = _index(seeds.rows("okr_cycles"), "cycle_id")
        self.objectives = _index(seeds.rows("okr_objectives"), "objective_id")
        self.key_results = _index(seeds.rows("okr_key_results"), "key_result_id")
        self.thresholds: dict[str, list[SeedRow]] = defaultdict(list)
        for row in seeds.rows("kpi_thresholds"):
            self.thresholds[row["kpi_id"]].append(row)
        self.krs_by_objective: dict[str, list[SeedRow]] = defaultdict(list)
        for row in seeds.rows("okr_key_results"):
            self.krs_by_objective[row["objective_id"]].append(row)
        self.check_ins: dict[str, list[SeedRow]] = defaultdict(list)
        for row in seeds.rows("okr_check_ins"):
            self.check_ins[row["key_result_id"]].append(row)

    def cycle_dates(self, cycle_id: str | None) -> tuple[date, date] | None:
        """(start, end) of a valid cycle, else None."""
        cycle = self.cycles.get(cycle_id)
        if cycle is None or cycle["start_date"] is None or cycle["end_date"] is None:
            return None
        if cycle["start_date"] > cycle["end_date"]:
            return None
        return cycle["start_date"], cycle["end_date"]

    def kr_cycle(self, kr: SeedRow) -> tuple[str, tuple[date, date]] | None:
        objective = self.objectives.get(kr["objective_id"])
        if objective is None:
            return None
        dates = self.cycle_dates(objective["cycle_id"])
        return (objective["cycle_id"], dates) if dates else None


def _index(rows: list[SeedRow], column: str) -> dict[str, SeedRow]:
    out: dict[str, SeedRow] = {}
    for row in rows:
        if row[column] is not None:
            out.setdefault(row[column], row)
    return out


def _fmt(value: float | None) -> str:
    if value is None:
        return "empty"
    return f"{value:g}"


def _kpi_rules(ctx: _Context) -> Iterable[SeedIssue]:
    for kpi_id, kpi in ctx.kpis.items():
        if kpi["owner"] is None:
            yield kpi.issue("owner", WARNING, "kpi-no-owner",
                            f"KPI {kpi_id!r} has no owner: nobody is watching it")
        if ctx.seeds["kpi_thresholds"] is not None and not ctx.thresholds.get(kpi_id):
            yield kpi.issue("kpi_id", WARNING, "kpi-no-thresholds",
                            f"KPI {kpi_id!r} has no thresholds in kpi_thresholds.csv: "
                            "its breaches will only be found by anomaly detection")
    for row in ctx.seeds.rows("kpi_thresholds"):
        low, high = row["lower_bound"], row["upper_bound"]
        if low is not None and high is not None and low > high:
            yield row.issue("lower_bound", ERROR, "kpi-threshold-bounds",
                            f"lower_bound {_fmt(low)} is above upper_bound {_fmt(high)}: "
                            "every value breaches")
        elif low is None and high is None and not ({"lower_bound", "upper_bound"} & row.bad):
            yield row.issue("lower_bound", WARNING, "kpi-threshold-empty",
                            "both lower_bound and upper_bound are empty: the threshold never fires")


def _cycle_rules(ctx: _Context) -> Iterable[SeedIssue]:
    for cycle_id, cycle in ctx.cycles.items():
        start, end = cycle["start_date"], cycle["end_date"]
        if start is not None and end is not None and start > end:
            yield cycle.issue("end_date", ERROR, "okr-cycle-dates",
                              f"cycle {cycle_id!r} ends ({end}) before it starts ({start})")
    # Cycles in use by objectives of the same level and team must not overlap, unless one lies
    # inside the other and is shorter (a quarter inside a half-year or a year: cycles of any length).
    groups: dict[tuple, dict[str, SeedRow]] = defaultdict(dict)
    for objective in ctx.seeds.rows("okr_objectives"):
        if objective["level"] is None or ctx.cycle_dates(objective["cycle_id"]) is None:
            continue
        groups[(objective["level"], objective["team"])].setdefault(objective["cycle_id"], objective)
    for (level, team), first_objective in groups.items():
        cycle_ids = list(first_objective)
        for n, later in enumerate(cycle_ids):
            for earlier in cycle_ids[:n]:
                (s1, e1), (s2, e2) = ctx.cycle_dates(earlier), ctx.cycle_dates(later)
                if s1 <= e2 and s2 <= e1 and not nested((s1, e1), (s2, e2)):
                    who = f"{level} objectives" + (f" of team {team!r}" if team else "")
                    yield first_objective[later].issue(
                        "cycle_id", ERROR, "okr-cycle-overlap",
                        f"cycle {later!r} ({s2}..{e2}) overlaps cycle {earlier!r} ({s1}..{e1}), "
                        f"both used by {who}")


def contains(outer: tuple[date, date], inner: tuple[date, date]) -> bool:
    """Whether the cycle `inner` (start, end) lies within `outer` (equal cycles included)."""
    return outer[0] <= inner[0] and inner[1] <= outer[1]


def nested(a: tuple[date, date], b: tuple[date, date]) -> bool:
    """Whether one of two cycles lies inside the other and is shorter (not the same dates)."""
    return a != b and (contains(a, b) or contains(b, a))


def _objective_rules(ctx: _Context) -> Iterable[SeedIssue]:
    have_krs = ctx.seeds["okr_key_results"] is not None  # else seed-missing-file says it all
    for objective_id, objective in ctx.objectives.items():
        count = len(ctx.krs_by_objective.get(objective_id, []))
        if not have_krs:
            pass
        elif count == 0:
            yield objective.issue("objective_id", ERROR, "okr-kr-count",
                                  f"objective {objective_id!r} has no key results: it cannot be measured")
        elif not KR_MIN <= count <= KR_MAX:
            yield objective.issue("objective_id", WARNING, "okr-kr-count",
                                  f"objective {objective_id!r} has {count} key result"
                                  f"{'' if count == 1 else 's'}; {KR_MIN} to {KR_MAX} are recommended")
        parent_id = objective["parent_objective_id"]
        parent = ctx.objectives.get(parent_id)
        if parent_id is None or parent is None:
            continue  # a missing parent is a seed-broken-link
        parent_dates = ctx.cycle_dates(parent["cycle_id"])
        own_dates = ctx.cycle_dates(objective["cycle_id"])
        # A company objective may align to a company objective of a longer cycle that contains its
        # own (a six-month objective under the fiscal year's); otherwise it is the top of the tree.
        longer_company_parent = (parent["level"] == "company" and parent_dates and own_dates
                                 and nested(parent_dates, own_dates) and contains(parent_dates, own_dates))
        if objective["level"] == "company" and not longer_company_parent:
            yield objective.issue("parent_objective_id", WARNING, "okr-company-parent",
                                  f"company objective {objective_id!r} has a parent ({parent_id!r}): "
                                  "company objectives are the top of the alignment tree")
        if (parent_dates and own_dates and parent["cycle_id"] != objective["cycle_id"]
                and not contains(parent_dates, own_dates)):
            (parent_start, parent_end), (start, end) = parent_dates, own_dates
            yield objective.issue("parent_objective_id", WARNING, "okr-parent-cycle",
                                  f"objective {objective_id!r} is in cycle {objective['cycle_id']!r} "
                                  f"({start}..{end}), which is not inside the cycle {parent['cycle_id']!r} "
                                  f"({parent_start}..{parent_end}) of its parent {parent_id!r}")
    yield from _circles(ctx)


def _circles(ctx: _Context) -> Iterable[SeedIssue]:
    """Each circle of parent links once, at its first objective in the file."""
    reported: set[frozenset] = set()
    for objective_id in ctx.objectives:
        path = [objective_id]
        current = ctx.objectives[objective_id]["parent_objective_id"]
        while current is not None and current in ctx.objectives and current not in path:
            path.append(current)
            current = ctx.objectives[current]["parent_objective_id"]
        if current is None or current not in path:
            continue
        circle = path[path.index(current):]
        if frozenset(circle) in reported:
            continue
        reported.add(frozenset(circle))
        first = min(circle, key=lambda o: ctx.objectives[o].line)
        start = circle.index(first)
        ordered = circle[start:] + circle[:start] + [first]
        yield ctx.objectives[first].issue(
            "parent_objective_id", ERROR, "okr-parent-circular",
            f"parent links go round in a circle: {' -> '.join(ordered)}")


def _sign(x: float) -> int:
    return 0 if math.isclose(x, 0.0, abs_tol=1e-12) else (1 if x > 0 else -1)


def _key_result_rules(ctx: _Context) -> Iterable[SeedIssue]:
    for kr_id, kr in ctx.key_results.items():
        kpi = ctx.kpis.get(kr["kpi_id"]) if kr["kpi_id"] is not None else None
        kr_type, target, baseline = kr["kr_type"], kr["target"], kr["baseline"]
        relative = kr["target_kind"] == "relative"

        # Measurable: a KPI, or check-ins.
        if kr["kpi_id"] is None and not ctx.check_ins.get(kr_id):
            yield kr.issue("kpi_id", WARNING, "okr-kr-measurable",
                           f"key result {kr_id!r} has no kpi_id and no check-ins yet: "
                           "it shows no_data until someone checks in")

        # Weight: empty means 1.
        if kr["weight"] is not None and kr["weight"] <= 0:
            yield kr.issue("weight", ERROR, "okr-weight",
                           f"weight {_fmt(kr['weight'])} must be positive (empty means 1)")

        # The baseline when the seed leaves it empty.
        if baseline is None and kr_type in ("increase", "decrease") and "baseline" not in kr.bad:
            if kpi is None and kr["kpi_id"] is None:
                yield kr.issue("baseline", ERROR, "okr-baseline-required",
                               f"key result {kr_id!r} is measured by check-ins: "
                               "there is no KPI to take an empty baseline from")
            elif (kpi is not None and kr["measure"] == "cycle_to_date"
                  and kpi["aggregation"] is not None and kpi["aggregation"] not in SUMMABLE):
                yield kr.issue("baseline", ERROR, "okr-baseline-required",
                               f"cycle_to_date key result {kr_id!r} on {kpi['aggregation']} KPI "
                               f"{kpi['kpi_id']!r} needs a baseline (only sum and count KPIs start at 0)")
        if (baseline is None and kpi is not None and kr["measure"] == "cycle_to_date"
                and kpi["aggregation"] in SUMMABLE):
            baseline = 0.0  # SPEC: an empty cycle_to_date baseline is 0 for sum and count KPIs

        # Targets of increase / decrease key results.
        if kr_type in ("increase", "decrease") and target is not None and kr["target_kind"] is not None:
            effective = (baseline * (1 + target) if relative else target) if baseline is not None else None
            if relative and _sign(target) == 0:
                yield kr.issue("target", ERROR, "okr-target-equals-baseline",
                               f"relative target 0 of key result {kr_id!r} means no change: progress "
                               "cannot be measured")
                movement = None
            elif effective is not None and _sign(effective - baseline) == 0:
                yield kr.issue("target", ERROR, "okr-target-equals-baseline",
                               f"target {_fmt(effective)} equals baseline {_fmt(baseline)} for key result "
                               f"{kr_id!r}: progress cannot be measured")
                movement = None
            elif effective is not None:
                movement = _sign(effective - baseline)
            else:
                movement = _sign(target) if relative else None  # only a relative target's sign is known
            wanted = 1 if kr_type == "increase" else -1
            if movement is not None and movement != wanted:
                what = (f"relative target {_fmt(target)}" if relative and kr["baseline"] is None
                        else f"target {_fmt(effective)} {'below' if movement < 0 else 'above'} "
                             f"baseline {_fmt(baseline)}")
                yield kr.issue("target", ERROR, "okr-target-direction",
                               f"{kr_type} key result {kr_id!r} has {what}")
            # a neutral KPI has no wrong way: the key result states its own (lint_kpi_options)
            if kpi is not None and kpi["direction"] not in (None, "neutral"):
                good = "higher_is_better" if kr_type == "increase" else "lower_is_better"
                if kpi["direction"] != good:
                    yield kr.issue("kr_type", ERROR, "okr-kpi-direction",
                                   f"{kr_type} key result {kr_id!r} moves KPI {kpi['kpi_id']!r} "
                                   f"the wrong way: the KPI is {kpi['direction']}")

        # The grain must fit in the cycle.
        cycle = ctx.kr_cycle(kr)
        if kr["grain"] is not None and cycle is not None:
            cycle_id, (start, end) = cycle
            if not has_complete_period(start, end, kr["grain"]):
                yield kr.issue("grain", WARNING, "okr-grain-cycle",
                               f"grain {kr['grain']!r} is coarser than cycle {cycle_id!r} "
                               f"({start}..{end}): no complete {kr['grain']} ends inside it")


def _check_in_rules(ctx: _Context) -> Iterable[SeedIssue]:
    for row in ctx.seeds.rows("okr_check_ins"):
        confidence = row["confidence"]
        if confidence is not None and not 0 <= confidence <= 1:
            yield row.issue("confidence", ERROR, "okr-check-in-confidence",
                            f"confidence {_fmt(confidence)} is outside [0, 1]")
        kr = ctx.key_results.get(row["key_result_id"])
        day = row["check_in_date"]
        cycle = ctx.kr_cycle(kr) if kr is not None else None
        if day is None or cycle is None:
            continue
        cycle_id, (start, end) = cycle
        if not start <= day <= end:
            yield row.issue("check_in_date", WARNING, "okr-check-in-outside-cycle",
                            f"check-in of {day} is outside cycle {cycle_id!r} ({start}..{end}) of key "
                            f"result {row['key_result_id']!r}")


# --- calendar -----------------------------------------------------------------------------------

def _period_start_on_or_after(day: date, grain: str) -> date:
    if grain == "day":
        return day
    if grain == "week":  # ISO weeks start on Monday, as dbt's date_trunc on every target
        return day + timedelta(days=(7 - day.weekday()) % 7)
    months = {"month": 1, "quarter": 3, "year": 12}[grain]
    month0 = (day.month - 1) // months * months  # 0-based first month of the period holding day
    first = date(day.year, month0 + 1, 1)
    return first if first == day else _add_months(first, months)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _period_end(start: date, grain: str) -> date:
    if grain == "day":
        return start
    if grain == "week":
        return start + timedelta(days=6)
    months = {"month": 1, "quarter": 3, "year": 12}[grain]
    return _add_months(start, months) - timedelta(days=1)


def has_complete_period(start: date, end: date, grain: str) -> bool:
    """Whether at least one whole calendar period of grain lies within [start, end]."""
    first = _period_start_on_or_after(start, grain)
    return _period_end(first, grain) <= end
