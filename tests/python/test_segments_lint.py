"""Lint of the segment columns (okr_kpi.lint_segments, docs/segments.md): each problem named by
file, line and column; a clean set with segments passes."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest
from okr_kpi.lint import lint_seeds

CLEAN = Path(__file__).resolve().parents[1] / "fixtures" / "lint" / "clean"
KPI, THR, KR = "kpi_definitions.csv", "kpi_thresholds.csv", "okr_key_results.csv"


def _rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(), newline="")))


def add_column(seeds: Path, file: str, column: str, values: dict[int, str]) -> None:
    """Add `column` to `file`, with values[data row number] (1-based) and '' elsewhere."""
    rows = _rows(seeds / file)
    rows[0].append(column)
    for n, row in enumerate(rows[1:], start=1):
        row.append(values.get(n, ""))
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    (seeds / file).write_text(buffer.getvalue())


def cell(seeds: Path, file: str, row: int, column: str) -> str:
    rows = _rows(seeds / file)
    return rows[row][rows[0].index(column)]


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    target = tmp_path / "seeds"
    shutil.copytree(CLEAN, target)
    return target


def issues(seeds: Path) -> set[tuple]:
    return {(i.level, i.rule, i.path.name, i.line, i.column) for i in lint_seeds(seeds)}


def segmented(seeds: Path, dimensions: str = "channel|region", threshold=("channel", "paid"),
              key_result=("channel", "paid")) -> None:
    """KPI row 1 declares `dimensions`; a copy of threshold row 1 and key result row 1 name a segment."""
    add_column(seeds, KPI, "segment_dimensions", {1: dimensions})
    kpi_id = cell(seeds, KPI, 1, "kpi_id")
    thr = _rows(seeds / THR)
    first = thr[1][:]
    first[0] = kpi_id
    with (seeds / THR).open("a") as handle:
        handle.write(",".join(first) + "\n")
    add_column(seeds, THR, "segment_dimension", {len(thr): threshold[0]})
    add_column(seeds, THR, "segment_value", {len(thr): threshold[1]})
    krs = _rows(seeds / KR)
    row = next(n for n, r in enumerate(krs) if n and r[krs[0].index("kpi_id")] == kpi_id
               and r[krs[0].index("measure")] == "latest_period")
    add_column(seeds, KR, "segment_dimension", {row: key_result[0]})
    add_column(seeds, KR, "segment_value", {row: key_result[1]})
    seeds.joinpath(".kr_row").write_text(str(row))


def test_clean_set_with_segments_passes(seeds):
    segmented(seeds)
    assert {i for i in issues(seeds) if i[0] == "ERROR"} == set()


def test_the_same_threshold_for_a_segment_is_no_duplicate(seeds):
    segmented(seeds)
    assert not any(i[1] == "seed-duplicate-key" for i in issues(seeds))


@pytest.mark.parametrize("dimensions", ["Channel", "channel|", "channel,region", "lead channel|x", "a|a"])
def test_ill_formed_dimensions(seeds, dimensions):
    segmented(seeds, dimensions=dimensions, threshold=("", ""), key_result=("", ""))
    assert ("ERROR", "kpi-segment-dimensions", KPI, 2, "segment_dimensions") in issues(seeds)


def test_undeclared_and_incomplete_segments(seeds):
    segmented(seeds, dimensions="channel", threshold=("plan", "pro"), key_result=("", "paid"))
    kr_line = int(seeds.joinpath(".kr_row").read_text()) + 1
    thr_line = len(_rows(seeds / THR))
    found = issues(seeds)
    assert ("ERROR", "segment-undeclared", THR, thr_line, "segment_dimension") in found
    assert ("ERROR", "segment-incomplete", KR, kr_line, "segment_dimension") in found
