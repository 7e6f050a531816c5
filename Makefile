# das-actors: every target sets itself up (virtualenv, package, services) on a clean clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat setup.py | sha1sum | cut -c1-12)
CACHE ?= $(HOME)/.cache/das-actors

.PHONY: run test lint bench services clean help

help:
	@echo "make run    set up and start the server on the embedded store with the demo jobs"
	@echo "make test   set up, provision test services, run the whole test suite"
	@echo "make lint   ruff + mypy"
	@echo "make bench  benchmarks side by side with APScheduler"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): setup.py | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/python -m pip install --quiet -e '.[test,lint,analytics]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

run: $(STAMP)
	$(BIN)/das-actors start examples/demo.py

services: $(STAMP)
	bash scripts/provision-services.sh "$(CACHE)"

test: $(STAMP) services
	DAS_ACTORS_CACHE="$(CACHE)" $(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python -m benchmarks.run

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy actors tasks tests web reports benchmarks

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
