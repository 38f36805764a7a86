"""Numbers and figures for the prose, one mechanism for the HTML and a live notebook.

A chapter's text never types a computed number. A code cell publishes it, formatted,
under a name::

    say("gd_lr_best", lr, ".2f")

and the text writes ``{eval}`gd_lr_best```. Two readers resolve that role:

- **a live notebook** (JupyterLab with jupyterlab-myst, Binder, ``make lab``) evaluates
  ``gd_lr_best`` in the kernel when the markdown cell runs: ``say`` put a
  :class:`Text` under that name in the notebook's namespace, and its ``repr`` is the
  formatted number, with no quotes;
- **the HTML build** (myst-nb in cache mode, which has no kernel when it renders) reads
  the same text from the output ``say`` displayed: a glue record (myst-nb's
  ``application/papermill.record/`` format), which ``book_ext/eval_role.py`` looks up.

Both therefore show the text ``say`` formatted when its cell ran. A name is published
once per chapter (``tests/test_house_rules.py`` checks it), so the two cannot differ.

``show_figure(fig)`` makes a figure the output of the cell that drew it: the cell's
``mystnb.figure`` metadata gives it its number, name and caption in the HTML, and a live
notebook shows it in place. Neither function imports myst-nb or nbformat, so a kernel
does not pay for their imports (about 2 s with JupyterLab's server installed).
"""

from __future__ import annotations

import keyword

__all__ = ["Text", "say", "show_figure"]

_RECORD = "application/papermill.record/"


class Text(str):
    """A string whose ``repr`` is the string itself (no quotes, no escapes).

    A live notebook shows a value by its ``repr``; a number formatted by :func:`say`
    should read ``0.12``, not ``'0.12'``.
    """

    __slots__ = ()

    def __repr__(self):
        return str(self)


def _check_name(name):
    if not isinstance(name, str):
        raise TypeError(f"say: the name must be a str, got {type(name).__name__}")
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(
            f"say: the name must be a Python identifier (letters, digits, '_'; the "
            f"prose evaluates it), got {name!r}"
        )


def say(name, value, fmt=""):
    """Publish ``format(value, fmt)`` under ``name`` for ``{eval}`name``` in the prose.

    Parameters
    ----------
    name : str
        A Python identifier, unique in the chapter (e.g. ``"gd_lr_best"``).
    value : object
        What to show: a number (Python or numpy scalar), a string, anything ``format``
        accepts with ``fmt``.
    fmt : str, optional
        A format spec as in ``format(value, fmt)``: ``".2f"``, ``".0%"``, ``",d"``,
        ``".1e"``. The default shows ``str(value)``.

    Returns
    -------
    Text or None
        None in IPython (a cell that ends with ``say`` shows nothing more); outside
        IPython nothing is published and the formatted text is returned.

    Raises
    ------
    TypeError, ValueError
        If ``name`` is not an identifier, or ``fmt`` does not apply to ``value``.

    Every chapter's numbers come through it (e.g. chapters/01_gradient_descent).
    """
    _check_name(name)
    if not isinstance(fmt, str):
        raise TypeError(f"say: fmt must be a format spec str, got {type(fmt).__name__}")
    try:
        text = Text(format(value, fmt))
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"say({name!r}): cannot format {value!r} ({type(value).__name__}) "
            f"with {fmt!r}: {err}"
        ) from None
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with every kernel
        return text
    ip = get_ipython()
    if ip is None:
        return text
    ip.user_ns[name] = text  # what a live {eval} evaluates
    from IPython.display import display

    display(  # what the HTML build reads: the format of myst_nb.glue(display=False)
        {_RECORD + "text/plain": str(text)},
        raw=True,
        metadata={"scrapbook": {"name": name, "mime_prefix": _RECORD}},
    )
    return None


def show_figure(fig):
    """Show ``fig`` as the output of this cell, once, and close it.

    The cell's ``mystnb.figure`` metadata (``name``, ``caption``) turns that output
    into a numbered figure in the HTML; a live notebook shows it in place. Closing the
    figure keeps the inline backend from showing it a second time at the end of the
    cell.

    Raises
    ------
    TypeError
        If ``fig`` is not a matplotlib Figure.
    ValueError
        If it could not be shown at the size it is drawn, legibly
        (``bookcode.display.plotting.check_legible``).

    Every chapter's figures come through it (e.g. chapters/01_gradient_descent).
    """
    from matplotlib.figure import Figure

    if not isinstance(fig, Figure):
        raise TypeError(
            f"show_figure: expected a matplotlib Figure, got {type(fig).__name__}"
        )
    import matplotlib.pyplot as plt

    from .plotting import check_legible

    try:
        check_legible(fig, "show_figure")
    finally:
        plt.close(fig)
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover
        return
    if get_ipython() is not None:
        display(fig)
