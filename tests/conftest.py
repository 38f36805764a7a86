"""Shared test set-up: headless matplotlib, the repository root for tests that read the
book's files, and the strict book build that the build, offline-HTML and browser tests
share (built once per test run)."""

import os

# The chapters multiply small matrices: one BLAS thread is faster than several and keeps
# timings stable. Set before any kernel starts (nbval's kernels and the book build
# inherit this environment).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import subprocess
import sys
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("BOOKCODE_STATIC", "0")
os.environ["BOOKCODE_PROGRESS"] = "0"  # no progress bars inside tests

# Seeds. The strict book build runs the chapters with the reader's seeds (offset 0);
# nbval runs them again with every seed shifted (BOOKCODE_SEED_OFFSET, default 1 here;
# `BOOKCODE_SEED_OFFSET=k make test` picks another), so a claim that holds only for seed
# 0 fails the suite. Unit tests always run with offset 0: some compare seeded draws with
# values computed from the same seed by hand.
NBVAL_SEED_OFFSET = os.environ.pop("BOOKCODE_SEED_OFFSET", "") or "1"

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def root():
    return ROOT


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """Build the book once, strictly (warnings are errors), into a temporary folder:
    (html folder, build log)."""
    out = tmp_path_factory.mktemp("book")
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "build_book.py"),
            "--out",
            str(out),
            "--force",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert proc.returncode == 0, (
        f"strict build failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-6000:]}"
    )
    return out / "_build" / "html", proc.stdout + proc.stderr


# --- parallel runs (pytest-xdist: `make test` passes `-n auto`) -----------------------
# The work is handed out in groups: all cells of one notebook go to one worker, in order
# (nbval runs them in one kernel); the tests that share the strict build go to one
# worker, so the book is built once; so do the tests that share the student build. Every
# other test is a group of its own. The longest groups come first, so that the two
# workers finish at about the same time; without xdist the same order is used.
_SHARED = {
    "tests/test_book_build.py": "book",
    "tests/test_browser.py": "book",
    "tests/test_student_edition.py::test_student_": "student",
    "tests/test_lab.py": "lab",  # one JupyterLab server for its chapters
}
_PROFILE_TEST = "tests/test_profiles.py::test_every_chapter_holds_its_claims_under"
_LONG_FIRST = (
    "book",
    "student",
    "tests/test_binder.py",
    "lab",
    f"{_PROFILE_TEST}[other-cpu]",
    f"{_PROFILE_TEST}[seed-2+busy]",
)


def _group(nodeid):
    for prefix, group in _SHARED.items():
        if nodeid.startswith(prefix):
            return group
    path = nodeid.split("::")[0]
    return path if path.endswith((".ipynb", "test_binder.py")) else nodeid


def _rank(item):
    group = _group(item.nodeid)
    if group in _LONG_FIRST:
        return _LONG_FIRST.index(group)
    return len(_LONG_FIRST) + (0 if group.endswith(".ipynb") else 1)


class _SeedOffsets:
    """Before nbval starts a chapter's kernel (the setup of its first cell), give it the
    nbval seed offset; every other test runs with offset 0. A plugin object, not a
    conftest hook: conftest hooks of tests/ would not see the items under chapters/."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item):
        if ".ipynb" in item.nodeid:
            os.environ["BOOKCODE_SEED_OFFSET"] = NBVAL_SEED_OFFSET
        else:
            os.environ.pop("BOOKCODE_SEED_OFFSET", None)


def pytest_configure(config):
    config.pluginmanager.register(_SeedOffsets(), "bookcode-seed-offsets")


def pytest_collection_modifyitems(config, items):
    items.sort(key=_rank)  # stable: the cells of a notebook keep their order


def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            return _group(nodeid)

    config.option.loadscopereorder = False  # keep the order above (longest first)
    return GroupScheduling(config, log)
