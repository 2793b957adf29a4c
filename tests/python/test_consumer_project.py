"""integration_tests/: a consumer project ("the shop") installs okr_kpi and builds on its own data.

The shop has its own raw tables with other names and columns (sales(sale_ts, total_cents,
refunded), visitors, members), its own KPI registry, thresholds and OKRs, and sets only its own
KPI input models (var okr_kpi_kpi_inputs): the package brings no demo company. The test loads
integration_tests/raw/*.csv into a
fresh DuckDB, builds the project unchanged (only packages.yml points at this checkout by absolute
path, since the project is copied to a temp dir) and checks KPI values worked out by hand:

    non-refunded sales: Sat 03-30 10 EUR, Sun 03-31 25, Mon 04-01 5, Tue 04-02 40
    (sale 5, 99 EUR on 04-02, is refunded; sale 6 on 04-04 is after as_of_date 2024-04-03)
    visits per day: 03-30 4, 03-31 5, 04-01 0, 04-02 4, 04-03 1
    members: +2 on 03-30, +1 on 03-31, +1 -1 on 04-02, +1 on 04-03
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from harness import DBT, REPO, require_target, target_env
from mf_helpers import mf_query, periods_by_metric
from okr_kpi import semantic

PROJECT = REPO / "integration_tests"
D = dt.date.fromisoformat


RAW_TYPES = {
    "sales": "sale_id bigint, sale_ts timestamp, total_cents bigint, refunded boolean",
    "visitors": "visit_id bigint, visit_started timestamp, landing text",
    "members": "member_id bigint, joined_on date, left_on date",
}


class Shop:
    def __init__(self, tmp: Path, target: str):
        self.target = target
        self.path = tmp / "shop"
        shutil.copytree(PROJECT, self.path, ignore=shutil.ignore_patterns("dbt_packages", "target", "logs",
                                                                          "package-lock.yml", "*.duckdb"))
        (self.path / "packages.yml").write_text(f"packages:\n  - local: {REPO}\n")
        self.env = target_env(tmp)
        suffix = uuid.uuid4().hex[:8]
        self.schema = "analytics" if target == "duckdb" else f"shop_test_{suffix}"
        self.env.update({
            "SHOP_TARGET": target,
            "SHOP_DUCKDB_PATH": str(tmp / "shop.duckdb"),
            "SHOP_SCHEMA": self.schema,
            "SHOP_RAW_SCHEMA": "shop_raw" if target == "duckdb" else f"{self.schema}_raw",
            "DBT_PROFILES_DIR": str(self.path),
        })
        self.load_raw()
        self.dbt("deps")
        self.build = self.dbt("build", "--log-format", "json")
        self.events = [json.loads(line) for line in self.build.stdout.splitlines() if line.startswith("{")]

    def load_raw(self) -> None:
        raw = self.env["SHOP_RAW_SCHEMA"]
        if self.target == "duckdb":
            import duckdb

            con = duckdb.connect(self.env["SHOP_DUCKDB_PATH"])
            con.execute(f"create schema {raw}")
            for table in RAW_TYPES:
                csv_path = self.path / "raw" / f"{table}.csv"
                con.execute(f"create table {raw}.{table} as select * from read_csv('{csv_path}')")
            con.close()
            return
        con = self._pg()
        with con.cursor() as cur:
            cur.execute(f'create schema "{raw}"')
            for table, columns in RAW_TYPES.items():
                cur.execute(f'create table "{raw}".{table} ({columns})')
                with (self.path / "raw" / f"{table}.csv").open() as fh:
                    cur.copy_expert(f'copy "{raw}".{table} from stdin with (format csv, header true)', fh)
        con.close()

    def _pg(self):
        import psycopg2

        env = self.env
        con = psycopg2.connect(host=env.get("PGHOST", "127.0.0.1"), port=env.get("PGPORT", "5432"),
                               user=env.get("PGUSER", "postgres"), dbname=env.get("PGDATABASE", "postgres"))
        con.autocommit = True
        return con

    def drop(self) -> None:
        if self.target == "postgres":
            con = self._pg()
            with con.cursor() as cur:
                for schema in (self.schema, f"{self.schema}_raw", f"{self.schema}_dbt_test__audit"):
                    cur.execute(f'drop schema if exists "{schema}" cascade')
            con.close()

    def dbt(self, *args: str) -> subprocess.CompletedProcess:
        proc = subprocess.run([DBT, *args, "--project-dir", str(self.path)], cwd=self.path, env=self.env,
                              text=True, capture_output=True)
        assert proc.returncode == 0, f"dbt {' '.join(args)} failed:\n{proc.stdout[-6000:]}\n{proc.stderr}"
        return proc

    def query(self, sql: str) -> list[dict]:
        """Run SQL; `analytics.` names the shop's models' schema."""
        sql = sql.replace("analytics.", f'"{self.schema}".')
        if self.target == "duckdb":
            import duckdb

            con = duckdb.connect(self.env["SHOP_DUCKDB_PATH"], read_only=True)
        else:
            con = self._pg()
        try:
            cur = con.cursor() if self.target == "postgres" else con
            cur.execute(sql)
            cols = [d[0] for d in cur.description]
            return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]
        finally:
            con.close()

    def period(self, kpi: str, grain: str, start: str) -> dict:
        rows = self.query(f"select * from analytics.fct_kpi_periods where kpi_id = '{kpi}' "
                          f"and grain = '{grain}' and period_start = date '{start}'")
        assert len(rows) == 1, (kpi, grain, start, rows)
        return rows[0]


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def shop(request, tmp_path_factory):
    require_target(request.param)
    project = Shop(tmp_path_factory.mktemp(f"consumer_project_{request.param}"), request.param)
    try:
        yield project
    finally:
        project.drop()


def test_builds_without_the_demo_company(shop):
    assert shop.events and not [e for e in shop.events if e["info"]["level"] == "error"]
    kpis = {r["kpi_id"] for r in shop.query("select kpi_id from analytics.dim_kpis")}
    assert kpis == {"shop_revenue", "shop_orders", "shop_conversion", "shop_basket_size", "shop_members",
                    "shop_biggest_sale"}
    tables = {r["table_name"] for r in shop.query("select table_name from information_schema.tables "
                                                  f"where table_schema = '{shop.schema}'")}
    assert not any(name.startswith(("stg_demo__", "int_demo__", "fct_demo_")) for name in tables)
    # every KPI has one row per day of the calendar 2024-03-30 .. 2024-04-03
    counts = shop.query("select kpi_id, count(*) as n from analytics.fct_kpi_daily group by kpi_id")
    assert {r["n"] for r in counts} == {5}


def test_kpi_values_by_hand(shop):
    # revenue: March 10 + 25, April so far 5 + 40 (the refunded 99 and the 04-04 sale left out)
    assert shop.period("shop_revenue", "month", "2024-03-01")["value"] == 35
    assert shop.period("shop_revenue", "month", "2024-04-01")["value"] == 45
    assert shop.period("shop_revenue", "week", "2024-03-25")["value"] == 35  # Mon 03-25 .. Sun 03-31
    assert shop.period("shop_orders", "quarter", "2024-04-01")["value"] == 2
    # conversion (ratio): March 2 sales / 9 visits; April 2 / (0 + 4 + 1); 04-01 has a sale and no visit
    assert shop.period("shop_conversion", "month", "2024-03-01")["value"] == pytest.approx(2 / 9)
    assert shop.period("shop_conversion", "month", "2024-04-01")["value"] == pytest.approx(2 / 5)
    assert shop.period("shop_conversion", "day", "2024-04-01")["value"] is None  # 1 / 0
    assert shop.period("shop_conversion", "day", "2024-04-03")["value"] == 0  # 0 / 1
    # basket size (average): March (10 + 25) / 2, April (5 + 40) / 2
    assert shop.period("shop_basket_size", "month", "2024-03-01")["value"] == pytest.approx(17.5)
    assert shop.period("shop_basket_size", "month", "2024-04-01")["value"] == pytest.approx(22.5)
    # members (last): end of March 3, on 04-03 (last day so far of April) 4
    assert shop.period("shop_members", "month", "2024-03-01")["value"] == 3
    assert shop.period("shop_members", "month", "2024-04-01")["value"] == 4
    assert shop.period("shop_members", "day", "2024-04-01")["value"] == 3  # carried forward
    # biggest sale (max): March 25, April 40 (not the refunded 99)
    assert shop.period("shop_biggest_sale", "month", "2024-04-01")["value"] == 40
    # completeness against as_of_date 2024-04-03
    assert shop.period("shop_revenue", "month", "2024-03-01")["is_complete"] is True
    assert shop.period("shop_revenue", "month", "2024-04-01")["is_complete"] is False


def test_okr_marts_read_the_shops_kpis(shop):
    rows = shop.query("select key_result_id, current_value from analytics.fct_key_result_progress "
                      "where date_day = date '2024-04-03'")
    values = {r["key_result_id"]: r["current_value"] for r in rows}
    assert values["kr-revenue"] == 45  # cycle_to_date from 2024-04-01: 5 + 40 + 0
    assert values["kr-app"] == 0  # the check-in of 04-02


def test_metrics_of_the_shop_through_mf(shop):
    assert semantic.stale_diff(semantic.default_paths(PROJECT)) == "", "run okr-kpi semantic there"
    kpis = ["shop_revenue", "shop_conversion", "shop_members", "shop_basket_size", "shop_biggest_sale"]
    month = periods_by_metric(mf_query(shop.path, shop.env, kpis, ["metric_time__month"]), "month")
    assert month[("shop_revenue", "2024-03-01")] == 35
    assert month[("shop_conversion", "2024-04-01")] == pytest.approx(2 / 5)
    assert month[("shop_members", "2024-04-01")] == 4
    assert month[("shop_basket_size", "2024-03-01")] == pytest.approx(17.5)
    assert month[("shop_biggest_sale", "2024-04-01")] == 40


def test_okr_kpi_semantic_cli_in_the_consumer(tmp_path):
    shutil.copytree(PROJECT / "seeds", tmp_path / "seeds")
    shutil.copy(PROJECT / "dbt_project.yml", tmp_path / "dbt_project.yml")
    okr_kpi = str(Path(sys.executable).parent / "okr-kpi")
    env = {**target_env(tmp_path), "OKR_KPI_PROJECT_DIR": str(tmp_path)}

    def run(cmd):
        return subprocess.run(cmd, cwd=tmp_path, env=env, text=True, capture_output=True)

    stale = run([okr_kpi, "semantic", "--check"])
    assert stale.returncode == 1 and "out of date" in stale.stderr
    written = run([okr_kpi, "semantic"])
    assert written.returncode == 0, written.stderr
    assert (tmp_path / "models/semantic/_kpi__metrics.yml").read_text() == \
        (PROJECT / "models/semantic/_kpi__metrics.yml").read_text()
    fresh = run([okr_kpi, "semantic", "--check"])
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr


def test_docs_generate_describes_every_mart_column(shop):
    import json

    shop.dbt("docs", "generate")
    target = Path(shop.env["DBT_TARGET_PATH"])
    manifest = json.loads((target / "manifest.json").read_text())
    catalog = json.loads((target / "catalog.json").read_text())
    for name in ("dim_kpis", "fct_kpi_daily", "fct_kpi_periods"):
        node = manifest["nodes"][f"model.okr_kpi.{name}"]
        assert node["description"].startswith("One row per"), name  # grain first
        assert node["contract"]["enforced"] is True, name
        built = set(catalog["nodes"][f"model.okr_kpi.{name}"]["columns"])
        described = {col for col, meta in node["columns"].items() if meta["description"].strip()}
        assert built == described, (name, built ^ described)  # every built column, and only those
    assert not [name for name in manifest["exposures"] if name.startswith("exposure.okr_kpi.")]


def test_the_package_adds_no_warning_to_the_build(shop):
    # every event of `dbt build --log-format json`: none at warn level comes from the package (nor any
    # about disabled sources or package nodes depending on root project nodes, from anywhere)
    warnings = [e for e in shop.events if e["info"]["level"] == "warn"]
    from_package = [e["info"]["msg"] for e in warnings
                    if "okr_kpi" in json.dumps(e.get("data", {})) or "okr_kpi" in e["info"]["msg"]]
    assert from_package == []
    kinds = {e["info"]["name"] for e in warnings}
    assert not kinds & {"PackageNodeDependsOnRootProjectNode", "InvalidDisabledTargetInTestNode",
                        "NodeNotFoundOrDisabled", "UnusedResourceConfigPath"}, kinds
    assert not [e for e in shop.events if "require_ref_prefers_node_package_to_root" in e["info"]["msg"]
                or "disabled" in e["info"]["msg"].lower()]
    # the thresholds are met on the shop's data: the build has no warning at all
    assert warnings == [], [e["info"]["msg"] for e in warnings]
    done = next(e for e in shop.events if e["info"]["name"] == "StatsLine")
    assert done["data"]["stats"]["warn"] == 0 and done["data"]["stats"]["error"] == 0


def test_the_package_brings_no_demo_node(shop):
    manifest = json.loads((Path(shop.env["DBT_TARGET_PATH"]) / "manifest.json").read_text())
    package = {
        kind: sorted(uid for uid, node in manifest[kind].items() if node.get("package_name") == "okr_kpi")
        for kind in ("nodes", "sources", "exposures", "metrics", "semantic_models")
    }
    assert package["sources"] == [] and package["exposures"] == []
    assert not [uid for uid in package["nodes"] if uid.startswith("seed.")]  # the package ships no seed
    everything = [uid for kind in package.values() for uid in kind]
    assert not [uid for uid in everything if "demo" in uid], everything
    # the package's generic semantic layer: the KPI semantic models over fct_kpi_daily and
    # fct_kpi_segment_daily (models/semantic/_semantic__kpis.yml), two building-block metrics each
    metrics = {uid.split(".")[-1] for uid in package["metrics"]}
    assert metrics == {"kpi_numerator_total", "kpi_denominator_total",
                       "kpi_segment_numerator_total", "kpi_segment_denominator_total"}
    # nothing disabled is left over from a demo company either
    assert not [uid for uid in manifest.get("disabled", {}) if "demo" in uid]
    # the definition seeds the package reads are the shop's
    seeds = {uid for uid, node in manifest["nodes"].items() if node["resource_type"] == "seed"}
    definitions = ("kpi_definitions", "kpi_thresholds", "okr_cycles", "okr_objectives", "okr_key_results",
                   "okr_check_ins")
    assert seeds == {f"seed.shop_analytics.{name}" for name in definitions}


def test_the_nightly_window_reaches_the_shops_own_source_tests(shop):
    # sales.csv: sale 1 on 2024-03-30 10:00, sale 2 on 2024-03-31 23:30, ... The window starts
    # 2024-03-31: the shop's source tests (via okr_kpi's get_where_subquery, found through the
    # project's dispatch config) read only the sales from that day on.
    target = Path(shop.env["DBT_TARGET_PATH"])
    compiled = target / "compiled" / "shop_analytics" / "models" / "staging" / "_shop__sources.yml"
    shop.env["OKR_KPI_TEST_SINCE"] = "2024-03-31"
    try:
        shop.dbt("test", "--select", "source:shop.sales")
        unique = (compiled / "source_unique_shop_sales_sale_id.sql").read_text()
        assert "sale_id in (select sale_id from" in unique
        assert "sale_ts >= cast('2024-03-31' as timestamp)" in unique
        not_null = (compiled / "source_not_null_shop_sales_sale_ts.sql").read_text()
        assert "sale_ts is null" in not_null and "2024-03-31" in not_null
        # the filtered subquery really runs: the recent sales, counted by hand from sales.csv
        recent = shop.query(
            "select count(*) as n from (" + not_null.split("from (", 1)[1].split(") dbt_subquery")[0] + ") t"
        )[0]["n"]
        csv = (shop.path / "raw" / "sales.csv").read_text().splitlines()[1:]
        assert recent == sum(1 for line in csv if line.split(",")[1] >= "2024-03-31")
    finally:
        shop.env["OKR_KPI_TEST_SINCE"] = ""
    shop.dbt("test", "--select", "source:shop.sales")
    assert "2024-03-31" not in (compiled / "source_unique_shop_sales_sale_id.sql").read_text()
