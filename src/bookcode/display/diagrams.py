"""Schematic diagrams, drawn in code like every other figure of the book.

Each function returns a matplotlib Figure at the page column's width
(``plotting.HOUSE_WIDTH``) with text of at least ``plotting.MIN_FONT`` points, in one
style: rounded boxes for operations, plain labels for arrays, solid arrows for the
forward pass, dashed arrows for the backward pass, grey for what a layer caches.

- :func:`layer_protocol`: one layer's ``forward`` and ``backward`` with its cache
  (chapter 3);
- :func:`batchnorm_flow`: the data flow of a batch-normalisation layer, forward and
  backward (chapter 8);
- :func:`residual_blocks`: the original ("post-activation") and the pre-activation
  residual block side by side (chapter 9);
- :func:`lstm_cell`: one step of an LSTM cell, the cell state an additive highway
  forward and backward (chapter 11).
"""

from __future__ import annotations

from .plotting import HOUSE_WIDTH, PALETTE

__all__ = ["layer_protocol", "batchnorm_flow", "residual_blocks", "lstm_cell"]

FORWARD = "#222222"
BACKWARD = PALETTE[1]
CACHE = "#8a8a8a"
OP_FACE = "#eef3fb"
FONT = 10


def _canvas(height, ncols=1):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        1, ncols, figsize=(HOUSE_WIDTH, height), layout="none", squeeze=False
    )
    fig.subplots_adjust(left=0.01, right=0.99, top=0.93, bottom=0.02, wspace=0.05)
    for ax in axes[0]:
        ax.set_xlim(0, 10)
        ax.set_ylim(0, 10)
        ax.axis("off")
    return fig, list(axes[0])


def _box(ax, x, y, text, w=3.6, h=0.8, face=OP_FACE, edge=FORWARD, size=FONT):
    """A rounded box centred at (x, y); returns its (left, right, bottom, top)."""
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(
        FancyBboxPatch(
            (x - w / 2, y - h / 2),
            w,
            h,
            boxstyle="round,pad=0.02,rounding_size=0.25",
            facecolor=face,
            edgecolor=edge,
            linewidth=1.2,
        )
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=size)
    return (x - w / 2, x + w / 2, y - h / 2, y + h / 2)


def _label(ax, x, y, text, color=FORWARD, size=FONT, **kw):
    kw = {"ha": "center", "va": "center", **kw}
    ax.text(x, y, text, fontsize=size, color=color, **kw)


def _arrow(ax, start, end, color=FORWARD, dashed=False, text=None, side=0.25, **kw):
    """An arrow from ``start`` to ``end``; ``text`` beside its middle."""
    ax.annotate(
        "",
        xy=end,
        xytext=start,
        arrowprops=dict(
            arrowstyle="-|>",
            color=color,
            lw=1.3,
            ls=(0, (4, 2)) if dashed else "-",
            shrinkA=2,
            shrinkB=2,
            **kw,
        ),
    )
    if text:
        mx, my = (start[0] + end[0]) / 2, (start[1] + end[1]) / 2
        _label(ax, mx + side, my, text, color=color, ha="left")


def layer_protocol():
    """The Layer protocol for a linear layer: ``forward(X)`` returns ``Y`` and keeps
    ``X``; ``backward(dY)`` returns ``dX`` and fills ``grads``.

    Used in chapters/03_backprop (the Layer protocol).
    """
    fig, (ax,) = _canvas(3.4)
    ax.set_title("one layer, two passes: Linear (W, b)", fontsize=11)
    # forward, left to right along the top
    _label(ax, 0.8, 7.4, r"$X$")
    _box(ax, 5.0, 7.4, r"forward:  $Y = XW + b$", w=4.6)
    _label(ax, 9.2, 7.4, r"$Y$")
    _arrow(ax, (1.2, 7.4), (2.65, 7.4))
    _arrow(ax, (7.35, 7.4), (8.8, 7.4))
    # the cache in the middle
    _box(ax, 5.0, 4.6, r"cache: $X$", w=2.6, h=0.7, face="white", edge=CACHE)
    _arrow(ax, (1.6, 7.2), (3.7, 4.75), color=CACHE, connectionstyle="arc3,rad=0.2")
    _arrow(ax, (5.0, 4.22), (5.0, 2.6), color=CACHE)
    # backward, right to left along the bottom
    _label(ax, 9.2, 1.9, r"$\partial E/\partial Y$", color=BACKWARD)
    _box(
        ax,
        5.0,
        1.9,
        r"backward:  $\partial E/\partial X = (\partial E/\partial Y)\, W^\top$",
        w=4.9,
        edge=BACKWARD,
    )
    _label(ax, 0.8, 1.9, r"$\partial E/\partial X$", color=BACKWARD)
    _arrow(ax, (8.5, 1.9), (7.5, 1.9), color=BACKWARD, dashed=True)
    _arrow(ax, (2.5, 1.9), (1.55, 1.9), color=BACKWARD, dashed=True)
    _label(
        ax,
        5.0,
        0.45,
        r"and fills grads: $\partial E/\partial W = X^\top (\partial E/\partial Y)$,"
        r"  $\partial E/\partial b$ = column sums of $\partial E/\partial Y$",
        color=BACKWARD,
    )
    return fig


def batchnorm_flow():
    """A batch-normalisation layer: the forward pass (solid) and the backward pass
    (dashed), with the statistics of the batch in the middle.

    Used in chapters/08_batchnorm (the batch-normalizing transform).
    """
    fig, (ax,) = _canvas(4.2)
    ax.set_title("batch normalization of one feature over a mini-batch", fontsize=11)
    ys = [8.6, 6.2, 3.8, 1.4]
    _label(ax, 1.3, ys[0], r"batch $x_1, \dots, x_N$")
    _box(ax, 1.3, ys[1], r"$\mu_B,\ \sigma_B^2$", w=2.2)
    _box(
        ax,
        1.5,
        ys[2],
        r"$\hat x_i = (x_i - \mu_B)\,/\sqrt{\sigma_B^2 + \epsilon}$",
        w=2.9,
    )
    _box(ax, 1.3, ys[3], r"$y_i = \gamma \hat x_i + \beta$", w=2.4)
    for a, b in zip(ys, ys[1:]):
        _arrow(ax, (1.3, a - 0.5), (1.3, b + 0.6))
    _arrow(
        ax,
        (2.6, ys[0] - 0.3),
        (2.6, ys[2] + 0.45),
        color=FORWARD,
        connectionstyle="arc3,rad=-0.25",
    )  # every example also feeds the normalisation itself
    # backward on the right
    x = 7.4
    _label(ax, x, ys[3], r"$\partial E/\partial y_i$", color=BACKWARD)
    _box(
        ax,
        x,
        ys[2],
        r"$\partial E/\partial\gamma,\ \partial E/\partial\beta$",
        w=3.2,
        edge=BACKWARD,
    )
    _box(
        ax,
        x,
        ys[1],
        "project out the mean and\n" r"the $\hat x$ direction, then scale",
        w=4.2,
        h=1.1,
        edge=BACKWARD,
    )
    _label(
        ax,
        x,
        ys[0],
        r"$\partial E/\partial x_i$: each depends" "\n" "on the whole batch",
        color=BACKWARD,
    )
    for a, b in zip(ys[::-1], ys[::-1][1:]):
        _arrow(ax, (x, a + 0.45), (x, b - 0.6), color=BACKWARD, dashed=True)
    _box(
        ax,
        4.4,
        5.0,
        r"cache: $\hat x,\ \sigma_B$",
        w=2.2,
        h=0.7,
        face="white",
        edge=CACHE,
    )
    _arrow(ax, (3.0, ys[2] + 0.2), (3.5, 4.6), color=CACHE)
    _arrow(ax, (5.5, 5.0), (5.9, 5.6), color=CACHE)
    return fig


def residual_blocks():
    """The original residual block (He et al. 2016a, addition before the last ReLU)
    and the pre-activation block (He et al. 2016b, normalisation and ReLU inside the
    branch, nothing after the addition), side by side.

    Used in chapters/09_residual (the residual block).
    """
    from matplotlib.patches import Circle

    fig, axes = _canvas(4.8, ncols=2)
    stacks = {
        "original (post-activation)": (
            ["weight", "BN", "ReLU", "weight", "BN"],
            "ReLU",
        ),
        "pre-activation": (["BN", "ReLU", "weight", "BN", "ReLU", "weight"], None),
    }
    for ax, (title, (branch, after)) in zip(axes, stacks.items()):
        ax.set_title(title, fontsize=11)
        top, step = 9.2, 1.0
        _label(ax, 5.0, top, r"$x_l$")
        y = top - 0.9
        centres = []
        for name in branch:
            _box(ax, 4.0, y, name, w=2.6, h=0.62)
            centres.append(y)
            y -= step
        for a, b in zip([top] + centres, centres):
            _arrow(ax, (4.0, a - 0.3 if a == top else a - 0.31), (4.0, b + 0.31))
        add_y = y - 0.1
        ax.add_patch(
            Circle((5.0, add_y), 0.3, facecolor="white", edgecolor=FORWARD, lw=1.2)
        )
        _label(ax, 5.0, add_y, "+")
        _arrow(ax, (4.0, centres[-1] - 0.31), (4.8, add_y + 0.2))
        # identity path on the right
        ax.plot([5.25, 7.6, 7.6], [top, top, add_y], color=PALETTE[2], lw=1.6)
        _arrow(ax, (7.6, add_y), (5.3, add_y), color=PALETTE[2])
        _label(ax, 8.45, (top + add_y) / 2, "identity", color=PALETTE[2], rotation=90)
        end = add_y - 1.0
        if after:
            _box(ax, 5.0, end, after, w=2.6, h=0.62)
            _arrow(ax, (5.0, add_y - 0.3), (5.0, end + 0.31))
            _arrow(ax, (5.0, end - 0.31), (5.0, end - 0.9))
            _label(ax, 5.0, end - 1.2, r"$x_{l+1}$")
        else:
            _arrow(ax, (5.0, add_y - 0.3), (5.0, end - 0.2))
            _label(ax, 5.0, end - 0.5, r"$x_{l+1} = x_l + F(x_l)$")
    return fig


def _node(ax, x, y, text, r=0.3, color=FORWARD):
    """A round operation node (``+``, ``⊙``) of radius ``r`` in x units at (x, y)."""
    from matplotlib.patches import Ellipse

    w, h = ax.get_position().size * ax.figure.get_size_inches()
    ax.add_patch(
        Ellipse((x, y), 2 * r, 2 * r * w / h, fc="white", ec=color, lw=1.2, zorder=3)
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=FONT, zorder=4)
    return r * w / h  # the radius in y units


def lstm_cell():
    """One step of an LSTM cell: the cell state ``c`` runs along the top, touched only
    by the forget gate (``⊙ f``) and the addition of ``i ⊙ g``; the gates come from
    ``h_{t-1}`` and ``x_t`` below; ``h_t = o ⊙ tanh(c_t)`` leaves on the right. The
    dashed arrow is the gradient's way back along the cell state,
    ``∂E/∂c_{t-1} = ∂E/∂c_t ∘ f_t + …``.

    Used in chapters/11_recurrent (the LSTM cell, fig-lstm-cell).
    """
    fig, (ax,) = _canvas(4.0)
    ax.set_title("one LSTM step: the cell state is an additive highway", fontsize=11)
    top, gates, bus = 8.0, 4.4, 2.2
    xf, xi, xg, xo, xt = 2.4, 3.7, 4.9, 6.2, 7.7
    ry = _node(ax, xf, top, r"$\odot$")
    _node(ax, xg, top, "+")
    # the highway: c_{t-1} to c_t in a straight line
    _label(ax, 0.55, top, r"$c_{t-1}$")
    _label(ax, 9.45, top, r"$c_t$")
    hw = dict(color=PALETTE[2], lw=2.2)
    for a, b in [(1.0, xf - 0.3), (xf + 0.3, xg - 0.3), (xg + 0.3, 9.0)]:
        ax.annotate("", (b, top), (a, top), arrowprops=dict(arrowstyle="-|>", **hw))
    _label(ax, 6.2, top + 0.5, "cell state", color=PALETTE[2])
    _arrow(ax, (9.0, 9.0), (1.0, 9.0), color=BACKWARD, dashed=True)
    _label(
        ax,
        5.0,
        9.6,
        r"$\partial E/\partial c_{t-1} = \partial E/\partial c_t \circ f_t + \dots$",
        color=BACKWARD,
    )
    # the inputs and the four gates
    _label(ax, 0.55, bus, r"$h_{t-1}$")
    _label(ax, 1.5, 0.45, r"$x_t$")
    ax.plot([1.0, xo], [bus, bus], color=FORWARD, lw=1.3)
    _arrow(ax, (1.5, 0.8), (1.5, bus))
    _label(ax, 2.3, 1.2, r"$z_t = x_t W_x + h_{t-1} W_h + b$", ha="left")
    for x, f in [(xf, r"$\sigma$"), (xi, r"$\sigma$"), (xg, "tanh"), (xo, r"$\sigma$")]:
        _box(ax, x, gates, f, w=1.0, h=0.8)
        _arrow(ax, (x, bus), (x, gates - 0.4))
    mid = 6.2
    _node(ax, xg, mid, r"$\odot$")
    _arrow(ax, (xf, gates + 0.4), (xf, top - ry), text=r"$f_t$", side=0.12)
    _label(ax, xf - 0.15, mid, "forget\ngate", ha="right")
    _arrow(ax, (xi, gates + 0.4), (xg - 0.3, mid), text=r"$i_t$", side=-0.6)
    _arrow(ax, (xg, gates + 0.4), (xg, mid - ry), text=r"$g_t$", side=0.12)
    _arrow(ax, (xg, mid + ry), (xg, top - ry))
    # the output h_t = o ⊙ tanh(c_t)
    _box(ax, xt, mid, "tanh", w=1.0, h=0.8)
    _arrow(ax, (xt, top), (xt, mid + 0.4))
    _node(ax, xt, gates, r"$\odot$")
    _arrow(ax, (xt, mid - 0.4), (xt, gates + ry))
    _arrow(ax, (xo + 0.5, gates), (xt - 0.3, gates))
    _label(ax, (xo + xt) / 2 + 0.1, gates + 0.45, r"$o_t$")
    _arrow(ax, (xt + 0.3, gates), (9.0, gates))
    _label(ax, 9.45, gates, r"$h_t$")
    return fig
