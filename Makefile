# Quick start: `make run` serves the demo, `make test` runs the whole suite.
# Both build .venv from pyproject.toml on first use; nothing but Python 3.11 is needed.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
PORT ?= 5000
HOST ?= 127.0.0.1
export BASE_URL ?= http://$(HOST):$(PORT)

.PHONY: run worker test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# A random development secret, kept out of git; production sets SECRET_KEY in the environment.
# Also a key for the invitation links (TOKEN_KEYS), added to an older .env that lacks one.
.env:
	@echo "SECRET_KEY=$$($(PYTHON) -c 'import secrets; print(secrets.token_hex(32))')" > $@
	@chmod 600 $@

.PHONY: token-key
token-key: .env
	@grep -q '^TOKEN_KEYS=' .env || echo "TOKEN_KEYS=$$($(PYTHON) -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())')" >> .env

# The web server and one worker (releases, report files, scheduled work) side by side; Ctrl-C
# stops both (the worker hands back a job it is in the middle of, so nothing is lost).
run: $(VENV)/.installed .env token-key
	$(FLASK) init-db
	$(FLASK) demo --if-empty --link
	@echo "Serving on http://$(HOST):$(PORT) with a worker beside it  (Ctrl-C stops both)"
	@trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(FLASK) worker & worker=$$!; \
	$(FLASK) run --host $(HOST) --port $(PORT)

worker: $(VENV)/.installed .env token-key
	$(FLASK) worker

# axe-core for the accessibility browser test, from package-lock.json. Without npm the test is
# skipped (and fails in CI, where it must run).
node_modules/.package-lock.json: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: the accessibility browser test will be skipped"; fi

test: $(VENV)/.installed .env node_modules/.package-lock.json
	$(BIN)/python -m pytest -q -n auto

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: $(VENV)/.installed
	$(BIN)/python bench/analysis.py
	$(BIN)/python bench/startup.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
