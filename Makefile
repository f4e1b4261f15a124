# Two commands do all set-up on a fresh machine:
#   make run   - create .venv, install pinned packages, ingest corpus/ if missing or stale, start the web app
#   make test  - the same install plus test packages and the st extra, the whole test suite, the
#                evaluation gate, then ruff (make lint)
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-st

.PHONY: install run chat test test-fast lint bench eval clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

# The st extra too: the sentence-transformers backend has an end-to-end test, which fails (it does
# not skip) without it. CPU torch; about a minute to install from a package mirror.
$(TEST_STAMP): $(STAMP)
	$(BIN)/pip install -q -e '.[test,st]'
	touch $(TEST_STAMP)

install: $(STAMP)

run: install
	$(BIN)/python app.py

chat: install
	$(BIN)/rag chat

# The whole suite, then the evaluation gate on the test split (default configuration; the
# evaluation indexes corpus/ into its own folder, <home>/eval-index, reused while unchanged).
test: $(TEST_STAMP)
	$(BIN)/python -m pytest
	$(BIN)/rag eval --split test --gate evals/gate.yaml --quiet --out test-output/eval
	$(MAKE) lint

# Lint only (no reformatting); the rules and their reasons are in pyproject.toml [tool.ruff].
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

eval: install
	$(BIN)/rag eval --split dev

test-fast: install
	$(BIN)/python -m pytest -m "not slow"

bench: install
	$(BIN)/rag bench

clean:
	rm -rf .rag .pytest_cache test-output
