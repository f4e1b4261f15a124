# Two commands do all set-up on a fresh machine:
#   make run   - create .venv, install pinned packages, ingest corpus/ if missing or stale, start the web app
#   make test  - the same install plus test packages, then the whole test suite
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run chat test test-fast bench eval clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/python app.py

chat: install
	$(BIN)/rag chat

# The whole suite, then the evaluation gate on the test split (default configuration; the
# evaluation indexes corpus/ into its own folder, <home>/eval-index, reused while unchanged).
test: install
	$(BIN)/python -m pytest
	$(BIN)/rag eval --split test --gate evals/gate.yaml --quiet --out test-output/eval

eval: install
	$(BIN)/rag eval --split dev

test-fast: install
	$(BIN)/python -m pytest -m "not slow"

bench: install
	$(BIN)/rag bench

clean:
	rm -rf .rag .pytest_cache test-output
