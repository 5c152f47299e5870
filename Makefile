# The two commands of the README, and the pieces they are made of. Every target is idempotent:
# on a fresh Debian machine with Python 3.11 it installs what is missing, then does its job.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CONFIG ?= pipeline.toml

.PHONY: demo test setup kenlm lint format bench clean-run

## make demo: set everything up, then run the whole pipeline on the bundled sample.
demo: setup
	$(BIN)/llamapipe run -c $(CONFIG)

## make test: set everything up, then lint and run the whole test suite (what CI runs).
test: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q

setup: $(STAMP) kenlm

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (python3.11) on PATH"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[ray,slurm,lmeval,dev]"
	touch $(STAMP)

kenlm:
	bash tools/build_kenlm.sh

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format:
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: setup
	$(BIN)/python -m bench

clean-run:
	rm -rf runs/demo
