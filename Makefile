# The book's two commands (see README.md):  make book  |  make test
# Both create or refresh the virtual environment .venv from requirements*.txt and pyproject.toml first.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: book test unit lab clean help

help:
	@echo "make book   build the HTML book into _build/html (executes every chapter)"
	@echo "make test   run the whole test suite (unit tests, notebooks via nbval, house rules, strict build)"
	@echo "make unit   run only the fast unit tests"
	@echo "make lab    open the chapters in JupyterLab"
	@echo "make clean  remove _build"

$(STAMP): requirements.txt requirements-test.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10 or newer is needed; run: make PYTHON=python3.1x ...")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -r requirements-test.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

book: $(STAMP)
	$(BIN)/python scripts/build_book.py

test: $(STAMP)
	$(BIN)/python -m pytest tests chapters --nbval-lax --nbval-current-env

unit: $(STAMP)
	$(BIN)/python -m pytest tests -m "not slow" -p no:nbval

lab: $(STAMP)
	cd chapters && ../$(BIN)/jupyter lab

clean:
	rm -rf _build
