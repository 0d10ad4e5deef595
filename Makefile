# Set-up and everyday commands. Each target installs what it needs into .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test test-e2e bench lint format clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

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

## make bench: throughput and memory figures against the sandbox (minutes; not part of make test)
bench: $(STAMP)
	$(BIN)/python bench/run.py

lint: $(STAMP)
	$(BIN)/ruff check .

format: $(STAMP)
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .demo .bench build *.egg-info
