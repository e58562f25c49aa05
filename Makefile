# Two commands on a fresh machine:  `make run` (demo service)  and  `make test` (whole suite).
# Each creates .venv and installs what it needs; nothing has to be installed by hand.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
ASSETS := services/static/vendor/.vendored
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test venv assets translations lint bench clean

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

# The browser tests drive Debian's chromium (with a CJK font for the screenshots).
BROWSER := command -v chromium >/dev/null && fc-list :lang=zh | grep -q . \
	|| (apt-get update && apt-get install -y chromium fonts-wqy-zenhei)

test: $(STAMP) $(ASSETS)
	$(BROWSER)
	$(PY) -m pytest -n 2 --dist loadfile

# After changing a UI string: extract them all and update every language's catalogue.
translations: $(STAMP)
	mkdir -p build
	$(VENV)/bin/pybabel extract -F babel.cfg -k lazy_gettext -k _l --project=huiqian \
		--no-location --sort-output -o build/messages.pot services
	$(VENV)/bin/pybabel update -i build/messages.pot -d services/translations \
		--no-fuzzy-matching --ignore-obsolete

lint: $(STAMP)
	$(PY) -m ruff check engine services webhooks tests benchmarks
	$(PY) -m mypy engine --ignore-missing-imports

# Co-review at N departments: raw SpiffWorkflow, naive, engine, HTTP; SQLite and PostgreSQL
# (docs/performance.md).  Under ~10 minutes; more with e.g. BENCH_ARGS="--fill 100000".
BENCH_ARGS ?=
bench: $(STAMP)
	$(PY) benchmarks/co_review_scaling.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) instance .pytest_cache node_modules services/static/vendor
