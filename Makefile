# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-explore lint typecheck venv clean notebooks

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

## The main job: simulate a practice as X12, check and ingest the files, train a first champion, serve it
## on 127.0.0.1:8000 in demo mode (a demo key and an example curl are printed; Ctrl-C stops it).
demo: $(STAMP)
	$(BIN)/denials demo --out data/demo

## The tests (what CI runs).
test: $(STAMP)
	$(BIN)/ruff check claims features training serving tests benchmarks notebooks
	$(BIN)/mypy
	$(BIN)/pytest -n 2

## The tests with freshly drawn property-test examples (CI's run uses a fixed set; see tests/conftest.py).
test-explore: $(STAMP)
	HYPOTHESIS_PROFILE=explore $(BIN)/pytest -n 2

lint: $(STAMP)
	$(BIN)/ruff check claims features training serving tests benchmarks notebooks
	$(BIN)/ruff format --check claims features training serving tests benchmarks notebooks

typecheck: $(STAMP)
	$(BIN)/mypy

## The data scientists' notebooks in JupyterLab (the [notebooks] extra; jupytext opens the .py files as
## notebooks: right-click, Open With, Jupytext Notebook). Their data: data/notebooks, simulated on first use.
notebooks: $(STAMP) $(VENV)/.notebooks
	DENIALS_NOTEBOOK_DATA=$(CURDIR)/data/notebooks $(BIN)/jupyter lab notebooks

$(VENV)/.notebooks: pyproject.toml constraints.txt
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,notebooks]'
	touch $(VENV)/.notebooks

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
