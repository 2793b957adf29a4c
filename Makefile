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

.PHONY: install demo test lint bench browser clean wheel

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

demo: $(STAMP)
	$(BIN)/okr-kpi generate --rows $(DEMO_ROWS) --seed $(DEMO_SEED)
	@# exit 10 means "ran fine and found breaches": the demo company has planted incidents.
	$(BIN)/okr-kpi run --as-of $(DEMO_AS_OF) || [ $$? -eq 10 ]
	@echo
	@echo "Demo done. Open reports/report.html (also reports/summary.md and reports/okr_kpi.json)."
	@echo "The warehouse is okr_kpi.duckdb: try  .venv/bin/python -c \"import duckdb; print(duckdb.connect('okr_kpi.duckdb').sql('from fct_key_result_progress limit 5'))\""

# Headless Chromium for the report's browser test (Debian's package; no browser download).
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium; } || \
	  echo "chromium could not be installed: the browser test will be skipped"

test: $(STAMP) browser lint
	$(BIN)/python -m pytest -n auto --dist loadfile tests/python

lint: $(STAMP)
	$(BIN)/ruff check scripts tests
	$(BIN)/sqlfluff lint models analyses --disable-progress-bar

bench: $(STAMP)
	$(BIN)/python -m okr_kpi.bench

clean:
	rm -rf build dist target target_* logs reports okr_kpi.duckdb spark-warehouse metastore_db metastore_db.log derby.log
