# Every target first brings .venv up to date, so `make run` and `make test` work on a fresh clone.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
JS_CLIENT := tests/official_clients/js
JS_STAMP := $(JS_CLIENT)/node_modules/.installed
# Empty: the fake's own defaults (127.0.0.1:8000) or those of a --config file in ARGS.
HOST ?=
PORT ?=
ARGS ?=
BENCH_ARGS ?=
SHARED_BENCH_ARGS ?=

.PHONY: run test lint browser-deps shared-state-deps readme stress mutate fmt lock clean bench bench-deps compiled soak fuzz

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check pip==25.3
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e . --group dev
	touch $(STAMP)

# Bytecode for the project's own modules: where PYTHONDONTWRITEBYTECODE is set, every start would
# compile them again (about 0.1 s). Cheap when nothing changed.
compiled: $(STAMP)
	$(PY) -m compileall -q mock_server client contracts

# The unmodified @fal-ai/client that the suite drives, pinned by its lock file.
$(JS_STAMP): $(JS_CLIENT)/package.json $(JS_CLIENT)/package-lock.json
	cd $(JS_CLIENT) && npm ci --silent --no-audit --no-fund
	touch $(JS_STAMP)

run: compiled
	$(PY) -m falfake serve $(if $(HOST),--host $(HOST)) $(if $(PORT),--port $(PORT)) $(ARGS)

# mypy reads no import hook: it sees mock_server/, client/ and contracts/ as the installed
# `falfake` through a tree of links, laid anew each time (a new module needs no step of its own).
TYPED := $(VENV)/typed/falfake

lint: $(STAMP)
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .
	rm -rf $(VENV)/typed && mkdir -p $(TYPED)
	for entry in mock_server/*; do ln -s "$(CURDIR)/$$entry" $(TYPED)/; done
	ln -s "$(CURDIR)/client" "$(CURDIR)/contracts" $(TYPED)/
	$(PY) -m mypy

test: lint compiled $(JS_STAMP) browser-deps shared-state-deps
	$(PY) -m pytest --cov --cov-report=term-missing:skip-covered

# Figures, not pass/fail (tests/benchmarks/): rendering time; the server under wrk against a bare
# Starlette baseline and wrk's own ceiling (p50, p99, p99.9), with scale cells, history cells (100,000
# and 1,000,000 requests kept, at fal's timings and 0/0), startup and RSS; lifecycles per second in
# process and memory growth; streams (time to the first event, events per second) and realtime
# sockets (results per second) beside a bare app sending the same frames. About 35 minutes; BENCH_ARGS="--data-dir" repeats the scale and history
# cells on SQLite, "--retained 100000" or "--no-history" shortens it, "--seconds 3 --repeats 1" too. Then --database on a
# throwaway PostgreSQL (tests/benchmarks/shared_state.py, about 3 minutes; SHARED_BENCH_ARGS).
bench: compiled bench-deps shared-state-deps
	$(PY) -m tests.benchmarks.render
	$(PY) -m tests.benchmarks.load $(BENCH_ARGS)
	$(PY) -m tests.benchmarks.server
	$(PY) -m tests.benchmarks.streaming
	$(PY) -m tests.benchmarks.shared_state $(SHARED_BENCH_ARGS)

# Debian's chromium for the dashboard's browser tests (Playwright's own download cannot work here):
# as root, with sudo if it needs no password, or else the command to run is printed and the tests
# that need it skip with that reason.
browser-deps:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get install -y -qq chromium fonts-dejavu-core || { apt-get update -qq && apt-get install -y -qq chromium fonts-dejavu-core; }; \
	  elif sudo -n true 2>/dev/null; then sudo apt-get install -y -qq chromium fonts-dejavu-core; \
	  else echo "the dashboard's browser tests need chromium: sudo apt-get install chromium fonts-dejavu-core"; fi; }

# Debian's PostgreSQL and HAProxy for the tests of --database (a throwaway cluster, replicas
# behind a load balancer): installed as browser-deps installs chromium, or the command is printed.
shared-state-deps:
	@{ ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && command -v haproxy >/dev/null; } || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get install -y -qq postgresql haproxy || { apt-get update -qq && apt-get install -y -qq postgresql haproxy; }; \
	  elif sudo -n true 2>/dev/null; then sudo apt-get install -y -qq postgresql haproxy; \
	  else echo "the --database tests need PostgreSQL and HAProxy: sudo apt-get install postgresql haproxy"; fi; }

# The native load generator, from Debian's packages: as root, with sudo if it needs no password,
# or else the command to run is printed and the bench stops there.
bench-deps:
	@command -v wrk >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get install -y -qq wrk || { apt-get update -qq && apt-get install -y -qq wrk; }; \
	  elif sudo -n true 2>/dev/null; then sudo apt-get install -y -qq wrk; \
	  else echo "make bench needs wrk: sudo apt-get install wrk"; exit 1; fi; }

# N clients, full lifecycles with uploads and webhooks, a restart midway on --data-dir
# (tests/benchmarks/soak.py); SOAK_ARGS="--clients 16 --seconds 300" for a longer one.
soak: $(STAMP)
	$(PY) -m tests.benchmarks.soak $(SOAK_ARGS)

# The suite STRESS_RUNS times (10) beside two CPU-bound loops per core: timing flakes show up here.
# STRESS_ARGS="--runs 3 -- tests/mock_server" for a shorter one.
stress: compiled $(JS_STAMP)
	$(PY) -m tests.stress $(STRESS_ARGS)

# Mutation testing of the riskiest modules (mutmut, [tool.mutmut] in pyproject.toml): a score per
# module, survivors not yet reviewed listed. Results are kept in build/mutate/mutants/, so a rerun
# is quicker.
mutate: $(STAMP)
	$(PY) -m tests.mutate

# The deep schemathesis profile: 400 cases per operation (over 5,000 in all), figures at the end.
fuzz: $(STAMP)
	FALFAKE_SCHEMATHESIS_EXAMPLES=400 $(PY) -m pytest tests/contracts/test_schemathesis.py -q -s -p no:cacheprovider

# The README's flag reference, from `falfake serve --help` (a test keeps them the same).
readme: $(STAMP)
	$(PY) -m tests.readme

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
