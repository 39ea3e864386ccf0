# The two entry points of the README. Both set everything up from a fresh clone first.
#   make demo   -> service on the embedded engine with the demo data, http://127.0.0.1:8000
#   make test   -> lint, types, the whole test suite (with the browser tests)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
NODE_STAMP := tests/node_modules/.installed-stamp

.PHONY: setup demo test lint clean-engine browser reliability audit

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "credit-graph needs Python 3.11, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

$(NODE_STAMP): tests/package.json tests/package-lock.json
	npm ci --prefix tests --no-audit --no-fund --loglevel=error
	@touch $(NODE_STAMP)

setup: $(STAMP) $(NODE_STAMP)

demo: $(STAMP)
	$(BIN)/credit-graph serve --demo

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy

# Debian's Chromium (and a CJK font, so the screenshots can be read) for the browser
# tests; Playwright drives /usr/bin/chromium and never downloads a browser of its own.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@command -v chromium >/dev/null || (export DEBIAN_FRONTEND=noninteractive; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null)

test: setup lint browser
	$(BIN)/pytest -q

# The larger trials behind docs/reliability.md (about 10 minutes): 20 engine kills during
# loads, 30 acknowledged-write kills per fsync setting, 50 fuzz examples per GraphQL field.
reliability: setup
	CREDIT_GRAPH_RELIABILITY=1 CREDIT_GRAPH_CRASH_TRIALS=20 CREDIT_GRAPH_FUZZ_EXAMPLES=50 \
		$(BIN)/pytest -q tests/test_engine_outage.py \
		tests/test_engine_crash_load.py tests/test_engine_crash_ack.py \
		tests/test_hostile_graphql.py tests/test_hostile_files.py tests/test_audit.py
	$(BIN)/python bench/crash_load_trials.py --trials 20 --entities 500
	$(BIN)/python bench/crash_ack.py --trials 30 --fsync everysec --fsync always

# Known vulnerabilities in the installed dependencies; needs internet access (PyPI's JSON
# API or OSV), which the build machine does not have (docs/reliability.md).
audit: setup
	$(BIN)/pip-audit --progress-spinner off

