# Two commands on a fresh machine:  `make run` (demo service)  and  `make test` (whole suite).
# Each creates .venv and installs what it needs; nothing has to be installed by hand.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
ASSETS := services/static/vendor/.vendored
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test venv assets lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

# Front-end libraries come from npm (package-lock.json) and are served from services/static.
$(ASSETS): package.json package-lock.json scripts/vendor_assets.sh
	npm ci --no-audit --no-fund --loglevel=error
	scripts/vendor_assets.sh
	touch $(ASSETS)

assets: $(ASSETS)

run: $(STAMP) $(ASSETS)
	$(VENV)/bin/huiqian demo --host $(HOST) --port $(PORT)

test: $(STAMP) $(ASSETS)
	$(PY) -m pytest -n 2 --dist loadfile

lint: $(STAMP)
	$(PY) -m ruff check engine services webhooks tests benchmarks
	$(PY) -m mypy engine --ignore-missing-imports

clean:
	rm -rf $(VENV) instance .pytest_cache node_modules services/static/vendor
