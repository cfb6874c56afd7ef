# Layso — the two commands of the README, and their set-up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean screenshots

# one pip call for both distributions, so that the server's "layso-agent" is the local ./agent
$(BIN)/layso: pyproject.toml agent/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ./agent -e ".[test]"
	@touch $@

## set up, then run the demo hall (SQLite, preview printer) on http://127.0.0.1:5000
demo: $(BIN)/layso
	$(BIN)/layso demo

## set up, then run every test (pytest-xdist: one worker per core and one more, since a test spends
## part of its time waiting on a real server, browser or database; TEST_JOBS=0: one process)
TEST_JOBS ?= $(shell $(PYTHON) -c 'import os; print((os.cpu_count() or 1) + 1)')
## Bytecode is written even where the environment says not to (PYTHONDONTWRITEBYTECODE): the
## suite starts some hundreds of server and CLI processes, each would compile the project from
## source, and each worker would rewrite every test module's asserts again.
test: $(BIN)/layso
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest -n $(TEST_JOBS) --dist loadgroup

lint: $(BIN)/layso
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) instance artifacts .pytest_cache

## screenshots of every page at the hall's real sizes into artifacts/screenshots/ (not committed)
screenshots: $(BIN)/layso
	$(BIN)/python tools/screenshots.py
