# okr-kpi: the two set-up commands are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The demo company is pinned so that the demo is reproducible.
DEMO_AS_OF ?= 2026-08-31
DEMO_ROWS ?= 500000
DEMO_SEED ?= 42
# The demo company is an example dbt project of its own, which installs the package (local: ../..).
# The toolkit runs in it: its warehouse and reports are at that project's root.
DEMO_DIR := examples/demo
# The same .venv/bin seen from $(DEMO_DIR) (../../.venv/bin), also when BIN is given as a path.
DEMO_BIN := $(abspath $(BIN))

.PHONY: install demo demo-deps test lint bench bench-spark browser clean wheel

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed ($(PYTHON) not found)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -qq --upgrade "pip>=24"
	$(BIN)/python -m pip install -qq -c constraints.txt -e ".[dev]"
	touch $(STAMP)

# Everything (all warehouses, MetricFlow, test tools): `.[dev]`. Users install extras: docs/install.md.
install: $(STAMP)

# The wheel users install (the dbt package inside, by setup.py): dist/okr_kpi-<version>-py3-none-any.whl
wheel: $(STAMP)
	$(BIN)/python -m pip wheel -q --no-deps -w dist .


# dbt deps of the demo project: its packages.yml installs this checkout's package (a link).
demo-deps: $(STAMP)
	cd $(DEMO_DIR) && $(DEMO_BIN)/dbt deps --project-dir . --quiet

demo: demo-deps
	cd $(DEMO_DIR) && $(DEMO_BIN)/okr-kpi generate --rows $(DEMO_ROWS) --seed $(DEMO_SEED)
	@# exit 10 means "ran fine and found breaches": the demo company has planted incidents.
	cd $(DEMO_DIR) && { $(DEMO_BIN)/okr-kpi run --as-of $(DEMO_AS_OF) || [ $$? -eq 10 ]; }
	@echo
	@echo "Demo done. Open $(DEMO_DIR)/reports/report.html (also summary.md and okr_kpi.json there)."
	@echo "The warehouse is $(DEMO_DIR)/okr_kpi.duckdb: try  .venv/bin/python -c \"import duckdb; print(duckdb.connect('$(DEMO_DIR)/okr_kpi.duckdb').sql('from fct_key_result_progress limit 5'))\""

# Headless Chromium for the report's browser test (Debian's package; no browser download).
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium; } || \
	  echo "chromium could not be installed: the browser test will be skipped"

test: $(STAMP) browser lint demo-deps
	$(BIN)/python -m pytest -n auto --dist loadfile --durations=30 tests/python

# The package's SQL through tests/sqlfluff (the package plus the demo's seeds, see .sqlfluff),
# then the demo project's own SQL.
lint: demo-deps
	$(BIN)/ruff check scripts tests benchmarks
	$(BIN)/sqlfluff lint models analyses --disable-progress-bar
	cd $(DEMO_DIR) && $(DEMO_BIN)/sqlfluff lint models --disable-progress-bar

# The benchmark lives outside the package (benchmarks/): it builds the demo project.
# Then the demo's full and nightly build on DuckDB, the local Spark session and a local Spark
# cluster (benchmarks/bench_spark.py; BENCH_SPARK_SIZES=20000 for a quick look). `bench.py
# nightly`: the end-to-end nightly `okr-kpi run` and its stages (issue 19), against the code at
# BENCH_BEFORE_PYTHONPATH when set (e.g. a checkout of main's scripts/); BENCH_NIGHTLY_SIZES.
BENCH_SPARK_SIZES ?= 1000000,10000000
bench: demo-deps
	$(BIN)/python benchmarks/bench.py
	$(BIN)/python benchmarks/bench.py nightly
	$(BIN)/python benchmarks/bench_spark.py --write-docs --sizes $(BENCH_SPARK_SIZES)

bench-spark: demo-deps
	$(BIN)/python benchmarks/bench_spark.py --write-docs --sizes $(BENCH_SPARK_SIZES)

clean:
	rm -rf build dist target target_* logs reports okr_kpi.duckdb spark-warehouse metastore_db metastore_db.log derby.log
	rm -rf tests/sqlfluff/target tests/sqlfluff/logs
	cd $(DEMO_DIR) && rm -rf target target_* logs reports gx okr_kpi.duckdb okr_kpi.duckdb.wal dbt_packages \
	  package-lock.yml spark-warehouse metastore_db metastore_db.log derby.log
