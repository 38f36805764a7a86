"""Fast frames of one figure whose artists change: matplotlib blitting, for the
explorers.

Drawing a new matplotlib figure costs 60–400 ms on a small CPU, mostly for the axes:
ticks, tick labels, axis labels. An explorer whose axes stay put can draw them once.
:class:`BlitFrames` keeps one figure and a function ``update(**values)`` that changes
some of the figure's artists (lines, texts, legends, images, collections) and returns
them. The first frame renders everything except those artists (and whatever is drawn
above them: spines, titles, legends) into a cached *background*; each later frame
restores the background and draws only those artists on top of it, in matplotlib's
drawing order, so a frame has exactly the pixels of a full redraw (this is matplotlib's
"blitting", as in ``FuncAnimation(blit=True)``). The one exception: where the drawings
of two axes overlap (say a tick label reaching into the next panel), the overlap may be
drawn in another order.

The background is rendered again, automatically, whenever it may be out of date:

- ``update`` returned an artist it did not return before (it was part of the
  background), or no longer returns one that is still in the figure (it must now be
  drawn as part of the background);
- an axes' position, limits, scales, tick locators or formatters, axis labels or
  visibility changed, or axes were added or removed.

So ``update`` may change anything; it is fast when it changes only the artists it
returns.

Used by the explorers of every chapter (bookcode.display.widgets; first in
chapters/01_gradient_descent).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .._validate import check_callable, check_positive_int
from .plotting import rgba_to_png

__all__ = ["BlitFrames"]


def _layout_key(fig):
    """What the background depends on besides the artists' own state (compared with
    ``==``)."""
    key = [len(fig.axes)]
    for ax in fig.axes:
        key.append(
            (
                id(ax),
                ax.get_visible(),
                tuple(ax.get_position().bounds),
                tuple(ax.viewLim.bounds),
                ax.get_xscale(),
                ax.get_yscale(),
                ax.xaxis.label.get_text(),
                ax.yaxis.label.get_text(),
            )
        )
        for axis in (
            ax.xaxis,
            ax.yaxis,
        ):  # the ticks and their labels (set_xticks installs a new locator)
            major = axis.get_majorticklocs()
            key.extend(
                (
                    tuple(major),
                    tuple(axis.major.formatter.format_ticks(major)),
                    tuple(axis.get_minorticklocs()),
                )
            )
    return key


def _attached(artist, fig):
    """True if ``artist`` is still drawn as part of ``fig`` (a direct child of an axes
    or of the figure)."""
    parent = artist.axes if artist.axes is not None else fig
    return artist in parent.get_children()


def _draw_order(parent):
    """The children of an axes (or the figure's non-axes children) in the order
    matplotlib draws them."""
    if isinstance(
        parent, Figure
    ):  # its own artists (a suptitle, texts, legends) go above every axes
        children = [
            a
            for a in parent.get_children()
            if a is not parent.patch and a not in parent.axes
        ]
    else:
        children = [a for a in parent.get_children() if a is not parent.patch]
        if not (parent.axison and parent.get_frame_on()):
            children = [a for a in children if a not in parent.spines.values()]
        if not parent.axison:
            children = [a for a in children if a not in (parent.xaxis, parent.yaxis)]
    return sorted(children, key=lambda a: a.get_zorder())  # stable, as in Axes.draw


def _redrawn(fig, changed):
    """What each frame draws over the background: in every axes (then the figure), the
    changed artists and every artist above the lowest of them, in drawing order, so a
    frame has exactly a full redraw's pixels."""
    out = []
    for parent in [*fig.axes, fig]:
        order = _draw_order(parent)
        first = next((i for i, a in enumerate(order) if a in changed), len(order))
        out.extend(order[first:])
    return out


class BlitFrames:
    """PNG frames of ``fig`` after ``update(**values)``, drawn by blitting (see the
    module docstring).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure; it is closed in pyplot (so a notebook does not show it as well) and
        owned by this object from now on.
    update : callable
        ``update(**values)`` changes artists of ``fig`` and returns the list (or tuple)
        of those it changed; each must be a direct child of one of the figure's axes (a
        line, text, the title, a legend, a collection, an image) or of the figure itself
        (e.g. a suptitle).
    dpi : int, default 100
        Resolution of the frames.

    Used by the explorers of every chapter (first in chapters/01_gradient_descent).
    """

    def __init__(self, fig, update, dpi=100):
        if not isinstance(fig, Figure):
            raise TypeError(
                f"BlitFrames: fig must be a matplotlib Figure, got {type(fig).__name__}"
            )
        check_callable(
            update,
            "update (a function update(**values) -> list of changed artists)",
            where="BlitFrames",
        )
        self.fig, self.update, self.dpi = fig, update, check_positive_int(dpi, "dpi")
        plt.close(fig)
        fig.set_dpi(self.dpi)
        self.canvas = FigureCanvasAgg(fig)
        self.changed, self.redrawn, self.background, self.key = [], [], None, None
        self.full_renders = (
            0  # how many times the background was drawn (tests, benchmark)
        )

    def _changed_artists(self, values):
        out = self.update(**values)
        args = ", ".join(f"{k}={v!r}" for k, v in values.items())
        if isinstance(out, Figure) or not isinstance(out, (list, tuple)):
            raise TypeError(
                f"update({args}) must return the list of artists it changed (e.g. "
                f"[line, title]), got {type(out).__name__}"
            )
        for a in out:
            if not isinstance(a, Artist):
                raise TypeError(
                    f"update({args}) returned {a!r}, which is not a matplotlib artist"
                )
            if a.figure is not self.fig or not _attached(a, self.fig):
                raise ValueError(
                    f"update({args}) returned {a!r}, which is not a direct child of an "
                    "axes of this figure or of the figure (return the Legend, not one "
                    "of its texts)"
                )
        return list(dict.fromkeys(out))  # unique, in order

    def render(self, values, compact=False):
        """PNG bytes of the figure after ``update(**values)``; ``compact`` as in
        plotting.rgba_to_png."""
        changed = self._changed_artists(values)
        dropped = [
            a for a in self.changed if a not in changed and _attached(a, self.fig)
        ]
        if (
            self.background is None
            or dropped
            or any(a not in self.changed for a in changed)
            or _layout_key(self.fig) != self.key
        ):
            for a in self.redrawn:
                a.set_animated(False)
            self.changed, self.redrawn = changed, _redrawn(self.fig, changed)
            for a in self.redrawn:
                a.set_animated(True)
            self.canvas.draw()  # everything but the redrawn artists
            self.background = self.canvas.copy_from_bbox(self.fig.bbox)
            self.key = _layout_key(self.fig)
            self.full_renders += 1
        else:
            self.canvas.restore_region(self.background)
        for a in self.redrawn:
            (a.axes or self.fig).draw_artist(a)
        return rgba_to_png(
            self.canvas.buffer_rgba(), colors=96 if compact else None, optimize=compact
        )
