"""ruff over the whole tree (src, tests, scripts, book_ext, the chapters' code cells):
lint clean and formatted, with the rules and the line length of pyproject.toml (88, the
width of the book's code column; tests/test_browser.py checks it in the built pages)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUFF = Path(sys.executable).with_name("ruff")


def _ruff(*args):
    return subprocess.run(
        [str(RUFF), *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize("command", [("check", "."), ("format", "--check", ".")])
def test_ruff_is_clean(command):
    proc = _ruff(*command, "--no-cache")
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]


def test_ruff_reads_the_chapters_and_the_line_length():
    # a positive control: ruff sees notebooks and enforces 88 characters
    proc = _ruff("check", "--no-cache", "--select", "E501", "--line-length", "40", ".")
    assert proc.returncode == 1 and ".ipynb" in proc.stdout, proc.stdout[-2000:]
    config = (ROOT / "pyproject.toml").read_text()
    assert "line-length = 88" in config
