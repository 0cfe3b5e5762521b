# badgeflow — every target installs what it needs first, so a fresh clone needs only
# `make run` or `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup run test bench protos lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml clients/python/pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("badgeflow needs Python >= 3.11, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e clients/python -e '.[dev]'
	touch $(STAMP)

# `make run OPENEDX_REDIS_URL=redis://… OPENEDX_TOPIC_PREFIX=abc` (or
# OPENEDX_KAFKA_BOOTSTRAP_SERVERS=…) also runs the Open edX bridge next to the server
# (docs/openedx.md); Ctrl-C stops both. Without them `make run` is the server alone.
OPENEDX_BUS := $(strip $(OPENEDX_REDIS_URL)$(OPENEDX_KAFKA_BOOTSTRAP_SERVERS))

run: setup
ifeq ($(OPENEDX_BUS),)
	BADGEFLOW_LOG_FORMAT=$${BADGEFLOW_LOG_FORMAT:-text} \
	BADGEFLOW_PROVIDER_EMULATOR=$${BADGEFLOW_PROVIDER_EMULATOR-demo} $(PY) -m server
else
	BADGEFLOW_LOG_FORMAT=$${BADGEFLOW_LOG_FORMAT:-text} \
	BADGEFLOW_PROVIDER_EMULATOR=$${BADGEFLOW_PROVIDER_EMULATOR-demo} $(PY) -m server & server=$$!; \
	OPENEDX_REDIS_URL='$(OPENEDX_REDIS_URL)' \
	OPENEDX_KAFKA_BOOTSTRAP_SERVERS='$(OPENEDX_KAFKA_BOOTSTRAP_SERVERS)' \
	BADGEFLOW_LOG_FORMAT=$${BADGEFLOW_LOG_FORMAT:-text} \
	$(PY) -m server.bridges.openedx --connect-timeout 60 & bridge=$$!; \
	trap 'kill -TERM $$bridge $$server 2>/dev/null' INT TERM; \
	wait $$bridge; status=$$?; kill -TERM $$server 2>/dev/null; wait $$server; exit $$status
endif

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

bench: setup
	$(PY) -c 'import matplotlib' 2>/dev/null || $(PY) -m pip install --quiet -e '.[bench]'
	$(PY) -m bench

protos: setup
	$(PY) -m server.tools.protos

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

clean:
	rm -rf $(VENV) var .pytest_cache
