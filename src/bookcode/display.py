"""Showing the package's own code in the chapters, so the text and ``bookcode`` cannot drift."""

from __future__ import annotations

import inspect
import textwrap

__all__ = ["show_source", "SourceBlock"]


class SourceBlock:
    """The source of a bookcode object, displayed as a highlighted ``python`` code block.

    In Jupyter it renders as Markdown; in the built book myst-nb parses that Markdown, so the code
    is highlighted by Sphinx like any other code block.
    """

    def __init__(self, source: str, title: str):
        self.source = source
        self.title = title

    def _repr_markdown_(self):
        return f"```python\n{self.source.rstrip()}\n```\n"

    def __repr__(self):
        return self.source

    def __str__(self):
        return self.source


def show_source(obj, *, docstring=True):
    """Return the source of a function or class for display in a notebook.

    Parameters
    ----------
    obj : function, class or method
        The object to show (e.g. ``bookcode.gradcheck.numerical_gradient``).
    docstring : bool, default True
        With ``False`` the docstring is dropped so a chapter can show only the code it explains.

    Returns
    -------
    SourceBlock
        Displays as a fenced ``python`` block (Jupyter and the built book).

    Implements the "code from the package" rule of every chapter (see chapters/01_gradient_descent).
    """
    if not (inspect.isfunction(obj) or inspect.isclass(obj) or inspect.ismethod(obj)):
        raise TypeError(f"show_source: expected a function, method or class, got {type(obj).__name__}")
    source = textwrap.dedent(inspect.getsource(obj))
    if not docstring:
        source = _strip_docstring(source, obj)
    return SourceBlock(source, getattr(obj, "__qualname__", str(obj)))


def _strip_docstring(source, obj):
    doc = inspect.getdoc(obj)
    if not doc:
        return source
    import ast

    tree = ast.parse(source)
    node = tree.body[0]
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant):
        lines = source.splitlines()
        del lines[first.lineno - 1 : first.end_lineno]
        return "\n".join(lines) + "\n"
    return source
