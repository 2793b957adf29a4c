"""The business time zone reaches every place a timestamp becomes a day: the row-level KPI inputs
(okr_kpi.kpi_row_input: distinct counts and percentiles) and the source load profiles
(okr_kpi.source_load: the day of a load and the hour of its last row), not only the daily
okr_kpi.kpi_input.

Events near midnight in Europe/Paris (UTC+1 in winter) and America/New_York (UTC−5): the
expected days, distinct members and medians are computed here in Python with zoneinfo, from the
raw UTC timestamps, and the marts must equal them on DuckDB and PostgreSQL. Before the fix the
row-level inputs and the load profile used the UTC day (cast(ts as date)), and these tests failed.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from harness import TARGETS, consumer_project_on

D = dt.date.fromisoformat

# (UTC timestamp, member, value): the 23:30 UTC rows belong to the next day in Paris, the 03:30
# UTC rows to the previous day in New York.
EVENTS = [
    ("2024-03-01 10:00:00", "alice", 10.0),
    ("2024-03-01 23:30:00", "bob", 100.0),     # Paris 03-02 00:30
    ("2024-03-01 23:45:00", "carol", 200.0),   # Paris 03-02 00:45
    ("2024-03-02 03:30:00", "alice", 30.0),    # New York 03-01 22:30
    ("2024-03-02 12:00:00", "dave", 40.0),
    ("2024-03-02 22:10:00", "erin", 50.0),     # Paris 03-02 23:10
    ("2024-03-03 09:00:00", "bob", 60.0),
]
AS_OF = D("2024-03-03")
ZONES = {"paris": "Europe/Paris", "ny": "America/New_York"}


def local(ts: str, zone: str) -> dt.datetime:
    return dt.datetime.fromisoformat(ts).replace(tzinfo=dt.UTC).astimezone(ZoneInfo(zone))


def expected(zone: str) -> dict[str, dict[dt.date, float]]:
    """Per business day: distinct members, the median value (continuous), the rows and the
    business-time hour of the last row."""
    days: dict[dt.date, list[tuple[dt.datetime, str, float]]] = {}
    for ts, member, value in EVENTS:
        t = local(ts, zone)
        days.setdefault(t.date(), []).append((t, member, value))
    out: dict[str, dict[dt.date, float]] = {"members": {}, "median": {}, "rows": {}, "last_hour": {}}
    for day, rows in days.items():
        if day > AS_OF:
            continue
        out["members"][day] = len({m for _, m, _ in rows})
        out["median"][day] = float(np.percentile([v for _, _, v in rows], 50))
        out["rows"][day] = len(rows)
        last = max(t for t, _, _ in rows)
        out["last_hour"][day] = last.hour + last.minute / 60
    return out


def test_the_fixture_crosses_midnight_as_claimed():
    paris, ny = expected("Europe/Paris"), expected("America/New_York")
    assert paris["rows"] == {D("2024-03-01"): 1, D("2024-03-02"): 5, D("2024-03-03"): 1}
    assert ny["rows"] == {D("2024-03-01"): 4, D("2024-03-02"): 2, D("2024-03-03"): 1}
    # in UTC the days would be 3 / 3 / 1 with other members: the zone changes every answer
    assert paris["members"][D("2024-03-02")] == 5 and paris["median"][D("2024-03-02")] == 50.0


MODEL = """
{{{{ okr_kpi.kpi_row_input('members_{key}', ref('stg_events'), 'happened_at', member='member'{zone}) }}}}
union all
{{{{ okr_kpi.kpi_row_input('median_{key}', ref('stg_events'), 'happened_at', value='amount'{zone}) }}}}
"""


@pytest.fixture(scope="module", params=TARGETS[:2])
def zoned_rows(request, tmp_path_factory):
    target = request.param
    header = ("kpi_id,name,description,unit,direction,aggregation,owner,data_source,"
              "reporting_frequency,percentile")
    definitions = [header]
    for key in ZONES:
        source = f"a@x.example,events_{key},daily"
        definitions.append(f"members_{key},members,d,n,higher_is_better,count_distinct,{source},")
        definitions.append(f"median_{key},median,d,n,lower_is_better,percentile,{source},median")
    events = "event_id,happened_at,member,amount\n" + "\n".join(
        f"{n},{ts},{m},{v}" for n, (ts, m, v) in enumerate(EVENTS, 1))
    models = {
        "stg_events": """
            select event_id, cast(happened_at as {{ dbt.type_timestamp() }}) as happened_at, member,
                   cast(amount as {{ okr_kpi.type_double() }}) as amount
            from {{ ref('raw_events') }}
        """,
        # paris follows the var okr_kpi_time_zone; new york names its zone
        "rows_paris": MODEL.format(key="paris", zone=""),
        "rows_ny": MODEL.format(key="ny", zone=", time_zone='America/New_York'"),
        "loads": """
            {{ okr_kpi.source_load('events_paris', ref('stg_events'), 'happened_at') }}
            union all
            {{ okr_kpi.source_load('events_ny', ref('stg_events'), 'happened_at',
                                   time_zone='America/New_York') }}
        """,
    }
    with consumer_project_on(
        target,
        tmp_path_factory.mktemp(f"time_zone_rows_{target}"),
        seeds={"kpi_definitions": "\n".join(definitions), "raw_events": events},
        models=models,
        vars={"as_of_date": AS_OF.isoformat(), "okr_kpi_time_zone": "Europe/Paris",
              "okr_kpi_kpi_row_inputs": ["rows_paris", "rows_ny"], "okr_kpi_source_loads": ["loads"]},
    ) as built:
        built.dbt("build", "--select", "+fct_kpi_daily", "+int_kpi_load_days",
                  "--indirect-selection", "cautious")
        yield built


@pytest.mark.parametrize("key", list(ZONES))
def test_row_level_kpis_count_business_days(zoned_rows, key):
    want = expected(ZONES[key])
    rows = zoned_rows.query(
        "select kpi_id, date_day, value from {schema}.fct_kpi_daily "
        f"where kpi_id in ('members_{key}', 'median_{key}') and value is not null")
    got: dict[str, dict[dt.date, float]] = {"members": {}, "median": {}}
    for r in rows:
        kind = "members" if r["kpi_id"].startswith("members") else "median"
        if kind == "members" and float(r["value"]) == 0:
            continue  # a day of the calendar without rows
        got[kind][r["date_day"]] = float(r["value"])
    assert got["members"] == {d: float(v) for d, v in want["members"].items()}
    assert got["median"] == pytest.approx(want["median"])


@pytest.mark.parametrize("key", list(ZONES))
def test_source_loads_use_the_business_day_and_hour(zoned_rows, key):
    want = expected(ZONES[key])
    rows = zoned_rows.query(
        "select date_day, row_count, last_row_hour from {schema}.int_kpi_load_days "
        f"where data_source = 'events_{key}' and has_rows")
    got_rows = {r["date_day"]: int(r["row_count"]) for r in rows}
    got_hours = {r["date_day"]: float(r["last_row_hour"]) for r in rows}
    assert got_rows == want["rows"]
    assert got_hours == pytest.approx(want["last_hour"], abs=1e-6)
