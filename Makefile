# The book's two commands (see README.md):  make book  |  make test
# Both create or refresh the virtual environment .venv from the hashed lock requirements-test.txt (a superset of
# requirements.txt, the lock Binder installs) and pyproject.toml first. `make lock` refreshes both locks from the
# ranges in requirements.in and requirements-test.in.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The browser test drives this chromium through this chromedriver (Debian packages chromium, chromium-driver);
# Selenium never downloads a browser. Elsewhere: make test CHROMIUM=/path/to/chrome CHROMEDRIVER=/path/to/chromedriver
CHROMIUM     ?= /usr/bin/chromium
CHROMEDRIVER ?= /usr/bin/chromedriver
# One worker per core; tests/conftest.py keeps each notebook's cells (and the tests that share a build) on one worker.
PYTEST_PARALLEL ?= -n auto

.PHONY: book test unit lab bench clean help student student-book lock profiles graders

help:
	@echo "make book   build the HTML book into _build/html (executes every chapter)"
	@echo "make test   run the whole test suite (unit tests, notebooks via nbval, house rules, strict build,"
	@echo "            offline HTML, a headless-chromium browser test, a Binder simulation)"
	@echo "make unit   run only the fast unit tests"
	@echo "make lab    open the chapters in JupyterLab with jupyterlab-myst, as on Binder"
	@echo "make bench  measure execution, build, test and explorer times; writes benchmarks/results.md"
	@echo "make student       write the student edition (no solutions) into student/; FORCE=1 replaces it"
	@echo "make student-book  build the HTML book without solutions into _build/student-html"
	@echo "make graders  the grading environment .venv/graders: nbgrader, Otter-Grader, bookcode (make test makes it)"
	@echo "make lock   re-resolve the locks requirements*.txt (exact versions, hashes) from the .in files"
	@echo "make profiles  run every chapter under other seeds, another SIMD path and a busy CPU (PROFILE=seed-3 ...)"
	@echo "make clean  remove _build"

$(STAMP): requirements-test.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10 or newer is needed; run: make PYTHON=python3.1x ...")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-test.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

book: $(STAMP)
	$(BIN)/python scripts/build_book.py

# The grading environment of tests/test_graders.py and of the Instructor guide: nbgrader, Otter-Grader, myst-nb and
# bookcode (editable) from the lock requirements-graders.txt, in their own virtual environment (not in .venv: see
# requirements-graders.in).
GRADERS       := $(VENV)/graders
GRADERS_STAMP := $(GRADERS)/.installed
$(GRADERS_STAMP): requirements-graders.txt pyproject.toml
	@test -x $(GRADERS)/bin/python || $(PYTHON) -m venv $(GRADERS)
	$(GRADERS)/bin/python -m pip install --quiet --upgrade pip
	$(GRADERS)/bin/python -m pip install --quiet --require-hashes -r requirements-graders.txt
	$(GRADERS)/bin/python -m pip install --quiet --no-deps -e .
	@touch $@

graders: $(GRADERS_STAMP)

# BOOK_GRADERS: tests/test_graders.py fails (instead of skipping) if the grading environment is not there.
test: $(STAMP) $(GRADERS_STAMP) $(CHROMIUM) $(CHROMEDRIVER)
	BOOK_GRADERS=$(GRADERS) BOOK_CHROMIUM=$(CHROMIUM) BOOK_CHROMEDRIVER=$(CHROMEDRIVER) \
	  $(BIN)/python -m pytest tests chapters --nbval-lax --nbval-current-env $(PYTEST_PARALLEL)

# Installed only if missing (tests/test_browser.py needs them).
$(CHROMIUM) $(CHROMEDRIVER):
	@if [ "$$(id -u)" != 0 ]; then \
	  echo "The browser test needs $@ (Debian packages chromium and chromium-driver). Install them as root:"; \
	  echo "    sudo apt-get install -y chromium chromium-driver"; \
	  echo "or point make at another Chrome and its driver: make test CHROMIUM=... CHROMEDRIVER=..."; exit 1; fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver || \
	  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver; }

unit: $(STAMP)
	$(BIN)/python -m pytest tests -m "not slow" -p no:nbval

# JupyterLab and jupyterlab-myst come with the lock (requirements.txt), as on Binder.
lab: $(STAMP)
	cd chapters && ../$(BIN)/jupyter lab

bench: $(STAMP)
	$(BIN)/python scripts/bench.py

student: $(STAMP)
	$(BIN)/python scripts/student_edition.py $(if $(FORCE),--force)

student-book: $(STAMP)
	$(BIN)/python scripts/build_student_book.py

# The locks: every version exact and hashed, for Python 3.10 and newer on every platform (uv forks by Python
# version where a package dropped 3.10). Review the diff like any other change.
UV_COMPILE = $(VENV)/uv/bin/uv pip compile --quiet --universal --python-version 3.10 --generate-hashes
lock:
	@test -x $(VENV)/uv/bin/uv || { $(PYTHON) -m venv $(VENV)/uv && $(VENV)/uv/bin/python -m pip install --quiet "uv>=0.5,<1"; }
	$(UV_COMPILE) --upgrade requirements.in -o requirements.txt
	$(UV_COMPILE) --upgrade requirements-test.in -c requirements.txt -o requirements-test.txt
	$(UV_COMPILE) --upgrade requirements-graders.in -o requirements-graders.txt

PROFILE ?= all
profiles: $(STAMP)
	$(BIN)/python scripts/run_chapters.py --profile $(PROFILE) --keep-going

clean:
	rm -rf _build
