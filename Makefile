# The two commands that matter: `make run` and `make test`. See README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WEB_OUT := appliance/webapp/static/index.html
CENTRAL_WEB_OUT := central/webapp/static/index.html
WEB_SRC := $(shell find web/src -type f 2>/dev/null)
PYTEST_ARGS ?=

.PHONY: run test lint typecheck pytest bench demo webapp system-deps clean

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

clean:
	rm -rf $(VENV) appliance/webapp/static central/webapp/static web/node_modules .mypy_cache .ruff_cache bench-results artifacts
