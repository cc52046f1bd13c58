# The two commands: `make demo` and `make test`. Each builds .venv from nothing (or refreshes it when
# pyproject.toml or constraints.txt changed) and then runs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test venv lint typecheck contracts pytest clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -c constraints.txt supervision
	touch $(STAMP)

venv: $(STAMP)

demo: venv
	$(BIN)/offsite demo

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy

contracts: venv
	$(BIN)/lint-imports

pytest: venv
	$(BIN)/pytest

test: lint typecheck contracts pytest

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
