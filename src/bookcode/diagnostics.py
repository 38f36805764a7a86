"""Per-layer monitors and a finite-value guard.

The questions a practitioner asks of a network that does not train — do the activations
saturate, are ReLUs dead, which layer's gradient vanishes, how big are the updates
relative to the weights, where did the NaN come from — each answered by one function
here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validate import as_batch

__all__ = [
    "weight_keys",
    "activation_stats",
    "gradient_norms",
    "NonFiniteReport",
    "find_nonfinite",
]

#: An output within this fraction of the activation's range from a bound counts as
#: saturated.
SATURATION_TOL = 0.02


def _layers(net):
    if not hasattr(net, "layers"):
        raise TypeError(
            "expected a network with .layers (e.g. bookcode.network.Sequential), got "
            f"{type(net).__name__}"
        )
    return net.layers


def _running_state(layer):
    """(layer, attribute, copy) for every running statistic (BatchNorm's
    running_mean/var) in ``layer`` and its sublayers, so that a monitoring forward pass
    can leave them as they were."""
    out = []
    for name in ("running_mean", "running_var"):
        value = getattr(layer, name, None)
        if isinstance(value, np.ndarray):
            out.append((layer, name, value.copy()))
    for child in list(getattr(layer, "layers", None) or []) + [
        getattr(layer, "branch", None)
    ]:
        if child is not None and child is not layer:
            out += _running_state(child)
    return out


def weight_keys(net):
    """Keys (as in ``net.parameters()``) of the weight matrices, input side first: one
    per weight layer.

    Implements the layer numbering l = 1 … L of chapters/03_backprop.
    """
    if not hasattr(net, "parameters"):
        raise TypeError(
            "weight_keys: expected a network with parameters(), got "
            f"{type(net).__name__}"
        )
    return [k for k, _, _ in net.parameters() if k.split(".")[-1] == "W"]


def activation_stats(net, X):
    """Statistics of every activation layer's output on the batch ``X`` (one forward
    pass).

    Returns
    -------
    dict of lists, one entry per ``Activation`` layer (input side first):
        ``mean``, ``std`` of the outputs; ``saturated``: fraction of outputs within 2 %
        of the range of a bounded activation (sigmoid, tanh) from either bound — NaN for
        unbounded ones; ``dead``: fraction of units whose derivative f'(net) is zero for
        every example of the batch (dead ReLUs); ``values``: the outputs themselves (for
        histograms).

    The forward pass runs in the network's current mode (training or eval); running
    statistics of BatchNorm layers are restored afterwards, so monitoring does not
    change the network.

    Implements the monitors of chapters/05_vanishing_exploding.
    """
    from .layers import Activation

    layers = _layers(net)
    X = as_batch(X, None, where="activation_stats")
    saved = _running_state(net)
    net.forward(
        X
        # in the net's current mode; a monitor must not move BatchNorm's running
        # averages:
    )
    for layer, name, value in saved:
        setattr(layer, name, value)
    stats = {"mean": [], "std": [], "saturated": [], "dead": [], "values": []}
    for layer in layers:
        if not isinstance(layer, Activation):
            continue
        net_in, Y = layer._cache
        stats["mean"].append(float(np.mean(Y)))
        stats["std"].append(float(np.std(Y)))
        lo, hi = getattr(layer.f, "range", (-np.inf, np.inf))
        if np.isfinite(lo) and np.isfinite(hi):
            tol = SATURATION_TOL * (hi - lo)
            stats["saturated"].append(float(np.mean((Y < lo + tol) | (Y > hi - tol))))
        else:
            stats["saturated"].append(float("nan"))
        try:
            d = layer.f.derivative(net_in)
            stats["dead"].append(float(np.mean(np.all(d == 0, axis=0))))
        except (ValueError, TypeError):  # softmax has no element-wise derivative
            stats["dead"].append(float("nan"))
        stats["values"].append(Y)
    return stats


def gradient_norms(net, which="W"):
    """Frobenius norms of the gradients of every parameter named ``which``, input side
    first.

    Call after ``net.backward``. With ``which="W"`` this is ‖∂E/∂W^l‖ for l = 1 … L;
    Nielsen's "speed of learning" of a layer uses the bias gradient (``which="b"``).

    Implements the per-layer gradient norms of chapters/05_vanishing_exploding.
    """
    if not hasattr(net, "parameters"):
        raise TypeError(
            "gradient_norms: expected a network with parameters(), got "
            f"{type(net).__name__}"
        )
    out = [
        float(np.linalg.norm(g))
        for k, _, g in net.parameters()
        if k.split(".")[-1] == which
    ]
    if not out:
        raise ValueError(
            f"gradient_norms: the network has no parameter named {which!r}"
        )
    return out


@dataclass
class NonFiniteReport:
    """Where the first NaN/inf appeared: phase ("forward", "loss", "backward"), layer,
    and why."""

    phase: str
    layer_index: int | None
    layer: str
    message: str
    count: int

    def __str__(self):
        where = (
            f"layer {self.layer_index} ({self.layer})"
            if self.layer_index is not None
            else self.layer
        )
        return (
            f"first non-finite value in the {self.phase} pass at {where}: "
            f"{self.message}"
        )


def _nonfinite(a):
    return int(np.size(a) - np.count_nonzero(np.isfinite(a)))


def find_nonfinite(net, X, T=None, loss=None):
    """Run forward (and backward, with a loss) and report the first operation that made
    NaN or inf.

    Parameters
    ----------
    net : Sequential
    X : array, shape (N, n_in)
        A batch; it must itself be finite.
    T, loss : optional
        Targets and a loss object (or name) to also check the loss value and the
        backward pass.

    Returns
    -------
    NonFiniteReport or None
        ``None`` when everything stayed finite.

    Implements the finite-value guard of chapters/05_vanishing_exploding.
    """
    from . import losses as _losses

    layers = _layers(net)
    Y = as_batch(X, None, where="find_nonfinite")
    with np.errstate(all="ignore"):
        for i, layer in enumerate(layers):
            for name, p in layer.params.items():
                if _nonfinite(p):
                    return NonFiniteReport(
                        "forward",
                        i,
                        repr(layer),
                        f"parameter {name} contains NaN/inf",
                        _nonfinite(p),
                    )
            out = layer.forward(Y)
            bad = _nonfinite(out)
            if bad:
                nan = int(np.count_nonzero(np.isnan(out)))
                what = (
                    "overflowed to inf" if nan == 0 else f"produced NaN ({nan} values)"
                )
                biggest = float(np.max(np.abs(Y)))
                return NonFiniteReport(
                    "forward",
                    i,
                    repr(layer),
                    f"output {what} from finite inputs (largest |input| = "
                    f"{biggest:.3g}, dtype {out.dtype})",
                    bad,
                )
            Y = out
        if loss is None:
            return None
        loss = _losses.get(loss) if isinstance(loss, str) else loss
        value = loss.value(Y, T)
        if not np.isfinite(value):
            return NonFiniteReport(
                "loss",
                None,
                repr(loss),
                f"loss value is {value} from finite outputs",
                1,
            )
        dY = loss.grad(Y, T)
        for i in range(len(layers) - 1, -1, -1):
            dY = layers[i].backward(dY)
            for name, g in layers[i].grads.items():
                if _nonfinite(g):
                    return NonFiniteReport(
                        "backward",
                        i,
                        repr(layers[i]),
                        f"gradient of {name} has NaN/inf",
                        _nonfinite(g),
                    )
            if _nonfinite(dY):
                return NonFiniteReport(
                    "backward",
                    i,
                    repr(layers[i]),
                    "gradient w.r.t. the input has NaN/inf",
                    _nonfinite(dY),
                )
    return None
