# Two set-up commands on a fresh machine with only python3: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SCENARIO ?= scenarios/steady-state.yaml

.PHONY: run test lint types pytest smoke compile fuzz bench clean system-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-compile: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[compile]'
	touch $(VENV)/.installed $@

$(VENV)/.installed-dev: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $(VENV)/.installed-compile $@

# The hot modules compiled with mypyc in place (harmonysim/compiled.py lists them) when a
# C compiler is present, else a one-line note and everything runs pure. Kept while it
# matches every source of the package; a build older than its sources is never loaded.
compile: $(VENV)/.installed-compile
	$(BIN)/python harmonysim/compiled.py build

run: compile
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

# The suite runs on the pure build (HARMONYSIM_PURE=1); tests/test_compiled.py runs the
# compiled one beside it in child processes.
pytest: $(VENV)/.installed-dev system-deps compile
	HARMONYSIM_PURE=1 HYPOTHESIS_PROFILE=ci $(BIN)/pytest -n 2

# The compiled build at work, when there is one: the standard scenario, its replay, a
# benchmark of both builds.
SMOKE_RUN := runs/smoke/standard
smoke: compile
	$(BIN)/python harmonysim/compiled.py status --require-current
	$(BIN)/harmonysim run scenarios/standard.yaml --out $(SMOKE_RUN) --force --quiet
	$(BIN)/harmonysim replay $(SMOKE_RUN)
	$(BIN)/harmonysim bench btree --keys 200000

test: lint types pytest smoke

# The Raft cluster state machine with random seeds and a large budget (CI runs it
# derandomized and short). FUZZ_EXAMPLES programs; failures are kept in .hypothesis/.
FUZZ_EXAMPLES ?= 5000
fuzz: $(VENV)/.installed-dev
	HYPOTHESIS_PROFILE=fuzz HARMONYSIM_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) \
		$(BIN)/pytest tests/raft/test_cluster_machine.py -k keeps_raft_safe -n 0 -p no:randomly

bench: $(VENV)/.installed-dev compile
	$(BIN)/harmonysim bench kernel
	$(BIN)/harmonysim bench btree
	$(BIN)/harmonysim bench tracing
	$(BIN)/harmonysim bench cluster

clean:
	-[ -x $(BIN)/python ] && $(BIN)/python harmonysim/compiled.py clean
	rm -rf $(VENV) runs build .mypy_cache .pytest_cache .ruff_cache
