# Manyi — the two commands: `make demo` and `make test`.
PYTHON ?= python3
# `make demo PORT=8080` serves (and prints its links) on another port.
PORT   ?= 5000
# Test processes (pytest-xdist); each starts its own throwaway PostgreSQL.
TEST_WORKERS ?= 2
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-fast bench lint format typecheck clean-demo help

help:
	@echo "make demo   - create .venv, install, create a demo wave and serve http://127.0.0.1:$(PORT)"
	@echo "make test   - create .venv, install with test extras, run the whole test suite"
	@echo "make bench  - run the benchmarks and write benchmarks/RESULTS.md"
	@echo "make lint   - ruff check and ruff format --check"
	@echo "make typecheck - mypy (strict on scoring/)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-base: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

demo: $(VENV)/.installed-base
	$(BIN)/manyi demo --port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --durations=40

test-fast: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) -m "not slow and not browser"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(STAMP)
	$(BIN)/mypy scoring

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean-demo:
	rm -rf instance/manyi.sqlite3 instance/manyi.sqlite3-wal instance/manyi.sqlite3-shm
