"""`okr-kpi lint` and the seed reader (scripts/okr_kpi/lint.py, seeds.py).

Every rule has a failing case and a passing one. The passing set is
tests/fixtures/lint/clean (read its files alongside these tests: the line numbers asserted
below are counted in them by hand). Failing cases copy it into tmp_path and change one cell
or row, so each expected issue is the one the change introduces.

Line numbers of the clean set (line 1 is the header everywhere):
  kpi_definitions   2 revenue (sum), 3 churn_rate (ratio, lower_is_better), 4 customers (last),
                    5 signups (count)
  kpi_thresholds    2 revenue, 3 churn_rate, 4 customers, 5 signups (lower 5 = upper 5)
  okr_cycles        2 2026-q1 (Jan 1 - Mar 31), 3 2026-q2 (Apr 1 - Jun 30)
  okr_objectives    2 co-growth (company, q1), 3 sales-pipeline (team sales, q1, parent co-growth),
                    4 co-retain (company, q2)
  okr_key_results   2 kr-revenue-up, 3 kr-revenue-ctd, 4 kr-churn-down (co-growth);
                    5 kr-signups-up, 6 kr-customers-floor, 7 kr-crm-live (sales-pipeline);
                    8 kr-churn-q2, 9 kr-nps, 10 kr-churn-cap (co-retain)
  okr_check_ins     row 1 line 2 kr-crm-live; row 2 lines 3-4 kr-crm-live (a two-line note);
                    row 3 line 5 kr-nps 2026-04-01; row 4 line 6 kr-nps 2026-06-30
"""

from __future__ import annotations

import csv
import io
import shutil
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from okr_kpi.cli import main
from okr_kpi.lint import has_complete_period, lint_seeds
from okr_kpi.project import OkrKpiError
from okr_kpi.seeds import SeedError, load_seeds, read_seed

CLEAN = Path(__file__).resolve().parents[1] / "fixtures" / "lint" / "clean"
REPO = Path(__file__).resolve().parents[2]

KPI, THR, CYC, OBJ, KR, CHK = (
    "kpi_definitions.csv", "kpi_thresholds.csv", "okr_cycles.csv",
    "okr_objectives.csv", "okr_key_results.csv", "okr_check_ins.csv",
)


# --- helpers ------------------------------------------------------------------------------------

@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    """A fresh copy of the clean set."""
    target = tmp_path / "seeds"
    shutil.copytree(CLEAN, target)
    return target


def _rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(), newline="")))


def _write(path: Path, rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path.write_text(buffer.getvalue())


def set_cell(seeds: Path, file: str, row: int, column: str, value: str) -> None:
    """Change one cell: row is the 1-based data row."""
    rows = _rows(seeds / file)
    rows[row][rows[0].index(column)] = value
    _write(seeds / file, rows)


def drop_rows(seeds: Path, file: str, *data_rows: int) -> None:
    rows = _rows(seeds / file)
    _write(seeds / file, [r for n, r in enumerate(rows) if n not in data_rows])


def append(seeds: Path, file: str, *lines: str) -> None:
    with (seeds / file).open("a") as handle:
        handle.write("".join(line + "\n" for line in lines))


def found(seeds: Path) -> set[tuple]:
    """Every issue as (level, rule, file, line, column)."""
    return {(i.level, i.rule, i.path.name, i.line, i.column) for i in lint_seeds(seeds)}


def E(rule, file, line, column):  # noqa: N802 - reads like the output
    return ("ERROR", rule, file, line, column)


def W(rule, file, line, column):  # noqa: N802
    return ("WARNING", rule, file, line, column)


# --- the clean set passes every rule ------------------------------------------------------------

def test_clean_set_has_no_issue():
    assert found(CLEAN) == set()


def test_clean_set_through_the_cli_exits_0():
    result = CliRunner().invoke(main, ["lint", "--seeds-dir", str(CLEAN)])
    assert result.exit_code == 0, result.output
    assert "no problems" in result.output


# --- structure ----------------------------------------------------------------------------------

@pytest.mark.parametrize("file", [KPI, THR, CYC, OBJ, KR])
def test_missing_required_file(seeds, file):
    (seeds / file).unlink()
    # only the missing file is reported: no broken links to it, no "KPI without thresholds" for each KPI
    assert found(seeds) == {E("seed-missing-file", file, 0, None)}


def test_check_ins_file_may_be_absent(seeds):
    # Passing case for seed-missing-file; the two check-in key results then have nothing to read.
    (seeds / CHK).unlink()
    assert found(seeds) == {W("okr-kr-measurable", KR, 7, "kpi_id"), W("okr-kr-measurable", KR, 9, "kpi_id")}


def test_unparseable_csv(seeds):
    append(seeds, THR, 'revenue,month,critical,"500,')  # quote never closed, on line 6
    assert E("seed-unreadable", THR, 6, None) in found(seeds)


def test_not_utf8(seeds):
    (seeds / THR).write_bytes("kpi_id,grain,severity,lower_bound,upper_bound\nrevenue,day,warning,\xe9,\n"
                              .encode("latin-1"))
    assert E("seed-unreadable", THR, 0, None) in found(seeds)


def test_empty_file(seeds):
    (seeds / THR).write_text("")
    assert E("seed-unreadable", THR, 0, None) in found(seeds)


def test_missing_column_is_reported_on_the_header(seeds):
    rows = _rows(seeds / KPI)
    _write(seeds / KPI, [r[:4] + r[5:] for r in rows])  # drop "direction"
    # The rows are still read: no broken links follow from it.
    assert found(seeds) == {E("seed-missing-column", KPI, 1, "direction")}


def test_row_with_wrong_number_of_cells(seeds):
    append(seeds, CYC, "2026-q3,Q3 2026,2026-07-01")
    assert found(seeds) == {E("seed-row-shape", CYC, 4, None)}


def test_required_value_empty(seeds):
    set_cell(seeds, OBJ, 2, "title", "")
    assert found(seeds) == {E("seed-empty-value", OBJ, 3, "title")}


def test_grain_and_measure_needed_when_a_kpi_is_read(seeds):
    set_cell(seeds, KR, 1, "grain", "")
    set_cell(seeds, KR, 2, "measure", "")
    assert found(seeds) == {E("seed-empty-value", KR, 2, "grain"), E("seed-empty-value", KR, 3, "measure")}


def test_grain_not_needed_for_check_in_key_results(seeds):
    # kr-nps (line 9) has no kpi_id, grain nor measure in the clean set: no issue (see test_clean_set...).
    kr = {r["key_result_id"]: r for r in read_seed(seeds / KR, "okr_key_results")}["kr-nps"]
    assert (kr["kpi_id"], kr["grain"], kr["measure"]) == (None, None, None)


@pytest.mark.parametrize(("file", "row", "column"), [
    (KPI, 1, "direction"),
    (KPI, 2, "aggregation"),
    (KPI, 3, "reporting_frequency"),
    (THR, 1, "grain"),
    (THR, 2, "severity"),
    (OBJ, 2, "level"),
    (KR, 1, "kr_type"),
    (KR, 1, "grain"),
    (KR, 1, "measure"),
    (KR, 1, "target_kind"),
])
def test_bad_enumerated_value(seeds, file, row, column):
    set_cell(seeds, file, row, column, "fortnightly")
    assert found(seeds) == {E("seed-bad-enum", file, row + 1, column)}


@pytest.mark.parametrize(("file", "row", "column", "value", "rule"), [
    (KR, 4, "baseline", "two hundred", "seed-bad-number"),
    (KR, 1, "target", "30%", "seed-bad-number"),
    (THR, 1, "lower_bound", "1,000", "seed-bad-number"),
    (THR, 1, "lower_bound", "nan", "seed-bad-number"),
    (CYC, 1, "start_date", "2026-02-30", "seed-bad-date"),
    (CYC, 2, "end_date", "30/06/2026", "seed-bad-date"),
    # the check-in after the two-line note: data row 3 is on line 5
    (CHK, 3, "check_in_date", "2026-04", "seed-bad-date"),
    (CHK, 3, "confidence", "high", "seed-bad-number"),
])
def test_bad_number_or_date(seeds, file, row, column, value, rule):
    set_cell(seeds, file, row, column, value)
    line = 5 if file == CHK else row + 1
    assert found(seeds) == {E(rule, file, line, column)}


@pytest.mark.parametrize(("file", "line", "key_column"), [
    (KPI, "signups,Signups again,,,higher_is_better,count,marketing,,weekly", "kpi_id"),
    (THR, "revenue,day,warning,2000,", "severity"),
    (CHK, "kr-nps,2026-06-30,45,0.5,", "check_in_date"),
])
def test_duplicate_keys(seeds, file, line, key_column):
    append(seeds, file, line)
    expected_line = 7 if file == CHK else 6
    assert found(seeds) == {E("seed-duplicate-key", file, expected_line, key_column)}


def test_same_kpi_and_grain_with_another_severity_is_no_duplicate(seeds):
    append(seeds, THR, "revenue,day,critical,500,")
    assert found(seeds) == set()


@pytest.mark.parametrize(("file", "row", "column", "value"), [
    (OBJ, 3, "cycle_id", "2026-q3"),  # objective -> cycle
    (OBJ, 2, "parent_objective_id", "co-grwth"),  # parent -> objective
    (KR, 1, "kpi_id", "revnue"),  # key result -> KPI
])
def test_broken_links(seeds, file, row, column, value):
    set_cell(seeds, file, row, column, value)
    assert found(seeds) == {E("seed-broken-link", file, row + 1, column)}


@pytest.mark.parametrize(("file", "line", "column"), [
    (THR, "revnue,week,warning,1,", "kpi_id"),  # threshold -> KPI
    (KR, "kr-x,co-grwth,Typo,increase,revenue,month,latest_period,,0.1,relative,,cfo,", "objective_id"),
    (CHK, "kr-npx,2026-05-01,40,0.5,", "key_result_id"),  # check-in -> key result
])
def test_broken_links_in_appended_rows(seeds, file, line, column):
    append(seeds, file, line)
    expected_line = 7 if file == CHK else (11 if file == KR else 6)
    assert found(seeds) == {E("seed-broken-link", file, expected_line, column)}


def test_seed_error_names_file_row_line_and_column(seeds):
    set_cell(seeds, CHK, 3, "confidence", "high")
    with pytest.raises(SeedError) as raised:
        load_seeds(seeds).raise_for_errors()
    message = str(raised.value)
    assert f"{seeds / CHK}:5 (row 3): confidence: ERROR seed-bad-number" in message


def test_reader_types_values():
    loaded = load_seeds(CLEAN).raise_for_errors()
    cycle = loaded["okr_cycles"].by_key()["2026-q2"]
    assert (cycle["start_date"], cycle["end_date"]) == (date(2026, 4, 1), date(2026, 6, 30))
    kr = loaded["okr_key_results"].by_key()["kr-revenue-up"]
    assert (kr["target"], kr["baseline"], kr["weight"], kr["comment"]) == (0.30, None, 2.0,
                                                                            "an extra column is fine")
    check_in = loaded["okr_check_ins"].rows[1]
    assert (check_in.row, check_in.line) == (2, 3)
    assert check_in["note"] == "live on the last day\n(a note over two lines)"


# --- KPI rules ----------------------------------------------------------------------------------

def test_threshold_lower_above_upper(seeds):
    set_cell(seeds, THR, 4, "lower_bound", "6")  # upper is 5; the clean 5 <= 5 passes
    assert found(seeds) == {E("kpi-threshold-bounds", THR, 5, "lower_bound")}


def test_threshold_without_bounds(seeds):
    set_cell(seeds, THR, 1, "lower_bound", "")
    assert found(seeds) == {W("kpi-threshold-empty", THR, 2, "lower_bound")}


def test_kpi_without_owner(seeds):
    set_cell(seeds, KPI, 4, "owner", "")
    assert found(seeds) == {W("kpi-no-owner", KPI, 5, "owner")}


def test_kpi_without_thresholds(seeds):
    drop_rows(seeds, THR, 4)  # signups
    assert found(seeds) == {W("kpi-no-thresholds", KPI, 5, "kpi_id")}


# --- cycles -------------------------------------------------------------------------------------

def test_cycle_ending_before_it_starts(seeds):
    set_cell(seeds, CYC, 2, "end_date", "2026-03-31")
    assert found(seeds) == {E("okr-cycle-dates", CYC, 3, "end_date")}


def test_overlapping_cycles_for_the_same_level_and_team(seeds):
    # q2 now starts on q1's last day; both hold company objectives (co-growth, co-retain).
    set_cell(seeds, CYC, 2, "start_date", "2026-03-31")
    assert found(seeds) == {E("okr-cycle-overlap", OBJ, 4, "cycle_id")}


def test_overlapping_cycles_of_different_teams_pass(seeds):
    set_cell(seeds, CYC, 2, "start_date", "2026-03-31")
    set_cell(seeds, OBJ, 3, "level", "team")
    set_cell(seeds, OBJ, 3, "team", "success")
    # co-retain is now the success team's; sales-pipeline (team sales) and co-growth (company) are in q1.
    assert found(seeds) == set()


# --- objectives ---------------------------------------------------------------------------------

def test_objective_without_key_results_is_an_error(seeds):
    append(seeds, OBJ, "co-empty,2026-q2,An objective nobody measures,company,,ceo,")
    assert found(seeds) == {E("okr-kr-count", OBJ, 5, "objective_id")}


def test_objective_with_two_key_results_is_warned(seeds):
    drop_rows(seeds, KR, 9)  # kr-churn-cap: co-retain keeps 2
    assert found(seeds) == {W("okr-kr-count", OBJ, 4, "objective_id")}


def _add_krs(seeds: Path, objective: str, count: int) -> None:
    row = "kr-extra-{n},{objective},Extra {n},increase,revenue,month,latest_period,,0.1,relative,,x,"
    append(seeds, KR, *(row.format(n=n, objective=objective) for n in range(count)))


def test_objective_with_six_key_results_is_warned(seeds):
    _add_krs(seeds, "sales-pipeline", 3)
    assert found(seeds) == {W("okr-kr-count", OBJ, 3, "objective_id")}


def test_objective_with_five_key_results_passes(seeds):
    _add_krs(seeds, "sales-pipeline", 2)
    assert found(seeds) == set()


def test_parent_circle_of_one(seeds):
    set_cell(seeds, OBJ, 2, "parent_objective_id", "sales-pipeline")
    assert found(seeds) == {E("okr-parent-circular", OBJ, 3, "parent_objective_id")}


def test_parent_circle_of_two(seeds):
    set_cell(seeds, OBJ, 1, "parent_objective_id", "sales-pipeline")
    # reported once, at co-growth (line 2), which is also a company objective with a parent
    assert found(seeds) == {E("okr-parent-circular", OBJ, 2, "parent_objective_id"),
                            W("okr-company-parent", OBJ, 2, "parent_objective_id")}
    message = next(i.message for i in lint_seeds(seeds) if i.rule == "okr-parent-circular")
    assert "co-growth -> sales-pipeline -> co-growth" in message


def test_parent_in_another_cycle(seeds):
    set_cell(seeds, OBJ, 2, "cycle_id", "2026-q2")
    # sales-pipeline moves to q2, its parent stays in q1;
    # kr-crm-live's q1 check-ins are now outside its cycle.
    assert found(seeds) == {W("okr-parent-cycle", OBJ, 3, "parent_objective_id"),
                            W("okr-check-in-outside-cycle", CHK, 2, "check_in_date"),
                            W("okr-check-in-outside-cycle", CHK, 3, "check_in_date")}


def test_parent_in_a_longer_cycle_that_contains_the_childs_passes(seeds):
    # co-growth becomes a half-year objective; its child sales-pipeline stays in q1 (inside h1),
    # and co-retain's q2 (company, like co-growth) lies inside h1 too: no overlap either.
    append(seeds, CYC, "2026-h1,H1 2026,2026-01-01,2026-06-30")
    set_cell(seeds, OBJ, 1, "cycle_id", "2026-h1")
    assert found(seeds) == set()


def test_parent_in_a_longer_cycle_that_does_not_contain_the_childs_warns(seeds):
    # February to July holds q2 but not q1, where the child sales-pipeline is.
    append(seeds, CYC, "2026-feb-jul,February to July,2026-02-01,2026-07-31")
    set_cell(seeds, OBJ, 1, "cycle_id", "2026-feb-jul")
    assert found(seeds) == {W("okr-parent-cycle", OBJ, 3, "parent_objective_id")}
    message = next(i.message for i in lint_seeds(seeds) if i.rule == "okr-parent-cycle")
    assert "'2026-q1' (2026-01-01..2026-03-31), which is not inside the cycle '2026-feb-jul'" in message


def test_two_cycles_with_the_same_dates_overlap(seeds):
    # Nested cycles pass only when one is shorter: the same dates twice is one cycle twice.
    append(seeds, CYC, "2026-q1-again,Q1 2026 again,2026-01-01,2026-03-31")
    set_cell(seeds, OBJ, 3, "cycle_id", "2026-q1-again")
    assert found(seeds) == {E("okr-cycle-overlap", OBJ, 4, "cycle_id"),
                            W("okr-check-in-outside-cycle", CHK, 5, "check_in_date"),
                            W("okr-check-in-outside-cycle", CHK, 6, "check_in_date")}


def test_company_objective_under_a_longer_company_objective_passes(seeds):
    append(seeds, CYC, "2026-h1,H1 2026,2026-01-01,2026-06-30")
    append(seeds, OBJ, "co-h1,2026-h1,A strong first half,company,,ceo,")
    _add_krs(seeds, "co-h1", 3)
    set_cell(seeds, OBJ, 1, "parent_objective_id", "co-h1")
    assert found(seeds) == set()


def test_company_objective_with_a_parent(seeds):
    append(seeds, OBJ, "co-profit,2026-q1,Profitable growth,company,,cfo,co-growth")
    _add_krs(seeds, "co-profit", 3)
    assert found(seeds) == {W("okr-company-parent", OBJ, 5, "parent_objective_id")}


# --- key results --------------------------------------------------------------------------------

def test_key_result_without_kpi_nor_check_ins(seeds):
    drop_rows(seeds, CHK, 3, 4)  # kr-nps's check-ins
    assert found(seeds) == {W("okr-kr-measurable", KR, 9, "kpi_id")}


@pytest.mark.parametrize(("row", "changes"), [
    (3, {"target": "0.05"}),  # kr-churn-down: baseline 0.05
    (7, {"target": "0"}),  # kr-churn-q2: relative 0 = no change
    (4, {"baseline": "0"}),  # kr-signups-up: 0 x (1 + 0.2) = 0
    (2, {"target": "0"}),  # kr-revenue-ctd: cycle_to_date of a sum KPI starts at 0
    (2, {"target": "0.5", "target_kind": "relative"}),  # ... and 0 x 1.5 = 0
])
def test_target_equal_to_baseline(seeds, row, changes):
    for column, value in changes.items():
        set_cell(seeds, KR, row, column, value)
    assert found(seeds) == {E("okr-target-equals-baseline", KR, row + 1, "target")}


@pytest.mark.parametrize(("row", "target"), [
    (8, "20"),  # kr-nps: increase, baseline 30
    (3, "0.07"),  # kr-churn-down: decrease, baseline 0.05
    (1, "-0.1"),  # kr-revenue-up: increase, empty baseline, relative target below 0
    (7, "0.2"),  # kr-churn-q2: decrease, empty baseline, relative target above 0
])
def test_target_in_the_wrong_direction(seeds, row, target):
    set_cell(seeds, KR, row, "target", target)
    assert found(seeds) == {E("okr-target-direction", KR, row + 1, "target")}


def test_absolute_target_with_empty_baseline_cannot_be_checked(seeds):
    set_cell(seeds, KR, 1, "target_kind", "absolute")
    set_cell(seeds, KR, 1, "target", "-5")  # kr-revenue-up, latest_period: baseline comes from the data
    assert found(seeds) == set()


@pytest.mark.parametrize(("row", "changes"), [
    (3, {"kr_type": "increase", "target": "0.07"}),  # churn (lower_is_better) up, from 0.05 to 0.07
    (1, {"kr_type": "decrease", "target": "-0.3"}),  # revenue (higher_is_better) 30% down
])
def test_key_result_against_the_kpi_direction(seeds, row, changes):
    for column, value in changes.items():
        set_cell(seeds, KR, row, column, value)
    assert found(seeds) == {E("okr-kpi-direction", KR, row + 1, "kr_type")}


@pytest.mark.parametrize(("row", "changes"), [
    (7, {"measure": "cycle_to_date"}),  # kr-churn-q2: ratio KPI, empty baseline
    # kr-customers-floor on customers, a `last` KPI
    (5, {"kr_type": "increase", "measure": "cycle_to_date", "target": "0.1", "target_kind": "relative"}),
    (8, {"baseline": ""}),  # kr-nps: check-ins, nothing to take a baseline from
])
def test_baseline_required(seeds, row, changes):
    for column, value in changes.items():
        set_cell(seeds, KR, row, column, value)
    assert found(seeds) == {E("okr-baseline-required", KR, row + 1, "baseline")}


def test_empty_cycle_to_date_baseline_of_a_count_kpi_passes(seeds):
    # kr-signups-up on signups (count): baseline 0, 500 signups in the cycle
    for column, value in {"measure": "cycle_to_date", "baseline": "", "target": "500",
                          "target_kind": "absolute"}.items():
        set_cell(seeds, KR, 4, column, value)
    assert found(seeds) == set()


@pytest.mark.parametrize("weight", ["0", "-1"])
def test_weight_not_positive(seeds, weight):
    set_cell(seeds, KR, 8, "weight", weight)  # clean: 0.5 on this row, empty on others: both pass
    assert found(seeds) == {E("okr-weight", KR, 9, "weight")}


@pytest.mark.parametrize(("grain", "issue"), [("year", True), ("quarter", False)])
def test_grain_coarser_than_the_cycle(seeds, grain, issue):
    set_cell(seeds, KR, 7, "grain", grain)  # kr-churn-q2 in 2026-q2 = exactly one quarter
    assert found(seeds) == ({W("okr-grain-cycle", KR, 8, "grain")} if issue else set())


def test_has_complete_period():
    assert has_complete_period(date(2026, 4, 1), date(2026, 6, 30), "quarter")
    assert not has_complete_period(date(2026, 2, 1), date(2026, 4, 30), "quarter")  # 89 days
    assert has_complete_period(date(2026, 2, 1), date(2026, 4, 30), "month")
    assert not has_complete_period(date(2026, 1, 2), date(2026, 1, 31), "month")
    # 2026-01-05 is a Monday: Mon..Sun is a whole week, Tue..Mon is not
    assert has_complete_period(date(2026, 1, 5), date(2026, 1, 11), "week")
    assert not has_complete_period(date(2026, 1, 6), date(2026, 1, 12), "week")
    assert not has_complete_period(date(2026, 1, 1), date(2026, 12, 30), "year")
    assert has_complete_period(date(2026, 1, 1), date(2026, 12, 31), "year")
    assert has_complete_period(date(2026, 1, 1), date(2026, 1, 1), "day")


# --- check-ins ----------------------------------------------------------------------------------

def test_check_in_outside_the_cycle(seeds):
    set_cell(seeds, CHK, 4, "check_in_date", "2026-07-01")  # kr-nps's cycle ends 2026-06-30
    assert found(seeds) == {W("okr-check-in-outside-cycle", CHK, 6, "check_in_date")}


@pytest.mark.parametrize("confidence", ["1.1", "-0.1"])
def test_confidence_outside_0_1(seeds, confidence):
    set_cell(seeds, CHK, 3, "confidence", confidence)  # clean: 0 and 1 pass
    assert found(seeds) == {E("okr-check-in-confidence", CHK, 5, "confidence")}


# --- the command ----------------------------------------------------------------------------------

def test_cli_exits_2_on_errors_and_names_file_line_column(seeds):
    set_cell(seeds, KR, 3, "target", "0.05")
    set_cell(seeds, KPI, 4, "owner", "")
    result = CliRunner().invoke(main, ["lint", "--seeds-dir", str(seeds)])
    assert result.exit_code == 2, result.output
    lines = result.output.splitlines()
    assert f"{seeds / KR}:4: target: ERROR okr-target-equals-baseline: target 0.05 equals baseline 0.05 " \
           "for key result 'kr-churn-down': progress cannot be measured" in lines
    assert any(line.startswith(f"{seeds / KPI}:5: owner: WARNING kpi-no-owner: ") for line in lines)
    # grouped by file (kpi_definitions first, a blank line between files), then the summary
    assert lines.index("") == 1 and lines[0].startswith(str(seeds / KPI))
    assert lines[-1].startswith("okr-kpi lint failed: 1 error, 1 warning")


def test_cli_warnings_pass_unless_strict(seeds):
    set_cell(seeds, KPI, 4, "owner", "")
    result = CliRunner().invoke(main, ["lint", "--seeds-dir", str(seeds)])
    assert result.exit_code == 0, result.output
    assert "passed with advice: 0 errors, 1 warning" in result.output
    strict = CliRunner().invoke(main, ["lint", "--seeds-dir", str(seeds), "--strict"])
    assert strict.exit_code == 2, strict.output


def test_cli_finds_the_project_seeds_recursively(tmp_path, monkeypatch):
    (tmp_path / "dbt_project.yml").write_text("name: okr_kpi\nseed-paths: ['seeds']\n")
    shutil.copytree(CLEAN, tmp_path / "seeds" / "demo")
    monkeypatch.setenv("OKR_KPI_PROJECT_DIR", str(tmp_path))
    result = CliRunner().invoke(main, ["lint"])
    assert result.exit_code == 0, result.output
    assert "no problems" in result.output


def test_a_seed_found_twice_is_an_error_unless_narrowed(tmp_path, monkeypatch):
    (tmp_path / "dbt_project.yml").write_text("name: okr_kpi\n")
    shutil.copytree(CLEAN, tmp_path / "seeds" / "demo")
    (tmp_path / "seeds" / "mine").mkdir()
    shutil.copy(CLEAN / KPI, tmp_path / "seeds" / "mine" / KPI)
    monkeypatch.setenv("OKR_KPI_PROJECT_DIR", str(tmp_path))
    result = CliRunner().invoke(main, ["lint"])
    assert result.exit_code == 2
    assert "kpi_definitions.csv found 2 times" in result.output and "--seeds-dir" in result.output
    narrowed = CliRunner().invoke(main, ["lint", "--seeds-dir", str(tmp_path / "seeds" / "demo")])
    assert narrowed.exit_code == 0, narrowed.output


def test_no_seed_files_at_all(tmp_path):
    with pytest.raises(OkrKpiError, match="no seed files found"):
        load_seeds(tmp_path)


def test_the_repository_seeds_have_no_errors():
    demo = REPO / "examples" / "demo" / "seeds"  # the demo company's project
    assert (demo / KR).exists()
    errors = [str(i) for i in lint_seeds(demo) if i.level == "ERROR"]
    assert errors == []


# --- row-level KPIs (count_distinct, percentile): scripts/okr_kpi/lint_row_level.py ------------

P90 = "p90_latency,p90 latency,p90,ms,lower_is_better,percentile,platform,raw.requests,daily"
MEDIAN = "median_wait,Median wait,median wait,minutes,lower_is_better,percentile,ops,raw.visits,daily"
USERS = "active_users,Active users,distinct,users,higher_is_better,count_distinct,product,raw.events,daily"

def test_percentile_kpis_pass(seeds):
    # line 6: a p90 KPI, line 7: a median KPI, line 8: a distinct count; no percentile elsewhere
    add_column(seeds, KPI, "percentile", {})
    append(seeds, KPI, P90 + ",0.9", MEDIAN + ",median", USERS + ",")
    append(seeds, THR, "p90_latency,day,warning,,800", "median_wait,day,warning,,30",
           "active_users,month,warning,10,")
    assert found(seeds) == set()


@pytest.mark.parametrize("value, rule", [
    ("", "kpi-percentile-missing"),
    ("90", "kpi-percentile-range"),
    ("0", "kpi-percentile-range"),
    ("1", "kpi-percentile-range"),
    ("-0.5", "kpi-percentile-range"),
    ("p90", "kpi-percentile-range"),
])
def test_percentile_missing_or_out_of_range(seeds, value, rule):
    add_column(seeds, KPI, "percentile", {})
    append(seeds, KPI, f"{P90},{value}")
    append(seeds, THR, "p90_latency,day,warning,,800")
    assert found(seeds) == {E(rule, KPI, 6, "percentile")}


def test_percentile_column_absent_for_a_percentile_kpi(seeds):
    # a seed without the optional column: the percentile KPI still needs one
    append(seeds, KPI, P90)
    append(seeds, THR, "p90_latency,day,warning,,800")
    assert found(seeds) == {E("kpi-percentile-missing", KPI, 6, "percentile")}


def test_percentile_on_a_kpi_of_another_kind(seeds):
    add_column(seeds, KPI, "percentile", {1: "0.5"})  # revenue is a sum
    assert found(seeds) == {W("kpi-percentile-unused", KPI, 2, "percentile")}


def test_cycle_to_date_on_a_row_level_kpi(seeds):
    append(seeds, KPI, USERS)
    append(seeds, THR, "active_users,month,warning,10,")
    set_cell(seeds, KR, 2, "kpi_id", "active_users")  # kr-revenue-ctd, line 3: cycle_to_date
    set_cell(seeds, KR, 2, "baseline", "0")
    assert found(seeds) == {E("okr-cycle-to-date-row-level", KR, 3, "measure")}
    set_cell(seeds, KR, 2, "measure", "latest_period")
    set_cell(seeds, KR, 2, "grain", "month")


# --- KPI options (issue 13: neutral, reporting_lag_days, baseline_method) ------------------------

def add_column(seeds: Path, file: str, column: str, values: dict[int, str] | None = None) -> None:
    """Add an (optional) column to a seed, empty except on the given 1-based data rows."""
    rows = _rows(seeds / file)
    rows[0].append(column)
    for n in range(1, len(rows)):
        rows[n].append((values or {}).get(n, ""))
    _write(seeds / file, rows)


def test_optional_columns_may_be_absent_or_empty(seeds):
    assert found(seeds) == set()  # the clean set has none of them
    add_column(seeds, KPI, "reporting_lag_days")
    add_column(seeds, KR, "baseline_method")
    add_column(seeds, KR, "baseline_periods")
    assert found(seeds) == set()


def test_unknown_direction_and_baseline_method(seeds):
    set_cell(seeds, KPI, 1, "direction", "sideways")
    add_column(seeds, KR, "baseline_method", {1: "median_of_periods"})
    assert {(level, rule, file, line, column) for level, rule, file, line, column in found(seeds)} == {
        E("seed-bad-enum", KPI, 2, "direction"),
        E("seed-bad-enum", KR, 2, "baseline_method"),
    }


@pytest.mark.parametrize(("lag", "issue"), [
    ("-1", E("kpi-reporting-lag", KPI, 3, "reporting_lag_days")),
    ("2.5", E("kpi-reporting-lag", KPI, 3, "reporting_lag_days")),
    ("32", W("kpi-reporting-lag-grain", KPI, 3, "reporting_lag_days")),  # churn_rate: monthly
    ("31", None),
    ("0", None),
    ("", None),
])
def test_reporting_lag(seeds, lag, issue):
    add_column(seeds, KPI, "reporting_lag_days", {2: lag})
    assert found(seeds) == ({issue} if issue else set())


def test_reporting_lag_longer_than_a_day_of_a_daily_kpi(seeds):
    add_column(seeds, KPI, "reporting_lag_days", {1: "2", 4: "7"})  # revenue daily; signups weekly
    assert found(seeds) == {W("kpi-reporting-lag-grain", KPI, 2, "reporting_lag_days")}


@pytest.mark.parametrize(("periods", "issue"), [
    ("", True), ("0", True), ("-2", True), ("1.5", True), ("1", False), ("3", False),
])
def test_average_of_periods_needs_baseline_periods(seeds, periods, issue):
    add_column(seeds, KR, "baseline_method", {1: "average_of_periods"})  # kr-revenue-up
    add_column(seeds, KR, "baseline_periods", {1: periods})
    assert found(seeds) == ({E("okr-baseline-periods", KR, 2, "baseline_periods")} if issue else set())


@pytest.mark.parametrize("method", ["", "last_period", "same_period_last_year"])
def test_baseline_periods_without_average_is_ignored(seeds, method):
    add_column(seeds, KR, "baseline_method", {1: method})
    add_column(seeds, KR, "baseline_periods", {1: "3"})
    assert found(seeds) == {W("okr-baseline-periods-ignored", KR, 2, "baseline_periods")}


def test_baseline_method_with_an_explicit_baseline_is_ignored(seeds):
    add_column(seeds, KR, "baseline_method", {3: "same_period_last_year"})  # kr-churn-down: baseline 0.05
    assert found(seeds) == {W("okr-baseline-method-ignored", KR, 4, "baseline_method")}


@pytest.mark.parametrize(("row", "method", "issue"), [
    (2, "same_period_last_year", True),   # kr-revenue-ctd: cycle_to_date, empty baseline
    (2, "last_period", False),            # the default says nothing new
    (7, "same_period_last_year", False),  # kr-churn-q2: latest_period
])
def test_baseline_method_needs_a_latest_period_key_result(seeds, row, method, issue):
    add_column(seeds, KR, "baseline_method", {row: method})
    assert found(seeds) == ({E("okr-baseline-method-measure", KR, row + 1, "baseline_method")}
                            if issue else set())


def test_baseline_method_on_check_ins(seeds):
    set_cell(seeds, KR, 8, "baseline", "")  # kr-nps: check-ins
    add_column(seeds, KR, "baseline_method", {8: "average_of_periods"})
    add_column(seeds, KR, "baseline_periods", {8: "2"})
    assert E("okr-baseline-method-measure", KR, 9, "baseline_method") in found(seeds)


@pytest.mark.parametrize(("row", "changes", "issue"), [
    # kr-revenue-up, latest_period: an absolute target and a baseline read from the data
    (1, {"target": "5000", "target_kind": "absolute"}, True),
    (1, {}, False),                                           # kr-revenue-up: relative +30%
    (1, {"target": "5000", "target_kind": "absolute", "baseline": "4000"}, False),  # a baseline
    (2, {}, False),                                           # kr-revenue-ctd: cycle_to_date sum, 0
    (1, {"kr_type": "decrease", "target": "-0.3"}, False),    # a neutral KPI may go down too
])
def test_neutral_kpi_under_increase_or_decrease(seeds, row, changes, issue):
    set_cell(seeds, KPI, 1, "direction", "neutral")  # revenue
    for column, value in changes.items():
        set_cell(seeds, KR, row, column, value)
    assert found(seeds) == ({E("okr-neutral-kpi-direction", KR, row + 1, "baseline")} if issue else set())


def test_neutral_direction_is_no_kpi_direction_error(seeds):
    # churn_rate neutral: kr-churn-down (decrease, baseline 0.05) and kr-churn-q2 (relative) pass;
    # with lower_is_better an increase would be an error
    set_cell(seeds, KPI, 2, "direction", "neutral")
    set_cell(seeds, KR, 3, "kr_type", "increase")
    set_cell(seeds, KR, 3, "target", "0.07")
    assert found(seeds) == set()
