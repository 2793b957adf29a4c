"""fct_kpi_breaches, the dbt threshold test and the GX threshold suite on a crafted fixture.

Calendar Mon 2024-01-01 .. Sun 2024-03-31 (as_of_date): 91 days, 13 full ISO weeks.
- sales (sum, higher_is_better, reported daily): 100 + 10 x weekday + a small repeating wiggle,
  except Wed 2024-03-13 (no input row: a missing load, so 0), Wed 03-20 (30) and Wed 03-27 (20).
  Thresholds: day warning >= 60, day critical >= 25, week warning >= 850.
- latency (average, lower_is_better, reported weekly): 100-ish a day, a 500 spike on Tue 03-19.
  Thresholds: week warning <= 120, week critical <= 150.
Expected breaches are computed below in plain Python from the same numbers (the documented rules),
never read back from the models.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics

import pytest
from harness import TARGETS, consumer_project_on, fixture_inputs_model

D = dt.date.fromisoformat
AS_OF = "2024-03-31"
FIRST = D("2024-01-01")
DAYS = [FIRST + dt.timedelta(days=i) for i in range(91)]
MISSING = D("2024-03-13")
PLANTED = {D("2024-03-20"): 30.0, D("2024-03-27"): 20.0}
SPIKE = D("2024-03-19")

KPI_DEFINITIONS = """
    kpi_id,name,description,unit,direction,aggregation,owner,data_source,reporting_frequency
    sales,Sales,sum KPI,EUR,higher_is_better,sum,sales@x.example,orders,daily
    latency,Latency,average KPI,ms,lower_is_better,average,web@x.example,web,weekly
"""
THRESHOLDS = """
    kpi_id,grain,severity,lower_bound,upper_bound
    sales,day,warning,60,
    sales,day,critical,25,
    sales,week,warning,850,
    latency,week,warning,,120
    latency,week,critical,,150
"""
KEY_RESULTS = """
    key_result_id,objective_id,title,kr_type,kpi_id,grain,measure,baseline,target,target_kind,weight,owner
    kr-b,o1,Sales up,increase,sales,week,latest_period,,0.1,relative,1,a
    kr-a,o1,Sales floor,maintain_above,sales,day,latest_period,,50,absolute,1,a
    kr-c,o1,Manual,milestone,,,,0,1,absolute,1,a
"""
THRESHOLD_ROWS = [
    ("sales", "day", "warning", 60, None),
    ("sales", "day", "critical", 25, None),
    ("sales", "week", "warning", 850, None),
    ("latency", "week", "warning", None, 120),
    ("latency", "week", "critical", None, 150),
]


def sales_value(day: dt.date) -> float | None:
    if day == MISSING:
        return None
    if day in PLANTED:
        return PLANTED[day]
    i = (day - FIRST).days
    return 100.0 + 10 * day.weekday() + ((i * 7) % 5) - 2


def latency_parts(day: dt.date) -> tuple[float, float]:
    i = (day - FIRST).days
    per_request = 500.0 if day == SPIKE else 100.0 + ((i * i) % 11) - 5
    return per_request * 10, 10.0


def inputs_csv() -> str:
    rows = ["kpi_id,date_day,numerator,denominator"]
    for day in DAYS:
        value = sales_value(day)
        if value is not None:
            rows.append(f"sales,{day},{value},")
        numerator, denominator = latency_parts(day)
        rows.append(f"latency,{day},{numerator},{denominator}")
    return "\n".join(rows)


# --- expected values, in plain Python ------------------------------------------------------------


def daily_sales() -> dict[dt.date, float]:
    return {day: (sales_value(day) or 0.0) for day in DAYS}  # a sum KPI's empty day is 0


def weeks() -> list[dt.date]:
    return [FIRST + dt.timedelta(weeks=w) for w in range(13)]


def weekly_values() -> dict[tuple[str, dt.date], float]:
    sales = daily_sales()
    out = {}
    for start in weeks():
        days = [start + dt.timedelta(days=i) for i in range(7)]
        out[("sales", start)] = sum(sales[d] for d in days)
        parts = [latency_parts(d) for d in days]
        out[("latency", start)] = sum(p[0] for p in parts) / sum(p[1] for p in parts)
    return out


def expected_thresholds() -> dict[tuple[str, str, dt.date], tuple[str, float]]:
    values = {("sales", "day", d): v for d, v in daily_sales().items()}
    values.update({(k, "week", s): v for (k, s), v in weekly_values().items()})
    worst = {}
    for (kpi, grain, start), value in values.items():
        for k, g, severity, lower, upper in THRESHOLD_ROWS:
            if (k, g) != (kpi, grain):
                continue
            bound = (
                lower
                if lower is not None and value < lower
                else upper
                if upper is not None and value > upper
                else None
            )
            if bound is None:
                continue
            rank = 2 if severity == "critical" else 1
            if (kpi, grain, start) not in worst or rank > worst[(kpi, grain, start)][0]:
                worst[(kpi, grain, start)] = (rank, severity, bound)
    return {key: (sev, bound) for key, (_, sev, bound) in worst.items()}


def zscores(series: list[tuple[dt.date, float]], key, excluded=()) -> dict[dt.date, tuple[float, float]]:
    """(mean, z) of each value against the 28 previous periods with the same key, leaving out the
    `excluded` ones (a period holding a broken load); needs >= 8 values."""
    out = {}
    for i, (day, value) in enumerate(series):
        window = [(d, v) for d, v in series[:i] if key(d) == key(day)][-28:]
        previous = [v for d, v in window if d not in excluded]
        if len(previous) < 8:
            continue
        sd = statistics.stdev(previous)
        if sd > 0:
            out[day] = (statistics.mean(previous), (value - statistics.mean(previous)) / sd)
    return out


def expected_anomalies() -> dict[tuple[str, str, dt.date], tuple[str, float]]:
    out = {}
    sales = sorted(daily_sales().items())
    for day, (_mean, z) in zscores(sales, key=lambda d: d.weekday(), excluded={MISSING}).items():
        if z <= -3:  # higher is better: only drops
            out[("sales", "day", day)] = ("critical" if abs(z) >= 6 else "warning", z)
    latency = sorted((s, v) for (k, s), v in weekly_values().items() if k == "latency")
    for start, (_mean, z) in zscores(latency, key=lambda d: 0).items():
        if z >= 3:  # lower is better: only rises
            out[("latency", "week", start)] = ("critical" if abs(z) >= 6 else "warning", z)
    return out


def test_fixture_has_what_it_claims():
    thresholds = expected_thresholds()
    anomalies = expected_anomalies()
    # the planted days breach, with the worst severity and its bound
    assert thresholds[("sales", "day", MISSING)] == ("critical", 25)
    assert thresholds[("sales", "day", D("2024-03-20"))] == ("warning", 60)
    assert thresholds[("sales", "day", D("2024-03-27"))] == ("critical", 25)
    assert thresholds[("latency", "week", D("2024-03-18"))] == ("critical", 150)
    assert {k for k in thresholds if k[1] == "week" and k[0] == "sales"} == {
        ("sales", "week", D("2024-03-11")),
        ("sales", "week", D("2024-03-18")),
        ("sales", "week", D("2024-03-25")),
    }
    assert len(thresholds) == 7
    # the three Wednesdays drop and the spike week rises; nothing else
    assert set(anomalies) == {
        ("sales", "day", MISSING),
        ("sales", "day", D("2024-03-20")),
        ("sales", "day", D("2024-03-27")),
        ("latency", "week", D("2024-03-18")),
    }


@pytest.fixture(scope="module", params=TARGETS[:2])
def built(request, tmp_path_factory):
    target = request.param
    with consumer_project_on(
        target,
        tmp_path_factory.mktemp(f"breaches_{target}"),
        seeds={
            "kpi_definitions": KPI_DEFINITIONS,
            "kpi_thresholds": THRESHOLDS,
            "okr_key_results": KEY_RESULTS,
            "fixture_kpi_inputs": inputs_csv(),
        },
        models={"fixture_inputs": fixture_inputs_model()},
        kpi_inputs=["fixture_inputs"],
        vars={"as_of_date": AS_OF},
    ) as project:
        proc = project.dbt(
            "build", "--select", "+fct_kpi_breaches", "--indirect-selection", "cautious", check=False
        )
        assert proc.returncode == 0, proc.stdout[-5000:]
        project.build_log = proc.stdout
        yield project


def breaches(project, rule):
    rows = project.query(f"select * from {{schema}}.fct_kpi_breaches where rule = '{rule}'")
    return {(r["kpi_id"], r["grain"], r["period_start"]): r for r in rows}


def test_threshold_breaches(built):
    found = breaches(built, "threshold")
    expected = expected_thresholds()
    assert set(found) == set(expected)
    for key, (severity, bound) in expected.items():
        row = found[key]
        assert (row["severity"], row["bound"]) == (severity, bound), key
        assert row["expected_value"] is None and row["z_score"] is None
    assert found[("sales", "day", MISSING)]["value"] == 0


def test_anomalies(built):
    found = breaches(built, "anomaly")
    expected = expected_anomalies()
    assert set(found) == set(expected)
    for key, (severity, z) in expected.items():
        assert found[key]["severity"] == severity
        assert found[key]["z_score"] == pytest.approx(z, rel=1e-6)
        assert found[key]["bound"] is None


def test_breach_columns(built):
    rows = built.query("select * from {schema}.fct_kpi_breaches")
    by_kpi = {r["kpi_id"]: r for r in rows}
    assert by_kpi["sales"]["affected_key_results"] == "kr-a,kr-b"  # sorted, the check-in KR excluded
    assert by_kpi["latency"]["affected_key_results"] == ""
    assert by_kpi["sales"]["kpi_name"] == "Sales" and by_kpi["sales"]["owner"] == "sales@x.example"
    # one row per kpi, grain, period and rule; the id is stable and unique
    keys = [(r["kpi_id"], r["grain"], r["period_start"], r["rule"]) for r in rows]
    assert len(keys) == len(set(keys))
    assert len({r["breach_id"] for r in rows}) == len(rows)


def test_suspect_breaches_are_the_ones_on_a_missing_load(built):
    rows = built.query("select * from {schema}.fct_kpi_breaches")
    suspect = {(r["kpi_id"], r["grain"], r["period_start"], r["rule"]) for r in rows if r["is_suspect"]}
    # 03-13 had no sales input although sales has input on 90 of 91 days: its day (threshold and
    # anomaly) and its week (threshold) are suspect; nothing else.
    assert suspect == {
        ("sales", "day", MISSING, "threshold"),
        ("sales", "day", MISSING, "anomaly"),
        ("sales", "week", D("2024-03-11"), "threshold"),
    }
    for r in rows:
        if r["is_suspect"]:
            assert r["suspect_reason"] == "missing_load: no input rows on 2024-03-13"
        else:
            assert r["suspect_reason"] is None


def test_dbt_gx_and_mart_report_the_same_threshold_breaches(built, monkeypatch):
    from okr_kpi.checks import run_checks
    from okr_kpi.project import Project

    expected = {(k, g, str(s)) for k, g, s in expected_thresholds()}
    # 1. dbt build: the warning test's stored failures, its count in run_results.json, its log lines
    audit = built.query(
        "select kpi_id, grain, period_start from {schema}_dbt_test__audit."
        "okr_kpi_kpi_thresholds_fct_kpi_periods_"
    )
    from_dbt = {(r["kpi_id"], r["grain"], str(r["period_start"])[:10]) for r in audit}
    run_results = json.loads(
        (built.path.parent / "target" / "run_results.json").read_text()
        if (built.path.parent / "target").exists()
        else "{}"
    ) or json.loads(open(built.env["DBT_TARGET_PATH"] + "/run_results.json").read())
    test_result = [r for r in run_results["results"] if "kpi_thresholds_fct_kpi_periods" in r["unique_id"]]
    assert [(r["status"], r["failures"]) for r in test_result] == [("warn", len(expected))]
    assert (
        "KPI threshold breach (critical): sales day 2024-03-13 value 0.0 is below lower_bound 25"
        in built.build_log
    )
    # 2. Great Expectations, in the warehouse
    for key, value in built.env.items():
        monkeypatch.setenv(key, value)
    result = run_checks(Project(target=built.target, project_dir=built.path), as_of=AS_OF)
    assert result.fatal is None and result.errors == []
    from_gx = result.threshold_breaches
    # 3. the mart
    from_mart = {(k, g, str(s)) for k, g, s in breaches(built, "threshold")}
    assert from_dbt == from_gx == from_mart == expected
    # one GX expectation per threshold row; the sales day warning row fails on 03-13, 03-20, 03-27
    assert len([o for o in result.outcomes if o.kind == "threshold"]) == len(THRESHOLD_ROWS)
    warning_day = [
        o
        for o in result.outcomes
        if (o.kpi_id, o.grain, o.details.get("severity")) == ("sales", "day", "warning")
    ]
    assert [(o.success, o.unexpected_count) for o in warning_day] == [(False, 3)]
    assert result.exit_code() == 10  # BREACHES
    assert result.data_docs_path and result.data_docs_path.endswith("index.html")


def test_check_command_prints_a_summary_without_noise(built):
    import subprocess
    import sys
    from pathlib import Path

    env = {**built.env, "OKR_KPI_PROJECT_DIR": str(built.path)}
    okr_kpi = str(Path(sys.executable).parent / "okr-kpi")
    proc = subprocess.run(
        [okr_kpi, "check", "--target", built.target, "--as-of", AS_OF],
        env=env,
        cwd=built.path,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 10, proc.stdout + proc.stderr  # BREACHES
    out = proc.stdout + proc.stderr
    assert "7 threshold breaches, 0 engine errors" in out
    assert "BREACH   sales day (critical) outside [25.0, ]: 2024-03-13, 2024-03-27" in out
    assert "Data Docs: file://" in out
    for noise in ("nanobind", "leaked", "Calculating Metrics", "Traceback", "%|"):
        assert noise not in out


def test_an_engine_error_is_an_error_never_a_pass_or_breach(built, monkeypatch):
    import duckdb
    from okr_kpi.checks import run_checks
    from okr_kpi.project import Project

    if built.target != "duckdb":
        pytest.skip("the column is renamed with DuckDB; the same code path serves every target")
    for key, value in built.env.items():
        monkeypatch.setenv(key, value)
    con = duckdb.connect(built.env["OKR_KPI_DUCKDB_PATH"])
    con.execute("alter table okr_kpi.fct_kpi_periods rename column value to value_renamed")
    con.close()
    try:
        result = run_checks(Project(target="duckdb", project_dir=built.path), as_of=AS_OF)
    finally:
        con = duckdb.connect(built.env["OKR_KPI_DUCKDB_PATH"])
        con.execute("alter table okr_kpi.fct_kpi_periods rename column value_renamed to value")
        con.close()
    thresholds = [o for o in result.outcomes if o.kind == "threshold"]
    assert len(thresholds) == len(THRESHOLD_ROWS)
    assert all(o.success is None and o.error and o.unexpected_count is None for o in thresholds)
    assert result.errors == thresholds
    assert result.threshold_breaches == set() and result.failures == []
    assert result.exit_code() == 1  # ERROR


def failures_of(proc, name: str, target_path: str) -> int:
    results = json.loads(open(target_path + "/run_results.json").read())["results"]
    [result] = [r for r in results if name in r["unique_id"]]
    return result["failures"]


def test_checks_fail_and_pass_when_they_should(built):
    # Runs last on each target: it reseeds kpi_thresholds.
    target_path = built.env["DBT_TARGET_PATH"]
    # The anomaly direction check fails for every anomaly when sigma is raised past their z-scores.
    proc = built.dbt(
        "test",
        "--select",
        "assert_anomalies_in_bad_direction",
        check=False,
        vars={"okr_kpi_anomaly_sigma": 1000},
    )
    assert proc.returncode != 0
    assert failures_of(proc, "assert_anomalies_in_bad_direction", target_path) == len(expected_anomalies())
    seeds = built.path / "seeds" / "kpi_thresholds.csv"
    # With only open bounds, the threshold test passes (no warning) and finds nothing.
    seeds.write_text("kpi_id,grain,severity,lower_bound,upper_bound\nsales,day,warning,,\n")
    built.dbt("seed", "--select", "kpi_thresholds", "--full-refresh")
    proc = built.dbt("test", "--select", "fct_kpi_periods,test_name:kpi_thresholds", check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert failures_of(proc, "kpi_thresholds_fct_kpi_periods", target_path) == 0
    assert "KPI threshold breach" not in proc.stdout
