"""Write the clinic chain's raw history to raw/*.csv (run once; the CSVs are committed).

Harbourside Veterinary Clinics: three clinics (HBR, MIL, WES), open every day.
History 2023-10-01 .. 2025-03-20 (it holds 29 February 2024); the project's as_of_date is
2025-03-16, so the last four days are "tomorrow's" rows a build must leave out.

    python generate_raw.py            # deterministic: the same seed writes the same files

Tables:
  appointments(appointment_id, clinic, scheduled_at, species, outcome, invoice_cents, wait_min)
      outcome completed | no_show | cancelled; invoice_cents and wait_min only when completed
  wellness_plans(plan_id, pet_ref, enrolled_on, ended_on)   ended_on empty while the plan runs
  fridge_log(reading_id, clinic, logged_at, celsius)         vaccine fridges, two readings a day
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import random
from pathlib import Path

SEED = 20231001
FIRST = dt.date(2023, 10, 1)
LAST = dt.date(2025, 3, 20)
CLINICS = ("HBR", "MIL", "WES")
SPECIES = ("dog", "dog", "dog", "cat", "cat", "rabbit", "bird")
RAW = Path(__file__).resolve().parent / "raw"

# Planted cold-chain excursions (the thresholds: 2.0 .. 8.0 degrees Celsius).
FRIDGE_EVENTS = {
    (dt.date(2024, 1, 17), "MIL"): 1.4,
    (dt.date(2024, 2, 29), "HBR"): 8.8,   # on the leap day
    (dt.date(2024, 6, 21), "WES"): 9.3,
    (dt.date(2024, 8, 12), "HBR"): 8.6,
    (dt.date(2025, 1, 9), "WES"): 0.9,
    (dt.date(2025, 3, 12), "MIL"): 8.4,   # recent: alerted by the first scheduled run
}
# A summer of no-shows (the front desk's OKR story): August 2024.
NO_SHOW_SPIKE = (dt.date(2024, 8, 1), dt.date(2024, 8, 31))
# One clinic only (a segment incident): a fortnight short of a vet at Westside, every completed
# visit there waits 15 minutes longer. Added after the draws, so every other value is unchanged.
WES_SHORT_STAFFED = ("WES", dt.date(2025, 2, 3), dt.date(2025, 2, 16), 15)


def days():
    day = FIRST
    while day <= LAST:
        yield day
        day += dt.timedelta(days=1)


def appointments(rng: random.Random) -> list[list]:
    rows = []
    next_id = 1
    for day in days():
        season = 1 + 0.15 * math.sin((day.timetuple().tm_yday - 80) / 365 * 2 * math.pi)
        growth = 1 + (day - FIRST).days / 1500
        weekend = 0.6 if day.weekday() >= 5 else 1.0
        for clinic in CLINICS:
            n = max(0, round(rng.gauss(2.4 * season * growth * weekend, 1.0)))
            for _ in range(n):
                minute = rng.randrange(8 * 60, 19 * 60, 15)
                at = dt.datetime.combine(day, dt.time(minute // 60, minute % 60))
                p_no_show = 0.16 if NO_SHOW_SPIKE[0] <= day <= NO_SHOW_SPIKE[1] else 0.075
                r = rng.random()
                outcome = "no_show" if r < p_no_show else "cancelled" if r < p_no_show + 0.06 else "completed"
                invoice = wait = ""
                if outcome == "completed":
                    invoice = int(round(rng.lognormvariate(math.log(6500), 0.45), -1))
                    wait = max(0, round(rng.gauss(21 - 6 * (day - FIRST).days / 540, 6)))
                    short_clinic, short_from, short_to, extra = WES_SHORT_STAFFED
                    if clinic == short_clinic and short_from <= day <= short_to:
                        wait += extra
                rows.append([next_id, clinic, at.strftime("%Y-%m-%d %H:%M:%S"), rng.choice(SPECIES), outcome,
                             invoice, wait])
                next_id += 1
    return rows


def wellness_plans(rng: random.Random) -> list[list]:
    rows = []
    next_id = 1
    for day in days():
        # the plan launched on the first day of the history: a batch of sign-ups
        n = 45 if day == FIRST else (1 if rng.random() < 0.55 else 0) + (1 if rng.random() < 0.12 else 0)
        for _ in range(n):
            ended = ""
            if rng.random() < 0.3:
                end = day + dt.timedelta(days=rng.randrange(20, 400))
                if end <= LAST:
                    ended = end.isoformat()
            rows.append([next_id, f"pet-{rng.randrange(10_000, 99_999)}", day.isoformat(), ended])
            next_id += 1
    return rows


def fridge_log(rng: random.Random) -> list[list]:
    rows = []
    next_id = 1
    for day in days():
        for clinic in CLINICS:
            for hour in (8, 18):
                celsius = round(min(7.6, max(2.4, rng.gauss(4.8, 0.8))), 1)
                planted = FRIDGE_EVENTS.get((day, clinic))
                if planted is not None and hour == 18:
                    celsius = planted
                at = dt.datetime.combine(day, dt.time(hour, rng.randrange(0, 30)))
                rows.append([next_id, clinic, at.strftime("%Y-%m-%d %H:%M:%S"), f"{celsius:.1f}"])
                next_id += 1
    return rows


TABLES = {
    "appointments": (["appointment_id", "clinic", "scheduled_at", "species", "outcome", "invoice_cents",
                      "wait_min"], appointments),
    "wellness_plans": (["plan_id", "pet_ref", "enrolled_on", "ended_on"], wellness_plans),
    "fridge_log": (["reading_id", "clinic", "logged_at", "celsius"], fridge_log),
}


def main() -> None:
    RAW.mkdir(exist_ok=True)
    for offset, (table, (header, make)) in enumerate(TABLES.items()):
        rows = make(random.Random(SEED + offset))
        with (RAW / f"{table}.csv").open("w", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)
        print(f"raw/{table}.csv: {len(rows)} rows")


if __name__ == "__main__":
    main()
