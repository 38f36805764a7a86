"""Explorers: one helper, :func:`explorer`, builds every slider explorer of the book.

An explorer shows the figure ``draw(**values)`` for the values chosen on one to three
sliders. The same notebook cell works in two modes:

- **live** (a kernel: Jupyter, Binder, nbval): moving a slider calls ``draw`` again and
  shows the new figure as PNG bytes in one ``ipywidgets.Image``;
- **static** (the built HTML book, no kernel): every combination of the grid values is
  drawn once, while the book is built, into an ``ipywidgets.Stack`` of ``Image`` frames;
  the slider switches frames in the browser through ``jslink`` (nested Stacks for two or
  three sliders).

The mode comes from the environment variable ``BOOKCODE_STATIC`` unless ``static=`` is
given: the book's build command sets ``BOOKCODE_STATIC=1``; everywhere else explorers
run live.
"""

from __future__ import annotations

import html
import math
import numbers
import os
import time
import weakref
from collections.abc import Mapping

import ipywidgets as widgets
import matplotlib.figure
import matplotlib.pyplot as plt
from tqdm.auto import tqdm

from .._validate import check_callable, check_positive_int
from ._explorer_args import (
    MAX_FRAMES,
    MAX_SLIDERS,
    check_grid,
    check_labels,
    label,
    range_slider_args,
)
from .blit import BlitFrames
from .plotting import FIGURE_DPI, check_legible, figure_to_png

__all__ = [
    "explorer",
    "Explorer",
    "instances",
    "static_from_env",
    "MAX_FRAMES",
    "MAX_SLIDERS",
    "STATIC_ENV",
]

STATIC_ENV = "BOOKCODE_STATIC"
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"", "0", "false", "no", "off"}


def static_from_env():
    """Return True if ``BOOKCODE_STATIC`` asks for static explorers ("1"), False if
    unset or "0".

    The book build sets it (see chapters/01_gradient_descent, the first explorer).
    """
    raw = os.environ.get(STATIC_ENV, "").strip().lower()
    if raw not in _TRUE | _FALSE:
        raise ValueError(
            f"environment variable {STATIC_ENV} must be '1' (static) or '0'/unset "
            f"(live), got {raw!r}"
        )
    return raw in _TRUE


def _where(values):
    args = ", ".join(f"{k}={v!r}" for k, v in values.items())
    return f"explorer frame draw({args})"


def _render(draw, values, dpi, compact=True, check=True):
    """PNG bytes of ``draw(**values)``; the figure is closed afterwards.

    ``compact`` quantises the colours (small frames for the built page); a live redraw
    skips that to be fast. ``check``: refuse a frame that cannot be read at the size it
    is shown (``plotting.check_legible``).
    """
    fig = draw(**values)
    if not isinstance(fig, matplotlib.figure.Figure):
        if isinstance(getattr(fig, "figure", None), matplotlib.figure.Figure):
            plt.close(fig.figure)
        args = ", ".join(f"{k}={v!r}" for k, v in values.items())
        raise TypeError(
            f"draw({args}) must return a matplotlib.figure.Figure, got "
            f"{type(fig).__name__} (end draw with `return fig`, e.g. after `fig, ax = "
            "plt.subplots()`)"
        )
    try:
        png = (
            figure_to_png(fig, dpi=dpi)
            if compact
            else figure_to_png(fig, dpi=dpi, colors=None, optimize=False)
        )
        if check:  # measured on the drawing just made: no second draw
            check_legible(fig, _where(values), cropped=False, drawn=True)
        return png
    finally:
        plt.close(fig)


class _Progress:
    """A tqdm.auto bar that appears only once precomputing has taken more than ``delay``
    seconds.

    The bar is created lazily (``tqdm(delay=...)`` would create its notebook widget at
    once and so store it in the page), and never while the book is built
    (``BOOKCODE_STATIC`` set): a bar drawn then would be frozen into the built page.
    """

    def __init__(self, total, delay=2.0):
        self.total, self.delay, self.done, self.bar = total, delay, 0, None
        self.start = time.perf_counter()
        self.enabled = STATIC_ENV not in os.environ

    def step(self):
        self.done += 1
        if self.bar is not None:
            self.bar.update()
        elif (
            self.enabled
            and self.done < self.total
            and time.perf_counter() - self.start > self.delay
        ):
            self.bar = tqdm(
                total=self.total,
                initial=self.done,
                desc="explorer: precomputing frames",
                leave=False,
            )

    def close(self):
        if self.bar is not None:
            self.bar.close()


_INSTANCES = []  # weak references to every Explorer created in this process


def instances():
    """The explorers created in this kernel so far, oldest first (used by the benchmark
    to time updates).

    Explorers: see chapters/01_gradient_descent (the first explorer).
    """
    alive = [ref() for ref in _INSTANCES]
    return [e for e in alive if e is not None]


class Explorer(widgets.VBox):
    """The widget returned by :func:`explorer`: sliders, then the figure (see there).

    Attributes
    ----------
    static : bool
        True if the frames were precomputed (``stack`` is set), False if live (``image``
        is set).
    sliders : dict of str to ipywidgets slider
        One slider per grid name, in grid order.
    image : ipywidgets.Image or None
        Live mode: the image redrawn on every change.
    stack : ipywidgets.Stack or None
        Static mode: the outer Stack; with two or three sliders its children are Stacks
        too.
    links : list of ipywidgets.Link
        Static mode: the jslinks from each slider's ``index`` to the Stacks of its
        level.
    """

    def __init__(self, draw, grid, sliders, *, static, dpi, note, figure=None):
        super().__init__()
        self.draw, self.grid, self.sliders, self.static, self.dpi = (
            draw,
            grid,
            sliders,
            static,
            dpi,
        )
        self.frames = None if figure is None else BlitFrames(figure, draw, dpi)
        self._checked = False
        self.image, self.error, self.stack, self.links, self._holding = (
            None,
            None,
            None,
            [],
            False,
        )
        body = self._build_static(note) if static else self._build_live()
        self.children = [*sliders.values(), *body]
        _INSTANCES.append(weakref.ref(self))

    def _frame(self, values, compact):
        """PNG bytes for ``values``: redraw only the changed artists (``figure=``) or a
        new figure. Every precomputed frame and the first live one are checked for
        legibility (``plotting.check_legible``); later live redraws skip it to be
        fast."""
        check, self._checked = compact or not self._checked, True
        if self.frames is None:
            return _render(self.draw, values, self.dpi, compact=compact, check=check)
        png = self.frames.render(values, compact=compact)
        if check:
            check_legible(self.frames.fig, _where(values), cropped=False, drawn=True)
        return png

    @property
    def values(self):
        """The values currently selected on the sliders, as a dict name -> value."""
        return {name: s.value for name, s in self.sliders.items()}

    def _build_live(self):
        self.image = widgets.Image(
            value=self._frame(self.values, compact=False),
            format="png",
            layout=widgets.Layout(max_width="100%", height="auto"),
        )
        self.error = widgets.HTML()
        for slider in self.sliders.values():
            slider.observe(self._on_change, names="value")
        return [self.image, self.error]

    def _on_change(self, change):
        if self._holding:
            return
        try:
            self.image.value = self._frame(self.values, compact=False)
            self.error.value = ""
        # shown to the reader: errors in widget callbacks are otherwise invisible
        except Exception as exc:
            message = html.escape(f"{type(exc).__name__}: {exc}")
            self.error.value = f"<pre style='color:#b00'>{message}</pre>"

    def _build_static(self, note):
        names = list(self.grid)
        n_frames = math.prod(len(v) for v in self.grid.values())
        image_layout = widgets.Layout(
            max_width="100%", height="auto"
        )  # one Layout model for all frames
        stack_layout = widgets.Layout()
        progress = _Progress(n_frames)

        def frames(level, fixed):
            name, children = names[level], []
            for value in self.grid[name]:
                values = {**fixed, name: value}
                if level + 1 < len(names):
                    children.append(frames(level + 1, values))
                else:
                    png = self._frame(values, compact=True)
                    children.append(
                        widgets.Image(value=png, format="png", layout=image_layout)
                    )
                    progress.step()
            stack = widgets.Stack(
                children=children, selected_index=0, layout=stack_layout
            )
            self.links.append(
                widgets.jslink((self.sliders[name], "index"), (stack, "selected_index"))
            )
            return stack

        try:
            self.stack = frames(0, {})
        finally:
            progress.close()
        if not note:
            return [self.stack]
        if isinstance(note, str):
            return [
                widgets.HTML(f"<small><i>{html.escape(note)}</i></small>"),
                self.stack,
            ]
        shape = " \u00d7 ".join(str(len(v)) for v in self.grid.values())
        what = (
            f"{n_frames} values"
            if len(names) == 1
            else f"{n_frames} combinations of values ({shape})"
        )
        text = (
            f"Precomputed frames for {what}; run this notebook live (Binder/Jupyter) "
            "to explore any value."
        )
        return [widgets.HTML(f"<small><i>{text}</i></small>"), self.stack]

    def _index(self, name, value):
        """Index of ``value`` on a grid slider, or None for a range slider; raise if not
        allowed."""
        slider = self.sliders[name]
        if isinstance(slider, widgets.SelectionSlider):
            shown = [label(v, name) for v in self.grid[name]]
            if isinstance(value, (str, numbers.Real)) and label(value, name) in shown:
                return shown.index(label(value, name))
            raise ValueError(
                f"{name}={value!r} is not one of the grid values {self.grid[name]}"
            )
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
        if ok and isinstance(slider, widgets.FloatLogSlider):
            ok, value = value > 0, math.log10(value) if value > 0 else value
        if not (ok and slider.min <= value <= slider.max):
            raise ValueError(f"{name}={value!r} is outside the slider's range")
        return None

    def update(self, **values):
        """Set sliders programmatically and show the matching figure (for tests and
        benchmarks).

        Live mode redraws once (errors from ``draw`` propagate); static mode selects the
        matching precomputed frame in the Python-side Stacks too (in the browser the
        jslinks do that).
        """
        unknown = set(values) - set(self.sliders)
        if unknown:
            raise ValueError(
                f"update() got unknown name(s) {sorted(unknown)}; the sliders are "
                f"{list(self.sliders)}"
            )
        indices = {
            name: self._index(name, value) for name, value in values.items()
        }  # check all first
        self._holding = True
        try:
            for name, value in values.items():
                if indices[name] is None:
                    self.sliders[name].value = value
                else:
                    self.sliders[name].index = indices[name]
        finally:
            self._holding = False
        if self.static:
            level = [self.stack]
            for slider in self.sliders.values():
                for stack in level:
                    stack.selected_index = slider.index
                level = [child for stack in level for child in stack.children]
        else:
            self.image.value = self._frame(self.values, compact=False)
            self.error.value = ""
        return self

    def __repr__(self):
        mode = "static" if self.static else "live"
        draw = getattr(self.draw, "__name__", self.draw)
        return f"Explorer({mode}, draw={draw!r}, values={self.values})"


def explorer(
    draw,
    grid,
    *,
    labels=None,
    static=None,
    live_ranges=None,
    dpi=FIGURE_DPI,
    note=True,
    figure=None,
):
    """Build a slider explorer of ``draw(**values)`` that works live in a kernel and in
    the static book.

    Parameters
    ----------
    draw : callable
        Without ``figure``: ``draw(**values) -> matplotlib.figure.Figure``, a new figure
        per call; the explorer converts it to PNG
        (``bookcode.display.plotting.figure_to_png``) and closes it. With ``figure``:
        ``draw(**values)`` changes artists of that figure (``line.set_data``,
        ``title.set_text``, ...) and returns the list of the artists it changed.
    grid : dict of str to sequence
        One to three entries ``name -> slider values`` (numbers or strings, distinct);
        the first value of each is shown first. At most ``MAX_FRAMES`` (64) combinations
        in all.
    labels : dict of str to str, optional
        Slider descriptions, e.g. ``{"eta": "η (learning rate)"}``; default: the names.
    static : bool or None, default None
        True: precompute every combination (for the built HTML, no kernel needed).
        False: live. None: static if the environment variable ``BOOKCODE_STATIC`` is "1"
        (the book's build command sets it; nbval, Binder and Jupyter run live).
    live_ranges : dict of str to tuple, optional
        Live mode only: ``name -> (min, max, step)`` gives an ``IntSlider`` (all
        integers) or a ``FloatSlider``; ``(min, max, step, "log")`` a ``FloatLogSlider``
        over [min, max] whose step is in decades. These redraw for any value; other
        names get a ``SelectionSlider`` over the grid.
    dpi : int, default 100 (``plotting.FIGURE_DPI``)
        Resolution of the PNG frames. At 100 dpi a frame is shown at its drawn size in
        the page column, so every frame must be legible there: at most
        ``plotting.HOUSE_WIDTH`` inches wide, nothing drawn outside it, no text under
        ``plotting.MIN_FONT`` points (a ValueError names what is not).
    note : bool or str, default True
        Static mode: show a line saying how many frames were precomputed and how to
        explore live; a str is shown instead of that line (for an explorer whose frames
        are precomputed live too).
    figure : matplotlib.figure.Figure, optional
        One figure for every frame, owned by the explorer from now on: only the artists
        ``draw`` returns are redrawn, over a cached rendering of the rest
        (``bookcode.display.blit.BlitFrames``). A few ms per frame instead of 60-400 ms
        for a new figure; the cache is renewed when the axes' limits, scales, ticks or
        labels change.

    Returns
    -------
    Explorer
        An ``ipywidgets.VBox`` with ``.sliders``, ``.image`` (live) or ``.stack``
        (static) and ``.update(**values)`` to move the sliders from code.

    Notes
    -----
    Live: sliders redraw on release (``continuous_update=False``); ``draw`` errors are
    shown under the figure. Static: nested ``Stack``\\ s of ``Image`` frames whose
    ``selected_index`` is ``jslink``-ed to each ``SelectionSlider.index``, embedded in
    the page by myst-nb's widget state.

    Used by the explorers of every chapter; see chapters/01_gradient_descent (the first
    explorer).
    """
    check_callable(draw, "draw (a function draw(**values) -> Figure)", where="explorer")
    grid = check_grid(grid)
    descriptions = check_labels(labels, grid)
    if static is None:
        static = static_from_env()
    elif not isinstance(static, bool):
        raise TypeError(
            f"static must be True, False or None (from ${STATIC_ENV}), got {static!r}"
        )
    live_ranges = {} if live_ranges is None else live_ranges
    if not isinstance(live_ranges, Mapping):
        raise TypeError(
            "live_ranges must be a dict name -> (min, max, step[, 'log']), got "
            f"{type(live_ranges).__name__}"
        )
    for name in live_ranges:
        if name not in grid:
            raise ValueError(
                f"live_ranges has unknown name {name!r}; the grid's names are "
                f"{list(grid)}"
            )
    dpi = check_positive_int(dpi, "dpi")
    if not isinstance(note, (bool, str)):
        raise TypeError(f"note must be True, False or a str, got {note!r}")
    if figure is not None and not isinstance(figure, matplotlib.figure.Figure):
        raise TypeError(
            "figure must be a matplotlib Figure (the one draw updates) or None, got "
            f"{type(figure).__name__}"
        )

    ranges = {
        name: range_slider_args(name, spec, grid[name])
        for name, spec in live_ranges.items()
    }

    sliders = {}
    for name, values in grid.items():
        kw = dict(
            value=values[0],
            description=descriptions[name],
            continuous_update=static,
            style={"description_width": "initial"},
        )
        if name in ranges and not static:
            cls, range_kw = ranges[name]
            sliders[name] = cls(**range_kw, **kw)
        else:
            sliders[name] = widgets.SelectionSlider(
                options=[(label(v, name), v) for v in values], **kw
            )
    return Explorer(
        draw, grid, sliders, static=static, dpi=dpi, note=note, figure=figure
    )
