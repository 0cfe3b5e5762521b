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

run: setup
	BADGEFLOW_LOG_FORMAT=$${BADGEFLOW_LOG_FORMAT:-text} \
	BADGEFLOW_PROVIDER_EMULATOR=$${BADGEFLOW_PROVIDER_EMULATOR-demo} $(PY) -m server

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
