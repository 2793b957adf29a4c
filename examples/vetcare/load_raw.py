"""Load raw/*.csv into the clinics' warehouse, as their nightly export would.

    python load_raw.py                       # DuckDB: VETCARE_DUCKDB_PATH (default vetcare_dw.duckdb)
    VETCARE_TARGET=shared python load_raw.py # PostgreSQL: VETCARE_PG* (defaults 127.0.0.1:5432, postgres)

The tables go to the schema VETCARE_RAW_SCHEMA (default vet_raw), replaced if they exist.
"""

from __future__ import annotations

import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
COLUMNS = {
    "appointments": "appointment_id bigint, clinic text, scheduled_at timestamp, species text, outcome text, "
                    "invoice_cents bigint, wait_min integer",
    "wellness_plans": "plan_id bigint, pet_ref text, enrolled_on date, ended_on date",
    "fridge_log": "reading_id bigint, clinic text, logged_at timestamp, celsius double precision",
}


def load_duckdb(path: str, schema: str) -> None:
    import duckdb

    con = duckdb.connect(path)
    try:
        con.execute(f'create schema if not exists "{schema}"')
        for table, columns in COLUMNS.items():
            con.execute(f'create or replace table "{schema}".{table} ({columns})')
            con.execute(f"copy \"{schema}\".{table} from '{HERE / 'raw' / f'{table}.csv'}' (header true)")
    finally:
        con.close()


def load_postgres(schema: str, **connect) -> None:
    import psycopg2

    con = psycopg2.connect(**connect)
    con.autocommit = True
    try:
        with con.cursor() as cur:
            cur.execute(f'create schema if not exists "{schema}"')
            for table, columns in COLUMNS.items():
                cur.execute(f'drop table if exists "{schema}".{table}')
                cur.execute(f'create table "{schema}".{table} ({columns})')
                with (HERE / "raw" / f"{table}.csv").open() as fh:
                    cur.copy_expert(f'copy "{schema}".{table} from stdin with (format csv, header true)', fh)
    finally:
        con.close()


def main() -> None:
    schema = os.environ.get("VETCARE_RAW_SCHEMA", "vet_raw")
    if os.environ.get("VETCARE_TARGET", "nightly") == "shared":
        load_postgres(schema, host=os.environ.get("VETCARE_PGHOST", "127.0.0.1"),
                      port=os.environ.get("VETCARE_PGPORT", "5432"),
                      user=os.environ.get("VETCARE_PGUSER", "postgres"),
                      password=os.environ.get("VETCARE_PGPASSWORD", ""),
                      dbname=os.environ.get("VETCARE_PGDATABASE", "postgres"))
    else:
        path = os.environ.get("VETCARE_DUCKDB_PATH", str(HERE / "vetcare_dw.duckdb"))
        load_duckdb(path, schema)
    print(f"loaded {', '.join(COLUMNS)} into {schema}")


if __name__ == "__main__":
    main()
