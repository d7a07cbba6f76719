# Every target first brings .venv up to date, so `make run` and `make test` work on a fresh clone.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
JS_CLIENT := tests/official_clients/js
JS_STAMP := $(JS_CLIENT)/node_modules/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
ARGS ?=

.PHONY: run test lint fmt lock clean bench soak fuzz

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check pip==25.3
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e . --group dev
	touch $(STAMP)

# The unmodified @fal-ai/client that the suite drives, pinned by its lock file.
$(JS_STAMP): $(JS_CLIENT)/package.json $(JS_CLIENT)/package-lock.json
	cd $(JS_CLIENT) && npm ci --silent --no-audit --no-fund
	touch $(JS_STAMP)

run: $(STAMP)
	$(PY) -m mock_server serve --host $(HOST) --port $(PORT) $(ARGS)

lint: $(STAMP)
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .
	$(PY) -m mypy

test: lint $(JS_STAMP)
	$(PY) -m pytest --cov --cov-report=term-missing:skip-covered

# Figures, not pass/fail: rendering time, then the server against a bare Starlette baseline,
# lifecycles per second and memory growth (tests/benchmarks/).
bench: $(STAMP)
	$(PY) -m tests.benchmarks.render
	$(PY) -m tests.benchmarks.server

# N clients, full lifecycles with uploads and webhooks, a restart midway on --data-dir
# (tests/benchmarks/soak.py); SOAK_ARGS="--clients 16 --seconds 300" for a longer one.
soak: $(STAMP)
	$(PY) -m tests.benchmarks.soak $(SOAK_ARGS)

# The deep schemathesis profile: 400 cases per operation (over 5,000 in all), figures at the end.
fuzz: $(STAMP)
	FALFAKE_SCHEMATHESIS_EXAMPLES=400 $(PY) -m pytest tests/contracts/test_schemathesis.py -q -s -p no:cacheprovider

fmt: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

# Re-pins every transitive dependency after a change to pyproject.toml.
lock:
	rm -rf $(VENV)-lock
	$(PYTHON) -m venv $(VENV)-lock
	$(VENV)-lock/bin/python -m pip install --quiet pip==25.3
	$(VENV)-lock/bin/python -m pip install --quiet . --group dev
	$(VENV)-lock/bin/python -m pip freeze --exclude falfake > constraints.txt
	rm -rf $(VENV)-lock

clean:
	rm -rf $(VENV) $(JS_CLIENT)/node_modules .pytest_cache .mypy_cache .ruff_cache .coverage
