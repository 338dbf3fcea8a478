# liftwatch: `make demo` runs the whole thing on embedded defaults; `make test` runs the tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: help venv demo test test-slow test-all fuzz lint format bench docs clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)  ## create .venv and install liftwatch with its test extras

# The demo keeps its database, broker state and tokens here (delete it to start afresh).
DEMO_DATA ?= $(CURDIR)/var/demo

demo: $(STAMP)  ## embedded database + broker, seed cases and a simulated city, scored and served
	LIFTWATCH_DATA_DIR="$${LIFTWATCH_DATA_DIR:-$(DEMO_DATA)}" $(BIN)/liftwatch demo $(DEMO_ARGS)

test: $(STAMP)  ## the test suite (slow suites excluded; see test-slow)
	$(BIN)/python -m pytest -m 'not slow' $(PYTEST_ARGS)

test-slow: $(STAMP)  ## the slow suites only
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

test-all: $(STAMP)  ## every suite
	$(BIN)/python -m pytest $(PYTEST_ARGS)

FUZZ_SECONDS ?= 600

fuzz: $(STAMP)  ## the ingestion decoder's property tests for FUZZ_SECONDS (600), not in make test
	$(BIN)/python -m tests.ingest.fuzz --seconds $(FUZZ_SECONDS)

lint: $(STAMP)  ## ruff (format check + lint) and mypy
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

format: $(STAMP)  ## apply ruff's formatting and safe fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)  ## the benchmarks in benchmarks/ (minutes; prints figures and ratios)
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

docs: $(STAMP)  ## regenerate the published contract in docs/contract/
	$(BIN)/liftwatch contract write docs/contract

clean:  ## remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
