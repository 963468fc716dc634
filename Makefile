# Every target sets up what it needs: a fresh clone needs only python3 (>= 3.11) and make.
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin

.PHONY: setup demo test lint bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet -c constraints.txt -e ".[test]"
	touch $@

demo: setup
	$(BIN)/pingan demo

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# The suite on every core (at most four): about half of its time waits on servers, browsers
# and child processes. Each file's tests stay on one worker, so a module's costly fixture (a
# demo run, a Prefect server) is built once. TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= auto
test: lint
	$(BIN)/pytest -n $(TEST_WORKERS) --maxprocesses 4 --dist loadfile

# Every benchmark at full size (about half an hour on 2 cores), then the README's table is
# refreshed; BENCH_ARGS="--full" adds the 1M-cell ticks, "--only tick" one benchmark.
bench: setup
	$(PY) bench/run_all.py $(BENCH_ARGS)

clean:
	rm -rf .pingan .pytest_cache .mypy_cache .ruff_cache
