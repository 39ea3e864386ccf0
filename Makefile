# The two entry points of the README. Both set everything up from a fresh clone first.
#   make demo   -> service on the embedded engine with the demo data, http://127.0.0.1:8000
#   make test   -> lint, types, the whole test suite (with the browser tests)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
NODE_STAMP := tests/node_modules/.installed-stamp

.PHONY: setup demo test lint clean-engine browser

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
