# Set-up and everyday commands. Each target installs what it needs into .venv first.
PYTHON ?= python3
# The Airflow minor line to run on (3.1, 3.2 or 3.3). The newest uses .venv; older lines get
# their own virtualenv, e.g. `make test AIRFLOW=3.1` uses .venv-airflow-3.1. Each line installs
# with constraints/airflow-<line>.txt: the release tested and the pins it needs.
NEWEST_AIRFLOW := 3.3
AIRFLOW ?= $(NEWEST_AIRFLOW)
VENV ?= $(if $(filter $(NEWEST_AIRFLOW),$(AIRFLOW)),.venv,.venv-airflow-$(AIRFLOW))
CONSTRAINTS := constraints/airflow-$(AIRFLOW).txt
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test test-e2e e2e bench lint format clean

$(STAMP): pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]' -c $(CONSTRAINTS)
	touch $(STAMP)

$(CONSTRAINTS):
	@echo "Airflow $(AIRFLOW) is not a supported line: see constraints/ for the supported ones" >&2; exit 1

install: $(STAMP)

## make demo: start the sandbox, run the daily DAG end to end (SQLite, local files), print what it did
demo: $(STAMP)
	$(BIN)/python scripts/demo.py

## make test: lint, then the test suite (the slow end-to-end DAG runs are in test-e2e)
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

## make test-e2e: full Airflow DAG runs against the sandbox
test-e2e: $(STAMP)
	$(BIN)/python -m pytest -q -m e2e

## make e2e: a real Airflow deployment (PostgreSQL, api-server, scheduler, DAG processor,
## LocalExecutor; then CeleryExecutor with Redis and two workers in network namespaces; a
## browser) backfilling the daily DAG against the sandbox (minutes; needs root for namespaces)
e2e: $(STAMP)
	$(BIN)/python -m pytest -q -m deployment tests/deployment

## make bench: throughput and memory figures against the sandbox (minutes; not part of make test)
bench: $(STAMP)
	$(BIN)/python bench/run.py

lint: $(STAMP)
	$(BIN)/ruff check .

format: $(STAMP)
	$(BIN)/ruff format .

clean:
	rm -rf .venv .venv-airflow-* .demo .bench build *.egg-info
