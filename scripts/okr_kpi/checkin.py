"""`okr-kpi check-in KR_ID VALUE [--confidence 0..1] [--note TEXT] [--date D]`.

Records a check-in of a key result in the project's okr_check_ins seed (the CSV under the
project's seed-paths that dbt seeds and int_okr_check_ins reads), so the next `okr-kpi run` scores
it. Decision (docs/check_ins.md): the seed file, not a warehouse
table, because it is what the models already read, it is reviewed in version control like every
other OKR seed, and it works on every adapter with no extra table to migrate.

The row is validated against the key result first (exit 2 naming the problem, nothing written):
the key result exists; the date (default: today) lies inside its objective's cycle; the value is
a finite number (a milestone: 0 or 1); confidence, when given, is in [0, 1]; there is no check-in
of that key result on that day yet. A key result measured by a KPI gets a warning: its value
comes from the KPI, only the confidence and the note of the check-in are used.

The file keeps its format: its header order, its line endings (CRLF stays CRLF), csv quoting
for notes with commas or quotes; a note's line breaks become spaces. Written atomically.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from okr_kpi.exit_codes import ExitCode
from okr_kpi.project import OkrKpiError

CHECK_INS = "okr_check_ins.csv"
COLUMNS = ["key_result_id", "check_in_date", "value", "confidence", "note"]


class CheckInError(OkrKpiError):
    exit_code = ExitCode.USAGE


@dataclass
class CheckIn:
    key_result_id: str
    check_in_date: dt.date
    value: float
    confidence: float | None
    note: str
    path: Path
    warnings: list[str] = field(default_factory=list)


def _find(seeds_dir: Path, name: str) -> Path:
    direct = seeds_dir / name
    if direct.is_file():
        return direct
    found = sorted(p for p in seeds_dir.rglob(name) if "dbt_packages" not in p.parts)
    if not found:
        raise CheckInError(f"no {name} under {seeds_dir}: the project has no such seed")
    return found[0]


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        return [{k.strip(): (v or "").strip() for k, v in row.items() if k} for row in csv.DictReader(f)]


def _date(text: str, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise CheckInError(f"{what} {text!r} is not a date (YYYY-MM-DD)") from None


def _number(text: str, what: str) -> float:
    try:
        value = float(str(text).strip())
    except ValueError:
        raise CheckInError(f"{what} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise CheckInError(f"{what} {text!r} is not a finite number")
    return value


def _plain(value: float) -> str:
    return str(int(value)) if value == int(value) and abs(value) < 1e15 else repr(value)


def validate(
    seeds_dir: Path,
    key_result_id: str,
    value: str,
    confidence: str | None = None,
    note: str | None = None,
    day: str | None = None,
    today: dt.date | None = None,
) -> CheckIn:
    """The check-in, validated against the seeds (CheckInError naming the problem)."""
    seeds_dir = Path(seeds_dir)
    krs = {r.get("key_result_id"): r for r in _read(_find(seeds_dir, "okr_key_results.csv"))}
    kr = krs.get(key_result_id)
    if kr is None:
        raise CheckInError(f"unknown key result {key_result_id!r} (not in okr_key_results)")
    objectives = {r.get("objective_id"): r for r in _read(_find(seeds_dir, "okr_objectives.csv"))}
    cycles = {r.get("cycle_id"): r for r in _read(_find(seeds_dir, "okr_cycles.csv"))}
    objective = objectives.get(kr.get("objective_id"))
    cycle = cycles.get((objective or {}).get("cycle_id"))
    if cycle is None:
        raise CheckInError(f"key result {key_result_id!r} has no valid objective and cycle")
    start = _date(cycle.get("start_date", ""), f"cycle {cycle.get('cycle_id')!r} start_date")
    end = _date(cycle.get("end_date", ""), f"cycle {cycle.get('cycle_id')!r} end_date")
    when = _date(day, "--date") if day else (today or dt.date.today())
    if not start <= when <= end:
        raise CheckInError(
            f"check-in date {when} is outside cycle {cycle.get('cycle_id')!r} ({start}..{end}) "
            f"of key result {key_result_id!r}"
        )
    number = _number(value, "value")
    if (kr.get("kr_type") or "").strip() == "milestone" and number not in (0.0, 1.0):
        raise CheckInError(f"key result {key_result_id!r} is a milestone: value must be 0 or 1, not {value}")
    conf = None
    if confidence is not None and str(confidence).strip() != "":
        conf = _number(confidence, "confidence")
        if not 0 <= conf <= 1:
            raise CheckInError(f"confidence {confidence} is outside [0, 1]")
    path = _find(seeds_dir, CHECK_INS)
    for row in _read(path):
        if row.get("key_result_id") == key_result_id and row.get("check_in_date") == when.isoformat():
            raise CheckInError(
                f"key result {key_result_id!r} already has a check-in on {when} in {path}: edit that row"
            )
    warnings = []
    if (kr.get("kpi_id") or "").strip():
        warnings.append(
            f"key result {key_result_id!r} is measured by KPI {kr['kpi_id']!r}: its value comes from "
            "the KPI; only the check-in's confidence and note are used"
        )
    text = " ".join((note or "").split())
    return CheckIn(key_result_id, when, number, conf, text, path, warnings)


def record(check_in: CheckIn) -> Path:
    """Append the row to the seed, keeping its header order, line endings and a final newline."""
    path = check_in.path
    raw = path.read_bytes()
    newline = "\r\n" if b"\r\n" in raw else "\n"
    text = raw.decode("utf-8-sig")
    header = next(csv.reader(io.StringIO(text)), None) or COLUMNS
    header = [h.strip() for h in header]
    values = {
        "key_result_id": check_in.key_result_id,
        "check_in_date": check_in.check_in_date.isoformat(),
        "value": _plain(check_in.value),
        "confidence": "" if check_in.confidence is None else _plain(check_in.confidence),
        "note": check_in.note,
    }
    buf = io.StringIO()
    csv.writer(buf, lineterminator=newline).writerow([values.get(h, "") for h in header])
    prefix = "" if not raw or raw.endswith(b"\n") else newline
    new = raw + (prefix + buf.getvalue()).encode("utf-8")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".okr_check_ins.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(new)
        os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def check_in_command(seeds_dir: Path, key_result_id: str, value: str, confidence: str | None,
                     note: str | None, day: str | None) -> CheckIn:
    check_in = validate(seeds_dir, key_result_id, value, confidence, note, day)
    record(check_in)
    return check_in


# --- lint: key results measured by check-ins that nobody checked in lately ---------------------

MAX_AGE_VAR = "okr_kpi_check_in_max_age_days"
MAX_AGE_DEFAULT = 14


def check_in_max_age_days(project_dir: Path | None) -> int:
    """The dbt var okr_kpi_check_in_max_age_days of the project's dbt_project.yml (default 14)."""
    if project_dir is None:
        return MAX_AGE_DEFAULT
    try:
        import yaml

        config = yaml.safe_load((Path(project_dir) / "dbt_project.yml").read_text()) or {}
        return int((config.get("vars") or {}).get(MAX_AGE_VAR, MAX_AGE_DEFAULT))
    except (OSError, ValueError, TypeError, AttributeError):
        return MAX_AGE_DEFAULT


def stale_check_in_issues(seeds, as_of: dt.date, max_age_days: int) -> list:
    """Warnings (rule okr-check-in-stale) for the key results measured by check-ins (no kpi_id) of a
    cycle active on as_of whose last check-in (or, without one, the cycle's start) is more than
    max_age_days before as_of. seeds: an okr_kpi.seeds.SeedSet."""
    from okr_kpi.seeds import WARNING

    cycles = {r["cycle_id"]: r for r in seeds.rows("okr_cycles")}
    objectives = {r["objective_id"]: r for r in seeds.rows("okr_objectives")}
    last: dict[str, dt.date] = {}
    for row in seeds.rows("okr_check_ins"):
        day = row["check_in_date"]
        if isinstance(day, dt.date) and day <= as_of:
            last[row["key_result_id"]] = max(day, last.get(row["key_result_id"], day))
    issues = []
    for kr in seeds.rows("okr_key_results"):
        if kr["kpi_id"]:
            continue
        objective = objectives.get(kr["objective_id"])
        cycle = cycles.get(objective["cycle_id"]) if objective is not None else None
        start, end = (cycle["start_date"], cycle["end_date"]) if cycle else (None, None)
        if not isinstance(start, dt.date) or not isinstance(end, dt.date) or not start <= as_of <= end:
            continue
        seen = last.get(kr["key_result_id"])
        since = seen or start
        age = (as_of - since).days
        if age > max_age_days:
            what = f"last check-in {seen}" if seen else f"no check-in since its cycle started on {start}"
            issues.append(kr.issue(
                "key_result_id", WARNING, "okr-check-in-stale",
                f"key result {kr['key_result_id']!r} is measured by check-ins: {what}, {age} days before "
                f"{as_of} (more than {MAX_AGE_VAR} = {max_age_days}); `okr-kpi check-in` records one",
            ))
    return issues
