"""Slow tests: the strict book build and the determinism of a chapter."""

import os
import re
import subprocess
import sys

import pytest

from _book import ROOT, chapter_notebooks, glued_values, toc_files

pytestmark = pytest.mark.slow
PAGE_LIMIT = 3 * 1024 * 1024  # bytes; frames of the static explorers included


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("book")
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_book.py"), "--out", str(out), "--force"],
                          cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, f"strict build failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-6000:]}"
    return out / "_build" / "html", proc.stdout + proc.stderr


def test_strict_build_produces_every_page(built):
    html, log = built
    for f in toc_files():
        page = html / (f + ".html")
        assert page.exists(), f"missing page {page}"
    assert not re.search(r"WARNING: ", log), "the build logged Sphinx warnings"


def test_chapter_pages_execute_and_embed_static_explorers(built):
    html, _ = built
    for nb in chapter_notebooks():
        page = html / "chapters" / (nb.stem + ".html")
        text = page.read_text(encoding="utf-8")
        assert "Traceback (most recent call last)" not in text, f"{page.name}: an error trace is in the page"
        assert "&lt;Figure size" not in text and "<Figure size" not in text, (
            f"{page.name}: a figure was rendered as text (kernel without the inline backend?)"
        )
        assert "application/vnd.jupyter.widget-state+json" in text, f"{page.name}: no embedded widget state"
        assert "StackModel" in text and "LinkModel" in text, f"{page.name}: explorer frames are not linked to sliders"
        size = page.stat().st_size
        assert size <= PAGE_LIMIT, f"{page.name} weighs {size / 1e6:.2f} MB (limit 3 MB)"


def test_chapter1_glued_values_are_deterministic():
    import nbformat
    from nbclient import NotebookClient

    path = ROOT / "chapters" / "01_gradient_descent.ipynb"
    runs = []
    env_before = os.environ.get("BOOKCODE_STATIC")
    os.environ["BOOKCODE_STATIC"] = "0"
    try:
        for _ in range(2):
            nb = nbformat.read(path, as_version=4)
            NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
            runs.append(glued_values(nb))
    finally:
        if env_before is not None:
            os.environ["BOOKCODE_STATIC"] = env_before
    assert runs[0], "chapter 1 glued nothing"
    assert runs[0] == runs[1]
