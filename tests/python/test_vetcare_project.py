"""examples/vetcare/: a second consumer project (a veterinary clinic chain) built end to end.

Harbourside Veterinary Clinics is shaped unlike the shop (retail) and the demo company (SaaS):
its own raw tables (appointments, wellness_plans, fridge_log), a history 2023-10-01 ..
2025-03-20 that holds 29 February 2024 (as_of_date 2025-03-16), a profile `vetcare_dw` with a
target `nightly` and the schema `clinic_marts` in `vetcare_dw.duckdb`, a KPI for each aggregation,
and OKR cycles of a quarter, six months and a year side by side plus a finished quarter.

The test copies the project to a temp dir and drives it with the executables of one fixture
(`toolkit_bin`): `dbt deps`, `dbt build` (no warning from the package), `okr-kpi lint`,
`okr-kpi run` delivering to a real webhook receiver on 127.0.0.1, `okr-kpi report`. The marts
are compared with values computed here, in plain Python, from the raw CSV rows.

Work of other engineers still in flight (issue 12) is behind the module-level flags below. While
a flag is False the test runs with the temporary workaround named next to it and the assertions
that need the fix are strict xfails: once the fix is merged they XPASS, which fails the run, and
the flag must be set to True (which also removes the workaround).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
import yaml
from harness import REPO
from publish_helpers import WebhookReceiver
from wheel_env import wheel_env_fixture, wheel_env_postgres_fixture  # noqa: F401  (fixtures)

# (a) toolkit engineer: `okr-kpi --project-dir` follows the project's own profile and target.
#     Workaround while False: a profiles dir with an extra output named `duckdb` (the toolkit
#     passes --target duckdb), OKR_KPI_PROJECT_DIR / OKR_KPI_DUCKDB_PATH / OKR_KPI_SCHEMA set.
TOOLKIT_FOLLOWS_PROFILE = True
# (b) calendar engineer: one fct_kpi_periods row per KPI, grain and period with a 29 February in
#     the history (day 2025-02-28 is duplicated today), the column is_full_period, and the rule for
#     the first days of a cycle (docs/scoring.md: a key result is scored only from a value
#     measured inside its cycle; before that progress and score are null).
#     Workaround while False: the package's tests in models/kpis run with severity warn, so the
#     failing uniqueness test does not skip the marts downstream.
CALENDAR_FIXED = True
# (c) report engineer: the report shows every active cycle (not only the quarter) and the last
#     finished one; lint accepts a quarterly objective under a six-month one.
REPORT_SHOWS_EVERY_CYCLE = True
# (d) package engineer: the demo company moved out of the package; no warning from the package.
#     Workaround while False: the copied dbt_project.yml disables the package's demo folders.
PACKAGE_WITHOUT_DEMO = True

PROJECT = REPO / "examples" / "vetcare"
SCHEMA = "clinic_marts"  # the profile's default schema
DUCKDB_FILE = "vetcare_dw.duckdb"  # the profile's default file, in the project directory
FIRST_DAY = dt.date(2023, 10, 1)
AS_OF = dt.date(2025, 3, 16)
GRAINS = ("day", "week", "month", "quarter", "year")
PERIODS_UNIQUE_TEST = "okr_kpi_okr_unique_combination_fct_kpi_periods_kpi_id__grain__period_start"
THRESHOLD_TEST = "okr_kpi_kpi_thresholds_fct_kpi_periods_"


@pytest.fixture(scope="session")
def toolkit_bin(wheel_env) -> Path:
    """The bin directory holding `dbt` and `okr-kpi`: a fresh virtualenv outside the checkout with
    okr-kpi installed from its wheel (tests/python/wheel_env.py), as a new user installs it."""
    return wheel_env


# --- the independent computation: plain Python over raw/*.csv -------------------------------------

def _rows(name: str, raw: Path = PROJECT / "raw") -> list[dict]:
    with (raw / f"{name}.csv").open() as fh:
        return list(csv.DictReader(fh))


def _seed(name: str) -> list[dict]:
    with (PROJECT / "seeds" / f"{name}.csv").open() as fh:
        return list(csv.DictReader(fh))


def _days(first: dt.date, last: dt.date):
    day = first
    while day <= last:
        yield day
        day += dt.timedelta(days=1)


def period_start(grain: str, day: dt.date) -> dt.date:
    if grain == "day":
        return day
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    if grain == "quarter":
        return dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return dt.date(day.year, 1, 1)


def period_end(grain: str, start: dt.date) -> dt.date:
    if grain == "day":
        return start
    if grain == "week":
        return start + dt.timedelta(days=6)
    months = {"month": 1, "quarter": 3, "year": 12}[grain]
    month = start.month - 1 + months
    return dt.date(start.year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)


def year_before(grain: str, start: dt.date) -> dt.date | None:
    """The start of the same period one year earlier (a week: 52 weeks earlier)."""
    if grain == "week":
        return start - dt.timedelta(days=364)
    try:
        return start.replace(year=start.year - 1)
    except ValueError:  # 29 February: no such day a year before
        return None


class Expected:
    """Every KPI's daily inputs and periods, the threshold breaches and key-result values, from
    the raw rows and the seeds alone."""

    def __init__(self, raw: Path = PROJECT / "raw") -> None:
        self.calendar = list(_days(FIRST_DAY, AS_OF))
        self.kpis = {r["kpi_id"]: r for r in _seed("kpi_definitions")}
        inputs: dict[str, dict[dt.date, list[float]]] = {k: {} for k in self.kpis}

        def add(kpi: str, day: dt.date, num: float, den: float | None = None) -> None:
            cell = inputs[kpi].setdefault(day, [0.0, 0.0])
            cell[0] += num
            cell[1] += den or 0.0

        # by segment (kpi_definitions.segment_dimensions): visits by clinic and species, the
        # waiting time by clinic; every segment on every day of the KPI's calendar
        segments: dict[tuple[str, str, str], dict[dt.date, list[float]]] = defaultdict(dict)

        def add_segment(kpi: str, dimension: str, value: str, day: dt.date, num: float, den: float) -> None:
            cell = segments[(kpi, dimension, value)].setdefault(day, [0.0, 0.0])
            cell[0] += num
            cell[1] += den

        for r in _rows("appointments", raw):
            day = dt.date.fromisoformat(r["scheduled_at"][:10])
            if r["outcome"] == "completed":
                add("vet_revenue", day, int(r["invoice_cents"]) / 100)
                add("vet_visits", day, 1)
                add("vet_wait_minutes", day, float(r["wait_min"]), 1)
                add_segment("vet_visits", "clinic", r["clinic"], day, 1, 0)
                add_segment("vet_visits", "species", r["species"], day, 1, 0)
                add_segment("vet_wait_minutes", "clinic", r["clinic"], day, float(r["wait_min"]), 1)
            if r["outcome"] != "cancelled":
                add("vet_no_show_rate", day, 1 if r["outcome"] == "no_show" else 0, 1)
        readings: dict[dt.date, list[float]] = defaultdict(list)
        for r in _rows("fridge_log", raw):
            readings[dt.date.fromisoformat(r["logged_at"][:10])].append(float(r["celsius"]))
        net: dict[dt.date, int] = defaultdict(int)
        for r in _rows("wellness_plans", raw):
            net[dt.date.fromisoformat(r["enrolled_on"])] += 1
            if r["ended_on"]:
                net[dt.date.fromisoformat(r["ended_on"])] -= 1

        self.has_data = {kpi: set(days) for kpi, days in inputs.items()}
        for kpi, days in (("vet_fridge_min_temp", readings), ("vet_fridge_max_temp", readings)):
            self.has_data[kpi] = {d for d, values in days.items() if values}
        self.has_data["vet_plan_members"] = set(net)
        # daily: (numerator, denominator, value) per KPI and calendar day
        self.daily: dict[str, dict[dt.date, tuple]] = {k: {} for k in self.kpis}
        members = 0
        for day in self.calendar:
            for kpi in ("vet_revenue", "vet_visits"):
                num = inputs[kpi].get(day, [0.0, 0.0])[0]
                self.daily[kpi][day] = (num, None, num)
            for kpi in ("vet_no_show_rate", "vet_wait_minutes"):
                num, den = inputs[kpi].get(day, [0.0, 0.0])
                self.daily[kpi][day] = (num, den, num / den if den else None)
            low = min(readings[day]) if readings[day] else None
            high = max(readings[day]) if readings[day] else None
            self.daily["vet_fridge_min_temp"][day] = (low, None, low)
            self.daily["vet_fridge_max_temp"][day] = (high, None, high)
            members += net.get(day, 0)
            self.daily["vet_plan_members"][day] = (float(members), None, float(members))

        self.periods = {(k, g): self._periods(k, g) for k in self.kpis for g in GRAINS}
        # segments: from the KPI's first day of data to as_of_date (0 on days without visits)
        self.segment_daily: dict[tuple[str, str, str], dict[dt.date, tuple]] = {}
        for (kpi, dimension, value), cells in segments.items():
            series = {}
            for day in self.calendar:
                num, den = cells.get(day, [0.0, 0.0])
                ratio = num / den if den else None
                series[day] = (num, None, num) if kpi == "vet_visits" else (num, den, ratio)
            self.segment_daily[(kpi, dimension, value)] = series
        self.segment_periods = {(*key, g): self._periods(key[0], g, daily)
                                for key, daily in self.segment_daily.items() for g in GRAINS}

    def _periods(self, kpi: str, grain: str, daily: dict | None = None) -> dict[dt.date, dict]:
        """The periods of `kpi` at `grain` from its daily rows (a segment's: `daily`)."""
        aggregation = self.kpis[kpi]["aggregation"]
        daily = self.daily[kpi] if daily is None else daily
        by_start: dict[dt.date, list[dt.date]] = defaultdict(list)
        for day in daily:
            by_start[period_start(grain, day)].append(day)
        out = {}
        for start, days in sorted(by_start.items()):
            rows = [daily[d] for d in sorted(days)]
            values = [r[2] for r in rows if r[2] is not None]
            num = den = None
            if aggregation in ("sum", "count"):
                num = sum(r[0] for r in rows)
                value = num
            elif aggregation in ("ratio", "average"):
                num, den = sum(r[0] for r in rows), sum(r[1] for r in rows)
                value = num / den if den else None
            elif aggregation == "last":
                value = num = rows[-1][2]
            else:
                value = num = (min if aggregation == "min" else max)(values) if values else None
            end = period_end(grain, start)
            out[start] = {"period_end": end, "is_complete": end <= AS_OF, "value": value,
                          "numerator": num, "denominator": den, "day_count": len(days),
                          # wholly inside the data: from the first day of data to as_of_date
                          "is_full": start >= FIRST_DAY and end <= AS_OF}
        return out

    def period(self, kpi: str, grain: str, start: dt.date) -> dict:
        return self.periods[(kpi, grain)][start]

    def threshold_breaches(self, segments: bool = False) -> dict[tuple, dict]:
        """(kpi_id, grain, period_start) -> severity and bound, the worst severity crossed, from
        the totals' bounds; with `segments`, (kpi_id, grain, period_start, segment_dimension,
        segment_value) from the segments' bounds, judged on the segment's own periods."""
        rank = {"warning": 1, "critical": 2}
        out: dict[tuple, dict] = {}
        for t in _seed("kpi_thresholds"):
            if bool(t["segment_dimension"]) is not segments:
                continue
            lower = float(t["lower_bound"]) if t["lower_bound"] else None
            upper = float(t["upper_bound"]) if t["upper_bound"] else None
            segment = (t["segment_dimension"], t["segment_value"]) if segments else ()
            periods = (self.segment_periods[(t["kpi_id"], *segment, t["grain"])] if segments
                       else self.periods[(t["kpi_id"], t["grain"])])
            for start, p in periods.items():
                if not p["is_full"] or p["value"] is None:
                    continue
                v = p["value"]
                if lower is not None and v < lower:
                    bound = lower
                elif upper is not None and v > upper:
                    bound = upper
                else:
                    continue
                key = (t["kpi_id"], t["grain"], start, *segment)
                if key not in out or rank[t["severity"]] > rank[out[key]["severity"]]:
                    out[key] = {"severity": t["severity"], "bound": bound, "value": v}
        return out

    # key results (SPEC "How a key result reads its KPI")
    def _kr_periods(self, kr: dict) -> dict[dt.date, dict]:
        """The periods a key result reads: its KPI's, or its segment's (docs/segments.md)."""
        if kr.get("segment_dimension"):
            key = (kr["kpi_id"], kr["segment_dimension"], kr["segment_value"], kr["grain"])
            return self.segment_periods[key]
        return self.periods[(kr["kpi_id"], kr["grain"])]

    def _latest_full_period(self, periods: dict[dt.date, dict], on_or_before: dt.date) -> float | None:
        ends = [(p["period_end"], p["value"]) for p in periods.values()
                if p["is_full"] and p["period_end"] <= on_or_before]
        return max(ends)[1] if ends else None

    def key_result(self, kr: dict, day: dt.date) -> dict:
        cycle = {c["cycle_id"]: c for c in _seed("okr_cycles")}[self.objective_cycle[kr["objective_id"]]]
        start = dt.date.fromisoformat(cycle["start_date"])
        check_ins = sorted((dt.date.fromisoformat(c["check_in_date"]), float(c["value"]))
                           for c in _seed("okr_check_ins") if c["key_result_id"] == kr["key_result_id"])
        kpi, grain = kr["kpi_id"], kr["grain"]

        def current(d: dt.date) -> float | None:
            if not kpi:
                seen = [v for when, v in check_ins if when <= d]
                return seen[-1] if seen else None
            if kr["measure"] == "latest_period":
                return self._latest_full_period(self._kr_periods(kr), d)
            assert self.kpis[kpi]["aggregation"] in ("sum", "count"), "only additive cycle_to_date here"
            return sum(self.daily[kpi][x][0] for x in _days(start, d))

        if kr["baseline"]:
            baseline = float(kr["baseline"])
        elif not kpi:
            before = [v for when, v in check_ins if when <= start]
            baseline = before[-1] if before else None
        elif kr["measure"] == "latest_period":
            baseline = self._latest_full_period(self._kr_periods(kr), start - dt.timedelta(days=1))
        else:
            baseline = 0.0
        target = float(kr["target"])
        if kr["target_kind"] == "relative":
            target = baseline * (1 + target)
        value = current(day)
        kind = kr["kr_type"]
        if CALENDAR_FIXED and not self._measured_in_cycle(kr, start, day, check_ins):
            return {"current_value": value, "baseline": baseline, "target": target, "progress": None,
                    "score": None}
        if kind in ("increase", "decrease", "milestone"):
            progress = (value - baseline) / (target - baseline) if value is not None else None
            if kind == "milestone":
                met = any(current(d) is not None and current(d) >= target for d in _days(start, day))
                score = 1.0 if met else 0.0 if value is not None else None
            else:
                score = None if progress is None else min(1.0, max(0.0, progress))
        else:  # maintain_above / maintain_below: the cycle's periods of `grain` ended so far
            ends = [d for d in _days(start, day) if period_end(grain, period_start(grain, d)) == d
                    and current(d) is not None]
            above = kind == "maintain_above"
            held = [d for d in ends if (current(d) >= target if above else current(d) <= target)]
            progress = score = len(held) / len(ends) if ends else None
        return {"current_value": value, "baseline": baseline, "target": target, "progress": progress,
                "score": score}

    def _measured_in_cycle(self, kr: dict, start: dt.date, day: dt.date, check_ins: list) -> bool:
        """docs/scoring.md, "The first days of a cycle": a value measured inside the cycle exists."""
        if not kr["kpi_id"]:
            return any(start <= when <= day for when, _ in check_ins)
        if kr["measure"] == "cycle_to_date":
            return any(d in self.has_data[kr["kpi_id"]] for d in _days(start, day))
        ends = [p["period_end"] for p in self._kr_periods(kr).values()
                if p["is_full"] and p["period_end"] <= day]
        return bool(ends) and max(ends) >= start

    @property
    def objective_cycle(self) -> dict[str, str]:
        return {o["objective_id"]: o["cycle_id"] for o in _seed("okr_objectives")}


@pytest.fixture(scope="module")
def expected() -> Expected:
    return Expected()


# --- the project, built by the toolkit ------------------------------------------------------------

class Clinic:
    """The project copied to tmp, its raw CSVs loaded, deps installed, built, linted, run, reported."""

    def __init__(self, tmp: Path, bin_dir: Path):
        self.tmp = tmp
        self.bin = bin_dir
        self.path = tmp / "vetcare"
        shutil.copytree(PROJECT, self.path, ignore=shutil.ignore_patterns(
            "dbt_packages", "target", "logs", "reports", "package-lock.yml", "*.duckdb", "*.wal"))
        # the copy lives outside the checkout: `local: ../..` becomes the checkout's path
        (self.path / "packages.yml").write_text(f"packages:\n  - local: {REPO}\n")
        if not PACKAGE_WITHOUT_DEMO or not CALENDAR_FIXED:
            self._workaround_project_config()
        self.warehouse = self.path / DUCKDB_FILE
        self.env = self._env()
        self.receiver = WebhookReceiver().start()
        self.env["OKR_KPI_WEBHOOK_URL"] = self.receiver.url("/hooks/vetcare")

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OKR_KPI_", "DBT_", "VETCARE_"))}
        if self.bin != Path(sys.executable).parent:
            env.pop("PYTHONPATH", None)  # a toolkit installed elsewhere uses its own code
        env.update({
            "DBT_PROFILES_DIR": str(self.path),  # the project's own profiles.yml, nothing else
            "DBT_TARGET_PATH": str(self.tmp / "target"),
            "DBT_LOG_PATH": str(self.tmp / "logs"),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DO_NOT_TRACK": "1",
            "OKR_KPI_GX_DIR": str(self.tmp / "gx"),
            "OKR_KPI_LOG_DIR": str(self.tmp / "logs"),
            "OKR_KPI_DELIVERY_RETRIES": "1",
            "OKR_KPI_DELIVERY_BACKOFF_SECONDS": "0.01",
            "OKR_KPI_DELIVERY_TIMEOUT_SECONDS": "5",
        })
        return env

    def _workaround_project_config(self) -> None:
        """TEMPORARY, see the flags (b) and (d): package config the merged package will not need."""
        path = self.path / "dbt_project.yml"
        project = yaml.safe_load(path.read_text())
        if not PACKAGE_WITHOUT_DEMO:
            project["vars"]["okr_kpi_enable_demo"] = False
            for kind in ("models", "seeds", "sources"):
                project.setdefault(kind, {}).setdefault("okr_kpi", {})["demo"] = {"+enabled": False}
        if not CALENDAR_FIXED:
            project["data_tests"] = {"okr_kpi": {"kpis": {"+severity": "warn"}}}
        path.write_text(yaml.safe_dump(project, sort_keys=False))

    def toolkit_env(self) -> dict[str, str]:
        if TOOLKIT_FOLLOWS_PROFILE:
            return dict(self.env)
        # TEMPORARY (a): the toolkit uses --target duckdb, okr_kpi.duckdb and OKR_KPI_SCHEMA today
        profiles = self.tmp / "profiles_workaround"
        profiles.mkdir(exist_ok=True)
        config = yaml.safe_load((self.path / "profiles.yml").read_text())
        config["vetcare_dw"]["outputs"]["duckdb"] = config["vetcare_dw"]["outputs"]["nightly"]
        (profiles / "profiles.yml").write_text(yaml.safe_dump(config))
        return {**self.env, "DBT_PROFILES_DIR": str(profiles), "OKR_KPI_PROJECT_DIR": str(self.path),
                "OKR_KPI_DUCKDB_PATH": str(self.warehouse), "OKR_KPI_SCHEMA": SCHEMA}

    def load_raw(self) -> None:
        import importlib.util

        spec = importlib.util.spec_from_file_location("vetcare_load_raw", self.path / "load_raw.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.load_duckdb(str(self.warehouse), "vet_raw")

    def dbt(self, *args: str) -> subprocess.CompletedProcess:
        proc = subprocess.run([str(self.bin / "dbt"), *args], cwd=self.path, env=self.env, text=True,
                              capture_output=True)
        assert proc.returncode == 0, f"dbt {' '.join(args)} failed:\n{proc.stdout[-6000:]}\n{proc.stderr}"
        return proc

    def okr_kpi(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
        cmd = [str(self.bin / "okr-kpi"), *args]
        if TOOLKIT_FOLLOWS_PROFILE and args[0] in ("run", "report", "publish"):
            # from another cwd, dbt's flags named as a scheduler would name them
            cmd[2:2] = ["--project-dir", str(self.path), "--profiles-dir", str(self.path)]
        return subprocess.run(cmd, cwd=cwd or self.tmp, env=self.toolkit_env(), text=True,
                              capture_output=True, timeout=900)

    def query(self, sql: str) -> list[dict]:
        import duckdb

        con = duckdb.connect(str(self.warehouse), read_only=True)
        try:
            cur = con.execute(sql.replace("{schema}", SCHEMA))
            cols = [d[0] for d in cur.description]
            return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
        finally:
            con.close()


@pytest.fixture(scope="module")
def clinic(tmp_path_factory, toolkit_bin):
    project = Clinic(tmp_path_factory.mktemp("vetcare"), toolkit_bin)
    try:
        project.load_raw()
        project.dbt("deps")
        project.build = project.dbt("build", "--log-format", "json")
        project.periods = project.query("select * from {schema}.fct_kpi_periods")
        project.lint = project.okr_kpi("lint", cwd=project.path)
        # no --as-of: the clinic pins as_of_date in its dbt_project.yml, and the run follows it
        project.run = project.okr_kpi("run", "--out", str(project.tmp / "run_out"))
        project.posts = list(project.receiver.requests)
        project.publish = project.okr_kpi("publish", "--out", str(project.tmp / "run_out"))
        project.posts_after_publish = list(project.receiver.requests)
        project.report = project.okr_kpi("report", "--out", str(project.tmp / "report_out"))
        yield project
    finally:
        project.receiver.stop()


def _close(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


# --- dbt build ------------------------------------------------------------------------------------

def _warn_events(build: subprocess.CompletedProcess) -> list[dict]:
    events = []
    for line in build.stdout.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event["info"]["level"] in ("warn", "error"):
            events.append(event)
    return events


def _is_kpi_threshold_result(event: dict) -> bool:
    """The package's threshold test warns on a breach: news about the data, not about the package."""
    node = (event.get("data") or {}).get("node_info", {}).get("unique_id", "")
    allowed = [THRESHOLD_TEST] + ([] if CALENDAR_FIXED else [PERIODS_UNIQUE_TEST])
    return any(node.startswith(f"test.okr_kpi.{name}") for name in allowed)


def test_build_warns_only_about_threshold_breaches(clinic, expected):
    events = _warn_events(clinic.build)
    results = [e for e in events if _is_kpi_threshold_result(e)]
    assert results, "the thresholds seeded are crossed: the threshold test warns"
    # the threshold test's log lines name the breaches computed here, one line each
    lines = [json.loads(line)["info"]["msg"] for line in clinic.build.stdout.splitlines()
             if "KPI threshold breach (" in line]
    assert len(lines) == len(expected.threshold_breaches())
    for (kpi, grain, start), breach in expected.threshold_breaches().items():
        assert any(f"({breach['severity']}): {kpi} {grain} {start}" in line for line in lines), (kpi, start)


@pytest.mark.xfail(not PACKAGE_WITHOUT_DEMO, strict=True,
                   reason="(d) the package still ships the demo company: its disabled sources warn")
def test_build_has_no_warning_from_the_package(clinic):
    others = [e["info"]["name"] + ": " + e["info"]["msg"][:200] for e in _warn_events(clinic.build)
              if not _is_kpi_threshold_result(e)]
    assert others == []
    manifest = json.loads((clinic.tmp / "target" / "manifest.json").read_text())
    demo = [key for section in ("nodes", "sources", "exposures", "metrics", "semantic_models")
            for key in manifest[section] if "demo" in key]
    assert demo == []


def test_only_the_clinics_kpis_are_built(clinic, expected):
    rows = clinic.query("select kpi_id, aggregation from {schema}.dim_kpis")
    kpis = {r["kpi_id"]: r["aggregation"] for r in rows}
    assert kpis == {k: v["aggregation"] for k, v in expected.kpis.items()}
    assert set(kpis.values()) == {"sum", "count", "ratio", "average", "last", "min", "max"}
    # in the profile's own file and schema; the raw tables in vet_raw
    rows = clinic.query("select distinct table_schema from information_schema.tables")
    schemas = {r["table_schema"] for r in rows}
    assert {SCHEMA, "vet_raw"} <= schemas


# --- the marts against the raw rows ---------------------------------------------------------------

def test_fct_kpi_daily_equals_the_raw_rows(clinic, expected):
    rows = clinic.query("select kpi_id, date_day, numerator, denominator, value from {schema}.fct_kpi_daily")
    assert len(rows) == len(expected.kpis) * len(expected.calendar)  # 2023-10-01 .. 2025-03-16, every KPI
    for r in rows:
        num, den, value = expected.daily[r["kpi_id"]][r["date_day"]]
        assert _close(r["value"], value), r
        assert _close(r["numerator"], num), r
        if expected.kpis[r["kpi_id"]]["aggregation"] in ("ratio", "average"):
            assert _close(r["denominator"], den), r
    leap = {r["kpi_id"]: r["value"] for r in rows if r["date_day"] == dt.date(2024, 2, 29)}
    assert leap["vet_fridge_max_temp"] == 8.8  # the planted excursion on the leap day


def period_mismatches(rows: list[dict], expected: Expected) -> list[tuple]:
    """(kpi_id, grain, period_start, column) of every built period that differs from `expected`."""
    out = []
    for r in rows:
        want = expected.period(r["kpi_id"], r["grain"], r["period_start"])
        for column in ("period_end", "is_complete", "value", "numerator", "denominator"):
            same = (r[column] == want[column] if column in ("period_end", "is_complete")
                    else _close(r[column], want[column]))
            if not same:
                out.append((r["kpi_id"], r["grain"], r["period_start"], column))
    return out


def test_the_comparison_finds_one_changed_raw_row(clinic, tmp_path):
    # Bad input: one completed appointment on the leap day invoiced 1 EUR more. The independent
    # computation from that raw data disagrees with the marts in exactly the periods holding
    # 2024-02-29, for the revenue alone.
    raw = tmp_path / "raw"
    shutil.copytree(PROJECT / "raw", raw)
    lines = (raw / "appointments.csv").read_text().splitlines(keepends=True)
    i = next(n for n, line in enumerate(lines) if ",2024-02-29 " in line and ",completed," in line)
    cells = lines[i].rstrip("\n").split(",")
    cells[5] = str(int(cells[5]) + 100)
    lines[i] = ",".join(cells) + "\n"
    (raw / "appointments.csv").write_text("".join(lines))
    wrong = period_mismatches(clinic.periods, Expected(raw))
    leap = dt.date(2024, 2, 29)
    holding = {(g, period_start(g, leap)) for g in GRAINS}
    assert {(k, g, s) for k, g, s, _ in wrong} == {("vet_revenue", g, s) for g, s in holding}
    assert {c for *_, c in wrong} == {"value", "numerator"}


def test_fct_kpi_periods_equal_an_independent_reaggregation(clinic, expected):
    built = {(r["kpi_id"], r["grain"], r["period_start"]) for r in clinic.periods}
    assert built == {(k, g, s) for (k, g), periods in expected.periods.items() for s in periods}
    assert period_mismatches(clinic.periods, expected) == []
    # the leap-day periods: day 2024-02-29, its week, February 2024 (29 days), Q1 2024, 2024
    for grain, start, days in (("day", "2024-02-29", 1), ("week", "2024-02-26", 7),
                               ("month", "2024-02-01", 29),
                               ("quarter", "2024-01-01", 91), ("year", "2024-01-01", 366)):
        start = dt.date.fromisoformat(start)
        for kpi in expected.kpis:
            rows = [r for r in clinic.periods
                    if (r["kpi_id"], r["grain"], r["period_start"]) == (kpi, grain, start)]
            assert rows, (kpi, grain, start)
            assert all(_close(r["value"], expected.period(kpi, grain, start)["value"]) for r in rows)
            assert expected.period(kpi, grain, start)["day_count"] == days


def test_prior_and_last_year_values_between_full_periods(clinic, expected):
    # Compared only where both periods lie wholly inside the data (how partial periods are
    # compared is the calendar engineer's rule, checked in test_leap_day_and_partial_periods).
    checked = 0
    for r in clinic.periods:
        key = (r["kpi_id"], r["grain"])
        periods = expected.periods[key]
        starts = sorted(periods)
        start = r["period_start"]
        if not periods[start]["is_full"]:
            continue
        i = starts.index(start)
        if i > 0 and periods[starts[i - 1]]["is_full"]:
            assert _close(r["prior_value"], periods[starts[i - 1]]["value"]), r
            checked += 1
        last_year = year_before(r["grain"], start)
        if r["grain"] == "day" and start in (dt.date(2025, 2, 28), dt.date(2025, 3, 1)):
            continue  # next to the leap day: test_leap_day_and_partial_periods
        if last_year in periods and periods[last_year]["is_full"]:
            assert _close(r["same_period_last_year_value"], periods[last_year]["value"]), r
            checked += 1
    assert checked > 3000


@pytest.mark.xfail(not CALENDAR_FIXED, strict=True,
                   reason="(b) day 2025-02-28 has two rows (2024-02-28 and 2024-02-29 both match); "
                          "no is_full_period")
def test_leap_day_and_partial_periods(clinic, expected):
    keys = [(r["kpi_id"], r["grain"], r["period_start"]) for r in clinic.periods]
    assert len(keys) == len(set(keys)), "one row per KPI, grain and period"
    day = {(r["kpi_id"], r["period_start"]): r for r in clinic.periods if r["grain"] == "day"}
    for kpi in expected.kpis:
        feb28 = day[(kpi, dt.date(2025, 2, 28))]
        want = expected.period(kpi, "day", dt.date(2024, 2, 28))["value"]
        assert _close(feb28["same_period_last_year_value"], want), feb28
        mar1 = day[(kpi, dt.date(2025, 3, 1))]
        want = expected.period(kpi, "day", dt.date(2024, 3, 1))["value"]
        assert _close(mar1["same_period_last_year_value"], want), mar1
    for r in clinic.periods:
        want = expected.period(r["kpi_id"], r["grain"], r["period_start"])
        if r["is_complete"]:
            assert r["is_full_period"] is want["is_full"], r
    # the first week (Mon 2023-09-25, data from Sun 10-01) and the year 2023 are partial: the
    # periods after them are not compared with them as if they were full
    for r in clinic.periods:
        if (r["grain"], r["period_start"]) in (("week", dt.date(2023, 10, 2)), ("year", dt.date(2024, 1, 1))):
            assert r["change_pct"] is None, r
        if (r["grain"], r["period_start"]) == ("year", dt.date(2024, 1, 1)):
            assert r["same_period_last_year_value"] is None, r


def test_threshold_breaches_equal_the_raw_rows(clinic, expected):
    rows = clinic.query("select kpi_id, grain, period_start, value, severity, bound, affected_key_results "
                        "from {schema}.fct_kpi_breaches "
                        "where rule = 'threshold' and segment_dimension is null")
    want = expected.threshold_breaches()
    got = {(r["kpi_id"], r["grain"], r["period_start"]): r for r in rows}
    assert set(got) == set(want)
    for key, breach in want.items():
        assert got[key]["severity"] == breach["severity"], key
        assert _close(got[key]["bound"], breach["bound"]), key
        assert _close(got[key]["value"], breach["value"]), key
    # the leap day's breach, and the key results named by a breach of their KPI
    assert got[("vet_fridge_max_temp", "day", dt.date(2024, 2, 29))]["severity"] == "warning"
    assert got[("vet_fridge_max_temp", "day", dt.date(2024, 6, 21))]["severity"] == "critical"
    cold = got[("vet_fridge_min_temp", "day", dt.date(2025, 1, 9))]
    assert cold["affected_key_results"] == "kr-q2-fridge-cold"
    assert ("vet_no_show_rate", "month", dt.date(2024, 8, 1)) in got


# --- segments: visits by clinic and species, the waiting time by clinic (docs/segments.md) ----------

SEGMENT_VALUES = {"clinic": {"HBR", "MIL", "WES"}, "species": {"dog", "cat", "rabbit", "bird"}}


def segment_mismatches(rows: list[dict], expected: Expected) -> list[tuple]:
    """(kpi_id, dimension, value, grain, period_start, column) of every built segment period that
    differs from `expected`, and of every period missing on either side."""
    got = {(r["kpi_id"], r["segment_dimension"], r["segment_value"], r["grain"], r["period_start"]): r
           for r in rows}
    want = {(*key, start): p for key, periods in expected.segment_periods.items()
            for start, p in periods.items()}
    out = [(*key, "missing") for key in set(got) ^ set(want)]
    for key in set(got) & set(want):
        for column in ("period_end", "is_complete", "value", "numerator", "denominator"):
            a, b = got[key][column], want[key][column]
            if not (a == b if column in ("period_end", "is_complete") else _close(a, b)):
                out.append((*key, column))
        if got[key]["is_complete"] and got[key]["is_full_period"] is not want[key]["is_full"]:
            out.append((*key, "is_full_period"))
    return sorted(out, key=str)


@pytest.fixture(scope="module")
def segment_periods(clinic) -> list[dict]:
    return clinic.query("select * from {schema}.fct_kpi_segment_periods")


def test_segment_periods_equal_the_raw_rows(segment_periods, expected):
    # the declared dimensions only, every clinic and species, every grain
    declared = {("vet_visits", "clinic"), ("vet_visits", "species"), ("vet_wait_minutes", "clinic")}
    assert {(r["kpi_id"], r["segment_dimension"]) for r in segment_periods} == declared
    for kpi, dimension in declared:
        values = {r["segment_value"] for r in segment_periods
                  if (r["kpi_id"], r["segment_dimension"]) == (kpi, dimension)}
        assert values == SEGMENT_VALUES[dimension], (kpi, dimension)
    assert len(segment_periods) > 5000
    assert segment_mismatches(segment_periods, expected) == []
    # the clinics' visits add up to the chain's; their waiting times do not average to it
    month = dt.date(2025, 2, 1)
    feb = {(r["kpi_id"], r["segment_value"]): r for r in segment_periods
           if (r["grain"], r["period_start"], r["segment_dimension"]) == ("month", month, "clinic")}
    total = {k: expected.period(k, "month", month)["value"] for k in ("vet_visits", "vet_wait_minutes")}
    assert sum(feb[("vet_visits", c)]["value"] for c in SEGMENT_VALUES["clinic"]) == total["vet_visits"]
    waits = [feb[("vet_wait_minutes", c)]["value"] for c in SEGMENT_VALUES["clinic"]]
    assert not _close(sum(waits) / 3, total["vet_wait_minutes"])


def test_segment_comparison_finds_one_changed_wait(segment_periods, tmp_path):
    # Bad input: one completed Westside visit on 2025-02-10 waited 1 minute longer. The independent
    # computation disagrees with the marts in exactly the Westside waiting-time periods holding it.
    raw = tmp_path / "raw"
    shutil.copytree(PROJECT / "raw", raw)
    lines = (raw / "appointments.csv").read_text().splitlines(keepends=True)
    i = next(n for n, line in enumerate(lines) if ",WES,2025-02-10 " in line and ",completed," in line)
    cells = lines[i].rstrip("\n").split(",")
    cells[6] = str(int(cells[6]) + 1)
    lines[i] = ",".join(cells) + "\n"
    (raw / "appointments.csv").write_text("".join(lines))
    wrong = segment_mismatches(segment_periods, Expected(raw))
    day = dt.date(2025, 2, 10)
    assert {key[:5] for key in wrong} == {("vet_wait_minutes", "clinic", "WES", g, period_start(g, day))
                                          for g in GRAINS}
    assert {key[5] for key in wrong} == {"value", "numerator"}


def test_segment_threshold_breaches_name_the_clinic(clinic, expected):
    rows = clinic.query("select kpi_id, grain, period_start, segment_dimension, segment_value, value, "
                        "severity, kpi_name, affected_key_results from {schema}.fct_kpi_breaches "
                        "where rule = 'threshold' and segment_dimension is not null")
    got = {(r["kpi_id"], r["grain"], r["period_start"], r["segment_dimension"], r["segment_value"]): r
           for r in rows}
    want = expected.threshold_breaches(segments=True)
    assert set(got) == set(want)
    for key, breach in want.items():
        assert got[key]["severity"] == breach["severity"] and _close(got[key]["value"], breach["value"]), key
    # the planted short-staffed fortnight at Westside (2025-02-03 .. 02-16): its February breaches
    # the clinic's bound, while the chain's February (all three clinics) stays under the same bound
    feb = got[("vet_wait_minutes", "month", dt.date(2025, 2, 1), "clinic", "WES")]
    assert feb["kpi_name"] == "Waiting time (clinic = WES)"
    assert feb["affected_key_results"] == "kr-h1-wes-wait"
    assert expected.period("vet_wait_minutes", "month", dt.date(2025, 2, 1))["value"] < 20.5


def test_run_alerts_the_clinic_breach_by_its_segment(clinic):
    # `okr-kpi run` (from outside the project dir) sends Westside's February breach apart from
    # the chain's, named after its segment
    breach = clinic.query("select breach_id from {schema}.fct_kpi_breaches "
                          "where kpi_id = 'vet_wait_minutes' and segment_value = 'WES' and grain = 'month' "
                          "and period_start = date '2025-02-01'")
    events = {e["breach_id"]: e for p in clinic.posts for g in p["body"]["groups"] for e in g["events"]}
    assert len(breach) == 1 and breach[0]["breach_id"] in events
    assert events[breach[0]["breach_id"]]["kpi_name"] == "Waiting time (clinic = WES)"


def test_key_result_on_one_clinic(clinic, expected):
    # "Keep Westside's monthly wait at or below 18 minutes" (maintain_below, month) in H1 FY2025:
    # scored from Westside's months only. On 2025-03-16 five months have ended in the cycle; by
    # hand from raw/appointments.csv, Westside waited 17.49, 18.24, 15.63, 15.97 and 22.26 minutes
    # on average (October .. February): three of five at or below 18.
    kr = next(k for k in _seed("okr_key_results") if k["key_result_id"] == "kr-h1-wes-wait")
    assert (kr["segment_dimension"], kr["segment_value"]) == ("clinic", "WES")
    row = clinic.query("select * from {schema}.fct_key_result_progress "
                       "where key_result_id = 'kr-h1-wes-wait' and date_day = date '2025-03-16'")[0]
    want = expected.key_result(kr, AS_OF)
    assert _close(row["score"], want["score"]) and _close(row["score"], 3 / 5)
    feb = expected.segment_periods[("vet_wait_minutes", "clinic", "WES", "month")][dt.date(2025, 2, 1)]
    feb = feb["value"]
    assert _close(row["current_value"], feb) and round(feb, 2) == 22.26
    # the chain's own waiting-time key result reads the total, not Westside
    chain = clinic.query("select current_value from {schema}.fct_key_result_progress "
                         "where key_result_id = 'kr-h1-wait' and date_day = date '2025-03-16'")[0]
    chain_feb = expected.period("vet_wait_minutes", "month", dt.date(2025, 2, 1))["value"]
    assert _close(chain["current_value"], chain_feb)


@pytest.mark.parametrize("day", ["2024-10-01", "2024-12-31", "2025-01-01", "2025-02-28", "2025-03-16"])
def test_key_result_progress_on_a_day(clinic, expected, day):
    day = dt.date.fromisoformat(day)
    rows = {r["key_result_id"]: r for r in clinic.query(
        "select * from {schema}.fct_key_result_progress where date_day = date '" + day.isoformat() + "'")}
    key_results = _seed("okr_key_results")
    cycles = {c["cycle_id"]: c for c in _seed("okr_cycles")}
    active = [kr for kr in key_results
              if cycles[expected.objective_cycle[kr["objective_id"]]]["start_date"] <= day.isoformat()
              <= cycles[expected.objective_cycle[kr["objective_id"]]]["end_date"]]
    assert set(rows) == {kr["key_result_id"] for kr in active}
    for kr in active:
        want = expected.key_result(kr, day)
        got = rows[kr["key_result_id"]]
        for column, value in want.items():
            assert _close(got[column], value), (kr["key_result_id"], column, got[column], value)


def _objective_score(expected: Expected, objective_id: str, day: dt.date) -> float | None:
    """docs/scoring.md: the weighted scores of the objective's own key results and, weight 1 each,
    the scores of its aligned children that have a row (their cycle holds the day)."""
    cycles = {c["cycle_id"]: c for c in _seed("okr_cycles")}
    objectives = _seed("okr_objectives")
    weighted = weights = 0.0
    for kr in _seed("okr_key_results"):
        if kr["objective_id"] == objective_id:
            score = expected.key_result(kr, day)["score"]
            if score is not None:
                weighted += float(kr["weight"] or 1) * score
                weights += float(kr["weight"] or 1)
    for child in objectives:
        cycle = cycles[child["cycle_id"]]
        holds_day = cycle["start_date"] <= day.isoformat() <= cycle["end_date"]
        if child["parent_objective_id"] == objective_id and holds_day:
            score = _objective_score(expected, child["objective_id"], day)
            if score is not None:
                weighted += score
                weights += 1
    return weighted / weights if weights else None


@pytest.mark.parametrize("day", ["2024-12-31", "2025-03-16"])
def test_objective_progress_and_grades(clinic, expected, day):
    day = dt.date.fromisoformat(day)
    rows = {r["objective_id"]: r for r in clinic.query(
        "select objective_id, score, grade from {schema}.fct_objective_progress "
        "where date_day = date '" + day.isoformat() + "'")}
    cycles = {c["cycle_id"]: c for c in _seed("okr_cycles")}
    active = {o["objective_id"]: cycles[o["cycle_id"]] for o in _seed("okr_objectives")
              if cycles[o["cycle_id"]]["start_date"] <= day.isoformat() <= cycles[o["cycle_id"]]["end_date"]}
    assert set(rows) == set(active)
    for objective_id, cycle in active.items():
        score = _objective_score(expected, objective_id, day)
        assert _close(rows[objective_id]["score"], score), (objective_id, rows[objective_id], score)
        if cycle["end_date"] == day.isoformat():  # graded on the cycle's last day (the finished quarter)
            grade = "green" if score >= 0.7 else "yellow" if score >= 0.4 else "red"
            assert rows[objective_id]["grade"] == grade, objective_id
        else:
            assert rows[objective_id]["grade"] is None, objective_id
    if day == dt.date(2024, 12, 31):
        assert {o for o, c in active.items() if c["end_date"] == "2024-12-31"} == {"obj-q1-strong-close",
                                                                                 "obj-q1-fewer-no-shows"}


def test_key_result_kinds_are_all_present():
    kinds = {kr["kr_type"] for kr in _seed("okr_key_results")}
    assert kinds == {"increase", "decrease", "maintain_above", "maintain_below", "milestone"}
    measures = {kr["measure"] for kr in _seed("okr_key_results") if kr["kpi_id"]}
    assert measures == {"latest_period", "cycle_to_date"}
    assert any(not kr["kpi_id"] for kr in _seed("okr_key_results"))  # measured by check-ins


# --- okr-kpi lint, run, report --------------------------------------------------------------------

def _lint_errors(lint: subprocess.CompletedProcess) -> list[str]:
    return [line for line in lint.stdout.splitlines() if ": ERROR " in line]


def test_lint_finds_no_error_but_the_known_overlap(clinic):
    # Today lint refuses company objectives in cycles that overlap (okr-cycle-overlap, an error),
    # which a year beside a six-month cycle beside a quarter always does: see flag (c).
    errors = _lint_errors(clinic.lint)
    assert [e for e in errors if "okr-cycle-overlap" not in e] == [], clinic.lint.stdout
    assert "okr-kr-count" in clinic.lint.stdout  # lint read the clinic's seeds (2 KRs here and there)


@pytest.mark.xfail(not REPORT_SHOWS_EVERY_CYCLE, strict=True,
                   reason="(c) lint: okr-cycle-overlap (error) for company objectives of a year, six months "
                          "and a quarter side by side; okr-parent-cycle (warning) for a quarter under "
                          "six months")
def test_lint_passes_on_cycles_of_every_length(clinic):
    assert clinic.lint.returncode == 0, clinic.lint.stdout + clinic.lint.stderr
    assert "okr-parent-cycle" not in clinic.lint.stdout + clinic.lint.stderr


def test_run_delivers_to_the_webhook(clinic):
    output = clinic.run.stdout + clinic.run.stderr
    assert clinic.run.returncode == 10, output  # 10: new breaches found and reported
    assert clinic.posts, "the webhook received nothing"
    assert {p["path"] for p in clinic.posts} == {"/hooks/vetcare"}
    digest = clinic.posts[0]["body"]
    assert digest["type"] == "okr_kpi.breach_digest" and digest["as_of_date"] == AS_OF.isoformat()
    assert f"as_of_date {AS_OF.isoformat()}: the var as_of_date pinned in dbt_project.yml" in output
    events = [e for group in digest["groups"] for e in group["events"]]
    ids = {r["breach_id"] for r in clinic.query("select breach_id from {schema}.fct_kpi_breaches")}
    assert {e["breach_id"] for e in events} <= ids
    # publishing again sends nothing: what was sent is not sent twice
    assert clinic.publish.returncode == 0, clinic.publish.stdout + clinic.publish.stderr
    assert len(clinic.posts_after_publish) == len(clinic.posts)
    # the recent excursion (2025-03-12, 8.4 C) is new on the first run
    assert any(e["kpi_id"] == "vet_fridge_max_temp" and e["period_start"] == "2025-03-12"
               and e["event"] == "new" for e in events), events


@pytest.mark.xfail(not TOOLKIT_FOLLOWS_PROFILE, strict=True,
                   reason="(a) no --project-dir; the toolkit ignores the project's profile (okr_kpi.duckdb, "
                          "--target duckdb, OKR_KPI_SCHEMA)")
def test_toolkit_follows_the_projects_profile(clinic):
    # no workaround: dbt's own DBT_PROFILES_DIR, the profile's target `nightly`, its file and schema
    assert not any(k.startswith("OKR_KPI_") and k.endswith(("_PATH", "_SCHEMA", "_TARGET", "_PROJECT_DIR"))
                   for k in clinic.env)
    out = clinic.tmp / "report_by_profile"
    proc = subprocess.run([str(clinic.bin / "okr-kpi"), "report", "--project-dir", str(clinic.path),
                           "--out", str(out)], cwd=clinic.tmp, env=clinic.env, text=True, capture_output=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Make every booked slot count" in (out / "report.html").read_text()
    assert not list(clinic.path.rglob("okr_kpi.duckdb")) and not (clinic.tmp / "okr_kpi.duckdb").exists()
    tables = clinic.query("select table_name from information_schema.tables where table_schema = '{schema}' "
                          "and table_name = 'okr_kpi_runs'")
    assert tables, "the run's lifecycle tables are in the project's own warehouse and schema"


def test_report_is_written(clinic):
    assert clinic.report.returncode == 0, clinic.report.stdout + clinic.report.stderr
    html = (clinic.tmp / "report_out" / "report.html").read_text()
    assert "Make every booked slot count" in html  # the current quarter's objective


@pytest.mark.xfail(not REPORT_SHOWS_EVERY_CYCLE, strict=True,
                   reason="(c) the report and summary.md show only the current quarter")
def test_report_shows_every_active_cycle_and_the_last_finished_one(clinic):
    html = (clinic.tmp / "report_out" / "report.html").read_text()
    summary = (clinic.tmp / "report_out" / "summary.md").read_text()
    cycles = {c["cycle_id"]: c for c in _seed("okr_cycles")}
    shown = [c for c in cycles.values() if c["start_date"] <= AS_OF.isoformat() <= c["end_date"]]
    assert {c["cycle_id"] for c in shown} == {"fy25", "fy25-h1", "fy25-q2"}
    shown.append(cycles["fy25-q1"])  # finished on 2024-12-31: graded
    for objective in _seed("okr_objectives"):
        if objective["cycle_id"] in {c["cycle_id"] for c in shown}:
            assert objective["title"] in html, objective["objective_id"]
            assert objective["title"] in summary, objective["objective_id"]


# --- the same project on the team's PostgreSQL (profile target `shared`) --------------------------

def test_the_shared_target_on_postgresql(tmp_path, wheel_env_postgres, expected):
    toolkit_bin = wheel_env_postgres
    import uuid

    import psycopg2
    from harness import require_target

    require_target("postgres")
    has_adapter = subprocess.run([str(toolkit_bin / "python"), "-c", "import dbt.adapters.postgres"],
                                 capture_output=True)
    if has_adapter.returncode != 0:
        pytest.skip(f"dbt-postgres is not installed in {toolkit_bin} (the toolkit's [postgres] extra)")
    project = Clinic(tmp_path, toolkit_bin)
    project.receiver.stop()
    schema = f"vetcare_clinic_{uuid.uuid4().hex[:8]}"
    connect = {"host": os.environ.get("PGHOST", "127.0.0.1"), "port": os.environ.get("PGPORT", "5432"),
               "user": os.environ.get("PGUSER", "postgres"),
               "dbname": os.environ.get("PGDATABASE", "postgres")}
    project.env.update({"VETCARE_TARGET": "shared", "VETCARE_SCHEMA": schema,
                        "VETCARE_RAW_SCHEMA": f"{schema}_raw",
                        "VETCARE_PGHOST": connect["host"], "VETCARE_PGPORT": connect["port"],
                        "VETCARE_PGUSER": connect["user"], "VETCARE_PGDATABASE": connect["dbname"]})
    import importlib.util

    spec = importlib.util.spec_from_file_location("vetcare_load_raw", project.path / "load_raw.py")
    loader = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loader)
    try:
        loader.load_postgres(f"{schema}_raw", **connect)
        project.dbt("deps")
        project.dbt("build")
        con = psycopg2.connect(**connect)
        try:
            with con.cursor() as cur:
                cur.execute(f'select * from "{schema}".fct_kpi_periods')
                cols = [d[0] for d in cur.description]
                periods = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
                cur.execute("select kpi_id, grain, period_start, severity "
                            f"from \"{schema}\".fct_kpi_breaches where rule = 'threshold' "
                            "and segment_dimension is null")
                breaches = {(k, g, s): sev for k, g, s, sev in cur.fetchall()}
        finally:
            con.close()
        assert period_mismatches(periods, expected) == []
        assert {(r["kpi_id"], r["grain"], r["period_start"]) for r in periods} == \
            {(k, g, s) for (k, g), p in expected.periods.items() for s in p}
        assert breaches == {key: b["severity"] for key, b in expected.threshold_breaches().items()}
    finally:
        con = psycopg2.connect(**connect)
        con.autocommit = True
        with con.cursor() as cur:
            cur.execute("select nspname from pg_namespace where starts_with(nspname, %s)", (schema,))
            for (name,) in cur.fetchall():
                cur.execute(f'drop schema if exists "{name}" cascade')
        con.close()
