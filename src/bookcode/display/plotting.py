"""One house style and the plots every chapter needs (matplotlib only, works with the
Agg backend).

Call :func:`use_style` once at the top of a chapter. Every plot function takes an
optional ``ax`` (a new figure is made if it is ``None``) and returns the axes it drew on
(:func:`plot_layer_histograms` returns ``fig, axes``). :func:`figure_to_png` turns a
figure into small PNG bytes for the precomputed frames of the explorers.
"""

from __future__ import annotations

import io

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.transforms import blended_transform_factory

from .._validate import (
    as_batch,
    as_float_array,
    check_callable,
    check_choice,
    check_positive_int,
)

__all__ = [
    "PALETTE",
    "SEQUENTIAL_CMAP",
    "use_style",
    "plot_functions",
    "plot_curves",
    "plot_per_layer",
    "plot_decision_boundary",
    "plot_layer_histograms",
    "plot_contours",
    "figure_to_png",
    "rgba_to_png",
    "check_legible",
    "HOUSE_WIDTH",
    "MIN_FONT",
    "FIGURE_DPI",
]

#: Okabe–Ito colour-blind-safe palette (blue, vermillion, green, purple, orange, sky
#: blue, yellow, black).
PALETTE = [
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
    "#F0E442",
    "#000000",
]
#: Perceptually uniform colour map for surfaces and images.
SEQUENTIAL_CMAP = "viridis"
_MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


# The page column of the built book is 660 px wide at a 1280 px window, and figures and
# explorer frames are drawn at FIGURE_DPI 100: a figure HOUSE_WIDTH inches wide is shown
# at its drawn size, so a font of MIN_FONT points is 12.5 px on screen. check_legible
# (used by show_figure and explorer) refuses a wider figure or a smaller font;
# tests/test_browser.py checks the page.
HOUSE_WIDTH = 6.6
MIN_FONT = 9.0
FIGURE_DPI = 100


def _extent_outside(artist, renderer, right):
    try:
        box = artist.get_window_extent(renderer)
    except Exception:  # noqa: BLE001 - some artists have no extent before drawing
        return False
    return box.width > 0 and (box.x0 < -1 or box.x1 > right + 1)


def check_legible(fig, where, cropped=True, drawn=False):
    """Raise ValueError unless ``fig`` can be shown at the size it is drawn: at most
    ``HOUSE_WIDTH`` inches wide and no visible text below ``MIN_FONT`` points.

    ``cropped=True``: the figure is shown cropped to what it draws (a notebook's
    ``bbox_inches="tight"``), so text outside the canvas widens it. ``cropped=False``
    (an explorer's frame, shown whole): text outside the canvas would be cut off, so
    none may be there. The figure is drawn (laid out) once, unless ``drawn`` says that
    it just was (then only its artists' extents are measured); it stays open.

    Used by ``show_figure`` for every numbered figure and by ``explorer`` for every
    frame (first in chapters/01_gradient_descent).
    """
    from matplotlib.text import Text

    if not isinstance(fig, Figure):
        raise TypeError(
            f"{where}: expected a matplotlib Figure, got {type(fig).__name__}"
        )
    if not hasattr(fig.canvas, "get_renderer"):  # closed in pyplot: a canvas to measure
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(fig)
    if not drawn:
        fig.canvas.draw()  # lays it out (constrained layout) as the display will
    renderer = fig.canvas.get_renderer()
    box = fig.get_tightbbox(renderer)  # inches
    w, h = fig.get_figwidth(), fig.get_figheight()
    slack = 0.02  # inches: antialiasing at the canvas's edge
    cut = not cropped and (
        box.x0 < -slack or box.y0 < -slack or box.x1 > w + slack or box.y1 > h + slack
    )
    width = max(w, box.width - 0.05) if cropped else w
    if width > HOUSE_WIDTH + 1e-9 or cut:
        outside = [
            str(a)[:40]
            for a in fig.findobj(lambda a: a.get_visible() and a is not fig)
            if hasattr(a, "get_window_extent")
            and not isinstance(a, Axes)
            and _extent_outside(a, renderer, fig.bbox.width)
        ]
        what = (
            f"is {width:.2f} in wide (with what is drawn outside its canvas)"
            if cropped
            else f"is {w:.2f} x {h:.2f} in and draws from ({box.x0:.2f}, "
            f"{box.y0:.2f}) to ({box.x1:.2f}, {box.y1:.2f}) in, which is cut off"
        )
        raise ValueError(
            f"{where}: the figure {what}; draw it at the page column's width or less "
            f"(figsize=({HOUSE_WIDTH:g}, h), legends inside the figure), so that it is "
            f"shown at the size it was drawn; outside the canvas: {outside[:4]}"
        )
    small = sorted(
        {
            (t.get_fontsize(), t.get_text()[:30])
            for t in fig.findobj(Text)
            if t.get_visible() and t.get_text().strip() and t.get_fontsize() < MIN_FONT
        }
    )
    if small:
        raise ValueError(
            f"{where}: text below {MIN_FONT:g} pt would be too small to read on "
            f"the page: {small[:4]}"
        )


def use_style():
    """Set the book's matplotlib defaults (rcParams): sizes for a book column, Okabe–Ito
    colour cycle, light grid, constrained layout.

    Implements the figure conventions of every chapter (first used in
    chapters/01_gradient_descent).
    """
    mpl.rcParams.update(
        {
            "figure.figsize": (6.4, 4.0),
            "figure.dpi": FIGURE_DPI,
            "figure.constrained_layout.use": True,
            "font.size": 11,
            "axes.titlesize": 12,
            "axes.labelsize": 11,
            "legend.fontsize": 9.5,
            "xtick.labelsize": 9.5,
            "ytick.labelsize": 9.5,
            "legend.frameon": False,
            "axes.prop_cycle": mpl.cycler(color=PALETTE),
            "axes.grid": True,
            "grid.alpha": 0.3,
            "grid.linewidth": 0.6,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "lines.linewidth": 1.8,
            "image.cmap": SEQUENTIAL_CMAP,
            "savefig.bbox": None,
        }
    )


def _get_ax(ax, where):
    if ax is None:
        return plt.subplots()[1]
    if not isinstance(ax, Axes):
        raise TypeError(
            f"{where}: ax must be a matplotlib Axes or None, got {type(ax).__name__}"
        )
    return ax


def _as_dict(values, where, what):
    if isinstance(values, dict):
        if not values:
            raise ValueError(
                f"{where}: expected at least one {what}, got an empty dict"
            )
        return values
    return None


def _first_nonfinite(v):
    bad = np.flatnonzero(~np.isfinite(v))
    return int(bad[0]) if bad.size else len(v)


def plot_functions(fns, x=None, derivatives=True, ax=None):
    """Plot functions (solid) and their derivatives (dashed, same colour).

    ``fns`` is a dict ``label -> callable`` or a list of activation objects (label from
    their ``name`` attribute or ``repr``). The derivative is ``f.derivative(x)`` if the
    object has one, otherwise a central finite difference on the grid (labelled
    "numerical").

    Implements figure (fig-act-catalogue) in chapters/04_activations.
    """
    where = "plot_functions"
    d = _as_dict(fns, where, "function")
    if d is None:
        if isinstance(fns, (str, bytes)) or not hasattr(fns, "__iter__"):
            raise TypeError(
                f"{where}: expected a dict label -> callable or a list of activations, "
                f"got {fns!r}"
            )
        d = {getattr(f, "name", None) or repr(f): f for f in fns}
        if not d:
            raise ValueError(
                f"{where}: expected at least one function, got an empty list"
            )
    x = (
        np.linspace(-5.0, 5.0, 401)
        if x is None
        else as_float_array(x, "x", where=where)
    )
    if x.ndim != 1 or x.size < 3:
        raise ValueError(
            f"{where}: x must be a 1-D grid of at least 3 points, got shape {x.shape}"
        )
    for label, f in d.items():
        check_callable(f, f"function {label!r}", where=where)
    ax = _get_ax(ax, where)
    for i, (label, f) in enumerate(d.items()):
        color = PALETTE[i % len(PALETTE)]
        y = np.asarray(f(x), dtype=np.float64)
        if y.shape != x.shape:
            raise ValueError(
                f"{where}: {label!r} must act element-wise; x has shape {x.shape}, "
                f"f(x) {y.shape}"
            )
        ax.plot(x, y, color=color, label=str(label))
        if derivatives:
            if callable(getattr(f, "derivative", None)):
                dy, suffix = (
                    np.asarray(f.derivative(x), dtype=np.float64).reshape(x.shape),
                    "",
                )
            else:
                dy, suffix = np.gradient(y, x), " (numerical)"
            ax.plot(x, dy, color=color, linestyle="--", label=f"{label}′{suffix}")
    ax.set_xlabel("x")
    ax.set_ylabel("f(x), f′(x) (dashed)" if derivatives else "f(x)")
    ax.legend()
    return ax


def plot_curves(curves, xlabel="epoch", ylabel="loss", logy=False, ax=None):
    """Training curves, one line per ``label -> sequence`` (x = 0, 1, 2, …).

    A curve that becomes NaN/inf stops at its last finite value; the first non-finite
    step is marked with an "×" and the text "diverged".

    Implements the loss-curve figures of chapters/01_gradient_descent and
    chapters/10_diagnosis.
    """
    where = "plot_curves"
    if _as_dict(curves, where, "curve") is None:
        raise TypeError(
            f"{where}: expected a dict label -> sequence of values, got "
            f"{type(curves).__name__}"
        )
    arrays = {
        label: as_float_array(v, f"curve {label!r}", where=where, allow_nonfinite=True)
        for label, v in curves.items()
    }
    for label, v in arrays.items():
        if v.ndim != 1:
            raise ValueError(
                f"{where}: curve {label!r} must be 1-D, got shape {v.shape}"
            )
    ax = _get_ax(ax, where)
    for i, (label, v) in enumerate(arrays.items()):
        color = PALETTE[i % len(PALETTE)]
        k = _first_nonfinite(v)
        ax.plot(np.arange(k), v[:k], color=color, label=str(label))
        if k < len(v):
            if k > 0:
                xy, trans = (k, v[k - 1]), ax.transData
            else:
                xy, trans = (
                    (0, 0.95),
                    blended_transform_factory(ax.transData, ax.transAxes),
                )
            ax.plot(
                *xy,
                marker="x",
                markersize=10,
                markeredgewidth=2,
                color=color,
                linestyle="none",
                transform=trans,
            )
            ax.annotate(
                "diverged",
                xy,
                xycoords=trans,
                xytext=(4, 4),
                textcoords="offset points",
                color=color,
                fontsize="small",
            )
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend()
    return ax


def plot_per_layer(values, ylabel, logy=True, ax=None, kind="bar"):
    """A per-layer quantity (gradient norm, activation std, …) against layer 1..L.

    ``values`` is one sequence or a dict ``label -> sequence`` (grouped bars / several
    lines). Non-finite entries are not drawn; their layer is marked with the text "nan"
    or "inf".

    Implements the per-layer gradient figures of chapters/05_vanishing_exploding.
    """
    where = "plot_per_layer"
    check_choice(kind, ("bar", "line"), "kind")
    series = _as_dict(values, where, "series") or {None: values}
    series = {
        label: as_float_array(
            v,
            "values" if label is None else f"series {label!r}",
            where=where,
            allow_nonfinite=True,
        )
        for label, v in series.items()
    }
    for v in series.values():
        if v.ndim != 1 or v.size == 0:
            raise ValueError(
                f"{where}: expected a non-empty 1-D sequence per series, got shape "
                f"{v.shape}"
            )
    ax = _get_ax(ax, where)
    bottom = blended_transform_factory(ax.transData, ax.transAxes)
    width = 0.8 / len(series)
    for i, (label, v) in enumerate(series.items()):
        layers = np.arange(1, v.size + 1)
        ok = np.isfinite(v)
        color = PALETTE[i % len(PALETTE)]
        if kind == "bar":
            xs = layers + (i - (len(series) - 1) / 2) * width
            ax.bar(xs[ok], v[ok], width=width, color=color, label=label)
        else:
            xs = layers
            ax.plot(xs[ok], v[ok], marker="o", color=color, label=label)
        for xb, vb in zip(xs[~ok], v[~ok]):
            ax.text(
                xb,
                0.02,
                "nan" if np.isnan(vb) else "inf",
                transform=bottom,
                ha="center",
                color=color,
                fontsize="small",
            )
    if logy:
        ax.set_yscale("log")
    ax.set_xticks(np.arange(1, max(v.size for v in series.values()) + 1))
    ax.set_xlabel("layer")
    ax.set_ylabel(ylabel)
    if len(series) > 1 or None not in series:
        ax.legend()
    return ax


def plot_decision_boundary(
    predict, X, y, ax=None, resolution=200, margin=0.5, threshold=0.5
):
    """Regions of the predicted class (filled contour) with the data points (one marker
    per class).

    ``predict`` maps an ``(M, 2)`` array to labels ``(M,)`` or scores: several columns
    are turned into labels by ``argmax``, a single non-integer column by ``score >
    threshold`` (use ``threshold=0`` for raw logits). Labels must use the same encoding
    as ``y``.

    Implements the decision-boundary figures of chapters/02_perceptron_delta and
    chapters/03_backprop.
    """
    where = "plot_decision_boundary"
    check_callable(predict, "predict", where=where)
    X = as_batch(X, 2, where=where)
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != X.shape[0] or y.dtype.kind not in "biu":
        raise ValueError(
            f"{where}: y must be integer labels of shape ({X.shape[0]},), got "
            f"{y.dtype} {y.shape}"
        )
    res = check_positive_int(resolution, "resolution", minimum=2)
    lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], res), np.linspace(lo[1], hi[1], res))
    out = np.asarray(predict(np.column_stack([xx.ravel(), yy.ravel()])))
    if out.shape[0] != res * res or out.ndim > 2:
        raise ValueError(
            f"{where}: predict must return ({res * res},) labels or scores, got shape "
            f"{out.shape}"
        )
    if out.ndim == 2 and out.shape[1] > 1:
        out = out.argmax(axis=1)
    out = out.reshape(-1)
    if not np.all(out == np.round(out)):
        out = (out > threshold).astype(np.int64)
    classes = np.unique(np.concatenate([y, out.astype(np.int64)]))
    if classes.size > len(PALETTE):
        raise ValueError(
            f"{where}: at most {len(PALETTE)} classes can be drawn, got {classes.size}"
        )
    ax = _get_ax(ax, where)
    Z = np.searchsorted(classes, out.astype(np.int64)).reshape(res, res)
    ax.contourf(
        xx,
        yy,
        Z,
        levels=np.arange(classes.size + 1) - 0.5,
        colors=PALETTE[: classes.size],
        alpha=0.3,
    )
    for i, c in enumerate(classes):
        m = y == c
        if m.any():
            ax.scatter(
                X[m, 0],
                X[m, 1],
                color=PALETTE[i],
                marker=_MARKERS[i],
                edgecolor="k",
                linewidth=0.5,
                s=28,
                label=f"class {c}",
            )
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.legend()
    return ax


# `range` mirrors np.histogram
def plot_layer_histograms(values, bins=50, range=None, axes=None):
    """Histograms of a quantity per layer as small multiples in one row, sharing the x
    range.

    ``values`` is a list with one array per layer (any shape, flattened; NaN/inf are
    left out and counted in a note on the panel). ``range=(lo, hi)`` fixes the x range
    (default: all finite values). ``axes`` is a sequence of one Axes per layer, or
    ``None`` for a new figure.

    Returns ``fig, axes``. Implements the activation-distribution figures of
    chapters/07_initialization.
    """
    where = "plot_layer_histograms"
    if (
        isinstance(values, np.ndarray)
        or not isinstance(values, (list, tuple))
        or not values
    ):
        raise TypeError(
            f"{where}: expected a non-empty list with one array per layer, got "
            f"{type(values).__name__}"
        )
    bins = check_positive_int(bins, "bins")
    arrays = [
        as_float_array(v, f"values[{i}]", where=where, allow_nonfinite=True).ravel()
        for i, v in enumerate(values)
    ]
    finite = [a[np.isfinite(a)] for a in arrays]
    if range is None:
        pooled = np.concatenate(finite)
        lims = (pooled.min(), pooled.max()) if pooled.size else (-1.0, 1.0)
    else:
        lims = tuple(as_float_array(range, "range", where=where).reshape(-1))
        if len(lims) != 2 or not lims[0] < lims[1]:
            raise ValueError(
                f"{where}: range must be (lo, hi) with lo < hi, got {range!r}"
            )
    if lims[0] == lims[1]:
        lims = (lims[0] - 0.5, lims[1] + 0.5)
    L = len(arrays)
    if axes is None:
        fig, axes = _panel_grid(L, per_row=4, row_height=2.4, sharex=True)
    else:
        axes = np.ravel(np.asarray(axes, dtype=object))
        if len(axes) != L or not all(isinstance(a, Axes) for a in axes):
            raise ValueError(
                f"{where}: expected {L} Axes (one per layer), got {len(axes)} object(s)"
            )
        fig = axes[0].figure
    for i, (ax, a, f) in enumerate(zip(axes, arrays, finite)):
        counts, edges = np.histogram(f, bins=bins, range=lims)
        ax.stairs(
            counts, edges, fill=True, color=PALETTE[0]
        )  # one artist, not one bar per bin: fast to draw
        ax.set_ylim(0, max(1, counts.max()) * 1.05)
        n_bad = a.size - f.size
        ax.set_title(f"layer {i + 1}")
        if n_bad:
            ax.text(
                0.02,
                0.98,
                f"{n_bad} NaN/inf",
                transform=ax.transAxes,
                va="top",
                fontsize="small",
            )
        ax.set_xlabel("value")
        ax.set_xlim(lims)
    axes[0].set_ylabel("count")
    return fig, axes


def _panel_grid(n, per_row, row_height, width=HOUSE_WIDTH, **subplots_kw):
    """A figure of ``n`` panels, at most ``per_row`` in a row, ``width`` inches wide
    (the page column): (figure, array of the ``n`` axes). Spare cells of the last row
    are hidden. Shared by the multi-panel plots of this package."""
    rows = -(-n // per_row)
    fig, axes = plt.subplots(
        rows,
        -(-n // rows),
        figsize=(width, row_height * rows + 0.3),
        squeeze=False,
        **subplots_kw,
    )
    for spare in axes.ravel()[n:]:
        spare.set_visible(False)
    return fig, axes.ravel()[:n]


def plot_contours(
    f,
    xlim,
    ylim,
    levels=30,
    paths=None,
    ax=None,
    log_levels=False,
    resolution=150,
    xlabel="$w_1$",
    ylabel="$w_2$",
):
    """Contour lines of a 2-D surface ``Z = f(XX, YY)`` with optional optimisation
    paths.

    Each path (dict ``label -> (k, 2) array``) is a line with markers, its start a
    circle and its end a star. A path that becomes NaN/inf stops at its last finite
    point, which is marked "×" and "(diverged)" is added to its label; drawing is
    clipped to ``xlim`` × ``ylim``.

    Implements the gradient-descent explorer of chapters/01_gradient_descent.
    """
    where = "plot_contours"
    check_callable(f, "f", where=where)
    box = []
    for name, lim in (("xlim", xlim), ("ylim", ylim)):
        lim = as_float_array(lim, name, where=where).reshape(-1)
        if lim.shape != (2,) or not lim[0] < lim[1]:
            raise ValueError(
                f"{where}: {name} must be (lo, hi) with lo < hi, got {lim.tolist()}"
            )
        box.append(lim)
    levels = check_positive_int(levels, "levels", minimum=2)
    res = check_positive_int(resolution, "resolution", minimum=2)
    checked = {}
    for label, p in (paths or {}).items():
        p = as_float_array(p, f"path {label!r}", where=where, allow_nonfinite=True)
        if p.ndim != 2 or p.shape[1] != 2 or p.shape[0] == 0:
            raise ValueError(
                f"{where}: path {label!r} must have shape (k, 2) with k >= 1, got "
                f"{p.shape}"
            )
        checked[label] = p
    XX, YY = np.meshgrid(np.linspace(*box[0], res), np.linspace(*box[1], res))
    Z = np.asarray(f(XX, YY), dtype=np.float64)
    if Z.shape != XX.shape:
        raise ValueError(
            f"{where}: f(X, Y) must return the grid shape {XX.shape}, got {Z.shape}"
        )
    zf = Z[np.isfinite(Z)]
    if zf.size == 0:
        raise ValueError(f"{where}: f is NaN/inf everywhere on the grid")
    if log_levels:
        zp = zf[zf > 0]
        if zp.size == 0:
            raise ValueError(
                f"{where}: log_levels needs positive values of f, the largest is "
                f"{zf.max()}"
            )
        lo, hi = max(zp.min(), zp.max() * 1e-8), zp.max()
        lv = np.geomspace(lo, hi, levels) if hi > lo else levels
    else:
        lv = np.linspace(zf.min(), zf.max(), levels) if zf.max() > zf.min() else levels
    ax = _get_ax(ax, where)
    norm = (
        mpl.colors.LogNorm(lv[0], lv[-1]) if log_levels and np.ndim(lv) else None
    )  # colours spread over log levels
    cmap = mpl.colors.ListedColormap(
        mpl.colormaps[SEQUENTIAL_CMAP](np.linspace(0, 0.85, 128))
    )  # no pale yellow
    ax.contour(
        XX, YY, np.ma.masked_invalid(Z), levels=lv, cmap=cmap, norm=norm, linewidths=0.8
    )
    span = max(np.ptp(box[0]), np.ptp(box[1]))
    centre = np.array([box[0].mean(), box[1].mean()])
    for i, (label, p) in enumerate(checked.items()):
        # huge but finite points would overflow in the display transform: treat them as
        # divergence
        bad = ~np.all(np.isfinite(p), axis=1) | (
            np.abs(np.nan_to_num(p) - centre).max(axis=1) > 1e6 * span
        )
        k = int(np.flatnonzero(bad)[0]) if bad.any() else len(p)
        color = PALETTE[
            (i + 1) % len(PALETTE)
        ]  # vermillion first: it stands out against viridis
        name = f"{label} (diverged)" if k < len(p) else str(label)
        if k == 0:
            ax.plot([], [], color=color, label=name)
            continue
        ax.plot(p[:k, 0], p[:k, 1], marker=".", markersize=4, color=color, label=name)
        ax.plot(
            p[0, 0], p[0, 1], marker="o", markersize=7, color=color, linestyle="none"
        )
        ax.plot(
            p[k - 1, 0],
            p[k - 1, 1],
            marker="*" if k == len(p) else "x",
            markersize=11,
            markeredgewidth=2,
            color=color,
            linestyle="none",
        )
    ax.set_xlim(*box[0])
    ax.set_ylim(*box[1])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if checked:
        ax.legend(loc="best")
    return ax


def figure_to_png(fig, dpi=FIGURE_DPI, optimize=True, colors=96):
    """Render ``fig`` to compact PNG bytes and close it (encoded by
    :func:`rgba_to_png`).

    The explorers of every chapter use it for their frames (first in
    chapters/01_gradient_descent).
    """
    if not isinstance(fig, Figure):
        raise TypeError(
            f"figure_to_png: expected a matplotlib Figure, got {type(fig).__name__}"
        )
    dpi = check_positive_int(dpi, "dpi")
    _check_colors(colors)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    saved_dpi = fig.dpi
    # draw once into an RGBA buffer and encode that: no PNG encode/decode round trip
    try:
        fig.set_dpi(dpi)
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        return rgba_to_png(canvas.buffer_rgba(), optimize=optimize, colors=colors)
    finally:
        fig.set_dpi(saved_dpi)
        plt.close(fig)


def _check_colors(colors):
    if colors is not None:
        colors = check_positive_int(colors, "colors", minimum=2)
        if colors > 256:
            raise ValueError(
                f"a PNG palette holds at most 256 colours, got colors={colors}"
            )
    return colors


def rgba_to_png(rgba, optimize=True, colors=96):
    """PNG bytes of an RGBA image (an (H, W, 4) uint8 array, e.g. a canvas's
    ``buffer_rgba()``).

    The image is quantised to an adaptive palette of ``colors`` colours (no dithering,
    so flat areas stay flat) and saved with zlib ``optimize``: small frames to store in
    the book's pages. ``colors=None, optimize=False`` keeps full RGBA and uses the
    fastest zlib level (live redraws).

    The explorers of every chapter use it for their frames (first in
    chapters/01_gradient_descent).
    """
    from PIL import Image

    colors = _check_colors(colors)
    rgba = np.asarray(rgba)
    if (
        rgba.dtype != np.uint8
        or rgba.ndim != 3
        or rgba.shape[2] != 4
        or 0 in rgba.shape
    ):
        raise ValueError(
            f"rgba_to_png: expected an (H, W, 4) uint8 RGBA image, got {rgba.dtype} "
            f"array of shape {rgba.shape}"
        )
    img = Image.fromarray(np.ascontiguousarray(rgba))  # (H, W, 4) uint8 -> mode RGBA
    if colors is not None:
        img = img.convert("RGB").quantize(
            colors=colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
        )
    out = io.BytesIO()
    img.save(
        out, format="PNG", **({"optimize": True} if optimize else {"compress_level": 1})
    )
    return out.getvalue()
