"""The monitor panel: the four training monitors of a run side by side (chapter 10).

It draws what :func:`bookcode.train.train` records in a
:class:`~bookcode.train.History`; the numbers (update:data ratios, gradient spread, the
rule of thumb) are :mod:`bookcode.monitor`'s.
"""

from __future__ import annotations

import numpy as np

from .._validate import check_positive_float
from ..monitor import RULE_OF_THUMB, _check_history, gradient_spread

__all__ = ["monitor_panel"]

_MONITORS = ("loss", "gradients", "updates", "units")


def _epoch_rows(rows, epochs):
    return {
        f"epoch {e}": np.asarray(rows[e], dtype=float)
        for e in epochs
        if e < len(rows)
        and len(rows[e])
        and np.any(np.isfinite(np.asarray(rows[e], dtype=float)))
    }


def monitor_panel(
    history,
    *,
    monitors=_MONITORS,
    title=None,
    target_ratio=RULE_OF_THUMB,
    nonfinite=None,
    axes=None,
):
    """The training monitors of a run side by side; returns the figure.

    Panels (any subset, in this order of ``monitors``): ``"loss"`` (training and
    validation loss per epoch, log scale), ``"gradients"`` (‖∂E/∂W^l‖ per layer at
    initialisation and at the end), ``"updates"`` (update:data ratio per layer in the
    first and last epoch, with the rule-of-thumb line ``target_ratio``), ``"units"``
    (fractions of saturated and dead units per layer at the end).

    Parameters
    ----------
    history : bookcode.train.History
    monitors : sequence of str
    title : str, optional
        Figure title.
    target_ratio : float
        Where to draw the rule-of-thumb line of the update panel.
    nonfinite : bookcode.diagnostics.NonFiniteReport, optional
        Printed on the loss panel (where the first NaN/inf came from).
    axes : sequence of matplotlib Axes, optional
        One per monitor; a new figure (one row) if ``None``.

    Implements the monitor panel of chapters/10_diagnosis (eqs. dx-update-ratio and
    dx-grad-spread).
    """

    from . import plotting

    h = _check_history(history, "monitor_panel")
    if isinstance(monitors, str) or not monitors:
        raise TypeError(
            "monitor_panel: monitors must be a non-empty sequence drawn from "
            f"{_MONITORS}, got {monitors!r}"
        )
    bad = [m for m in monitors if m not in _MONITORS]
    if bad or len(set(monitors)) != len(monitors):
        raise ValueError(
            f"monitor_panel: monitors must be distinct names from {_MONITORS}, got "
            f"{list(monitors)}"
        )
    target_ratio = check_positive_float(target_ratio, "target_ratio")
    if axes is None:
        n = len(monitors)  # two monitors in a row: the book's column is 6.6 in wide
        fig, axes = plotting._panel_grid(
            n,
            per_row=2,
            row_height=2.9,
            width=plotting.HOUSE_WIDTH * (0.55 if n == 1 else 1),
        )
        axes = list(axes)
    else:
        axes = list(np.ravel(np.asarray(axes, dtype=object)))
        if len(axes) != len(monitors):
            raise ValueError(
                f"monitor_panel: expected {len(monitors)} Axes (one per monitor), got "
                f"{len(axes)}"
            )
        fig = axes[0].figure
    last = len(h.epoch) - 1
    for ax, name in zip(axes, monitors):
        if name == "loss":
            curves = {"training": h.loss}
            if h.val_loss:
                curves["validation"] = h.val_loss
            plotting.plot_curves(curves, ylabel="loss E", logy=True, ax=ax)
            finite = np.array(
                [v for c in curves.values() for v in c if np.isfinite(v) and v > 0]
            )
            if (
                finite.size and finite.max() < 1.5 * finite.min()
            ):  # a near-constant loss: show a decade around it
                ax.set_ylim(finite.min() / 3, finite.max() * 3)
            elif (
                finite.size and finite.max() > 1e100
            ):  # an overflowing run: matplotlib's ticks would reach inf
                lo, hi = (
                    np.floor(np.log10(finite.min())),
                    min(np.floor(np.log10(finite.max())) + 1, 307),
                )
                ax.set_ylim(10.0**lo, 10.0**hi)
                ax.set_yticks(10.0 ** np.unique(np.linspace(lo, hi, 5).round()))
                ax.minorticks_off()
            for line in (
                ax.lines
            ):  # dots per epoch, so that a run of one or two epochs is visible too
                if line.get_marker() in ("None", None, ""):
                    line.set_marker("o")
                    line.set_markersize(3)
            if nonfinite is not None:
                ax.text(
                    0.02,
                    0.98,
                    f"first NaN/inf: {nonfinite.phase} "
                    f"pass,\nnet.layers[{nonfinite.layer_index}]",
                    transform=ax.transAxes,
                    va="top",
                    fontsize="small",
                    color=plotting.PALETTE[1],
                )
        elif name == "gradients":
            rows = _epoch_rows(h.grad_norms, sorted({0, last}))
            if rows:
                plotting.plot_per_layer(
                    rows,
                    r"$\|\partial E/\partial W^l\|$",
                    logy=True,
                    ax=ax,
                    kind="line",
                )
            ax.set_title(
                f"gradient spread $10^{{{gradient_spread(h.grad_norms[0]):.1f}}}$ at "
                "init",
                fontsize="small",
            )
        elif name == "updates":
            rows = _epoch_rows(h.update_ratios, sorted({min(1, last), last}))
            if rows:
                plotting.plot_per_layer(
                    rows,
                    r"update:data $\|\Delta W\|/\|W\|$",
                    logy=True,
                    ax=ax,
                    kind="line",
                )
            ax.axhline(target_ratio, color="gray", ls="--", lw=1)
            ax.text(
                0.02,  # at the input end: the output layers' points are at the right
                target_ratio,
                f"{target_ratio:g}",
                transform=ax.get_yaxis_transform(),
                ha="left",
                va="bottom",
                fontsize="small",
                color="gray",
            )
            if not rows:
                ax.text(
                    0.5, 0.5, "no update recorded", transform=ax.transAxes, ha="center"
                )
        else:
            units = {
                "saturated": np.nan_to_num(
                    np.asarray(h.act_saturated[last], dtype=float)
                ),
                "dead": np.nan_to_num(np.asarray(h.act_dead[last], dtype=float)),
            }
            plotting.plot_per_layer(
                units, f"fraction of units (epoch {h.epoch[last]})", logy=False, ax=ax
            )
            ax.legend(loc="upper center")
            ax.set_ylim(0, 1.05)
    if title:
        fig.suptitle(title, fontsize="medium")
    return fig
