# The two commands that matter: `make run` and `make test`. See README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WEB_OUT := appliance/webapp/static/index.html
CENTRAL_WEB_OUT := central/webapp/static/index.html
WEB_SRC := $(shell find web/src -type f 2>/dev/null)
PYTEST_ARGS ?=

.PHONY: run test lint typecheck pytest bench demo webapp system-deps clean ha-core ha-core-check

run: $(STAMP) webapp  ## Run a node with laptop defaults (scanner on the terminal, fake display and buttons)
	$(BIN)/kitchen-node run --config firmware/config/node-laptop.toml

test: system-deps $(STAMP) webapp lint typecheck pytest  ## Install what is missing, then ruff, mypy and every test

system-deps:
	@bash .ci/system-deps.sh

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

webapp: $(WEB_OUT) $(CENTRAL_WEB_OUT)

# One build writes both apps: the node's and central's dashboard (web/build.mjs).
$(WEB_OUT) $(CENTRAL_WEB_OUT) &: web/package.json web/package-lock.json web/build.mjs $(WEB_SRC)
	cd web && npm ci --ignore-scripts --no-audit --no-fund && node build.mjs

lint: $(STAMP)
	$(BIN)/ruff check appliance central tests
	$(BIN)/ruff format --check appliance central tests

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) webapp
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP) webapp  ## Latency, throughput, flood, memory, start time; receipt accuracy: tables + JSON
	$(BIN)/python -m tests.perf.run --out bench-results/bench.json
	$(BIN)/python -m tests.perf.receipts --fixtures ../shared/fixtures/receipts --out bench-results/receipts.json

demo: $(STAMP) webapp  ## Broker, PostgreSQL, central and two nodes on one machine
	$(BIN)/python -m tests.perf.demo

# Home Assistant core needs Python 3.13 (pyenv has 3.13.0 here; 2025.4.4 is the newest that
# installs on it). Not part of `make test`; see docs/home-assistant.md.
HA_PYTHON_BASE ?= $(HOME)/.pyenv/versions/3.13.0/bin/python
HA_VENV ?= .ha-core

ha-core:  ## Install Home Assistant core 2025.4.4 into .ha-core (a few minutes)
	test -x $(HA_VENV)/bin/python || $(HA_PYTHON_BASE) -m venv $(HA_VENV)
	$(HA_VENV)/bin/python -m pip install -q homeassistant==2025.4.4 paho-mqtt==2.1.0 \
		home-assistant-frontend==20250411.0

ha-core-check: $(STAMP) webapp  ## Discovery against a real Home Assistant core (make ha-core first)
	HA_PYTHON=$(HA_VENV)/bin/python $(BIN)/python -m tests.ha_core.check

clean:
	rm -rf $(VENV) $(HA_VENV) appliance/webapp/static central/webapp/static web/node_modules .mypy_cache .ruff_cache bench-results artifacts
