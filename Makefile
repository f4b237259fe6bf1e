# The few commands people run. `make run` and `make test` set everything up first.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

LOCK := requirements/dev.lock

.PHONY: setup system-deps run test lint bench upgrade clean

setup: $(VENV)/.installed

# Exactly the versions (and files, by hash) of the lock: a fresh clone installs what was
# tested, not whatever was released since.
$(VENV)/.installed: pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --require-hashes -r $(LOCK)
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $@

# Refresh the lock to the newest versions pyproject.toml allows, then run `make test`.
upgrade:
	$(PYTHON) -m venv .venv-tools
	.venv-tools/bin/pip install -q pip-tools
	.venv-tools/bin/pip-compile -q --upgrade --generate-hashes --allow-unsafe --strip-extras \
		--extra dev --all-build-deps --no-emit-index-url --no-emit-find-links \
		-o $(LOCK) pyproject.toml

system-deps:
	bash scripts/system-deps.sh

# The server on SQLite (./credo-data/), with a sandbox demo organization it prints.
run: setup
	$(VENV)/bin/credo demo

lint: setup
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy

# Every test, on SQLite and on PostgreSQL (required when CI=true).
test: lint system-deps
	$(VENV)/bin/pytest $(PYTEST_ARGS)

bench: setup
	$(PY) -m bench

clean:
	rm -rf $(VENV) .venv-tools credo-data test-artifacts .pytest_cache .mypy_cache .ruff_cache
