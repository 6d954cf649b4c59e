# Two commands from a fresh clone (see README.md):
#   make study   # the pinned environment (created if missing), then the whole quick study to the book
#   make test    # the same environment, then the test suite
#   make benchmark  # after a run: rule time and CPU use per chapter, beside the budgets (benchmarks/)
# Options: MIRROR=../shared/data (an offline data mirror), CONFIG=config/paper.yaml (another scale),
# SNAKEMAKE_ARGS="..." (anything else for Snakemake), PYTHON=python3.11.

PYTHON ?= python3.11
VENV ?= .venv
UV_VERSION := 0.13.9
# Written after a complete install; older than the lock file or pyproject.toml means reinstall.
STAMP := $(VENV)/.ntk-study-installed

SNAKEMAKE_OPTIONS := --cores all $(if $(CONFIG),--configfile $(CONFIG)) \
	$(if $(MIRROR),--config data_mirror=$(MIRROR)) $(SNAKEMAKE_ARGS)

.PHONY: study test env benchmark

study: $(STAMP)
	$(VENV)/bin/snakemake $(SNAKEMAKE_OPTIONS)

test: $(STAMP)
	$(VENV)/bin/python -m pytest -q -rs

env: $(STAMP)

benchmark: $(STAMP)
	$(VENV)/bin/python -m ntk_study study-runtime

# uv installs the same pinned wheels as pip, several times faster (README: set-up time).
$(STAMP): requirements.lock pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check "uv==$(UV_VERSION)"
	$(VENV)/bin/uv pip install -q --python $(VENV)/bin/python -r requirements.lock
	$(VENV)/bin/uv pip install -q --python $(VENV)/bin/python --no-deps -e .
	touch $@
