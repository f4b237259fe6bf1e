# The few commands people run. `make run` and `make test` set everything up first.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

LOCK := requirements/dev.lock
# The lowest versions pyproject.toml allows for Credo's own dependencies (the test tools as
# in LOCK): what `pip install .` may meet; `make test` runs the suite against them too.
LOWEST := requirements/lowest.lock
LOW_VENV := .venv-lowest

.PHONY: setup system-deps run test test-lowest lint bench upgrade clean

setup: $(VENV)/.installed

# Exactly the versions (and files, by hash) of the lock: a fresh clone installs what was
# tested, not whatever was released since. The lock is complete, so pip does not resolve:
# resolving, an older pip tries a dependency's newest release for an extra (fonttools[woff])
# before the locked one and stops on its missing hash. pip check proves nothing is missing.
$(VENV)/.installed: pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --no-deps --require-hashes -r $(LOCK)
	$(PY) -m pip check
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $@

$(LOW_VENV)/.installed: pyproject.toml $(LOWEST)
	$(PYTHON) -m venv $(LOW_VENV)
	# The lock is complete (uv resolved it): install exactly its files, then check them.
	$(LOW_VENV)/bin/python -m pip install -q --no-deps --require-hashes -r $(LOWEST)
	$(LOW_VENV)/bin/python -m pip check
	$(LOW_VENV)/bin/python -m pip install -q --no-deps --no-build-isolation -e .
	touch $@

# Refresh both locks (the newest versions pyproject.toml allows; its lower bounds), then
# run `make test`.
upgrade:
	$(PYTHON) -m venv .venv-tools
	.venv-tools/bin/pip install -q pip-tools uv
	.venv-tools/bin/pip-compile -q --upgrade --generate-hashes --allow-unsafe --strip-extras \
		--extra dev --all-build-deps --no-emit-index-url --no-emit-find-links \
		-o $(LOCK) pyproject.toml
	grep -E '^(pytest|pytest-xdist|hypothesis|mypy|ruff|psutil|httpx2|aiosmtpd|playwright|pyaccredible|types-[a-z]+)==' \
		$(LOCK) | sed 's/ \\$$//' > .venv-tools/test-tools.txt
	grep -E '^setuptools==' $(LOCK) | sed 's/ \\$$//' > .venv-tools/build.txt
	.venv-tools/bin/uv pip compile -q --resolution lowest-direct --generate-hashes \
		--override .venv-tools/test-tools.txt --extra dev --python-version 3.11 \
		pyproject.toml .venv-tools/build.txt -o $(LOWEST)

system-deps:
	bash scripts/system-deps.sh

# The server on SQLite (./credo-data/), with a sandbox demo organization it prints.
run: setup
	$(VENV)/bin/credo demo $(if $(PORT),--port $(PORT),)

lint: setup
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy

# Every test, on SQLite and on PostgreSQL (required when CI=true), one xdist worker per core
# (PYTEST_ARGS= runs them in one process). On 2 cores, 2 workers ran the suite in 9.3
# minutes; 3 were no faster (9.8 to 11.6) and once starved a served concurrency test of CPU
# until it saw a connection reset. PYTEST_WORKERS=3 still opts in.
PYTEST_WORKERS ?= auto
PYTEST_ARGS ?= -n $(PYTEST_WORKERS) --dist worksteal --durations=20
test: lint system-deps
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# The suite less its served end-to-end tests again, on the lowest versions pyproject.toml
# allows. CI runs it after `make test`.
test-lowest: $(LOW_VENV)/.installed
	$(LOW_VENV)/bin/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS) tests/unit \
		tests/integration tests/dashboard tests/scenarios

bench: setup
	$(PY) -m bench

clean:
	rm -rf $(VENV) $(LOW_VENV) .venv-tools credo-data test-artifacts .pytest_cache .mypy_cache .ruff_cache
