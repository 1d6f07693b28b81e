# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint system-deps messages clean bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/yizhan serve

# Debian's Chromium (with a Chinese font, so pages render at their real width) for the
# browser tests, PostgreSQL for the PostgreSQL leg, coturn for the TURN test and Redis for
# the cluster tests; the tests start their own servers, nothing runs as a system service.
system-deps:
	@if ! command -v chromium >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
	    || ! command -v runuser >/dev/null 2>&1 || ! command -v ip >/dev/null 2>&1 \
	    || ! command -v turnserver >/dev/null 2>&1 || ! test -x /usr/bin/redis-server \
	    || ! ls /usr/share/fonts/truetype/wqy/wqy-microhei.ttc >/dev/null 2>&1; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    chromium postgresql util-linux iproute2 coturn redis-server fonts-wqy-microhei >/dev/null; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check server rooms scheduling web tests tools bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

# The suite runs in a network namespace of its own with only loopback up, when the machine
# allows it: servers, browsers and peers under test can reach nothing but each other.
test: $(STAMP) system-deps lint
	@if unshare --net true 2>/dev/null; then \
	  unshare --net sh -c 'ip link set lo up && exec $(BIN)/pytest $(PYTEST_ARGS)'; \
	else \
	  $(BIN)/pytest $(PYTEST_ARGS); \
	fi

# Benchmarks (never part of `make test`): ~12 minutes on 2 cores; writes bench/results.json
# and the table in docs/performance.md. BENCH_ARGS passes options, e.g. BENCH_ARGS='--runs 1'.
BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): pyproject.toml $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $(BENCH_STAMP)

bench: $(STAMP) system-deps $(BENCH_STAMP)
	@if ! command -v janus >/dev/null 2>&1; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq janus >/dev/null; \
	fi
	$(BIN)/python -m bench $(BENCH_ARGS)

messages: $(STAMP)
	$(BIN)/python tools/i18n.py update

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
