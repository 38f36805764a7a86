"""Shared test set-up: headless matplotlib, the repository root for tests that read the book's files, and the
strict book build that the build, offline-HTML and browser tests share (built once per test run)."""

import os

# The chapters multiply small matrices: one BLAS thread is faster than several and keeps timings stable. Set before
# any kernel starts (nbval's kernels and the book build inherit this environment).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import subprocess  # noqa: E402
import sys
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("BOOKCODE_STATIC", "0")
os.environ["BOOKCODE_PROGRESS"] = "0"  # no progress bars inside tests

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
    """Build the book once, strictly (warnings are errors), into a temporary folder: (html folder, build log)."""
    out = tmp_path_factory.mktemp("book")
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_book.py"), "--out", str(out), "--force"],
                          cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, f"strict build failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-6000:]}"
    return out / "_build" / "html", proc.stdout + proc.stderr
