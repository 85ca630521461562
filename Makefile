# edgemoe: every target that needs Python first runs `setup`, which builds .venv once.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)
EXTRAS := sim,csim,board,dev,train,explore
PYTEST_ARGS ?=
# pytest-xdist workers for `make test` (one per logical CPU; 0 runs in this process)
TEST_WORKERS ?= logical

.PHONY: help setup test demo bench lint clean

help:  ## list targets
	@grep -E '^[a-z]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

setup: $(STAMP)  ## create .venv and install edgemoe with every tool the tests need

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[$(EXTRAS)]"
	rm -f $(VENV)/.installed-*
	touch $@

test: setup  ## run every test tier this machine can install (all but hls, board and long)
	$(PY) -m pytest -q -m "not long" -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

demo: setup  ## run the main job on the embedded defaults
	$(VENV)/bin/edgemoe demo

bench: setup  ## print throughput and ratio benchmarks, then run the long test tier
	$(VENV)/bin/edgemoe bench
	$(PY) -m pytest -q -m long $(PYTEST_ARGS)

lint: setup  ## ruff
	$(VENV)/bin/ruff check edgemoe tests sim notebooks

clean:  ## remove generated builds (keeps .venv)
	rm -rf build dist .pytest_cache
