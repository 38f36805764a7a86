import pytest

from bookcode.display import show_source
from bookcode.gradcheck import rel_error


def test_show_source_renders_fenced_python():
    block = show_source(rel_error)
    md = block._repr_markdown_()
    assert md.startswith("```python\ndef rel_error(")
    assert "np.linalg.norm(a - b)" in md
    assert '"""Relative error' in md


def test_show_source_without_docstring():
    md = show_source(rel_error, docstring=False)._repr_markdown_()
    assert "def rel_error(a, b):" in md and "Relative error" not in md
    assert "np.linalg.norm(a - b)" in md


def test_show_source_bad_input():
    with pytest.raises(TypeError, match="function, method or class"):
        show_source(42)
