"""Shared test set-up: headless matplotlib, and the repository root for tests that read the book's files."""

import os
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
