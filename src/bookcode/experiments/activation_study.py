"""Tools for studying activation functions in networks: collapse, activations at init,
dead units, cost.

- :func:`collapse_linear`: a stack of ``Linear`` layers without non-linearities is one
  affine map;
- :func:`forward_activations`: the outputs of every layer of a fresh ``Linear → f``
  stack;
- :func:`dead_unit_masks`: which units of each activation layer have ``f'(net) = 0`` on
  a whole batch;
- :func:`time_activation`: the CPU-time cost of ``f(x)`` plus ``f'(x)``;
- :func:`markdown_table`: a table computed in code, displayed as Markdown (MyST in the
  book).
"""

from __future__ import annotations

import numbers
import time

import numpy as np

from .. import activations as _act
from .._validate import as_batch, as_float_array, as_rng, check_positive_int

__all__ = [
    "collapse_linear",
    "forward_activations",
    "dead_unit_masks",
    "time_activation",
    "MarkdownTable",
    "markdown_table",
]


def collapse_linear(net):
    """The single affine map ``X ↦ X W + b`` computed by a network without
    non-linearities.

    Parameters
    ----------
    net : Sequential
        ``Linear`` layers, optionally separated by identity activations
        (``Activation("identity")``).

    Returns
    -------
    W : ndarray, shape (n_0, n_L)
        The product ``W^1 W^2 … W^L``.
    b : ndarray, shape (n_L,)
        ``Σ_l b^l W^{l+1} … W^L``: every bias pushed through the layers after it.

    Raises ``TypeError`` for a layer that is neither (any non-linearity breaks the
    collapse).

    Implements eq. (linear-collapse) in chapters/04_activations.
    """
    from ..layers import Activation, Linear

    if not hasattr(net, "layers"):
        raise TypeError(
            "collapse_linear: expected a network with .layers (Sequential), got "
            f"{type(net).__name__}"
        )
    W, b = None, None
    for i, layer in enumerate(net.layers):
        if (
            isinstance(layer, Activation)
            and getattr(layer.f, "name", None) == "identity"
        ):
            continue
        if not isinstance(layer, Linear):
            raise TypeError(
                f"collapse_linear: layer {i} is {layer!r}; only Linear layers and "
                "identity activations collapse into one affine map"
            )
        Wl = layer.params["W"]
        bl = layer.params.get("b", np.zeros(Wl.shape[1], dtype=Wl.dtype))
        W, b = (Wl.copy(), bl.copy()) if W is None else (W @ Wl, b @ Wl + bl)
    if W is None:
        raise ValueError("collapse_linear: the network has no Linear layer")
    return W, b


def forward_activations(
    activation, depth, X, width=None, init="xavier_normal", rng=0, **act_kwargs
):
    """Outputs ``Y^1 … Y^depth`` of a freshly initialised stack of ``depth`` blocks
    ``Linear → f``.

    Parameters
    ----------
    activation : str
        Name for :func:`bookcode.activations.get`; ``act_kwargs`` (e.g. ``alpha``) go to
        it.
    depth : int
        Number of ``Linear → f`` blocks.
    X : array, shape (N, n_0)
        Input batch.
    width : int, optional
        Width of every layer (default ``n_0``).
    init : str or callable
        Weight initialiser for :class:`bookcode.layers.Linear` (biases start at 0).
    rng : Generator or int
        Seed of the weights; the same seed gives the same first layers for every depth.

    Returns
    -------
    list of ndarray
        ``depth`` arrays of shape (N, width): the activations of each layer at
        initialisation.

    Implements the activation × depth explorer of chapters/04_activations.
    """
    from ..layers import Activation, Linear

    depth = check_positive_int(depth, "depth")
    X = as_batch(X, None, where="forward_activations")
    width = X.shape[1] if width is None else check_positive_int(width, "width")
    f = _act.get(activation, **act_kwargs)
    gen = as_rng(rng, where="forward_activations")
    Y, outs, n_in = X, [], X.shape[1]
    for _ in range(depth):
        Y = Activation(f).forward(Linear(n_in, width, init=init, rng=gen).forward(Y))
        outs.append(Y)
        n_in = width
    return outs


def dead_unit_masks(net, X):
    """For every activation layer, which units have ``f'(net) = 0`` for every example of
    ``X``.

    A ReLU unit whose pre-activation is ``<= 0`` on the whole batch passes no gradient
    to its incoming weights: it is *dead* on this data.
    (``diagnostics.activation_stats`` reports the fraction; this returns the masks, to
    look at the dead units' weights.)

    Returns
    -------
    list of ndarray of bool
        One mask of shape (n_units,) per ``Activation`` layer, input side first.
        Activations without an element-wise derivative (softmax) get an all-False mask.

    Implements the dead-unit measurement of chapters/04_activations.
    """
    from ..layers import Activation

    if not hasattr(net, "layers") or not hasattr(net, "forward"):
        raise TypeError(
            "dead_unit_masks: expected a network with .layers (Sequential), got "
            f"{type(net).__name__}"
        )
    X = as_batch(X, None, where="dead_unit_masks")
    net.forward(X)
    masks = []
    for layer in net.layers:
        if not isinstance(layer, Activation):
            continue
        pre, Y = layer._cache
        try:
            masks.append(np.all(layer.f.derivative(pre) == 0, axis=0))
        except NotImplementedError:
            masks.append(np.zeros(Y.shape[1], dtype=bool))
    return masks


def time_activation(f, x, repeats=5, derivative=True):
    """CPU seconds of one ``f(x)`` (plus ``f.derivative(x)``), the best of ``repeats``
    runs.

    The time is this process's CPU time (``time.process_time``), so other programs
    running beside it do not count, and the minimum over repeats is the run least
    disturbed by what they do to the caches. It still depends on the machine, the numpy
    build and the array size, so compare numbers from one run only.

    Parameters
    ----------
    f : str or activation object
        A name for :func:`bookcode.activations.get` or an object with ``__call__`` (and
        ``derivative``).
    x : array_like
        Input array.
    repeats : int, default 5
    derivative : bool, default True
        Also time ``f.derivative(x)`` (what a training step needs: forward and
        backward).

    Implements the cost column of the catalogue table in chapters/04_activations.
    """
    f = _act.get(f) if isinstance(f, str) else f
    if not callable(f) or (derivative and not callable(getattr(f, "derivative", None))):
        raise TypeError(
            "time_activation: expected an activation name or object with "
            f"derivative(), got {f!r}"
        )
    x = as_float_array(x, "x", where="time_activation")
    repeats = check_positive_int(repeats, "repeats")
    best = np.inf
    for _ in range(repeats):
        t0 = time.process_time()
        f(x)
        if derivative:
            f.derivative(x)
        best = min(best, time.process_time() - t0)
    return float(best)


class MarkdownTable:
    """A table that displays as Markdown in Jupyter (and as a MyST table in the built
    book)."""

    def __init__(self, header, rows, align):
        self.header, self.rows, self.align = header, rows, align

    def _repr_markdown_(self):
        rule = {"l": ":--", "c": ":-:", "r": "--:"}
        lines = [
            "| " + " | ".join(self.header) + " |",
            "|" + "|".join(rule[a] for a in self.align) + "|",
        ]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        return "\n".join(lines) + "\n"

    def __repr__(self):
        return self._repr_markdown_()


def _cell(value):
    if isinstance(value, str):
        return value.replace("|", "\\|").replace("\n", " ")
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return f"{float(value):.3g}"
    raise TypeError(
        "markdown_table: cells must be str, bool or numbers, got "
        f"{type(value).__name__}"
    )


def markdown_table(header, rows, align=None):
    """A :class:`MarkdownTable` from a header and rows of cells (str, bool → yes/no,
    numbers → 3 digits).

    ``|`` inside a cell is escaped; ``align`` is a string of ``l``/``c``/``r``, one per
    column (default: all left).

    Implements the computed tables (catalogue, selection guide) of
    chapters/04_activations.
    """
    header = [_cell(h) for h in header]
    if not header:
        raise ValueError("markdown_table: expected at least one column")
    rows = [[_cell(c) for c in row] for row in rows]
    bad = [i for i, r in enumerate(rows) if len(r) != len(header)]
    if bad:
        raise ValueError(
            f"markdown_table: row {bad[0]} has {len(rows[bad[0]])} cells, expected "
            f"{len(header)}"
        )
    align = "l" * len(header) if align is None else align
    if (
        not isinstance(align, str)
        or len(align) != len(header)
        or set(align) - set("lcr")
    ):
        raise ValueError(
            f"markdown_table: align must be {len(header)} letters from 'l', 'c', 'r', "
            f"got {align!r}"
        )
    return MarkdownTable(header, rows, align)
