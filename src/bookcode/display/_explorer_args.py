"""Checks of the arguments of ``bookcode.display.widgets.explorer``: the grid, labels
and live ranges of its sliders.

Used by the explorers of every chapter (first in chapters/01_gradient_descent).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence

import ipywidgets as widgets
import numpy as np

from .._validate import check_positive_float

MAX_SLIDERS = 3
# 64 busy frames (~26 kB PNG, ~35 kB as base64 in the page) are ~2.3 MB: under 3 MB
MAX_FRAMES = 64


def label(value, name):
    """The text a slider shows for one grid value; also the identity used to spot
    duplicates."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        if not math.isfinite(value):
            raise ValueError(f"grid[{name!r}] values must be finite, got {value!r}")
        return f"{float(value):.6g}"
    raise TypeError(
        f"grid[{name!r}] values must be numbers or strings, got {value!r} "
        f"({type(value).__name__})"
    )


def check_grid(grid):
    if not isinstance(grid, Mapping):
        raise TypeError(
            "grid must be a dict name -> list of slider values, got "
            f"{type(grid).__name__}"
        )
    if not 1 <= len(grid) <= MAX_SLIDERS:
        raise ValueError(
            f"grid must have 1 to {MAX_SLIDERS} entries (one per slider), got "
            f"{len(grid)}"
        )
    out = {}
    for name, values in grid.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise TypeError(
                f"grid keys must be parameter names of draw (identifiers), got {name!r}"
            )
        if isinstance(values, (str, bytes)) or not isinstance(
            values, (Sequence, np.ndarray)
        ):
            raise TypeError(
                f"grid[{name!r}] must be a list of slider values, got "
                f"{type(values).__name__}"
            )
        values = [v.item() if isinstance(v, np.generic) else v for v in values]
        if not values:
            raise ValueError(
                f"grid[{name!r}] is empty; expected at least one slider value"
            )
        shown = [label(v, name) for v in values]
        if len(set(shown)) != len(shown):
            dup = sorted({s for s in shown if shown.count(s) > 1})
            raise ValueError(
                f"grid[{name!r}] has duplicate values (as shown on the slider): {dup}"
            )
        out[name] = values
    n_frames = math.prod(len(v) for v in out.values())
    if n_frames > MAX_FRAMES:
        shape = " x ".join(str(len(v)) for v in out.values())
        raise ValueError(
            f"grid has {n_frames} combinations ({shape}); at most {MAX_FRAMES} frames "
            "keep the static page small -- use fewer values (a live_ranges slider "
            "explores any value in a kernel)"
        )
    return out


def check_labels(labels, grid):
    labels = {} if labels is None else labels
    if not isinstance(labels, Mapping):
        raise TypeError(
            "labels must be a dict name -> slider description, got "
            f"{type(labels).__name__}"
        )
    for name, text in labels.items():
        if name not in grid:
            raise ValueError(
                f"labels has unknown name {name!r}; the grid's names are {list(grid)}"
            )
        if not isinstance(text, str):
            raise TypeError(
                f"labels[{name!r}] must be a string, got {type(text).__name__}"
            )
    return {name: labels.get(name, name) for name in grid}


def range_slider_args(name, spec, values):
    """Check ``live_ranges[name]``; return the slider class and its range arguments."""
    if not isinstance(spec, (tuple, list)) or len(spec) not in (3, 4):
        raise TypeError(
            f"live_ranges[{name!r}] must be (min, max, step) or (min, max, step, "
            f"'log'), got {spec!r}"
        )
    if len(spec) == 4 and spec[3] != "log":
        raise ValueError(
            f"live_ranges[{name!r}]: the 4th entry may only be 'log', got {spec[3]!r}"
        )
    lo, hi, step = spec[:3]
    for what, x in (("min", lo), ("max", hi)):
        if (
            isinstance(x, bool)
            or not isinstance(x, numbers.Real)
            or not math.isfinite(x)
        ):
            raise TypeError(
                f"live_ranges[{name!r}] {what} must be a finite number, got {x!r}"
            )
    check_positive_float(step, f"live_ranges[{name!r}] step")
    if not lo < hi:
        raise ValueError(
            f"live_ranges[{name!r}] needs min < max, got min={lo}, max={hi}"
        )
    if any(isinstance(v, (str, bool)) or not lo <= v <= hi for v in values):
        raise ValueError(
            f"grid[{name!r}] values must be numbers within live_ranges [{lo}, {hi}], "
            f"got {values}"
        )
    if len(spec) == 4:
        if lo <= 0:
            raise ValueError(
                f"live_ranges[{name!r}] is 'log', so min must be > 0, got {lo}"
            )
        return widgets.FloatLogSlider, dict(
            min=math.log10(lo), max=math.log10(hi), step=step
        )
    if all(isinstance(x, numbers.Integral) for x in (lo, hi, step, *values)):
        return widgets.IntSlider, dict(min=lo, max=hi, step=step)
    return widgets.FloatSlider, dict(min=lo, max=hi, step=step, readout_format=".3g")
