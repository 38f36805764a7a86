"""bookcode._lazy: submodules load on first use, and `import bookcode` stays light."""

import subprocess
import sys

import pytest

import bookcode


def test_submodules_load_on_use_and_are_listed():
    assert bookcode.experiments.descent.__name__ == "bookcode.experiments.descent"
    assert bookcode.display.panels.__name__ == "bookcode.display.panels"
    assert {"optim", "experiments", "display"} <= set(dir(bookcode))
    assert "gradient_flow" in dir(bookcode.experiments)
    with pytest.raises(AttributeError, match="no attribute 'nope'; its modules: "):
        _ = bookcode.nope
    with pytest.raises(AttributeError, match="'bookcode.display' has no attribute"):
        _ = bookcode.display.nope


def test_import_bookcode_loads_neither_matplotlib_nor_the_experiments():
    code = (
        "import sys, bookcode; from bookcode.display import show_source; "
        "print(sorted(m for m in sys.modules if m.startswith(('matplotlib', "
        "'ipywidgets', 'bookcode.experiments.'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout
