# The README's commands. Everything installs into .venv from requirements.lock (the lock file).
VENV ?= .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.installed

.PHONY: install demo live test test-fast lint ui api bench lock clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check uv
	# byte code compiled once here: every run process imports the code location, and compiling ~2,600 modules
	# from source in each one doubled the definitions' load time (benchmarks/fifty_models.py --bytecode)
	$(UV) pip install -q --compile-bytecode --python $(PY) -r requirements.lock
	$(UV) pip install -q --python $(PY) --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

## Run the whole loop on the embedded default (local Dagster instance, local files, MLflow on SQLite).
demo: install
	$(VENV)/bin/drift-sentinel demo

## The loop running by itself: dagster dev and a real-time replay with drift; prints each window, incident and
## remediation as it happens (home: .sentinel/live; Ctrl-C stops both).
live: install
	$(PY) -m sentinel_assets.live_demo $(LIVE_ARGS)

## Lint, then every test (unit, Dagster, integration against real servers, the demo end to end).
test: install
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

test-fast: install
	$(PY) -m pytest -m "not slow and not integration"

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

## The Dagster UI on the demo's instance.
ui: install
	DAGSTER_HOME=$${DAGSTER_HOME:-$(CURDIR)/.sentinel/dagster_home} DAGSTER_EVENT_BATCH_SIZE=$${DAGSTER_EVENT_BATCH_SIZE:-1000} \
		$(VENV)/bin/dagster dev -w workspace.yaml

## The service API (docs/api.md) on the demo's instance; remediation launches go through `make ui`'s webserver.
## A development token: `.venv/bin/drift-sentinel token issue --role operator --team ml-platform`.
api: install
	test -f $${SENTINEL_HOME:-.sentinel}/keys/jwks.json || $(VENV)/bin/drift-sentinel token issue >/dev/null
	DAGSTER_HOME=$${DAGSTER_HOME:-$(CURDIR)/.sentinel/dagster_home} $(VENV)/bin/uvicorn api.app:create_app --factory \
		--host $${API_HOST:-127.0.0.1} --port $${API_PORT:-8000}

bench: install
	$(PY) benchmarks/run_all.py

## Re-resolve the lock file after changing pyproject.toml.
lock:
	$(UV) pip compile pyproject.toml --extra test --python-version 3.11 -o requirements.lock

clean:
	rm -rf .sentinel
