# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint system-deps messages clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/yizhan serve

# Debian's Chromium for the browser tests and PostgreSQL for the PostgreSQL leg;
# the tests start their own PostgreSQL server, nothing runs as a system service.
system-deps:
	@if ! command -v chromium >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
	    || ! command -v runuser >/dev/null 2>&1 || ! command -v ip >/dev/null 2>&1; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    chromium postgresql util-linux iproute2 >/dev/null; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check server rooms scheduling web tests tools
	$(BIN)/mypy

# The suite runs in a network namespace of its own with only loopback up, when the machine
# allows it: servers, browsers and peers under test can reach nothing but each other.
test: $(STAMP) system-deps lint
	@if unshare --net true 2>/dev/null; then \
	  unshare --net sh -c 'ip link set lo up && exec $(BIN)/pytest $(PYTEST_ARGS)'; \
	else \
	  $(BIN)/pytest $(PYTEST_ARGS); \
	fi

messages: $(STAMP)
	$(BIN)/python tools/i18n.py update

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
