# Two set-up commands on a fresh machine with only python3: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SCENARIO ?= scenarios/steady-state.yaml

.PHONY: run test lint types pytest bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

run: $(VENV)/.installed
	$(BIN)/harmonysim run $(SCENARIO)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check harmonysim tests
	$(BIN)/ruff format --check harmonysim tests

types: $(VENV)/.installed-dev
	$(BIN)/mypy

pytest: $(VENV)/.installed-dev
	$(BIN)/pytest -n 2

test: lint types pytest

bench: $(VENV)/.installed-dev
	$(BIN)/harmonysim bench kernel
	$(BIN)/harmonysim bench btree

clean:
	rm -rf $(VENV) runs .mypy_cache .pytest_cache .ruff_cache
