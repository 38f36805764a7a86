"""Showing the package's own code in the chapters, so the text and ``bookcode`` cannot
drift."""

from __future__ import annotations

import inspect
import textwrap

__all__ = ["show_source", "SourceBlock"]


class SourceBlock:
    """The source of a bookcode object, displayed as a highlighted ``python`` code
    block.

    In Jupyter it renders as Markdown; in the built book myst-nb parses that Markdown,
    so the code is highlighted by Sphinx like any other code block.
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


def show_source(obj, *, docstring=True, answer_to=None, body=True):
    """Return the source of a function or class for display in a notebook.

    Parameters
    ----------
    obj : function, class or method
        The object to show (e.g. ``bookcode.gradcheck.numerical_gradient``).
    docstring : bool, default True
        With ``False`` the docstring is dropped so a chapter can show only the code it
        explains.
    answer_to : str, optional
        The label of the exercise this listing answers (e.g. ``"ex-bp-linear"``). It
        marks the listing in the chapter's source; the student edition
        (scripts/student_edition.py) then adds ``body=False``.
    body : bool, default True
        With ``False`` (only together with ``answer_to``) the block shows what a learner
        needs to write the function, not the answer: the signature, the docstring
        (whatever ``docstring`` says) and a line that says the body is hidden.

    Returns
    -------
    SourceBlock
        Displays as a fenced ``python`` block (Jupyter and the built book).

    Implements the "code from the package" rule of every chapter (see
    chapters/01_gradient_descent).
    """
    if not (inspect.isfunction(obj) or inspect.isclass(obj) or inspect.ismethod(obj)):
        raise TypeError(
            "show_source: expected a function, method or class, got "
            f"{type(obj).__name__}"
        )
    if answer_to is not None and (
        not isinstance(answer_to, str) or not answer_to.strip()
    ):
        raise TypeError(
            "show_source: answer_to must be an exercise label (a non-empty str), got "
            f"{answer_to!r}"
        )
    if not isinstance(body, bool):
        raise TypeError(f"show_source: body must be True or False, got {body!r}")
    if not body and answer_to is None:
        raise ValueError(
            "show_source: body=False hides an exercise's answer; say which one with "
            "answer_to='ex-...'"
        )
    if not body and not (inspect.isfunction(obj) or inspect.ismethod(obj)):
        raise TypeError(
            "show_source: body=False shows a function's signature; got the class "
            f"{obj.__qualname__}"
        )
    source = textwrap.dedent(inspect.getsource(obj))
    if not body:
        source = _signature_only(source, obj, answer_to, docstring)
    elif not docstring:
        source = _strip_docstring(source, obj)
    return SourceBlock(source, getattr(obj, "__qualname__", str(obj)))


def _signature_only(source, obj, answer_to, docstring):
    """The ``def`` lines (decorators included), the docstring if wanted, and a
    placeholder for the body."""
    import ast

    node = ast.parse(source).body[0]
    lines = source.splitlines()
    first = node.body[0]
    has_doc = (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    )
    head = lines[: first.lineno - 1]  # up to the line before the body (the def line(s))
    keep = lines[first.lineno - 1 : first.end_lineno] if has_doc and docstring else []
    indent = " " * first.col_offset
    note = (
        f"{indent}...  # the body is the answer to exercise {answer_to}: "
        "write it yourself"
    )
    return "\n".join([*head, *keep, note]) + "\n"


def _strip_docstring(source, obj):
    doc = inspect.getdoc(obj)
    if not doc:
        return source
    import ast

    tree = ast.parse(source)
    node = tree.body[0]
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(
        getattr(first, "value", None), ast.Constant
    ):
        lines = source.splitlines()
        del lines[first.lineno - 1 : first.end_lineno]
        return "\n".join(lines) + "\n"
    return source
