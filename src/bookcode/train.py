"""A training loop that records what the chapters plot.

``train`` runs mini-batch gradient descent and returns a :class:`History` with, for
epoch 0 (at initialisation) and after every epoch: the loss and accuracy on the training
set (and on validation data if given), the per-layer gradient norms, the per-layer
activation statistics and the update:data ratios. It stops early, and says so, when the
loss becomes NaN or inf.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from . import diagnostics
from . import losses as _losses
from ._validate import as_batch, as_float_array, as_rng, check_positive_int

__all__ = ["History", "DivergenceWarning", "train", "evaluate", "accuracy"]


class DivergenceWarning(UserWarning):
    """``train`` stopped because the loss or a gradient became NaN or inf (see
    ``History.nonfinite``)."""


@dataclass
class History:
    """What happened during training; every list has one entry per recorded epoch (0 =
    before training).

    Attributes
    ----------
    epoch : list of int
    loss, accuracy : list of float
        On the full training set (accuracy is NaN for regression losses).
    val_loss, val_accuracy : list of float
        On the validation set (empty without one).
    grad_norms : list of list of float
        ‖∂E/∂W^l‖ per weight layer (input side first): the full-batch gradient at epoch
        0, the mean over the epoch's mini-batch steps afterwards.
    bias_grad_norms : list of list of float
        Same for the biases (Nielsen's "speed of learning" of a layer).
    update_ratios : list of list of float
        ‖ΔW^l‖ / ‖W^l‖ per weight layer, mean over the epoch's steps (NaN at epoch 0).
    act_mean, act_std, act_saturated, act_dead : list of list of float
        :func:`bookcode.diagnostics.activation_stats` on the monitor batch, per
        activation layer.
    diverged_at : int or None
        The epoch in which the loss became NaN/inf (training stopped there).
    nonfinite : diagnostics.NonFiniteReport or None
        Where the first NaN/inf appeared in the step that stopped the run (layer, pass,
        cause).
    seconds : float
        Wall-clock time of the run.
    """

    epoch: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    accuracy: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_accuracy: list = field(default_factory=list)
    grad_norms: list = field(default_factory=list)
    bias_grad_norms: list = field(default_factory=list)
    update_ratios: list = field(default_factory=list)
    act_mean: list = field(default_factory=list)
    act_std: list = field(default_factory=list)
    act_saturated: list = field(default_factory=list)
    act_dead: list = field(default_factory=list)
    diverged_at: int | None = None
    nonfinite: object = None
    seconds: float = 0.0

    def array(self, name):
        """Return a recorded series as a float array (epochs × layers for per-layer
        series)."""
        if name not in self.__dataclass_fields__ or not isinstance(
            getattr(self, name), list
        ):
            raise ValueError(
                f"History.array: unknown series {name!r}; expected one of "
                f"{self._series()}"
            )
        return np.array(getattr(self, name), dtype=float)

    def _series(self):
        return [k for k, v in self.__dict__.items() if isinstance(v, list)]

    def __repr__(self):
        last = f"loss {self.loss[-1]:.4g}" if self.loss else "empty"
        div = (
            f", diverged at epoch {self.diverged_at}"
            if self.diverged_at is not None
            else ""
        )
        if self.nonfinite is not None:
            div += f" ({self.nonfinite})"
        epochs = len(self.epoch) - 1 if self.epoch else 0
        return f"History({epochs} epochs, {last}{div}, {self.seconds:.1f} s)"


def accuracy(loss, Y, T):
    """Classification accuracy for the fused cross-entropy losses, NaN for the others.

    Implements the accuracy reported in chapters/05_vanishing_exploding.
    """
    name = getattr(loss, "name", "")
    with np.errstate(invalid="ignore"):
        if name == "softmax_cross_entropy":
            labels = np.asarray(T)
            labels = labels.argmax(axis=1) if labels.ndim == 2 else labels
            return float(np.mean(np.argmax(Y, axis=1) == labels))
        if name == "binary_cross_entropy":
            return float(
                np.mean(
                    (np.asarray(Y).reshape(-1) > 0) == (np.asarray(T).reshape(-1) > 0.5)
                )
            )
    return float("nan")


def evaluate(net, loss, X, T):
    """Loss and accuracy of ``net`` on ``(X, T)`` (one forward pass, inference mode).

    Implements the evaluation of chapters/05_vanishing_exploding.
    """
    loss = _losses.get(loss) if isinstance(loss, str) else loss
    was_training = net.training
    net.eval()
    try:
        with np.errstate(all="ignore"):
            Y = net.forward(X)
            value = float(loss.value(Y, T)) if np.all(np.isfinite(Y)) else float("nan")
        return value, accuracy(loss, Y, T)
    finally:
        net.training = was_training


def _progress(total, enabled, unit="epoch", desc="training"):
    if enabled is None:
        enabled = os.environ.get("BOOKCODE_PROGRESS", "1") != "0"
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, delay=2.0, leave=False)


def _stopped(hist, epoch, net, X, T, loss, warn):
    """Record where the first NaN/inf of the failing step came from; warn unless told
    not to."""
    with np.errstate(all="ignore"):
        hist.nonfinite = diagnostics.find_nonfinite(net, X, T, loss)
    hist.diverged_at = epoch
    if warn:
        where = f": {hist.nonfinite}" if hist.nonfinite is not None else ""
        warnings.warn(
            f"train stopped in epoch {epoch}: the loss or a gradient became NaN or "
            f"inf{where}. A smaller learning rate, gradient clipping (chapter 6) or a "
            "better initialisation (chapter 7) usually cures it; History.nonfinite "
            "keeps this report. Pass warn_nonfinite=False when the divergence is the "
            "point.",
            DivergenceWarning,
            stacklevel=3,
        )


def train(
    net,
    loss,
    X,
    T,
    optimizer,
    epochs,
    batch_size=32,
    rng=0,
    X_val=None,
    T_val=None,
    monitor_X=None,
    progress=None,
    warn_nonfinite=True,
):
    """Train ``net`` with mini-batch gradient descent and record a :class:`History`.

    Parameters
    ----------
    net : Sequential
    loss : loss object or name (see :mod:`bookcode.losses`)
    X, T : arrays
        Training inputs ``(N, n_in)`` (finite) and targets.
    optimizer : object with ``step(net)`` (e.g. :class:`bookcode.optim.SGD`)
    epochs : int
    batch_size : int
        ``N`` or more gives full-batch gradient descent; 1 gives stochastic gradient
        descent.
    rng : Generator or int
        Seeds the shuffling of every epoch.
    X_val, T_val : arrays, optional
        Validation data, evaluated after every epoch.
    monitor_X : array, optional
        Batch for the activation statistics (default: the first 256 training rows).
    progress : bool or None
        Progress bar (tqdm, shown only for runs longer than 2 s); ``None``: on unless
        the environment variable ``BOOKCODE_PROGRESS=0`` (set by the test suite).
    warn_nonfinite : bool
        When the loss or a gradient becomes NaN/inf, training stops and
        ``History.nonfinite`` says which layer produced the first non-finite value; with
        ``True`` (default) a :class:`DivergenceWarning` also says so.

    Returns
    -------
    History

    Implements eq. (gd-update) of chapters/01_gradient_descent with the gradients of eq.
    (backprop-dW) in chapters/03_backprop.
    """
    from .data import minibatches

    loss = _losses.get(loss) if isinstance(loss, str) else loss
    if not hasattr(optimizer, "step"):
        raise TypeError(
            "train: optimizer must have a step(net) method (e.g. bookcode.optim.SGD), "
            f"got {optimizer!r}"
        )
    X = as_batch(X, None, where="train")
    T = np.asarray(T)
    if len(T) != len(X):
        raise ValueError(
            f"train: X has {len(X)} rows but T has {len(T)}; expected one target per "
            "example"
        )
    if T.dtype.kind == "f":
        as_float_array(T, "T", where="train")
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    rng = as_rng(rng, where="train")
    if (X_val is None) != (T_val is None):
        raise ValueError("train: give both X_val and T_val, or neither")
    monitor_X = (
        X[:256]
        if monitor_X is None
        else as_batch(monitor_X, X.shape[1], name="monitor_X", where="train")
    )

    hist = History()
    t0 = time.perf_counter()
    # epoch 0: the state at initialisation (full-batch gradient, no update)
    net.train()
    Y = net.forward(X)
    net.backward(loss.grad(Y, T))
    _record(
        hist,
        0,
        net,
        loss,
        X,
        T,
        X_val,
        T_val,
        monitor_X,
        [diagnostics.gradient_norms(net)],
        [_bias_norms(net)],
        None,
    )

    bar = _progress(epochs, progress)
    try:
        for epoch in range(1, epochs + 1):
            g_w, g_b, ratios = [], [], []
            for idx in minibatches(len(X), batch_size, rng):
                with np.errstate(over="ignore", invalid="ignore"):
                    Y = net.forward(X[idx])
                    value = loss.value(Y, T[idx]) if np.all(np.isfinite(Y)) else np.nan
                if not np.isfinite(value):
                    _stopped(hist, epoch, net, X[idx], T[idx], loss, warn_nonfinite)
                    break
                net.backward(loss.grad(Y, T[idx]))
                with np.errstate(
                    over="ignore", invalid="ignore"
                ):  # a diverging run is recorded, not warned about
                    g_w.append(diagnostics.gradient_norms(net))
                    g_b.append(_bias_norms(net))
                if not all(np.all(np.isfinite(g)) for _, _, g in net.parameters()):
                    _stopped(hist, epoch, net, X[idx], T[idx], loss, warn_nonfinite)
                    break
                optimizer.step(net)
                r = getattr(optimizer, "last_update_ratios", None)
                if r:
                    ratios.append(
                        [r[k] for k in diagnostics.weight_keys(net) if k in r]
                    )
            _record(
                hist, epoch, net, loss, X, T, X_val, T_val, monitor_X, g_w, g_b, ratios
            )
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{hist.loss[-1]:.4g}")
            if hist.diverged_at is not None:
                break
    finally:
        if bar is not None:
            bar.close()
    hist.seconds = time.perf_counter() - t0
    return hist


def _bias_norms(net):
    try:
        return diagnostics.gradient_norms(net, "b")
    except ValueError:  # a network without biases
        return []


def _mean_rows(rows):
    if not rows:
        return []
    with np.errstate(all="ignore"):
        return [float(v) for v in np.mean(np.array(rows, dtype=float), axis=0)]


def _record(hist, epoch, net, loss, X, T, X_val, T_val, monitor_X, g_w, g_b, ratios):
    hist.epoch.append(epoch)
    value, acc = evaluate(net, loss, X, T)
    hist.loss.append(value)
    hist.accuracy.append(acc)
    if X_val is not None:
        v, a = evaluate(net, loss, X_val, T_val)
        hist.val_loss.append(v)
        hist.val_accuracy.append(a)
    hist.grad_norms.append(_mean_rows(g_w))
    hist.bias_grad_norms.append(_mean_rows(g_b))
    n_w = len(diagnostics.weight_keys(net))
    hist.update_ratios.append(_mean_rows(ratios) if ratios else [float("nan")] * n_w)
    with np.errstate(all="ignore"):
        stats = diagnostics.activation_stats(net, monitor_X)
    hist.act_mean.append(stats["mean"])
    hist.act_std.append(stats["std"])
    hist.act_saturated.append(stats["saturated"])
    hist.act_dead.append(stats["dead"])
