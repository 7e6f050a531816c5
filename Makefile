# das-actors: every target sets itself up (virtualenv, package, services) on a clean clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat setup.py | sha1sum | cut -c1-12)
CACHE ?= $(HOME)/.cache/das-actors
EDITOR := web/editor
EDITOR_BUNDLE := web/static/editor.js

.PHONY: run test fuzz lint bench services editor clean help

help:
	@echo "make run    set up and start the server on the embedded store with the demo jobs"
	@echo "make test   set up, provision test services, run the whole test suite"
	@echo "make fuzz   the OpenAPI-driven fuzzer and the form fuzzer with a long budget (make test runs them short)"
	@echo "make lint   ruff + mypy + import-linter (the layer rule)"
	@echo "make bench  benchmarks side by side with APScheduler"
	@echo "make editor build the panel's code editor (npm ci + esbuild -> $(EDITOR_BUNDLE))"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): setup.py | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/python -m pip install --quiet -e '.[test,lint,analytics]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

# The code editor bundle: npm ci (from the committed package-lock.json), then esbuild; never committed.
# npm ci writes node_modules/.package-lock.json, the stamp that the lock file is installed.
$(EDITOR)/node_modules/.package-lock.json: $(EDITOR)/package.json $(EDITOR)/package-lock.json
	@command -v npm >/dev/null || { echo "make: npm is needed for the editor bundle (Debian: apt-get install -y npm)" >&2; exit 1; }
	cd $(EDITOR) && npm ci --no-audit --no-fund
	touch $@

$(EDITOR_BUNDLE): $(EDITOR)/node_modules/.package-lock.json $(wildcard $(EDITOR)/src/*.js)
	cd $(EDITOR) && npm run --silent build

editor: $(EDITOR_BUNDLE)

run: $(STAMP) $(EDITOR_BUNDLE)
	$(BIN)/das-actors start examples/demo.py

services: $(STAMP)
	bash scripts/provision-services.sh "$(CACHE)"

test: $(STAMP) $(EDITOR_BUNDLE) services
	DAS_ACTORS_CACHE="$(CACHE)" $(BIN)/python -m pytest

# The API fuzzers with a long budget (issue 11): every operation of the OpenAPI document, positive and
# negative cases, stateful sequences; 0 responses 5xx, 0 actor crashes, /healthz honest at the end.
FUZZ_EXAMPLES ?= 300
FUZZ_STEPS ?= 20
fuzz: $(STAMP)
	DAS_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) DAS_FUZZ_STEPS=$(FUZZ_STEPS) DAS_FUZZ_RANDOM=1 DAS_ACTORS_CACHE="$(CACHE)" \
		$(BIN)/python -m pytest -p no:cacheprovider tests/web/test_openapi_fuzz.py tests/web/test_fuzz.py

# Bytecode compiled first, as an installed package has it (an editable install has none, and an
# environment with PYTHONDONTWRITEBYTECODE would compile every module again inside the timed starts).
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python -m compileall -q actors tasks web reports benchmarks >/dev/null
	$(BIN)/python -m benchmarks.run --full

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy actors tasks tests web reports benchmarks
	$(BIN)/lint-imports --no-cache

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache $(EDITOR)/node_modules $(EDITOR_BUNDLE)
