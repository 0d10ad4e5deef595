# Set-up and everyday commands. Each target installs what it needs into .venv first.
PYTHON ?= python3
# The supported Airflow minor lines are the files constraints/airflow-<line>.txt (each: the
# release tested and the pins it needs), so supporting a new line is adding its file (see the
# README). `make lines` prints them, oldest first; .ci/run tests each. The newest is the
# default and uses .venv; older lines get their own virtualenv, e.g. `make test AIRFLOW=3.1`
# uses .venv-airflow-3.1.
LINES := $(shell ls constraints/airflow-*.txt | sed -E 's|.*/airflow-(.*)[.]txt$$|\1|' | sort -V)
NEWEST_AIRFLOW := $(lastword $(LINES))
AIRFLOW ?= $(NEWEST_AIRFLOW)
VENV ?= $(if $(filter $(NEWEST_AIRFLOW),$(AIRFLOW)),.venv,.venv-airflow-$(AIRFLOW))
CONSTRAINTS := constraints/airflow-$(AIRFLOW).txt
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# mypy checks the types against the newest line's Airflow only (see typecheck below).
# pytest-xdist workers: the suites mostly wait (servers, sandboxes, rate-limit windows), so two
# workers halve them on a 2-core machine. `make test TEST_WORKERS=0` runs in one process.
TEST_WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest -q -n $(TEST_WORKERS)
TYPECHECK := $(if $(filter $(NEWEST_AIRFLOW),$(AIRFLOW)),$(BIN)/mypy airflow_provider_leadact,@echo "mypy: skipped on Airflow $(AIRFLOW); it checks against $(NEWEST_AIRFLOW)")

.PHONY: install demo test test-e2e e2e bench lint format typecheck dist lines clean

# The development tools are the `test` dependency group of pyproject.toml (PEP 735), which
# `pip install --group` reads from pip 25.1 on; the constraints apply to it as to the package.
$(STAMP): pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade 'pip>=25.1'
	$(BIN)/python -m pip install -q -e . --group test -c $(CONSTRAINTS)
	touch $(STAMP)

$(CONSTRAINTS):
	@echo "Airflow $(AIRFLOW) is not a supported line: see constraints/ for the supported ones" >&2; exit 1

install: $(STAMP)

## make demo: start the sandbox, run the daily DAG end to end (SQLite, local files), print what it did
demo: $(STAMP)
	$(BIN)/python scripts/demo.py

## make test: lint, format and type checks, then the test suite, which also builds and checks
## the sdist and wheel (the slow end-to-end DAG runs are in test-e2e)
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(TYPECHECK)
	$(PYTEST)

## make test-e2e: full Airflow DAG runs against the sandbox
test-e2e: $(STAMP)
	$(PYTEST) -m e2e

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
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .

## make typecheck: mypy over the package ([tool.mypy] in pyproject.toml). The types are those of
## the newest line's Airflow: on older lines the names airflow_compat bridges have other types,
## so `make test` runs it on the newest line only.
typecheck: $(STAMP)
	$(BIN)/mypy airflow_provider_leadact

## make dist: the sdist and wheel of a release into dist/, checked by twine (tests/packaging checks
## the same distributions in make test)
dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build
	$(BIN)/twine check --strict dist/*

lines:
	@echo $(LINES)

clean:
	rm -rf .venv .venv-airflow-* .demo .bench build dist *.egg-info
