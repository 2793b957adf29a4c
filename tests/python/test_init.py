"""`okr-kpi init DIR`: what it writes, and bad input refused with exit 2 and nothing written.

The full path (init, dbt deps, dbt build, okr-kpi run from a wheel in a fresh virtualenv) is in
test_wheel_install.py; here the command runs in this process, on real DuckDB files.
"""

from __future__ import annotations

import csv
import datetime as dt

import duckdb
import pytest
import yaml
from click.testing import CliRunner
from okr_kpi.cli import main
from okr_kpi.init import _quarter, default_name

SEED_COLUMNS = {  # SPEC: seeds
    "kpi_definitions": ["kpi_id", "name", "description", "unit", "direction", "aggregation", "owner",
                        "data_source", "reporting_frequency"],
    "kpi_thresholds": ["kpi_id", "grain", "severity", "lower_bound", "upper_bound"],
    "okr_cycles": ["cycle_id", "name", "start_date", "end_date"],
    "okr_objectives": ["objective_id", "cycle_id", "title", "level", "team", "owner", "parent_objective_id"],
    "okr_key_results": ["key_result_id", "objective_id", "title", "kr_type", "kpi_id", "grain", "measure",
                        "baseline", "target", "target_kind", "weight", "owner"],
    "okr_check_ins": ["key_result_id", "check_in_date", "value", "confidence", "note"],
}


@pytest.fixture
def shop_db(tmp_path):
    path = tmp_path / "shop.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema sales")
    con.execute("create table sales.orders (order_id integer, ordered_on date, amount double)")
    con.execute("insert into sales.orders values (1, date '2024-02-28', 5), (2, date '2024-02-29', 7)")
    con.close()
    return path


def init(*args):
    return CliRunner().invoke(main, ["init", *map(str, args)])


def read_csv(path):
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_init_writes_a_project_over_the_named_table(tmp_path, shop_db):
    project = tmp_path / "Shop-KPIs"
    result = init(project, "--source", "sales.orders", "--date-column", "ordered_on", "--duckdb", shop_db,
                  "--value", "amount")
    assert result.exit_code == 0, result.output
    config = yaml.safe_load((project / "dbt_project.yml").read_text())
    assert config["name"] == config["profile"] == "shop_kpis" == default_name(project)
    assert config["vars"]["okr_kpi_kpi_inputs"] == ["shop_kpis_kpi_orders_amount"]
    # the load profile of the table, for the load checks; ordered_on is a DATE: volumes only
    assert config["vars"]["okr_kpi_source_loads"] == ["shop_kpis_source_loads"]
    loads = (project / "models" / "kpis" / "shop_kpis_source_loads.sql").read_text()
    assert ("okr_kpi.source_load('sales.orders', source('sales', 'orders'), 'ordered_on', has_time=false)"
            in loads)
    model = (project / "models" / "kpis" / "shop_kpis_kpi_orders_amount.sql").read_text()
    assert "source('sales', 'orders')" in model and "aggregation='sum'" in model and "value='amount'" in model
    sources = yaml.safe_load((project / "models" / "sources.yml").read_text())["sources"]
    assert sources[0]["schema"] == "sales" and sources[0]["tables"][0]["name"] == "orders"
    profile = (project / "profiles.yml").read_text()
    assert str(shop_db) in profile and "'analytics'" in profile
    for seed, columns in SEED_COLUMNS.items():
        rows = read_csv(project / "seeds" / f"{seed}.csv")
        assert rows and list(rows[0]) == columns, seed
    kpi = read_csv(project / "seeds" / "kpi_definitions.csv")[0]
    assert (kpi["kpi_id"], kpi["aggregation"], kpi["data_source"]) == ("orders_amount", "sum", "sales.orders")
    # The example cycle is the quarter of the table's last day (a 29 February here).
    cycle = read_csv(project / "seeds" / "okr_cycles.csv")[0]
    assert (cycle["start_date"], cycle["end_date"]) == ("2024-01-01", "2024-03-31")
    key_results = read_csv(project / "seeds" / "okr_key_results.csv")
    check_in = read_csv(project / "seeds" / "okr_check_ins.csv")[0]
    assert check_in["key_result_id"] in {kr["key_result_id"] for kr in key_results}
    objective = read_csv(project / "seeds" / "okr_objectives.csv")[0]
    assert {kr["objective_id"] for kr in key_results} == {objective["objective_id"]}


def test_init_without_a_duckdb_file_names_a_new_one(tmp_path):
    project = tmp_path / "fresh"
    result = init(project, "--source", "raw.events", "--date-column", "created_at", "--name", "events_kpis")
    assert result.exit_code == 0, result.output
    assert "events_kpis.duckdb" in (project / "profiles.yml").read_text()
    assert read_csv(project / "seeds" / "kpi_definitions.csv")[0]["kpi_id"] == "events_rows"


@pytest.mark.parametrize("day, expected", [
    ("2024-02-29", ("2024-q1", "2024-01-01", "2024-03-31")),
    ("2025-12-31", ("2025-q4", "2025-10-01", "2025-12-31")),
    ("2026-07-01", ("2026-q3", "2026-07-01", "2026-09-30")),
])
def test_the_example_cycle_is_a_calendar_quarter(day, expected):
    cycle_id, _, start, end = _quarter(dt.date.fromisoformat(day))
    assert (cycle_id, start.isoformat(), end.isoformat()) == expected


def test_a_non_empty_directory_is_refused_unless_forced(tmp_path):
    project = tmp_path / "taken"
    project.mkdir()
    (project / "dbt_project.yml").write_text("name: theirs\n")
    args = [project, "--source", "raw.events", "--date-column", "created_at"]
    result = init(*args)
    assert result.exit_code == 2
    assert "is not empty" in result.output and "--force" in result.output
    assert (project / "dbt_project.yml").read_text() == "name: theirs\n"
    assert sorted(p.name for p in project.iterdir()) == ["dbt_project.yml"]
    result = init(*args, "--force")
    assert result.exit_code == 0, result.output
    assert yaml.safe_load((project / "dbt_project.yml").read_text())["name"] == "taken"


@pytest.mark.parametrize("extra, message", [
    (["--name", "9lives"], "project name '9lives' is not valid"),
    (["--name", "My-Project"], "project name 'My-Project' is not valid"),
    (["--name", "okr_kpi"], "is taken"),
    (["--kpi-id", "Bad Id"], "kpi_id 'Bad Id' is not valid"),
    (["--source", "orders"], "SCHEMA.TABLE"),
    (["--source", "raw.ord-ers"], "not a plain SQL identifier"),
    (["--date-column", "created at"], "not a plain SQL identifier"),
])
def test_bad_names_are_refused_and_nothing_is_written(tmp_path, extra, message):
    project = tmp_path / "proj"
    args = {"--source": "raw.events", "--date-column": "created_at"}
    for option, value in zip(extra[::2], extra[1::2], strict=True):
        args[option] = value
    result = init(project, *[part for pair in args.items() for part in pair])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not project.exists()


def test_a_directory_name_that_is_no_identifier_asks_for_name(tmp_path):
    project = tmp_path / "2026"
    result = init(project, "--source", "raw.events", "--date-column", "created_at")
    assert result.exit_code == 2 and "--name" in result.output
    assert not project.exists()


@pytest.mark.parametrize("extra, message", [
    (["--source", "sales.refunds"], "has no table sales.refunds (it has: sales.orders)"),
    (["--date-column", "shipped_on"], "has no column 'shipped_on'"),
    (["--value", "price"], "has no column 'price'"),
    (["--date-column", "amount"], "is not a date or timestamp"),
])
def test_the_named_table_and_columns_must_exist_in_the_duckdb_file(tmp_path, shop_db, extra, message):
    project = tmp_path / "proj"
    args = {"--source": "sales.orders", "--date-column": "ordered_on", "--duckdb": str(shop_db)}
    args.update(dict(zip(extra[::2], extra[1::2], strict=True)))
    result = init(project, *[part for pair in args.items() for part in pair])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not project.exists()


def test_a_missing_duckdb_file_is_refused(tmp_path):
    result = init(tmp_path / "proj", "--source", "raw.events", "--date-column", "created_at",
                  "--duckdb", tmp_path / "nope.duckdb")
    assert result.exit_code == 2 and "no such file" in result.output
    assert not (tmp_path / "proj").exists()


def test_init_explains_itself():
    result = CliRunner().invoke(main, ["init", "--help"])
    assert result.exit_code == 0
    for option in ("--source", "--date-column", "--duckdb", "--name", "--force"):
        assert option in result.output
    assert "init" in CliRunner().invoke(main, ["--help"]).output
