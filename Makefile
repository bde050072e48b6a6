# Two set-up commands on a fresh machine with only python3: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SCENARIO ?= scenarios/steady-state.yaml

.PHONY: run test lint types pytest fuzz bench clean system-deps

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

# Debian's chromium (browser tests, driven by Playwright without a browser download) and
# promtool (checks metrics.prom). Installed when missing and we may (root with apt-get).
# Still missing afterwards: locally their tests skip; under CI (CI set, not 0/false/no;
# .ci/run sets CI=true) this target fails, and so would the tests (tests/tools.py).
TOOLS := chromium promtool
system-deps:
	@missing=""; for tool in $(TOOLS); do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			chromium prometheus >/dev/null; \
		missing=""; for tool in $(TOOLS); do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	fi; \
	if [ -z "$$missing" ]; then :; \
	else case "$${CI:-}" in \
		""|0|false|no) echo "note: missing:$$missing; their tests will skip (under CI they fail)";; \
		*) echo "error: missing:$$missing, and CI=$$CI: the tests that need them must run" >&2; exit 1;; \
	esac; fi

pytest: $(VENV)/.installed-dev system-deps
	HYPOTHESIS_PROFILE=ci $(BIN)/pytest -n 2

test: lint types pytest

# The Raft cluster state machine with random seeds and a large budget (CI runs it
# derandomized and short). FUZZ_EXAMPLES programs; failures are kept in .hypothesis/.
FUZZ_EXAMPLES ?= 5000
fuzz: $(VENV)/.installed-dev
	HYPOTHESIS_PROFILE=fuzz HARMONYSIM_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) \
		$(BIN)/pytest tests/raft/test_cluster_machine.py -k keeps_raft_safe -n 0 -p no:randomly

bench: $(VENV)/.installed-dev
	$(BIN)/harmonysim bench kernel
	$(BIN)/harmonysim bench btree
	$(BIN)/harmonysim bench tracing
	$(BIN)/harmonysim bench cluster

clean:
	rm -rf $(VENV) runs .mypy_cache .pytest_cache .ruff_cache
