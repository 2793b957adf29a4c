"""`make bench`: how fast the pipeline is compared with what the engine can do.

For each size (raw rows across the demo company's tables) it generates the demo company into
a fresh DuckDB file and measures, on this machine, one after the other:

1. the floor: FLOOR_SQL below, a plain DuckDB script that computes fct_kpi_daily from the
   raw tables in one pass (independent of dbt; its result is checked equal to dbt's); the
   row-level floor (ROW_FLOOR_SQL) and the segment floor (SEGMENT_FLOOR_SQL: fct_kpi_segment_daily,
   the KPIs by segment) likewise, each held against the SQL of the models it replaces;
2. a full `dbt build`;
3. an incremental `dbt build` after one new day of raw data (plus late rows for an earlier
   day inside the lookback window), checked equal to the floor on the new data;
4. the checks (`okr-kpi check`);
5. publishing (`okr-kpi report`, then `okr-kpi publish` with no channel configured);
6. at the largest size, the full build again with a small DuckDB memory limit (it must spill,
   not fail).

Each step runs in its own process; its wall time and its peak memory (the summed RSS of the
process tree, polled from /proc) are reported, and each as a ratio to the floor. The table is
written to docs/benchmarks.md with the machine described.

    python benchmarks/bench.py                   # sizes 1M, 5M, 20M (BENCH_ROWS=N: N/20, N/4, N)
    python benchmarks/bench.py --sizes 100000,500000 --no-docs
    python benchmarks/bench.py --render-only     # docs/benchmarks.md again from the saved results
    python benchmarks/bench.py floor --db wh.duckdb --as-of 2026-08-31   # the floor alone
    python benchmarks/bench.py segment-floor --db wh.duckdb              # the segment floor alone
    python benchmarks/bench.py row-level --rows 20000000 --repeat 5   # the row-level KPIs alone:
        # interleaved pairs of the row-level floor and dbt's int_kpi_row_inputs + int_kpi_row_periods,
        # median pair ratio, peak memory, load per pair; writes its section of docs/benchmarks.md

The results are saved in the work directory (BENCH_WORK_DIR, default /tmp/okr_kpi_bench).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from okr_kpi.demo.company import DEFAULT_START
from okr_kpi.demo.schema import RAW_TABLES
from okr_kpi.project import OkrKpiError

# This repository, and the demo company's dbt project the bench builds (examples/demo).
REPO = Path(__file__).resolve().parents[1]
DEMO_DIR = REPO / "examples" / "demo"
AS_OF = dt.date(2026, 8, 31)  # the demo company's last day (generate's default --end)
SEED = 42
DEFAULT_LOOKBACK_DAYS = 3  # var okr_kpi_lookback_days, not overridden by the bench
WINDOW_DAYS = 7  # checks.window_days (okr_kpi.config default)
# The nightly run after a clean run as of AS_OF: its tests read the rows since this day.
NIGHTLY_SINCE = AS_OF - dt.timedelta(days=WINDOW_DAYS)
DEFAULT_ROWS = 20_000_000
MEMORY_LIMIT = "2GB"  # DuckDB's limit in every step: larger data spills to disk instead of failing
FLOOR_SCHEMA = "bench_floor"
# An extra full build at the largest size, with a small limit: it must spill, not fail.
LOW_MEMORY_LIMIT = "256MB"

# ---------------------------------------------------------------------------------------------
# 1. The floor: fct_kpi_daily from the raw tables, one scan per raw table, no dbt.
#    {raw} is the raw schema, {as_of} the as_of_date (YYYY-MM-DD). Written from the SPEC and
#    the KPI definitions (examples/demo/seeds/kpi_definitions.csv), not from the dbt models' SQL.
# ---------------------------------------------------------------------------------------------
FLOOR_SQL = """
create schema if not exists {floor};
create or replace table {floor}.fct_kpi_daily as
with
web as (
    select
        cast(started_at as date) as date_day,
        count(*) as sessions,
        count(*) filter (where channel = 'organic') as organic,
        count(*) filter (where landing_page like '/blog%') as blog,
        sum(page_load_ms) as load_sum,
        count(page_load_ms) as load_count
    from {raw}.web_sessions
    group by 1
),
app as (
    select
        cast(requested_at as date) as date_day,
        sum(case when status_code >= 500 then 0.0 when response_ms <= 300 then 1.0
                 when response_ms <= 1200 then 0.5 else 0.0 end) as apdex_sum,
        count(*) as requests,
        max(response_ms) as peak
    from {raw}.app_requests
    group by 1
),
ord as (
    select
        cast(ordered_at as date) as date_day,
        sum(amount) as revenue,
        count(*) as orders
    from {raw}.orders
    where status = 'completed'
    group by 1
),
lead as (
    select cast(created_at as date) as date_day, count(*) as leads from {raw}.leads group by 1
),
expense as (
    select cast(spent_on as date) as date_day, sum(amount) as burn from {raw}.expenses group by 1
),
ticket as (
    select
        cast(opened_at as date) as date_day,
        sum(satisfaction_score) as score_sum,
        count(satisfaction_score) as score_count,
        sum(date_diff('microsecond', opened_at, first_response_at) / 3600e6) as response_hours,
        count(first_response_at) as answered
    from {raw}.support_tickets
    group by 1
),
signup as (
    select cast(signed_up_at as date) as date_day, count(*) as signups
    from {raw}.newsletter_signups
    group by 1
),
subscription_change as (
    select date_day, sum(delta) as net_change, sum(cancelled) as cancelled
    from (
        select started_on as date_day, 1 as delta, 0 as cancelled from {raw}.subscriptions
        union all
        select cancelled_on, -1, 1 from {raw}.subscriptions where cancelled_on is not null
    )
    group by 1
),
inputs (kpi_id, date_day, numerator, denominator) as (
    select 'organic_visits', date_day, organic, null from web where organic > 0
    union all select 'blog_visits', date_day, blog, null from web where blog > 0
    union all select 'min_daily_sessions', date_day, sessions, null from web
    union all select 'page_load_time', date_day, load_sum, load_count from web
    union all select 'apdex', date_day, apdex_sum, requests from app
    union all select 'peak_response_time', date_day, peak, null from app
    union all select 'revenue', date_day, revenue, null from ord
    union all select 'average_order_value', date_day, revenue, orders from ord
    union all select 'new_leads', date_day, leads, null from lead
    union all select 'burn', date_day, burn, null from expense
    union all select 'csat', date_day, score_sum, score_count from ticket
    union all select 'first_response_time', date_day, response_hours, answered from ticket where answered > 0
    union all select 'newsletter_signups', date_day, signups, null from signup
    union all select 'churned_customers', date_day, cancelled, null
    from subscription_change where cancelled > 0
    union all select 'active_customers', date_day,
        sum(net_change) over (order by date_day rows between unbounded preceding and current row), null
    from subscription_change
),
kpis (kpi_id, aggregation) as (
    values ('revenue', 'sum'), ('average_order_value', 'ratio'), ('new_leads', 'count'),
        ('organic_visits', 'count'), ('blog_visits', 'count'), ('min_daily_sessions', 'min'),
        ('page_load_time', 'average'), ('apdex', 'ratio'), ('peak_response_time', 'max'),
        ('burn', 'sum'), ('first_response_time', 'average'), ('csat', 'average'),
        ('newsletter_signups', 'count'), ('active_customers', 'last'), ('churned_customers', 'count')
),
calendar as (
    select cast(unnest(generate_series(
        (select min(date_day) from inputs), cast('{as_of}' as date), interval 1 day)) as date) as date_day
),
joined as (
    select
        kpis.kpi_id,
        kpis.aggregation,
        calendar.date_day,
        cast(inputs.numerator as double) as numerator,
        cast(inputs.denominator as double) as denominator,
        inputs.kpi_id is not null as has_data
    from kpis
    cross join calendar
    left join inputs on inputs.kpi_id = kpis.kpi_id and inputs.date_day = calendar.date_day
),
filled as (
    select
        kpi_id,
        aggregation,
        date_day,
        has_data,
        case
            when aggregation in ('sum', 'count', 'ratio', 'average') then coalesce(numerator, 0)
            when aggregation = 'last' then last_value(numerator ignore nulls) over (
                partition by kpi_id order by date_day rows between unbounded preceding and current row)
            else numerator
        end as numerator,
        case when aggregation in ('ratio', 'average') then coalesce(denominator, 0) end as denominator
    from joined
)
select
    kpi_id,
    date_day,
    numerator,
    denominator,
    case when aggregation in ('ratio', 'average') then numerator / nullif(denominator, 0)
         else numerator end as value,
    has_data
from filled;
"""

# 1b. The row-level floor: the demo's count_distinct and percentile KPIs (buying_customers,
# p90_response_time) for every period of every grain, straight from the raw tables with
# DuckDB's own count(distinct) and quantile_cont -- what the package's int_kpi_row_inputs and
# int_kpi_row_periods compute.
ROW_KPIS = ("buying_customers", "p90_response_time")
ROW_LEVEL_NODES = ("model.okr_kpi.int_kpi_row_inputs", "model.okr_kpi.int_kpi_row_periods")
# The load checks (docs/checks.md, "Freshness and load checks"): the demo's load model scans the
# raw tables (rows and last timestamp per source and day); the package's two models judge it.
LOAD_CHECK_NODES = ("model.okr_kpi_demo.int_demo__loads", "model.okr_kpi.int_kpi_load_days",
                    "model.okr_kpi.fct_kpi_freshness")
ROW_FLOOR_SQL = """
create schema if not exists {floor};
create or replace table {floor}.kpi_row_periods as
with grains as (
    select * from (values ('day'), ('week'), ('month'), ('quarter'), ('year')) as g (grain)
),
buyers as (
    select cast(ordered_at as date) as d, customer_id
    from {raw}.orders
    where status = 'completed' and customer_id is not null and cast(ordered_at as date) <= date '{as_of}'
),
requests as (
    select cast(requested_at as date) as d, cast(response_ms as double) as v
    from {raw}.app_requests
    where response_ms is not null and cast(requested_at as date) <= date '{as_of}'
)
select 'buying_customers' as kpi_id, grain, cast(date_trunc(grain, d) as date) as period_start,
       cast(count(distinct customer_id) as double) as numerator, cast(count(*) as double) as denominator
from buyers cross join grains
group by all
union all
select 'p90_response_time', grain, cast(date_trunc(grain, d) as date),
       quantile_cont(v, 0.9), cast(count(*) as double)
from requests cross join grains
group by all;
"""

# 1c. The segment floor: fct_kpi_segment_daily from the raw tables -- the demo's segmented KPIs
# (examples/demo/seeds/kpi_definitions.csv, segment_dimensions) per segment and day, written from
# docs/segments.md, not from the dbt models' SQL: revenue and average_order_value by the
# customer's region, new_leads by lead channel (leads.source), churned_customers by plan. Every
# segment ever seen gets a row for every day of the project's calendar (from the first day of any
# KPI's data) to as_of_date;
# days without its events are 0 (count, sum; numerator and denominator of the ratio).
SEGMENT_KPIS = ("revenue", "average_order_value", "new_leads", "churned_customers")
SEGMENT_MART = "model.okr_kpi.fct_kpi_segment_daily"
SEGMENT_FLOOR_SQL = """
create schema if not exists {floor};
create or replace table {floor}.fct_kpi_segment_daily as
with
ord as (
    select
        cast(o.ordered_at as date) as date_day,
        coalesce(nullif(c.region, ''), '(none)') as segment_value,
        sum(o.amount) as revenue,
        count(*) as orders
    from {raw}.orders as o
    left join {raw}.customers as c on o.customer_id = c.customer_id
    where o.status = 'completed'
    group by 1, 2
),
lead as (
    select cast(created_at as date) as date_day, coalesce(nullif(source, ''), '(none)') as segment_value,
           count(*) as leads
    from {raw}.leads
    group by 1, 2
),
churn as (
    select
        cancelled_on as date_day, coalesce(nullif(plan, ''), '(none)') as segment_value, count(*) as cancelled
    from {raw}.subscriptions
    where cancelled_on is not null
    group by 1, 2
),
inputs (kpi_id, segment_dimension, segment_value, date_day, numerator, denominator) as (
    select 'revenue', 'region', segment_value, date_day, revenue, null from ord
    union all select 'average_order_value', 'region', segment_value, date_day, revenue, orders from ord
    union all select 'new_leads', 'lead_channel', segment_value, date_day, leads, null from lead
    union all select 'churned_customers', 'plan', segment_value, date_day, cancelled, null from churn
),
kpis (kpi_id, aggregation) as (
    values ('revenue', 'sum'), ('average_order_value', 'ratio'), ('new_leads', 'count'),
        ('churned_customers', 'count')
),
data_start as (
    -- the project's calendar (int_kpi_calendar) starts on the first day of any KPI's data
    select least(
        (select min(cast(started_at as date)) from {raw}.web_sessions),
        (select min(cast(requested_at as date)) from {raw}.app_requests),
        (select min(date_day) from ord),
        (select min(date_day) from lead),
        (select min(spent_on) from {raw}.expenses),
        (select min(cast(opened_at as date)) from {raw}.support_tickets),
        (select min(cast(signed_up_at as date)) from {raw}.newsletter_signups),
        (select min(started_on) from {raw}.subscriptions)
    ) as first_day
),
segments as (
    select distinct inputs.kpi_id, inputs.segment_dimension, inputs.segment_value, data_start.first_day
    from inputs cross join data_start
),
calendar as (
    select
        segments.*,
        cast(unnest(generate_series(first_day, cast('{as_of}' as date), interval 1 day)) as date) as date_day
    from segments
),
joined as (
    select
        calendar.kpi_id,
        kpis.aggregation,
        calendar.segment_dimension,
        calendar.segment_value,
        calendar.date_day,
        coalesce(cast(inputs.numerator as double), 0) as numerator,
        case when kpis.aggregation = 'ratio' then coalesce(cast(inputs.denominator as double), 0) end
            as denominator,
        inputs.kpi_id is not null as has_data
    from calendar
    inner join kpis on calendar.kpi_id = kpis.kpi_id
    left join inputs
        on inputs.kpi_id = calendar.kpi_id and inputs.segment_dimension = calendar.segment_dimension
        and inputs.segment_value = calendar.segment_value and inputs.date_day = calendar.date_day
)
select
    kpi_id,
    segment_dimension,
    segment_value,
    date_day,
    numerator,
    denominator,
    case when aggregation = 'ratio' then numerator / nullif(denominator, 0) else numerator end as value,
    has_data
from joined;
"""

SEGMENT_COMPARE_SQL = """
select count(*) as differences
from {a} as a
full outer join {b} as b
    on a.kpi_id = b.kpi_id and a.segment_dimension = b.segment_dimension
    and a.segment_value = b.segment_value and a.date_day = b.date_day
where a.kpi_id is null or b.kpi_id is null
   or a.has_data is distinct from b.has_data
   or not ({close_num}) or not ({close_den}) or not ({close_val})
"""


def run_segment_floor(db: str, as_of: str, raw_schema: str = "raw",
                      memory_limit: str = MEMORY_LIMIT) -> float:
    """Run the segment floor on a DuckDB file; returns the seconds its SQL took."""
    import duckdb

    con = duckdb.connect(db)
    try:
        con.execute(f"set memory_limit = '{memory_limit}'")
        con.execute("set preserve_insertion_order = false")
        start = time.perf_counter()
        con.execute(SEGMENT_FLOOR_SQL.format(raw=raw_schema, as_of=as_of, floor=FLOOR_SCHEMA))
        return time.perf_counter() - start
    finally:
        con.close()


def compare_segment_daily(con, a: str, b: str) -> int:
    """Rows of fct_kpi_segment_daily that differ between the segment floor (a) and dbt's (b)."""
    sql = SEGMENT_COMPARE_SQL.format(a=a, b=b, close_num=_close("numerator"), close_den=_close("denominator"),
                                     close_val=_close("value"))
    return int(con.execute(sql).fetchone()[0])


def segment_rows(con, mart: str) -> list[tuple[str, str, int, int]]:
    """(kpi_id, segment_dimension, segments, rows) of a fct_kpi_segment_daily."""
    return [tuple(r) for r in con.execute(
        f"select kpi_id, segment_dimension, count(distinct segment_value), count(*) from {mart} "
        "group by all order by all").fetchall()]


ROW_COMPARE_SQL = """
select count(*) as differences
from {a} as a
full outer join (select * from {b} where kpi_id in {kpis}) as b
    on a.kpi_id = b.kpi_id and a.grain = b.grain and a.period_start = b.period_start
where a.kpi_id is null or b.kpi_id is null
   or not ({close_num}) or not ({close_den})
"""


def run_row_floor(db: str, as_of: str, raw_schema: str = "raw", memory_limit: str = MEMORY_LIMIT) -> float:
    """Run the row-level floor on a DuckDB file; returns the seconds its SQL took."""
    import duckdb

    con = duckdb.connect(db)
    try:
        con.execute(f"set memory_limit = '{memory_limit}'")
        con.execute("set preserve_insertion_order = false")
        start = time.perf_counter()
        con.execute(ROW_FLOOR_SQL.format(raw=raw_schema, as_of=as_of, floor=FLOOR_SCHEMA))
        return time.perf_counter() - start
    finally:
        con.close()


def compare_row_periods(con, a: str, b: str) -> int:
    """Periods of the row-level KPIs that differ between the floor (a) and int_kpi_row_periods (b)."""
    sql = ROW_COMPARE_SQL.format(a=a, b=b, kpis="(" + ", ".join(f"'{k}'" for k in ROW_KPIS) + ")",
                                 close_num=_close("numerator"), close_den=_close("denominator"))
    return int(con.execute(sql).fetchone()[0])


COMPARE_SQL = """
select count(*) as differences
from {a} as a
full outer join {b} as b on a.kpi_id = b.kpi_id and a.date_day = b.date_day
where a.kpi_id is null or b.kpi_id is null
   or a.has_data is distinct from b.has_data
   or not ({close_num}) or not ({close_den}) or not ({close_val})
"""


def _close(column: str) -> str:
    a, b = f"a.{column}", f"b.{column}"
    return (f"({a} is null and {b} is null) or abs({a} - {b}) <= 1e-9 * greatest(1, abs({a}), abs({b}))")


def compare_daily(con, a: str, b: str) -> int:
    """Rows of fct_kpi_daily that differ between relations a and b (missing, or values apart);
    the row-level KPIs (ROW_KPIS, compared by compare_row_periods) are left out of b."""
    kpis = ", ".join(f"'{k}'" for k in ROW_KPIS)
    b = f"(select * from {b} where kpi_id not in ({kpis}))"
    sql = COMPARE_SQL.format(a=a, b=b, close_num=_close("numerator"), close_den=_close("denominator"),
                             close_val=_close("value"))
    return int(con.execute(sql).fetchone()[0])


def run_floor(db: str, as_of: str, raw_schema: str = "raw", memory_limit: str = MEMORY_LIMIT) -> float:
    """Run the floor on a DuckDB file; returns the seconds its SQL took (connecting excluded)."""
    import duckdb

    con = duckdb.connect(db)
    try:
        con.execute(f"set memory_limit = '{memory_limit}'")
        con.execute("set preserve_insertion_order = false")
        start = time.perf_counter()
        con.execute(FLOOR_SQL.format(raw=raw_schema, as_of=as_of, floor=FLOOR_SCHEMA))
        return time.perf_counter() - start
    finally:
        con.close()


# ---------------------------------------------------------------------------------------------
# New data: one more day, and late rows for an earlier day.
# ---------------------------------------------------------------------------------------------
def _event_column(table: str) -> str:
    """The column that dates a raw table's rows (its first timestamp or date column)."""
    for name, logical, _ in RAW_TABLES[table]:
        if logical in ("timestamp", "date"):
            return name
    raise AssertionError(f"{table} has no date column")


EVENT_TABLES = ("orders", "leads", "web_sessions", "app_requests", "expenses", "support_tickets",
                "newsletter_signups", "subscriptions", "customers")


def append_day(con, new_day: dt.date, late_day: dt.date | None = None, late_rows: int = 1,
               raw_schema: str = "raw") -> dict[str, int]:
    """Add new raw data to every event table: the rows of new_day (a copy of the previous day's
    rows moved one day on, with new ids) and late_rows late rows dated late_day (copies of the
    table's first rows moved to that day, new ids); then cancel on new_day the active
    subscriptions whose id is a multiple of 50, and the oldest active one. Returns rows added.

    con: a DuckDB connection or a PostgreSQL (psycopg2) cursor; the SQL runs on both."""
    added: dict[str, int] = {}
    previous = new_day - dt.timedelta(days=1)
    for table in EVENT_TABLES:
        date_column = _event_column(table)
        ident = f"{raw_schema}.{table}"
        before = _sql(con, f"select count(*) from {ident}").fetchone()[0]
        _sql(con, _copy_rows(ident, table, f"cast({date_column} as date) = cast('{previous}' as date)",
                               "1", ""))
        if late_day is not None and late_rows:
            shift = f"cast(cast('{late_day}' as date) - cast({date_column} as date) as integer)"
            _sql(con, _copy_rows(ident, table, "true", shift, f"limit {int(late_rows)}"))
        added[table] = _sql(con, f"select count(*) from {ident}").fetchone()[0] - before
    _sql(con, f"""
        update {raw_schema}.subscriptions set cancelled_on = cast('{new_day}' as date)
        where cancelled_on is null and started_on < cast('{previous}' as date)
          and (subscription_id % 50 = 0 or subscription_id = (
              select min(subscription_id) from {raw_schema}.subscriptions
              where cancelled_on is null and started_on < cast('{previous}' as date)))
    """)
    return added


def _sql(con, sql: str):
    """Run SQL on a DuckDB connection (returns its result) or a psycopg2 cursor (returns it)."""
    result = con.execute(sql)
    return con if result is None else result


def _copy_rows(ident: str, table: str, where: str, shift_days: str, limit: str) -> str:
    """insert ... select: the rows matching `where` (first by id, up to `limit`), with new ids
    after the table's largest and every date/timestamp moved by shift_days (a SQL expression)."""
    columns = RAW_TABLES[table]
    id_column = columns[0][0]
    exprs = []
    for name, logical, _ in columns:
        if name == id_column:
            exprs.append(f"(select max({id_column}) from {ident}) + row_number() over (order by {id_column})")
        elif table == "subscriptions" and name == "cancelled_on":
            exprs.append("cast(null as date)")
        elif logical in ("timestamp", "date"):
            exprs.append(f"cast({name} + ({shift_days}) * interval '1 day' as {logical})")
        else:
            exprs.append(name)
    return (f"insert into {ident} select {', '.join(exprs)} "
            f"from (select * from {ident} where {where} order by {id_column} {limit}) as copied")


# ---------------------------------------------------------------------------------------------
# Measuring a step: wall time and the peak summed RSS of its process tree.
# ---------------------------------------------------------------------------------------------
PAGE = os.sysconf("SC_PAGE_SIZE")


def tree_rss(root: int) -> int:
    """Bytes resident in process `root` and all its descendants, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        try:
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            pass
        stack.extend(children.get(pid, []))
    return total


@dataclass
class Measurement:
    step: str
    seconds: float
    peak_bytes: int
    returncode: int
    note: str = ""
    output: str = field(default="", repr=False)


def measure(step: str, cmd: list[str], env: dict[str, str], cwd: Path, interval: float = 0.05) -> Measurement:
    peak = 0
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    chunks: list[str] = []
    reader = threading.Thread(target=lambda: chunks.append(proc.stdout.read()), daemon=True)
    reader.start()
    while proc.poll() is None:
        peak = max(peak, tree_rss(proc.pid))
        time.sleep(interval)
    seconds = time.perf_counter() - start
    reader.join()
    return Measurement(step, seconds, peak, proc.returncode, output="".join(chunks))


# ---------------------------------------------------------------------------------------------
# One size.
# ---------------------------------------------------------------------------------------------
@dataclass
class SizeResult:
    rows: int
    raw_rows: int = 0
    generate_seconds: float = 0.0
    parse_seconds: float = 0.0
    steps: list[Measurement] = field(default_factory=list)
    # Per dbt build: node name -> execution time (run_results.json), and dbt's elapsed time.
    nodes: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    dbt_elapsed: dict[str, float] = field(default_factory=dict)
    # Per dbt build: seconds of SQL run by the KPI input models (from dbt's log).
    kpi_input_sql: dict[str, float] = field(default_factory=dict)
    # Per dbt build: seconds of SQL run by fct_kpi_daily and the models upstream of it.
    daily_path_sql: dict[str, float] = field(default_factory=dict)
    floor_sql_seconds: float = 0.0
    # Per dbt build: seconds of SQL of every node; node time of the tests on raw (source) tables.
    all_sql: dict[str, float] = field(default_factory=dict)
    source_test_seconds: dict[str, float] = field(default_factory=dict)
    connection_wait: dict[str, float] = field(default_factory=dict)
    threads: int = 1  # dbt threads (OKR_KPI_THREADS; DuckDB default 1)
    floor_matches_full: int | None = None
    # The row-level KPIs: SQL of int_kpi_row_inputs + int_kpi_row_periods per dbt build, and the
    # row-level floor (ROW_FLOOR_SQL): its SQL seconds, peak memory, differing periods.
    row_level_sql: dict[str, float] = field(default_factory=dict)
    row_floor_sql_seconds: float = 0.0
    row_floor_peak_bytes: int = 0
    row_floor_matches: int | None = None
    floor_matches_incremental: int | None = None
    # Segments (docs/segments.md): the segment floor (SEGMENT_FLOOR_SQL) against dbt's
    # fct_kpi_segment_daily. segment_sql: per dbt build, SQL of the segment models (upstream of
    # fct_kpi_segment_daily and not of fct_kpi_daily); marts_sql: SQL of every model upstream of
    # either mart (the row-level nodes left out), against floor + segment floor.
    segment_sql: dict[str, float] = field(default_factory=dict)
    marts_sql: dict[str, float] = field(default_factory=dict)
    segment_floor_sql_seconds: float = 0.0
    segment_floor_peak_bytes: int = 0
    segment_floor_matches_full: int | None = None
    segment_floor_matches_incremental: int | None = None
    # (kpi_id, segment_dimension, segments, rows) of dbt's fct_kpi_segment_daily after the full build
    segment_rows: list[tuple[str, str, int, int]] = field(default_factory=list)
    # Per dbt build: the load checks' nodes (LOAD_CHECK_NODES): SQL seconds and node time each.
    load_check_sql: dict[str, dict[str, float]] = field(default_factory=dict)
    load_check_nodes: dict[str, dict[str, float]] = field(default_factory=dict)

    def step(self, name: str) -> Measurement | None:
        return next((m for m in self.steps if m.step == name), None)


KPI_INPUT_PREFIX = "int_demo__kpi_inputs"  # the raw -> daily KPI input model(s) (incremental)


def _dbt_step(result: SizeResult, step: str, runs: list[list[str]], env: dict[str, str], log_base: Path,
              target_path: Path, cwd: Path) -> Measurement:
    """Run a dbt command `len(runs)` times (each its own log folder); keep the fastest run's
    time and node timings, and the highest peak memory of all runs."""
    best: Measurement | None = None
    peak = 0
    sql_minima: dict[str, float] = {}
    for number, cmd in enumerate(runs, start=1):
        log_path = log_base / f"run_{number}"
        m = measure(step, cmd, dict(env, DBT_LOG_PATH=str(log_path)), cwd)
        _fail_step(m)
        peak = max(peak, m.peak_bytes)
        shutil.copy(target_path / "run_results.json", log_path / "run_results.json")
        if best is None or m.seconds < best.seconds:
            best = m
            _record_run(result, step, target_path, log_path)
        # SQL times: the lowest of the runs, each on its own (a statement can wait for another
        # thread's commit in one run and not in the next).
        for name in ("kpi_input_sql", "daily_path_sql", "segment_sql", "marts_sql"):
            probe = SizeResult(result.rows)
            _record_run(probe, step, target_path, log_path)
            value = getattr(probe, name).get(step, 0.0)
            sql_minima[name] = min(sql_minima.get(name, value), value)
    for name, value in sql_minima.items():
        getattr(result, name)[step] = value
    best.peak_bytes = peak
    if len(runs) > 1:
        best.note = f"fastest of {len(runs)} runs"
    return best


def _record_run(result: SizeResult, step: str, target_path: Path, log_path: Path) -> None:
    """Keep the node timings of a dbt run (its run_results.json, copied into log_path), slowest
    first, and the SQL time per node (its debug log); the graph comes from target_path."""
    per_node = sql_seconds(log_path / "dbt.log")
    prefix = "model.okr_kpi_demo." + KPI_INPUT_PREFIX
    result.kpi_input_sql[step] = sum(t for node, t in per_node.items() if node.startswith(prefix))
    daily_path = daily_path_models(target_path)
    result.daily_path_sql[step] = sum(t for node, t in per_node.items()
                                      if node in daily_path and node not in ROW_LEVEL_NODES)
    result.row_level_sql[step] = sum(t for node, t in per_node.items() if node in ROW_LEVEL_NODES)
    segment_path = daily_path_models(target_path, SEGMENT_MART)
    result.segment_sql[step] = sum(t for node, t in per_node.items()
                                   if node in segment_path and node not in daily_path)
    result.marts_sql[step] = sum(t for node, t in per_node.items()
                                 if node in segment_path | daily_path and node not in ROW_LEVEL_NODES)
    result.load_check_sql[step] = {node.split(".")[-1]: per_node.get(node, 0.0) for node in LOAD_CHECK_NODES}
    result.all_sql[step] = sum(t for node, t in per_node.items() if node != CONNECTION_WAIT)
    result.connection_wait[step] = per_node.get(CONNECTION_WAIT, 0.0)
    on_sources = source_tests(target_path)
    path = log_path / "run_results.json"
    if not path.exists():
        return
    run = json.loads(path.read_text())
    timed = [(r["unique_id"].split(".")[-1] if r["unique_id"].startswith("model.") else r["unique_id"],
              float(r["execution_time"])) for r in run["results"]]
    result.nodes[step] = sorted(timed, key=lambda item: -item[1])
    result.load_check_nodes[step] = {r["unique_id"].split(".")[-1]: float(r["execution_time"])
                                     for r in run["results"] if r["unique_id"] in LOAD_CHECK_NODES}
    result.dbt_elapsed[step] = float(run.get("elapsed_time") or 0.0)
    result.source_test_seconds[step] = sum(float(r["execution_time"]) for r in run["results"]
                                           if r["unique_id"] in on_sources)


CONNECTION_WAIT = "(opening connections)"
_ON_NODE = re.compile(r"\[(?:debug|info)\s*\] \[([^\]]+)\]: On ([\w.]+): ")
_OPENING = re.compile(r"\[(?:debug|info)\s*\] \[([^\]]+)\]: Opening a new connection")
_SQL_STATUS = re.compile(r"\[(?:debug|info)\s*\] \[([^\]]+)\]: SQL status: .* in ([0-9.]+) seconds")


def sql_seconds(log_file: Path) -> dict[str, float]:
    """Seconds the warehouse spent on each node's SQL statements, from dbt's debug log: each
    `SQL status: ... in N seconds` line belongs to the node its thread last ran SQL for.

    A statement that first opens a connection also waits for it (dbt-duckdb opens one per node;
    with another thread writing, that can take most of a second): its time goes to the key
    CONNECTION_WAIT instead of the node's."""
    if not log_file.exists():
        return {}
    current: dict[str, str] = {}
    opening: set[str] = set()
    totals: dict[str, float] = {}
    with log_file.open(errors="replace") as f:
        for line in f:
            if (on := _ON_NODE.search(line)) is not None:
                current[on.group(1)] = on.group(2)
            elif (opened := _OPENING.search(line)) is not None:
                opening.add(opened.group(1))
            elif (status := _SQL_STATUS.search(line)) is not None and status.group(1) in current:
                thread = status.group(1)
                node = CONNECTION_WAIT if thread in opening else current[thread]
                opening.discard(thread)
                totals[node] = totals.get(node, 0.0) + float(status.group(2))
    return totals


def source_tests(target_path: Path) -> set[str]:
    """The tests that read the raw tables in full: tests on sources and on the staging views
    (models named stg_*, which select from the sources) (manifest.json)."""
    path = target_path / "manifest.json"
    if not path.exists():
        return set()
    nodes = json.loads(path.read_text())["nodes"]

    def raw(dep: str) -> bool:
        return dep.startswith("source.") or (
            dep.startswith("model.") and dep.split(".")[-1].startswith("stg_"))

    return {uid for uid, node in nodes.items() if uid.startswith("test.")
            and any(raw(dep) for dep in node.get("depends_on", {}).get("nodes", []))}


def daily_path_models(target_path: Path, mart: str = "model.okr_kpi.fct_kpi_daily") -> set[str]:
    """A mart (default fct_kpi_daily) and every model upstream of it (manifest.json): what the
    floor (the segment floor for fct_kpi_segment_daily) replaces."""
    path = target_path / "manifest.json"
    if not path.exists():
        return set()
    parents = json.loads(path.read_text())["parent_map"]
    found, stack = set(), [mart]
    while stack:
        node = stack.pop()
        if node in found or not node.startswith("model."):
            continue
        found.add(node)
        stack.extend(parents.get(node, []))
    return found


def kpi_input_seconds(result: SizeResult, step: str) -> float:
    """Summed execution time of the raw -> daily KPI input models in a dbt build."""
    return sum(seconds for name, seconds in result.nodes.get(step, []) if name.startswith(KPI_INPUT_PREFIX))


def _fail_step(m: Measurement) -> None:
    if m.returncode != 0:
        raise OkrKpiError(f"bench step {m.step} failed (exit {m.returncode}):\n{m.output[-4000:]}")


def bench_size(rows: int, work: Path, project_dir: Path, log=print,
               low_memory_limit: str | None = None, repeat: int = 1) -> SizeResult:
    import duckdb

    result = SizeResult(rows)
    folder = work / f"rows_{rows}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    db = folder / "wh.duckdb"
    target_path = folder / "target"
    env = dict(os.environ)
    env.update({
        "OKR_KPI_TARGET": "duckdb",
        "OKR_KPI_DUCKDB_PATH": str(db),
        "OKR_KPI_SCHEMA": "okr_kpi",
        "OKR_KPI_RAW_SCHEMA": "raw",
        "OKR_KPI_DUCKDB_MEMORY_LIMIT": env.get("OKR_KPI_DUCKDB_MEMORY_LIMIT", MEMORY_LIMIT),
        "DBT_TARGET_PATH": str(target_path),
        "DBT_LOG_PATH": str(folder / "logs"),
        "DBT_PROFILES_DIR": str(project_dir),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
    })
    memory_limit = env["OKR_KPI_DUCKDB_MEMORY_LIMIT"]
    result.threads = int(env.get("OKR_KPI_THREADS") or 1)
    py = sys.executable
    dbt = str(Path(py).parent / "dbt")
    okr = [py, "-m", "okr_kpi.cli"]
    dbt_args = ["--project-dir", str(project_dir), "--profiles-dir", str(project_dir), "--target", "duckdb"]
    new_day = AS_OF + dt.timedelta(days=1)
    late_day = AS_OF - dt.timedelta(days=1)

    log(f"[{rows:,} rows] generating the demo company ...")
    m = measure("generate", [*okr, "generate", "--rows", str(rows), "--seed", str(SEED)], env, project_dir)
    _fail_step(m)
    result.generate_seconds = m.seconds
    con = duckdb.connect(str(db))
    result.raw_rows = sum(con.execute(f"select count(*) from raw.{t}").fetchone()[0] for t in EVENT_TABLES)
    con.close()

    log(f"[{rows:,} rows] floor ...")
    floor = [py, str(Path(__file__).resolve()), "floor", "--db", str(db), "--as-of", str(AS_OF),
             "--memory-limit", memory_limit]
    best = None
    for _ in range(repeat):
        m = measure("floor", floor, env, project_dir)
        _fail_step(m)
        sql_seconds_floor = float(re.findall(r"floor_sql_seconds=([0-9.]+)", m.output)[-1])
        if best is None or m.seconds < best.seconds:
            best, result.floor_sql_seconds = m, sql_seconds_floor
    m = best
    if repeat > 1:
        m.note = f"fastest of {repeat} runs"
    result.steps.append(m)

    log(f"[{rows:,} rows] full dbt build ...")
    # as_of_date and the tests' window reach dbt as environment variables, as `okr-kpi run`
    # passes them: the project is parsed once, and a new date does not make dbt parse it again.
    env["DBT_LOG_PATH"] = str(folder / "logs" / "full_build")
    result.parse_seconds = _parse(dbt, dbt_args, env, project_dir)
    full_env = dict(env, OKR_KPI_AS_OF_DATE=str(AS_OF), OKR_KPI_TEST_SINCE="")  # a first run
    build = [dbt, "build", *dbt_args]
    runs = [build] + [[*build, "--full-refresh"]] * (repeat - 1)
    result.steps.append(_dbt_step(result, "full build", runs, full_env, folder / "logs" / "full_build",
                                  target_path, project_dir))
    con = duckdb.connect(str(db))
    result.floor_matches_full = compare_daily(con, f"{FLOOR_SCHEMA}.fct_kpi_daily", "okr_kpi.fct_kpi_daily")
    con.close()
    log(f"[{rows:,} rows] row-level floor (distinct counts, percentiles) ...")
    row_floor = [py, str(Path(__file__).resolve()), "row-floor", "--db", str(db), "--as-of", str(AS_OF),
                 "--memory-limit", memory_limit]
    for _ in range(repeat):
        m = measure("row-level floor", row_floor, env, project_dir)
        _fail_step(m)
        seconds = float(re.findall(r"row_floor_sql_seconds=([0-9.]+)", m.output)[-1])
        if not result.row_floor_sql_seconds or seconds < result.row_floor_sql_seconds:
            result.row_floor_sql_seconds = seconds
        result.row_floor_peak_bytes = max(result.row_floor_peak_bytes, m.peak_bytes)
    con = duckdb.connect(str(db))
    result.row_floor_matches = compare_row_periods(con, f"{FLOOR_SCHEMA}.kpi_row_periods",
                                                   "okr_kpi.int_kpi_row_periods")
    con.close()
    log(f"[{rows:,} rows] segment floor (fct_kpi_segment_daily) ...")
    segment_floor = [py, str(Path(__file__).resolve()), "segment-floor", "--db", str(db), "--as-of",
                     str(AS_OF), "--memory-limit", memory_limit]
    for _ in range(repeat):
        m = measure("segment floor", segment_floor, env, project_dir)
        _fail_step(m)
        seconds = float(re.findall(r"segment_floor_sql_seconds=([0-9.]+)", m.output)[-1])
        if not result.segment_floor_sql_seconds or seconds < result.segment_floor_sql_seconds:
            result.segment_floor_sql_seconds = seconds
        result.segment_floor_peak_bytes = max(result.segment_floor_peak_bytes, m.peak_bytes)
    con = duckdb.connect(str(db))
    result.segment_floor_matches_full = compare_segment_daily(
        con, f"{FLOOR_SCHEMA}.fct_kpi_segment_daily", "okr_kpi.fct_kpi_segment_daily")
    result.segment_rows = segment_rows(con, "okr_kpi.fct_kpi_segment_daily")
    log(f"[{rows:,} rows] appending {new_day} (and a late row on {late_day}) ...")
    append_day(con, new_day, late_day, late_rows=5)
    con.close()

    log(f"[{rows:,} rows] incremental dbt build ...")
    # The next night, after a clean run as of AS_OF: the tests read the rows since AS_OF minus
    # checks.window_days (okr_kpi.window), and dbt keeps its parsed project.
    nightly_env = dict(env, OKR_KPI_AS_OF_DATE=str(new_day), OKR_KPI_TEST_SINCE=str(NIGHTLY_SINCE),
                       DBT_LOG_PATH=str(folder / "logs" / "incremental_build"))
    # Repeated, an incremental run rebuilds the same window: the same work.
    runs = [[dbt, "build", *dbt_args]] * repeat
    result.steps.append(_dbt_step(result, "incremental build", runs, nightly_env,
                                  folder / "logs" / "incremental_build", target_path, project_dir))
    run_floor(str(db), str(new_day), memory_limit=memory_limit)  # the floor on the new data, untimed
    run_segment_floor(str(db), str(new_day), memory_limit=memory_limit)
    con = duckdb.connect(str(db))
    result.floor_matches_incremental = compare_daily(con, f"{FLOOR_SCHEMA}.fct_kpi_daily",
                                                     "okr_kpi.fct_kpi_daily")
    result.segment_floor_matches_incremental = compare_segment_daily(
        con, f"{FLOOR_SCHEMA}.fct_kpi_segment_daily", "okr_kpi.fct_kpi_segment_daily")
    con.close()

    reports = folder / "reports"
    log(f"[{rows:,} rows] checks ...")
    m = measure("checks", [*okr, "check", "--as-of", str(new_day), "--since", str(NIGHTLY_SINCE),
                           "--out", str(reports)], env, project_dir)
    m.note = _exit_note(m)
    result.steps.append(m)
    m = measure("checks, full history", [*okr, "check", "--as-of", str(new_day), "--full-history",
                                         "--out", str(reports)], env, project_dir)
    m.note = _exit_note(m)
    result.steps.append(m)

    log(f"[{rows:,} rows] publishing ...")
    m = measure("report", [*okr, "report", "--out", str(reports)], env, project_dir)
    m.note = _exit_note(m)
    result.steps.append(m)
    publish_env = {k: v for k, v in env.items()
                   if k not in ("OKR_KPI_SLACK_WEBHOOK_URL", "OKR_KPI_WEBHOOK_URL")}
    m = measure("publish", [*okr, "publish", "--out", str(reports)], publish_env, project_dir)
    m.note = _exit_note(m)
    result.steps.append(m)

    if low_memory_limit:
        # The same full build with a small DuckDB memory limit: it must finish (spilling), not fail.
        log(f"[{rows:,} rows] full build with DuckDB memory limit {low_memory_limit} ...")
        low_env = dict(env, OKR_KPI_DUCKDB_MEMORY_LIMIT=low_memory_limit,
                       DBT_LOG_PATH=str(folder / "logs" / "low_memory"))
        low_env.update(OKR_KPI_AS_OF_DATE=str(new_day), OKR_KPI_TEST_SINCE="")
        m = measure(f"full build, {low_memory_limit} limit",
                    [dbt, "build", *dbt_args, "--full-refresh"], low_env, project_dir)
        m.note = "" if m.returncode == 0 else f"exit {m.returncode}"
        result.steps.append(m)
    return result


def _parse(dbt: str, dbt_args: list[str], env: dict[str, str], cwd: Path) -> float:
    """`dbt parse` once, so that the builds find a current manifest. Returns its wall time."""
    m = measure("parse", [dbt, "parse", *dbt_args], env, cwd)
    _fail_step(m)
    return m.seconds


def _exit_note(m: Measurement) -> str:
    """Checks and publishing report findings through their exit status; a crash is noted."""
    if m.returncode == 0:
        return ""
    last = [line for line in m.output.strip().splitlines() if line.strip()][-1:] or [""]
    if "Traceback" in m.output or "No module named" in m.output or m.returncode == 1:
        return f"exit {m.returncode}: {last[0][:120]}"
    return f"exit {m.returncode}"


# ---------------------------------------------------------------------------------------------
# The row-level KPIs alone (`python benchmarks/bench.py row-level`): interleaved floor/model pairs.
# ---------------------------------------------------------------------------------------------
ROW_LEVEL_RESULTS = "row_level.json"
ROW_LEVEL_HEADING = "## Row-level KPIs (count_distinct, percentile)"


def bench_row_level(rows: int, work: Path, project_dir: Path, repeat: int = 5, reuse: bool = False,
                    log=print) -> dict:
    """The demo company at `rows` raw rows; then `repeat` pairs, in alternating order, of the
    row-level floor (ROW_FLOOR_SQL in its own process) and `dbt run` of int_kpi_row_inputs +
    int_kpi_row_periods (their SQL time from dbt's debug log). Each pair runs back to back, so
    both halves see about the same machine load; the ratio is taken per pair. Returns the data
    rendered by render_row_level."""
    import duckdb

    folder = work / f"row_level_{rows}"
    db = folder / "wh.duckdb"
    env = dict(os.environ)
    env.update({
        "OKR_KPI_TARGET": "duckdb", "OKR_KPI_DUCKDB_PATH": str(db), "OKR_KPI_SCHEMA": "okr_kpi",
        "OKR_KPI_RAW_SCHEMA": "raw",
        "OKR_KPI_DUCKDB_MEMORY_LIMIT": env.get("OKR_KPI_DUCKDB_MEMORY_LIMIT", MEMORY_LIMIT),
        "DBT_TARGET_PATH": str(folder / "target"), "DBT_LOG_PATH": str(folder / "logs" / "setup"),
        "DBT_PROFILES_DIR": str(project_dir), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1",
        "OKR_KPI_AS_OF_DATE": str(AS_OF), "OKR_KPI_TEST_SINCE": "",
    })
    memory_limit = env["OKR_KPI_DUCKDB_MEMORY_LIMIT"]
    py = sys.executable
    dbt = str(Path(py).parent / "dbt")
    dbt_args = ["--project-dir", str(project_dir), "--profiles-dir", str(project_dir), "--target", "duckdb"]
    if not (reuse and db.exists()):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        log(f"[row-level, {rows:,} rows] generating the demo company ...")
        _fail_step(measure("generate", [py, "-m", "okr_kpi.cli", "generate", "--rows", str(rows),
                                        "--seed", str(SEED)], env, project_dir))
        log(f"[row-level, {rows:,} rows] dbt build (models and seeds, no tests) ...")
        _fail_step(measure("setup", [dbt, "build", *dbt_args, "--exclude", "resource_type:test"], env,
                           project_dir))
    con = duckdb.connect(str(db), read_only=True)
    raw_rows = sum(con.execute(f"select count(*) from raw.{t}").fetchone()[0] for t in EVENT_TABLES)
    input_rows = con.execute("select count(*) from okr_kpi.int_kpi_row_inputs").fetchone()[0]
    con.close()
    floor_cmd = [py, str(Path(__file__).resolve()), "row-floor", "--db", str(db), "--as-of", str(AS_OF),
                 "--memory-limit", memory_limit]
    pairs = []
    for number in range(1, repeat + 1):
        log_path = folder / "logs" / f"pair_{number}"
        model_cmd = [dbt, "run", *dbt_args, "--select", "int_kpi_row_inputs", "int_kpi_row_periods"]
        order = ("floor", "model") if number % 2 else ("model", "floor")
        pair = {"order": "/".join(order), "load_before": _load()}
        for side in order:
            if side == "floor":
                m = measure("row-level floor", floor_cmd, env, project_dir)
                _fail_step(m)
                pair["floor_sql"] = float(re.findall(r"row_floor_sql_seconds=([0-9.]+)", m.output)[-1])
                pair["floor_wall"], pair["floor_peak"] = m.seconds, m.peak_bytes
            else:
                m = measure("row-level dbt run", model_cmd, dict(env, DBT_LOG_PATH=str(log_path)),
                            project_dir)
                _fail_step(m)
                per_node = sql_seconds(log_path / "dbt.log")
                pair["model_sql"] = sum(per_node.get(node, 0.0) for node in ROW_LEVEL_NODES)
                pair["model_node_sql"] = {node: per_node.get(node, 0.0) for node in ROW_LEVEL_NODES}
                pair["model_wall"], pair["model_peak"] = m.seconds, m.peak_bytes
        pair["load_after"] = _load()
        pair["ratio"] = pair["model_sql"] / pair["floor_sql"] if pair["floor_sql"] else None
        log(f"[row-level, {rows:,} rows] pair {number} ({pair['order']}): model {pair['model_sql']:.2f} s, "
            f"floor {pair['floor_sql']:.2f} s, ratio {pair['ratio']:.2f}, load {pair['load_after']}")
        pairs.append(pair)
    con = duckdb.connect(str(db))
    differing = compare_row_periods(con, f"{FLOOR_SCHEMA}.kpi_row_periods", "okr_kpi.int_kpi_row_periods")
    con.close()
    return {"started": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "rows": rows,
            "raw_rows": raw_rows, "input_rows": input_rows, "memory_limit": memory_limit,
            "machine": machine(), "pairs": pairs, "differing_periods": differing}


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    return (ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2) if n else 0.0


def render_row_level(data: dict, notes: str = "") -> str:
    """The docs/benchmarks.md section of the row-level bench (`bench.py row-level`)."""
    pairs = data["pairs"]
    model = _median([p["model_sql"] for p in pairs])
    floor = _median([p["floor_sql"] for p in pairs])
    ratio = _median([p["ratio"] for p in pairs if p["ratio"] is not None])
    info = data["machine"]
    lines = [
        ROW_LEVEL_HEADING, "",
        f"Generated by `python benchmarks/bench.py row-level --rows {data['rows']} --repeat {len(pairs)}` "
        f"({data['started']}; {info['cpu']}, {info['cores']} cores, {info['memory']}, DuckDB "
        f"{info['duckdb']}, memory limit {data['memory_limit']}). The demo company at "
        f"{data['raw_rows']:,} raw rows; its row-level KPIs (`buying_customers`: distinct customers "
        f"of completed orders; `p90_response_time`: the p90 of the app requests' response times) read "
        f"{data['input_rows']:,} row-level input rows, and every period of the five grains is computed "
        "from them.", "",
        "Each pair runs the **row-level floor** (`ROW_FLOOR_SQL`: one plain DuckDB statement, "
        "`count(distinct)` and `quantile_cont` per period and grain straight from the raw tables) and "
        "`dbt run --select int_kpi_row_inputs int_kpi_row_periods` back to back, in alternating "
        "order; SQL time is the warehouse's time for the statements (the floor's own clock; dbt's "
        "`SQL status` lines for the two nodes), peak memory the summed RSS of each process tree "
        "(dbt's includes its Python, about 0.3 GB). The machine is shared (other sessions' work "
        "runs at the same time): the load average is noted for each pair and the ratio is taken "
        "within a pair.", "",
        "| pair | order | load (1, 5, 15 min) after | model SQL s | floor SQL s | × floor | "
        "model wall s | floor wall s | model peak GB | floor peak GB |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for number, p in enumerate(pairs, start=1):
        lines.append(f"| {number} | {p['order']} | {p['load_after']} | {p['model_sql']:.2f} | "
                     f"{p['floor_sql']:.2f} | {p['ratio']:.2f} | {p['model_wall']:.2f} | "
                     f"{p['floor_wall']:.2f} | {_gb(p['model_peak'])} | {_gb(p['floor_peak'])} |")
    met = ratio <= 1.5
    model_peak, floor_peak = max(p["model_peak"] for p in pairs), max(p["floor_peak"] for p in pairs)
    lines += [
        "",
        f"Median over {len(pairs)} pairs: model SQL **{model:.2f} s**, floor **{floor:.2f} s**, median "
        f"pair ratio **{ratio:.2f} ×** (target ≤ 1.5 ×: **{'met' if met else 'not met'}**); peak memory "
        f"model {_gb(model_peak)} GB, floor {_gb(floor_peak)} GB. Guard: {data['differing_periods']} "
        "differing periods between `int_kpi_row_periods` and "
        "the floor (every KPI, grain and period; numerator and denominator within 1e-9 relative).",
    ]
    if notes:
        lines += ["", notes]
    return "\n".join(lines) + "\n"


def write_row_level_section(path: Path, section: str) -> None:
    """Replace the row-level section of docs/benchmarks.md (from its heading to the next `## `
    heading) with `section`, or append it."""
    text = path.read_text() if path.exists() else ""
    start = text.find(ROW_LEVEL_HEADING)
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + len(ROW_LEVEL_HEADING))
        text = text[:start] + section + (text[end:] if end >= 0 else "")
    path.write_text(text)


# ---------------------------------------------------------------------------------------------
# The report.
# ---------------------------------------------------------------------------------------------
def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    import duckdb

    return {"cpu": cpu, "cores": str(os.cpu_count()), "memory": memory, "os": platform.platform(),
            "python": platform.python_version(), "duckdb": duckdb.__version__, "load": _load()}


def _gb(n: int) -> str:
    return f"{n / 1024 ** 3:.2f}"


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "n/a"


def render_table(results: list[SizeResult]) -> str:
    lines = ["| raw rows | step | wall s | × floor | peak GB | × floor | dbt nodes s "
             "| SQL s: fct_kpi_daily path | × floor SQL | SQL s: KPI input models | note |",
             "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in results:
        floor = r.step("floor")
        for m in r.steps:
            elapsed = f"{r.dbt_elapsed[m.step]:.2f}" if m.step in r.dbt_elapsed else ""
            if m.step == "floor":
                path_sql, path_ratio, inputs_sql = f"{r.floor_sql_seconds:.2f}", "1.00", ""
            elif m.step in r.daily_path_sql:
                path_sql = f"{r.daily_path_sql[m.step]:.2f}"
                path_ratio = _ratio(r.daily_path_sql[m.step], r.floor_sql_seconds)
                inputs_sql = f"{r.kpi_input_sql[m.step]:.2f}"
            else:
                path_sql = path_ratio = inputs_sql = ""
            lines.append(f"| {r.raw_rows:,} | {m.step} | {m.seconds:.2f} | "
                         f"{_ratio(m.seconds, floor.seconds)} | "
                         f"{_gb(m.peak_bytes)} | {_ratio(m.peak_bytes, floor.peak_bytes)} | "
                         f"{elapsed} | {path_sql} | {path_ratio} | {inputs_sql} | {m.note} |")
    return "\n".join(lines)


def _yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


def _pct(a: float, b: float) -> str:
    return f"{100 * a / b:.1f} %" if b else "n/a"


def render_targets(r: SizeResult) -> str:
    floor, full, inc = r.step("floor"), r.step("full build"), r.step("incremental build")
    checks, full_checks = r.step("checks"), r.step("checks, full history")
    peak = max(m.peak_bytes for m in r.steps)
    full_nodes, inc_nodes = kpi_input_seconds(r, "full build"), kpi_input_seconds(r, "incremental build")
    full_sql = r.kpi_input_sql.get("full build", 0.0)
    path_sql = r.daily_path_sql.get("full build", 0.0)
    inc_sql = r.kpi_input_sql.get("incremental build", 0.0)
    checks_ok = checks.returncode in (0, 10, 30)
    seg_sql = r.segment_sql.get("full build", 0.0)
    marts_sql = r.marts_sql.get("full build", 0.0)
    both_floors = r.floor_sql_seconds + r.segment_floor_sql_seconds
    rows = [
        ("full build ≤ 1.5 × floor: wall time of `dbt build`", f"{full.seconds / floor.seconds:.2f} ×",
         full.seconds <= 1.5 * floor.seconds),
        ("… SQL of the models up to fct_kpi_daily ≤ 1.5 × the floor's SQL",
         f"{_ratio(path_sql, r.floor_sql_seconds)} ×", path_sql <= 1.5 * r.floor_sql_seconds),
        ("incremental build ≤ 5 % of the full build: wall time", _pct(inc.seconds, full.seconds),
         inc.seconds <= 0.05 * full.seconds),
        ("… KPI input models (node time, with dbt's per-node overhead)", _pct(inc_nodes, full_nodes),
         inc_nodes <= 0.05 * full_nodes),
        ("… KPI input models (SQL time: the work that grows with history)", _pct(inc_sql, full_sql),
         inc_sql <= 0.05 * full_sql),
        ("checks ≤ 25 % of the full build (nightly: recent rows)", _pct(checks.seconds, full.seconds)
         + (f" ({checks.note})" if checks.note else ""), checks_ok and checks.seconds <= 0.25 * full.seconds),
        ("… checks of all history (a first run, `--full-history`)",
         _pct(full_checks.seconds, full.seconds) + (f" ({full_checks.note})" if full_checks.note else ""),
         full_checks.returncode in (0, 10, 30) and full_checks.seconds <= 0.25 * full.seconds),
        ("row-level KPIs: SQL of int_kpi_row_inputs + int_kpi_row_periods ≤ 1.5 × the row-level floor's SQL",
         f"{_ratio(r.row_level_sql.get('full build', 0.0), r.row_floor_sql_seconds)} × "
         f"({r.row_level_sql.get('full build', 0.0):.2f} s vs {r.row_floor_sql_seconds:.2f} s; "
         f"floor peak {_gb(r.row_floor_peak_bytes)} GB)",
         r.row_level_sql.get("full build", 0.0) <= 1.5 * r.row_floor_sql_seconds),
        ("segments: SQL of the segment models (upstream of fct_kpi_segment_daily, not of "
         "fct_kpi_daily) ≤ 1.5 × the segment floor's SQL",
         f"{_ratio(seg_sql, r.segment_floor_sql_seconds)} × ({seg_sql:.2f} s vs "
         f"{r.segment_floor_sql_seconds:.2f} s; floor peak {_gb(r.segment_floor_peak_bytes)} GB)",
         seg_sql <= 1.5 * r.segment_floor_sql_seconds),
        ("… SQL of every model up to fct_kpi_daily and fct_kpi_segment_daily ≤ 1.5 × floor + "
         "segment floor", f"{_ratio(marts_sql, both_floors)} × ({marts_sql:.2f} s vs {both_floors:.2f} s)",
         marts_sql <= 1.5 * both_floors),
        ("peak memory < 4 GB (every step)", f"{_gb(peak)} GB", peak < 4 * 1024 ** 3),
        ("guard: floor = dbt fct_kpi_daily (full build)", f"{r.floor_matches_full} differing rows",
         r.floor_matches_full == 0),
        ("guard: row-level floor = dbt int_kpi_row_periods (full build)",
         f"{r.row_floor_matches} differing periods", r.row_floor_matches == 0),
        ("guard: floor = dbt fct_kpi_daily (after the incremental build)",
         f"{r.floor_matches_incremental} differing rows", r.floor_matches_incremental == 0),
        ("guard: segment floor = dbt fct_kpi_segment_daily (full build)",
         f"{r.segment_floor_matches_full} differing rows", r.segment_floor_matches_full == 0),
        ("guard: segment floor = dbt fct_kpi_segment_daily (after the incremental build)",
         f"{r.segment_floor_matches_incremental} differing rows", r.segment_floor_matches_incremental == 0),
    ]
    out = ["| target | measured | met |", "| --- | --- | --- |"]
    out += [f"| {name} | {value} | {_yes(ok)} |" for name, value, ok in rows]
    return "\n".join(out)


def render_segment_rows(r: SizeResult) -> str:
    """The rows of fct_kpi_segment_daily per KPI and dimension (after the full build)."""
    days = (AS_OF - dt.date.fromisoformat(DEFAULT_START)).days + 1
    lines = [f"Rows of `fct_kpi_segment_daily` per KPI and dimension at {r.raw_rows:,} raw rows "
             f"(each segment on each of the calendar's {days} days):", "",
             "| KPI | dimension | segments | rows |", "| --- | --- | ---: | ---: |"]
    lines += [f"| {kpi} | {dim} | {n} | {rows:,} |" for kpi, dim, n, rows in r.segment_rows]
    total = sum(x[3] for x in r.segment_rows)
    lines.append(f"| all | | {sum(x[2] for x in r.segment_rows)} | {total:,} |")
    return "\n".join(lines)


def _growth(results: list[SizeResult]) -> str:
    ordered = sorted(results, key=lambda r: r.rows)
    lines = ["| seconds | " + " | ".join(f"{r.raw_rows:,} rows" for r in ordered) + " |",
             "| --- |" + " ---: |" * len(ordered)]
    for name in ("floor", "full build", "incremental build", "checks", "checks, full history"):
        cells = [f"{r.step(name).seconds:.2f}" if r.step(name) else "" for r in ordered]
        lines.append(f"| {name} (wall) | " + " | ".join(cells) + " |")
    lines.append("| floor SQL | " + " | ".join(f"{r.floor_sql_seconds:.2f}" for r in ordered) + " |")
    for step in ("full build", "incremental build"):
        cells = [f"{r.daily_path_sql.get(step, 0.0):.2f}" for r in ordered]
        lines.append(f"| SQL up to fct_kpi_daily, {step} | " + " | ".join(cells) + " |")
        cells = [f"{r.kpi_input_sql.get(step, 0.0):.2f}" for r in ordered]
        lines.append(f"| SQL of the KPI input models, {step} | " + " | ".join(cells) + " |")
        cells = [f"{r.segment_sql.get(step, 0.0):.2f}" for r in ordered]
        lines.append(f"| SQL of the segment models, {step} | " + " | ".join(cells) + " |")
    lines.append("| segment floor SQL | " + " | ".join(f"{r.segment_floor_sql_seconds:.2f}" for r in ordered)
                 + " |")
    for step in ("full build", "incremental build"):
        for node in LOAD_CHECK_NODES:
            name = node.split(".")[-1]
            cells = [f"{r.load_check_nodes.get(step, {}).get(name, 0.0):.2f} "
                     f"({r.load_check_sql.get(step, {}).get(name, 0.0):.2f} SQL)" for r in ordered]
            lines.append(f"| load check `{name}`, {step}: node (SQL) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _slowest(r: SizeResult, step: str, top: int = 8) -> str:
    return ", ".join(f"`{name}` {seconds:.2f}" for name, seconds in r.nodes.get(step, [])[:top])


def render_findings(results: list[SizeResult], memory_limit: str) -> str:
    """What the numbers say, computed from them (the text around the numbers is fixed)."""
    ordered = sorted(results, key=lambda r: r.rows)
    r = ordered[-1]
    floor, full, inc, checks = (r.step(n) for n in ("floor", "full build", "incremental build", "checks"))
    nodes_full = r.dbt_elapsed.get("full build", 0.0)
    startup = full.seconds - nodes_full
    count = len(r.nodes.get("full build", []))
    all_sql = r.all_sql.get("full build", 0.0)
    threads = r.threads
    overhead_ms = 1000 * (threads * nodes_full - all_sql) / max(count, 1)
    path_sql = r.daily_path_sql.get("full build", 0.0)
    inputs_full = r.kpi_input_sql.get("full build", 0.0)
    inputs_inc = r.kpi_input_sql.get("incremental build", 0.0)
    peak = max(m.peak_bytes for m in r.steps)
    peak_step = max(r.steps, key=lambda m: m.peak_bytes).step
    checks_grow = len(ordered) > 1 and (ordered[-1].step("checks").seconds
                                        > 1.5 * ordered[0].step("checks").seconds)
    # The incremental run of the bench: lookback days + the last built day + the new day.
    window_days = DEFAULT_LOOKBACK_DAYS + 2
    history_days = (AS_OF - dt.date.fromisoformat(DEFAULT_START)).days + 2

    def series(values) -> str:
        return " → ".join(f"{v:.2f}" for v in values)

    sizes = " → ".join(f"{x.raw_rows / 1e6:.1f} M" for x in ordered)
    src_full = [x.source_test_seconds.get("full build", 0.0) for x in ordered]
    src_inc = [x.source_test_seconds.get("incremental build", 0.0) for x in ordered]
    lines = [
        "## Findings",
        "",
        f"- **Where the time goes.** At {r.raw_rows:,} raw rows the full `dbt build` takes "
        f"{full.seconds:.1f} s: {startup:.1f} s of dbt start-up (imports, adapter, manifest) and "
        f"{nodes_full:.1f} s running {count} nodes on {threads} dbt thread{'s' if threads > 1 else ''}. "
        f"The warehouse works for only {all_sql:.1f} s of SQL in all"
        f"{' (summed over the threads)' if threads > 1 else ''}; the rest, about "
        f"{overhead_ms:.0f} ms per node, is dbt's own work per node (Jinja, metadata queries, "
        f"transactions), whatever the data size. The floor does the `fct_kpi_daily` work in "
        f"{r.floor_sql_seconds:.2f} s of SQL ({floor.seconds:.2f} s wall with Python start-up).",
        f"- **Full build vs floor.** The wall-time target (≤ 1.5 × floor) is out of reach for a dbt "
        f"project of {count} nodes on this engine: dbt's start-up alone is "
        f"{startup / floor.seconds:.0f} × the floor. Like for like, the SQL of `fct_kpi_daily` and "
        f"the models upstream of it takes {path_sql:.2f} s against the floor's "
        f"{r.floor_sql_seconds:.2f} s ({_ratio(path_sql, r.floor_sql_seconds)} ×), "
        + ("within the target." if path_sql <= 1.5 * r.floor_sql_seconds else
           "above the target: the difference is per-statement cost (each model is created as a "
           "table, its columns described, its transaction committed) on data this small."),
        f"- **Incremental build.** {inc.seconds:.1f} s, {_pct(inc.seconds, full.seconds)} of the full "
        f"build (target 5 %). It is the nightly run: its raw → daily input model reads the last "
        f"days, its tests on raw and staging columns read the rows since {NIGHTLY_SINCE}, and it "
        f"does not parse the project again. What it cannot shed is the fixed cost of dbt: "
        f"{inc.seconds - r.dbt_elapsed.get('incremental build', 0.0):.1f} s of start-up and "
        f"{r.dbt_elapsed.get('incremental build', 0.0):.1f} s for its "
        f"{len(r.nodes.get('incremental build', []))} nodes, each created, described, tested and "
        f"committed whatever its size (the same at every size: "
        f"{series(x.step('incremental build').seconds for x in ordered)} s). 5 % of a full build "
        f"would be {0.05 * full.seconds:.1f} s, less than dbt needs to import itself. The work "
        f"that grows with history is the SQL of "
        f"the raw → daily KPI input model: {inputs_full:.2f} s in the full build, {inputs_inc:.2f} s "
        f"in the incremental one ({_pct(inputs_inc, inputs_full)}), which reads the raw rows of "
        f"{window_days} of the {history_days} days ({_pct(window_days, history_days)}); the rest of "
        f"its SQL is a fixed set of small statements (window query, delete, temporary table, "
        f"insert, commit), so the share falls as history grows. Over the sizes ({sizes}) that SQL "
        f"goes {series(x.kpi_input_sql.get('full build', 0.0) for x in ordered)} s in full builds and "
        f"{series(x.kpi_input_sql.get('incremental build', 0.0) for x in ordered)} s in incremental "
        f"ones.",
        f"- **Checks.** The nightly `okr-kpi check` (source expectations on the rows since "
        f"{NIGHTLY_SINCE}) takes {checks.seconds:.1f} s, {_pct(checks.seconds, full.seconds)} of the "
        f"full build"
        + (" (within 25 %)." if checks.seconds <= 0.25 * full.seconds else " (target 25 %).")
        + f" Over the sizes it goes {series(x.step('checks').seconds for x in ordered)} s"
        + (": it still grows with the raw data." if checks_grow else
           ": flat, a fixed cost of Great Expectations itself (importing it, its file context, and "
           "per validation definition a batch, column reflection, metric queries and a stored "
           "result), not of the data.")
        + f" Over all of history (a first run, `--full-history`) it takes "
        f"{series(x.step('checks, full history').seconds for x in ordered)} s.",
        _load_checks_finding(ordered),
        _segments_finding(ordered),
        f"- **Memory.** Peak {_gb(peak)} GB ({peak_step}), under 4 GB, with DuckDB's memory limit "
        f"at {memory_limit} (`OKR_KPI_DUCKDB_MEMORY_LIMIT`; larger data spills to disk).",
        f"- **Tests on the raw data.** The dbt tests on the sources and the staging views (unique "
        f"ids, accepted values, ...) read all of history in a first build: {series(src_full)} s "
        f"of node time over the sizes. A nightly build reads the rows since the last clean run "
        f"minus `checks.window_days` (docs/checks.md, \"Recent rows\"): {series(src_inc)} s"
        + (" — flat." if src_inc and src_inc[-1] <= 1.5 * max(src_inc[0], 0.01) else ".")
        + (f" dbt-duckdb also opens a connection per node, which waits while another thread "
           f"writes: {r.connection_wait.get('full build', 0.0):.1f} s (full) and "
           f"{r.connection_wait.get('incremental build', 0.0):.1f} s (incremental) at the largest "
           f"size; hence one dbt thread on DuckDB (`OKR_KPI_THREADS`, default 1), which runs each "
           f"statement on every core anyway." if threads > 1 else
           " One dbt thread (`OKR_KPI_THREADS`, the DuckDB default): DuckDB runs each statement on "
           "every core, and with two dbt threads each node's connection waited for the other "
           "thread's writes (measured once on this machine on 2026-11-25, 20M rows, "
           "`OKR_KPI_THREADS=2` against 1: the nightly build 12.6 s against 10.4 s, the SQL up to "
           "`fct_kpi_daily` 2.2 × against 1.5 × the floor's; the full build about the same)."),
    ]
    return "\n".join(lines) + "\n"


def _segments_finding(ordered: list[SizeResult]) -> str:
    """The KPIs by segment: their models' SQL against the segment floor, over the sizes."""
    r = ordered[-1]
    seg = r.segment_sql.get("full build", 0.0)
    rows = sum(x[3] for x in r.segment_rows)
    return (f"- **Segments.** `fct_kpi_segment_daily` holds {rows:,} rows ({len(r.segment_rows)} KPI "
            f"and dimension pairs, {sum(x[2] for x in r.segment_rows)} segments). The SQL of the "
            f"segment models (full build) goes "
            + " → ".join(f"{x.segment_sql.get('full build', 0.0):.2f}" for x in ordered)
            + " s over the sizes, the segment floor's "
            + " → ".join(f"{x.segment_floor_sql_seconds:.2f}" for x in ordered)
            + f" s ({_ratio(seg, r.segment_floor_sql_seconds)} × at the largest size); the segment "
            f"rows do not grow with the raw rows (one per segment and day), so what grows is the "
            f"input model's scan, in the SQL up to both marts: "
            + " → ".join(f"{x.marts_sql.get('full build', 0.0):.2f}" for x in ordered) + " s.")


def _load_checks_finding(ordered: list[SizeResult]) -> str:
    """The load checks' cost (LOAD_CHECK_NODES), measured: node time per model and build."""
    r = ordered[-1]

    def total(x: SizeResult, step: str) -> float:
        return sum(x.load_check_nodes.get(step, {}).values())

    def each(step: str) -> str:
        times = r.load_check_nodes.get(step, {})
        return ", ".join(f"`{n.split('.')[-1]}` {times.get(n.split('.')[-1], 0.0):.2f} s"
                         for n in LOAD_CHECK_NODES)

    full, inc = r.step("full build"), r.step("incremental build")
    grows_full = " → ".join(f"{total(x, 'full build'):.2f}" for x in ordered)
    grows_inc = " → ".join(f"{total(x, 'incremental build'):.2f}" for x in ordered)
    return (
        f"- **Load checks.** The demo's load model (rows and last timestamp per source and day: "
        f"a scan of every raw table on every build, not incremental) and the package's two "
        f"judging models take, in node time at {r.raw_rows:,} raw rows: {each('full build')} in the "
        f"full build ({_pct(total(r, 'full build'), full.seconds if full else 0.0)} of its wall "
        f"time) and {each('incremental build')} in the nightly one "
        f"({_pct(total(r, 'incremental build'), inc.seconds if inc else 0.0)}). The three together "
        f"over the sizes: {grows_full} s (full), {grows_inc} s (nightly)."
    )


INCREMENTAL_DOC = """## How the incremental build works

The raw → daily path is incremental: one model, `examples/demo/models/kpis/int_demo__kpi_inputs.sql`,
one row per KPI per day with events (`kpi_id, date_day, numerator, denominator`), reading each
raw table once for all of its KPIs (macro `okr_kpi.kpi_inputs`; `okr_kpi.kpi_input` for one
KPI). One model rather than one per KPI (15) or per raw table (8): an incremental model costs
dbt about nine statements per run (window query, delete, temporary table, column checks,
insert, commit), which at this scale cost more than reading the recent rows; a single model
pays them once. Everything downstream (`int_kpi_inputs`,
`fct_kpi_daily`, `fct_kpi_periods`, OKR and breach marts) is rebuilt from these small tables,
whose size grows with the number of days, not with the raw rows.

- **Window.** An incremental run rebuilds the days from *window start* = (latest `date_day`
  in the model that is on or before `as_of_date`) − `okr_kpi_lookback_days` (default 3). Rows
  arriving up to that many days late are counted; older corrections need
  `dbt build --full-refresh`. The window start is computed once, as a literal, so the raw scan
  filters on `event_timestamp >= literal` and DuckDB skips the older row groups (zone maps): at
  5 M rows an incremental scan of `web_sessions` reads 2 of 12 row groups.
- **Strategy per adapter** (macro `okr_kpi.kpi_input_incremental_config`):
  DuckDB and PostgreSQL: `append` after a pre-hook that deletes the window's days, in the
  same transaction (a day of the window that lost all its events disappears too, which
  `delete+insert` on a unique key would miss). Spark: `insert_overwrite` of `date_day`
  partitions, parquet (no delete in plain parquet: a day that lost all its events keeps its
  row until a full refresh); with `okr_kpi_spark_table_format: delta` (or iceberg) the
  DuckDB/PostgreSQL strategy is used.
- **The stock KPI** (`active_customers`, `last`): a running sum over all history. An
  incremental run takes the stock of the last day before the window from the model's own
  table and adds the running sum of the window's changes (subscriptions started or cancelled
  in the window), so it never rescans history.
- **Proof**: `tests/python/test_incremental.py` builds the demo company, appends a new day and
  a late row two days back (a lead, an order, a subscription, ...), builds incrementally, builds
  the same raw data from scratch in another DuckDB file and finds `fct_kpi_daily` and
  `fct_kpi_periods` equal; with `okr_kpi_lookback_days: 0` the late row is missed and the test
  sees the difference. In a consumer project (DuckDB and PostgreSQL) it also shows what an
  incremental run reads: a late row inside the window counts, a day of the window that lost
  its events disappears, a change outside the window is not read until `--full-refresh`. The
  bench checks the result at scale against the floor.
"""


def render_markdown(results: list[SizeResult], info: dict[str, str], memory_limit: str, started: str,
                    command: str, notes: str = "") -> str:
    largest = max(results, key=lambda r: r.rows)
    full, inc = largest.step("full build"), largest.step("incremental build")
    node_count = len(largest.nodes.get("full build", []))
    return f"""# Benchmarks

Generated by `make bench` (`{command}`), started {started}. Regenerate with `make bench`
(`BENCH_ROWS=N make bench` for another largest size, `BENCH_SIZES=a,b,c` for explicit sizes;
`python benchmarks/bench.py --help`).

## Machine

| | |
| --- | --- |
| CPU | {info['cpu']} |
| cores (nproc) | {info['cores']} |
| memory | {info['memory']} |
| OS | {info['os']} |
| Python / DuckDB | {info['python']} / {info['duckdb']} |
| load average (1/5/15 min) when the run started / ended | {info['load_start']} / {info['load']} |
| DuckDB memory limit (OKR_KPI_DUCKDB_MEMORY_LIMIT) | {memory_limit} |

## What is measured

Each step is its own process, run one after the other on the same DuckDB file; wall time and
peak memory (summed RSS of the process tree, polled from /proc every 50 ms). The floor and the
two dbt builds run several times (`--repeat`, default 3; a repeated full build is
`--full-refresh`, a repeated incremental build rebuilds the same window): the fastest run
counts, and the highest peak memory.

1. **floor**: a plain DuckDB SQL script (`FLOOR_SQL` in benchmarks/bench.py, run by
   `python benchmarks/bench.py floor`) that computes `fct_kpi_daily` from the raw tables, one scan
   per raw table, and writes it as a table. Its result is compared with dbt's `fct_kpi_daily`
   row by row, after the full and after the incremental build (guard rows below). The two
   row-level KPIs (`buying_customers`, `p90_response_time`) have their own floor,
   **row-level floor** (`ROW_FLOOR_SQL`, `python benchmarks/bench.py row-floor`): DuckDB's own
   `count(distinct)` and `quantile_cont` per period of every grain, straight from the raw
   tables, compared with dbt's `int_kpi_row_periods` period by period; the SQL time of
   `int_kpi_row_inputs` + `int_kpi_row_periods` is held against it (target: at most 1.5 ×), and
   left out of "SQL up to fct_kpi_daily". The KPIs by segment (docs/segments.md) have theirs,
   **segment floor** (`SEGMENT_FLOOR_SQL`, `python benchmarks/bench.py segment-floor`): the
   values of `fct_kpi_segment_daily` (revenue and average order value by the customer's region,
   new leads by lead channel, churned customers by plan; every segment on every day of the
   calendar) straight from the raw tables, compared with dbt's row by row after the full and the
   incremental build. Held against it: the SQL of the segment models (`fct_kpi_segment_daily`
   and the models upstream of it that are not upstream of `fct_kpi_daily`), and the SQL of every
   model up to either mart against floor + segment floor (the KPI input model computes the
   totals and the segments in one scan, so its time is in the second comparison only); target
   at most 1.5 × each. The rows of `fct_kpi_segment_daily` per KPI and dimension are listed.
2. **full build**: `dbt build` of the whole project ({node_count} nodes: models, seeds, tests),
   as a first run: every test reads all of history. `as_of_date` reaches dbt as the environment
   variable `OKR_KPI_AS_OF_DATE`, as `okr-kpi run` passes it. One `dbt parse` runs before the
   first build and is not counted ({largest.parse_seconds:.1f} s here); no later step parses
   again, as a new `OKR_KPI_AS_OF_DATE` (unlike a new `--vars` value) keeps dbt's partial parse.
3. **incremental build**: the nightly `dbt build` after one new day of raw data (a copy of the
   last day's rows with new ids), 5 late rows per table dated the day before the last day, and
   some subscriptions cancelled on the new day; `okr_kpi_lookback_days` = 3 (the default). Its
   tests on raw and staging columns read the rows since {NIGHTLY_SINCE} (`OKR_KPI_TEST_SINCE`:
   the last clean run's as_of_date {AS_OF} minus `checks.window_days` = {WINDOW_DAYS}).
4. **checks**: `okr-kpi check --since {NIGHTLY_SINCE}` (the nightly window), and
   **checks, full history**: `okr-kpi check --full-history` (exit 10 = breaches found, the
   expected outcome on the demo data).
5. **publishing**: `okr-kpi report`, then `okr-kpi publish` with no channel configured.
6. at the largest size only, the full build again (`--full-refresh`) with DuckDB's memory limit
   at {LOW_MEMORY_LIMIT}: it has to finish (DuckDB spills to disk) rather than fail.

"dbt nodes" is dbt's own elapsed time for running the nodes (run_results.json); the rest of
the wall time is dbt's start-up (imports, profile, manifest). The SQL columns are the time the
warehouse spent on SQL statements, from dbt's debug log: for `fct_kpi_daily` and every model
upstream of it (what the floor computes; the floor's own SQL time is measured around its one
statement), and for the raw → daily KPI input models alone (`int_demo__kpi_inputs`, the
incremental one, which reads the raw tables); each is the lowest of the runs. Node time minus
SQL time is dbt's per-node overhead (compiling, metadata queries, transactions).

## Results

{render_table(results)}

## How time grows with size

{_growth(results)}

Slowest nodes of the full build at {largest.raw_rows:,} rows (s): {_slowest(largest, "full build")}.

Slowest nodes of the incremental build (s): {_slowest(largest, "incremental build")}.

## Targets at {largest.raw_rows:,} raw rows

{render_targets(largest)}

Wall times at this size: full build {full.seconds:.1f} s, incremental build {inc.seconds:.1f} s,
floor {largest.step("floor").seconds:.2f} s.

{render_segment_rows(largest)}

{render_findings(results, memory_limit)}
{INCREMENTAL_DOC}
{notes}
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/bench.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    fl = sub.add_parser("floor", help="run the floor SQL alone on a DuckDB file")
    fl.add_argument("--db", required=True)
    fl.add_argument("--as-of", default=str(AS_OF))
    fl.add_argument("--raw-schema", default="raw")
    fl.add_argument("--memory-limit", default=MEMORY_LIMIT)
    rf = sub.add_parser("row-floor", help="run the row-level floor SQL alone on a DuckDB file")
    rf.add_argument("--db", required=True)
    rf.add_argument("--as-of", default=str(AS_OF))
    rf.add_argument("--raw-schema", default="raw")
    rf.add_argument("--memory-limit", default=MEMORY_LIMIT)
    sf = sub.add_parser("segment-floor", help="run the segment floor SQL (fct_kpi_segment_daily) alone "
                                              "on a DuckDB file")
    sf.add_argument("--db", required=True)
    sf.add_argument("--as-of", default=str(AS_OF))
    sf.add_argument("--raw-schema", default="raw")
    sf.add_argument("--memory-limit", default=MEMORY_LIMIT)
    rl = sub.add_parser("row-level", help="the row-level KPIs alone against their floor, in interleaved "
                                          "pairs; writes its section of docs/benchmarks.md")
    rl.add_argument("--rows", type=int, default=int(os.environ.get("BENCH_ROWS", DEFAULT_ROWS)))
    rl.add_argument("--repeat", type=int, default=5, help="floor/model pairs (default 5)")
    rl.add_argument("--work-dir", default=os.environ.get("BENCH_WORK_DIR", "/tmp/okr_kpi_bench"))
    rl.add_argument("--reuse", action="store_true",
                    help="keep the generated warehouse of an earlier row-level run of this size")
    rl.add_argument("--no-docs", action="store_true")
    rl.add_argument("--notes", default=os.environ.get("BENCH_NOTES", ""))
    rl.add_argument("--render-only", action="store_true")
    ni = sub.add_parser("nightly", help="the end-to-end nightly `okr-kpi run` and its stages (issue 19), "
                                        "this branch's code against another's; writes its section")
    ni.add_argument("--sizes", default=os.environ.get("BENCH_NIGHTLY_SIZES", "1000000,20000000"),
                    help="generate --rows values (200000000 for the 200M ladder)")
    ni.add_argument("--repeat", type=int, default=3)
    ni.add_argument("--before", default=os.environ.get("BENCH_BEFORE_PYTHONPATH", ""),
                    help="PYTHONPATH of the code to compare with (e.g. /work/main/scripts); none: skip")
    ni.add_argument("--work-dir", default=os.environ.get("BENCH_WORK_DIR", "/tmp/okr_kpi_bench"))
    ni.add_argument("--no-docs", action="store_true")
    ni.add_argument("--notes", default=os.environ.get("BENCH_NOTES", ""))
    ni.add_argument("--render-only", action="store_true")
    parser.add_argument("--rows", type=int, default=int(os.environ.get("BENCH_ROWS", DEFAULT_ROWS)),
                        help="the largest size (raw rows); the others are rows/20 and rows/4")
    parser.add_argument("--sizes", default=os.environ.get("BENCH_SIZES"),
                        help="comma-separated sizes instead (e.g. 100000,500000)")
    parser.add_argument("--work-dir", default=os.environ.get("BENCH_WORK_DIR", "/tmp/okr_kpi_bench"))
    parser.add_argument("--no-docs", action="store_true",
                        help="print the table, do not write docs/benchmarks.md")
    parser.add_argument("--notes", default=os.environ.get("BENCH_NOTES", ""),
                        help="a paragraph added to docs/benchmarks.md")
    parser.add_argument("--repeat", type=int, default=int(os.environ.get("BENCH_REPEAT", 3)),
                        help="runs of the floor and of each dbt build; the fastest counts (default 3)")
    parser.add_argument("--render-only", action="store_true",
                        help="write docs/benchmarks.md again from the last run's saved results")
    args = parser.parse_args(argv)
    if args.command == "floor":
        seconds = run_floor(args.db, args.as_of, args.raw_schema, args.memory_limit)
        print(f"floor_sql_seconds={seconds:.6f}")
        return 0
    if args.command == "row-floor":
        seconds = run_row_floor(args.db, args.as_of, args.raw_schema, args.memory_limit)
        print(f"row_floor_sql_seconds={seconds:.6f}")
        return 0

    if args.command == "segment-floor":
        seconds = run_segment_floor(args.db, args.as_of, args.raw_schema, args.memory_limit)
        print(f"segment_floor_sql_seconds={seconds:.6f}")
        return 0

    if args.command == "nightly":
        return main_nightly(args)

    if args.command == "row-level":
        work = Path(args.work_dir)
        saved = work / ROW_LEVEL_RESULTS
        if args.render_only:
            data = json.loads(saved.read_text())
        else:
            os.environ.setdefault("OKR_KPI_DUCKDB_MEMORY_LIMIT", MEMORY_LIMIT)
            try:
                data = bench_row_level(args.rows, work, DEMO_DIR, repeat=args.repeat, reuse=args.reuse)
            except OkrKpiError as err:
                print(f"bench: {err}", file=sys.stderr)
                return 1
            work.mkdir(parents=True, exist_ok=True)
            saved.write_text(json.dumps(data, indent=1, default=str))
        section = render_row_level(data, args.notes)
        print(section)
        if not args.no_docs:
            write_row_level_section(REPO / "docs" / "benchmarks.md", section)
            print(f"written: {REPO / 'docs' / 'benchmarks.md'}")
        return 0

    project_dir = DEMO_DIR
    work = Path(args.work_dir)
    saved = work / "results.json"
    if args.render_only:
        if not saved.exists():
            print(f"bench: no saved results at {saved}: run the bench first", file=sys.stderr)
            return 1
        run = json.loads(saved.read_text())
        results = [_load_result(r) for r in run["results"]]
    else:
        sizes = ([int(s) for s in args.sizes.split(",")] if args.sizes
                 else [args.rows // 20, args.rows // 4, args.rows])
        os.environ.setdefault("OKR_KPI_DUCKDB_MEMORY_LIMIT", MEMORY_LIMIT)
        command = "python benchmarks/bench.py " + " ".join(argv if argv is not None else sys.argv[1:])
        run = {"started": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "command": command.strip(),
               "memory_limit": os.environ["OKR_KPI_DUCKDB_MEMORY_LIMIT"], "load_at_start": _load()}
        results = []
        try:
            for rows in sizes:
                low = LOW_MEMORY_LIMIT if rows == max(sizes) else None
                results.append(bench_size(rows, work, project_dir, low_memory_limit=low, repeat=args.repeat))
        except OkrKpiError as err:
            print(f"bench: {err}", file=sys.stderr)
            return 1
        run["machine"] = machine()
        run["results"] = [_dump_result(r) for r in results]
        saved.write_text(json.dumps(run, indent=1, default=str))
    info = dict(run["machine"], load_start=run.get("load_at_start", "unknown"))
    text = render_markdown(results, info, run["memory_limit"], run["started"], run["command"], args.notes)
    print(text)
    if not args.no_docs:
        doc = REPO / "docs" / "benchmarks.md"
        old = doc.read_text() if doc.is_file() else ""
        # The sections other commands write (bench.py row-level, benchmarks/bench_spark.py) are kept.
        for heading in (ROW_LEVEL_HEADING, SPARK_SECTION, NIGHTLY_HEADING):
            start = old.find(heading)
            if start >= 0:
                end = old.find("\n## ", start + len(heading))
                section = old[start:end] if end >= 0 else old[start:]
                text = text.rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n"
        doc.write_text(text)
        if (work / ROW_LEVEL_RESULTS).exists():  # the row-level section of `bench.py row-level`
            write_row_level_section(doc, render_row_level(json.loads((work / ROW_LEVEL_RESULTS).read_text())))
        print(f"written: {REPO / 'docs' / 'benchmarks.md'}")
    return 0


# The section of docs/benchmarks.md that benchmarks/bench_spark.py maintains (kept by main()).
SPARK_SECTION = "## Spark: the local session and a cluster"


def _load() -> str:
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def _dump_result(r: SizeResult) -> dict:
    data = asdict(r)
    for step in data["steps"]:
        step.pop("output", None)
    return data


def _load_result(data: dict) -> SizeResult:
    data = dict(data)
    steps = [Measurement(**m) for m in data.pop("steps")]
    nodes = {k: [tuple(n) for n in v] for k, v in data.pop("nodes").items()}
    data["segment_rows"] = [tuple(x) for x in data.get("segment_rows", [])]
    return SizeResult(**data, steps=steps, nodes=nodes)


# ---------------------------------------------------------------------------------------------
# Issue 19: the end-to-end nightly `okr-kpi run`, and its stages (`bench.py nightly`).
# ---------------------------------------------------------------------------------------------
NIGHTLY_HEADING = "## Issue 19: the nightly `okr-kpi run` in one process"
NIGHTLY_RESULTS = "nightly_results.json"


def _run_log_stages(log_file: Path, offset: int, target_path: Path) -> dict[str, float]:
    """The stages of the run whose JSON log lines start at byte `offset` of log_file: seconds of
    start-up (process start to build_started is measured by the caller), dbt start (the build's
    wall time minus dbt's elapsed node time), build, checks and the rest (freshness, lifecycle,
    report, publish: checks' end to run_finished)."""
    events: dict[str, dict] = {}
    with open(log_file, "rb") as f:
        f.seek(offset)
        for line in f.read().decode().splitlines():
            try:
                e = json.loads(line)
            except ValueError:
                continue
            events.setdefault(e.get("event"), e)  # the first of each
    ts = {k: dt.datetime.fromisoformat(v["ts"]).timestamp() for k, v in events.items() if "ts" in v}
    build = float(events.get("build", {}).get("seconds") or 0)
    elapsed = 0.0
    results = target_path / "run_results.json"
    if results.is_file():
        elapsed = float(json.loads(results.read_text()).get("elapsed_time") or 0)
    checks = float(events.get("checks", {}).get("seconds") or 0)
    out = {
        "run_started": ts.get("run_started", 0.0),
        "build_started": ts.get("build_started", 0.0),
        "build": build,
        "dbt_start": max(build - elapsed, 0.0),
        "dbt_nodes": elapsed,
        "checks": checks,
        "publish": (ts.get("run_finished", 0.0) - ts.get("checks_started", 0.0) - checks)
        if "checks_started" in ts else 0.0,
        "exit_code": int(events.get("run_finished", {}).get("exit_code", -1)),
        "nodes": len(json.loads(results.read_text()).get("results", [])) if results.is_file() else 0,
    }
    return out


def bench_nightly(rows: int, work: Path, project_dir: Path, code: dict[str, str], repeat: int = 3,
                  log=print) -> dict:
    """One size: generate the demo company, a first `okr-kpi run` (a full build), then for each
    code version (name -> PYTHONPATH, "" = the installed package) `repeat` nightly runs, each
    after one new day of raw data (append_day), on its own copy of the warehouse after the first
    run. Wall time and peak memory of the `okr-kpi run` process tree, the stages from its run
    log, and the machine's load average (uptime) at each run's start."""
    import duckdb

    folder = work / f"nightly_{rows}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    base_db = folder / "base.duckdb"
    py = sys.executable
    okr = [py, "-m", "okr_kpi.cli"]

    def env_for(db: Path, name: str, pythonpath: str) -> dict[str, str]:
        env = dict(os.environ)
        for secret in ("OKR_KPI_SLACK_WEBHOOK_URL", "OKR_KPI_WEBHOOK_URL", "OKR_KPI_TEAMS_WEBHOOK_URL"):
            env.pop(secret, None)
        env.update({
            "OKR_KPI_TARGET": "duckdb", "OKR_KPI_DUCKDB_PATH": str(db), "OKR_KPI_SCHEMA": "okr_kpi",
            "OKR_KPI_RAW_SCHEMA": "raw",
            "OKR_KPI_DUCKDB_MEMORY_LIMIT": env.get("OKR_KPI_DUCKDB_MEMORY_LIMIT", MEMORY_LIMIT),
            "DBT_TARGET_PATH": str(folder / f"target_{name}"), "DBT_LOG_PATH": str(folder / f"logs_{name}"),
            "OKR_KPI_LOG_DIR": str(folder / f"logs_{name}"), "OKR_KPI_GX_DIR": str(folder / f"gx_{name}"),
            "DBT_PROFILES_DIR": str(project_dir), "DBT_PROJECT_DIR": str(project_dir),
            "OKR_KPI_PROJECT_DIR": str(project_dir),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1",
        })
        if pythonpath:
            env["PYTHONPATH"] = pythonpath
        else:
            env.pop("PYTHONPATH", None)
        return env

    first_code = next(iter(code.values()))
    env = env_for(base_db, "first", first_code)
    log(f"[nightly {rows:,} rows] generating the demo company ...")
    _fail_step(measure("generate", [*okr, "generate", "--rows", str(rows), "--seed", str(SEED)], env,
                       project_dir))
    con = duckdb.connect(str(base_db))
    raw_rows = sum(con.execute(f"select count(*) from raw.{t}").fetchone()[0] for t in EVENT_TABLES)
    con.close()
    log(f"[nightly {rows:,} rows] first run (full build) ...")
    load = _load()
    first = measure("first run", [*okr, "run", "--as-of", str(AS_OF), "--log-format", "json",
                                  "--skip-publish", "--out", str(folder / "out")], env, project_dir)
    if first.returncode not in (0, 10, 15):
        _fail_step(first)
    out: dict = {"rows": rows, "raw_rows": raw_rows, "first_run": {"seconds": first.seconds,
                 "peak_bytes": first.peak_bytes, "exit": first.returncode, "load": load}, "versions": {}}
    new_day = AS_OF + dt.timedelta(days=1)
    late_day = AS_OF - dt.timedelta(days=1)
    for name, pythonpath in code.items():
        runs = []
        for i in range(repeat):
            db = folder / f"{name}_{i}.duckdb"
            shutil.copy(base_db, db)
            con = duckdb.connect(str(db))
            append_day(con, new_day, late_day, late_rows=5)
            con.close()
            env = env_for(db, name, pythonpath)
            log_file = Path(env["OKR_KPI_LOG_DIR"]) / "okr_kpi_run.log"
            offset = log_file.stat().st_size if log_file.exists() else 0
            load = _load()
            started = time.time()
            log(f"[nightly {rows:,} rows] {name}: run {i + 1}/{repeat} (load {load}) ...")
            m = measure("nightly run", [*okr, "run", "--as-of", str(new_day), "--log-format", "json",
                                        "--skip-publish", "--out", str(folder / f"out_{name}")],
                        env, project_dir)
            stages = _run_log_stages(log_file, offset, Path(env["DBT_TARGET_PATH"]))
            stages["start_up"] = max(stages.pop("build_started") - started, 0.0)
            stages.pop("run_started")
            runs.append({"seconds": m.seconds, "peak_bytes": m.peak_bytes, "exit": m.returncode,
                         "load": load, **stages})
            db.unlink(missing_ok=True)
        out["versions"][name] = runs
    return out


def render_nightly(data: dict, notes: str = "") -> str:
    def med(runs: list[dict], key: str) -> float:
        return _median([float(r[key]) for r in runs])

    lines = [
        NIGHTLY_HEADING, "",
        f"Measured {data['started']} with `{data['command']}` on this machine (2 cores shared with "
        "other sessions: the load average, `uptime`'s 1/5/15-minute figures, is given with every "
        "run). The nightly run: one new day of raw data (plus 5 late rows per table, as in "
        "\"incremental build\" above) after a first full `okr-kpi run`, then `okr-kpi run --as-of "
        f"{AS_OF + dt.timedelta(days=1)} --skip-publish --log-format json` (no channel is configured "
        "either way). Each run has its own copy of the warehouse after the first run. Stages from the "
        "run log: start-up (process start to `build_started`: imports, config, seed preflight, lock), "
        "dbt start (the build's wall time minus dbt's node time, run_results.json `elapsed_time`), "
        "dbt nodes, checks (Great Expectations), and the rest (freshness, lifecycle, report; "
        "`checks` to `run_finished`). `before` is main's code (dbt and GX each in a child process), "
        "`after` this branch's (one process). Medians of the runs; peak memory is the highest.", "",
        "| raw rows | code | runs | wall s | start-up s | dbt start s | dbt nodes s | checks s | rest s | "
        "peak GB | nodes | exit | load average at each run's start |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for size in data["sizes"]:
        for name, runs in size["versions"].items():
            if not runs:
                continue
            lines.append(
                f"| {size['raw_rows']:,} | {name} | {len(runs)} | {med(runs, 'seconds'):.2f} | "
                f"{med(runs, 'start_up'):.2f} | {med(runs, 'dbt_start'):.2f} | "
                f"{med(runs, 'dbt_nodes'):.2f} | "
                f"{med(runs, 'checks'):.2f} | {med(runs, 'publish'):.2f} | "
                f"{max(r['peak_bytes'] for r in runs) / 1e9:.2f} | {runs[0]['nodes']} | "
                f"{', '.join(str(r['exit']) for r in runs)} | {'; '.join(r['load'] for r in runs)} |")
    lines.append("")
    for size in data["sizes"]:
        f = size["first_run"]
        lines.append(f"- {size['raw_rows']:,} raw rows, first `okr-kpi run` (full build, code "
                     f"`{next(iter(size['versions']))}`): {f['seconds']:.1f} s wall, "
                     f"{f['peak_bytes'] / 1e9:.2f} GB peak, exit {f['exit']}, load {f['load']}.")
    if notes:
        lines += ["", notes]
    return "\n".join(lines) + "\n"


def write_section(path: Path, heading: str, section: str) -> None:
    """Replace (or append) the section under `heading` in path; the rest is kept as it is."""
    old = path.read_text() if path.is_file() else ""
    start = old.find(heading)
    if start < 0:
        path.write_text(old.rstrip("\n") + "\n\n" + section)
        return
    end = old.find("\n## ", start + len(heading))
    path.write_text(old[:start] + section.rstrip("\n") + "\n" + (old[end:] if end >= 0 else ""))


def main_nightly(args) -> int:
    work = Path(args.work_dir)
    saved = work / NIGHTLY_RESULTS
    if args.render_only:
        data = json.loads(saved.read_text())
    else:
        code = {}
        if args.before:
            code["before"] = args.before
        code["after"] = str(REPO / "scripts")
        os.environ.setdefault("OKR_KPI_DUCKDB_MEMORY_LIMIT", MEMORY_LIMIT)
        data = {"started": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
                "command": "python benchmarks/bench.py " + " ".join(sys.argv[1:]), "sizes": []}
        work.mkdir(parents=True, exist_ok=True)
        for rows in [int(s) for s in args.sizes.split(",")]:
            data["sizes"].append(bench_nightly(rows, work, DEMO_DIR, code, repeat=args.repeat))
            saved.write_text(json.dumps(data, indent=1, default=str))
    section = render_nightly(data, args.notes)
    print(section)
    if not args.no_docs:
        write_section(REPO / "docs" / "benchmarks.md", NIGHTLY_HEADING, section)
        print(f"written: {REPO / 'docs' / 'benchmarks.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
