"""Experiment helpers for chapters/08_batchnorm: plain and batch-normalized MLPs, and a
vectorised trainer.

:func:`bn_mlp` builds the networks from the Layer protocol (``Linear``, ``BatchNorm``,
``Activation``). :func:`train_stack` trains ``K`` such networks of the same shape *at
once* — one learning rate each — by stacking their weights into ``(K, n_in, n_out)``
arrays: every product is a batched ``matmul`` and the BN math is
:func:`bookcode.batchnorm.batchnorm_forward` / ``batchnorm_backward`` applied to the
stack. With tiny matrices much of the cost of a step is Python overhead, so K networks
cost far less than K separate runs; the chapter's grid of runs (learning rates × seeds)
fits in seconds. It computes exactly what ``Sequential`` + SGD would
(tests/test_bn_study.py checks that to rounding error).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validate import as_batch, as_float_array, as_rng, check_positive_int
from ..batchnorm import BatchNorm
from ..data import sgd_batches
from ..layers import Activation, Linear
from ..network import Sequential
from .stacked import stack_backward, stack_forward, stack_layers, write_back

__all__ = ["bn_mlp", "StackRun", "train_stack"]


def bn_mlp(
    sizes, activation="sigmoid", *, batchnorm=False, init="xavier_normal", rng=None
):
    """Build ``Linear → [BatchNorm →] f → … → Linear`` (logits out), with or without
    batch norm.

    Parameters
    ----------
    sizes : sequence of int
        ``[n_0, n_1, …, n_L]``; at least two entries. With ``batchnorm`` every hidden
        layer gets a ``BatchNorm`` between its ``Linear`` and its activation, as in the
        paper (the output layer does not); those ``Linear`` layers have no bias, since
        BN's ``β`` replaces it.
    activation : str
        Hidden activation name (:func:`bookcode.activations.get`).
    batchnorm : bool
    init : str or callable
        Initializer of every ``Linear``.
    rng : Generator or int
        Seed (required for random initializers). With the same seed the plain and the BN
        network start from the same weight matrices.

    Returns
    -------
    Sequential

    Implements the networks of eq. (bn-layer) in chapters/08_batchnorm.
    """
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(
            f"bn_mlp: expected at least two sizes [n_in, …, n_out], got {sizes}"
        )
    sizes = [check_positive_int(s, f"bn_mlp: sizes[{i}]") for i, s in enumerate(sizes)]
    if not isinstance(batchnorm, bool):
        raise TypeError(f"bn_mlp: batchnorm must be True or False, got {batchnorm!r}")
    gen = as_rng(rng, where="bn_mlp") if rng is not None else None
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        hidden = i < len(sizes) - 2
        layers.append(
            Linear(n_in, n_out, init=init, rng=gen, bias=not (hidden and batchnorm))
        )
        if hidden:
            if batchnorm:
                layers.append(BatchNorm(n_out))
            layers.append(Activation(activation))
    return Sequential(layers)


@dataclass(repr=False)
class StackRun:
    """What :func:`train_stack` recorded, for ``K`` networks at ``R`` record points.

    Attributes
    ----------
    lrs : array (K,)
    step : array (R,)
        Step numbers of the records (0 = before training).
    train_loss : array (K, R)
        Mean mini-batch loss since the previous record (at step 0: the test loss).
    test_loss, test_accuracy : array (K, R)
        On the test set, in inference mode (BN with its running averages).
    percentiles : array (K, R, 3)
        15th, 50th and 85th percentiles over the test set of the probed unit's input to
        its activation; BN layers normalise the test set with its own batch statistics
        here (what a training step sees, without the lag of the running averages).
    diverged_at : array (K,)
        Step at which a network's loss or gradient became NaN/inf (it is frozen from
        then on, its records are NaN); -1 if it never did.
    """

    lrs: np.ndarray
    step: np.ndarray
    train_loss: np.ndarray
    test_loss: np.ndarray
    test_accuracy: np.ndarray
    percentiles: np.ndarray
    diverged_at: np.ndarray

    def __repr__(self):
        n, steps, lrs = len(self.lrs), int(self.step[-1]), self.lrs.tolist()
        return f"StackRun({n} networks, {steps} steps, lrs {lrs})"


def _softmax_ce(Z, y):
    """Mean softmax cross-entropy per network ``(K,)`` and its gradient ``dE/dZ``."""
    Z = Z - Z.max(axis=-1, keepdims=True)
    logsum = np.log(np.exp(Z).sum(axis=-1, keepdims=True))
    logp = Z - logsum
    y = np.broadcast_to(y, Z.shape[:-1])[
        ..., None
    ]  # (K, N, 1): one label array per network
    loss = -np.take_along_axis(logp, y, axis=-1)[..., 0].mean(axis=-1)
    dZ = np.exp(logp)
    np.put_along_axis(dZ, y, np.take_along_axis(dZ, y, axis=-1) - 1.0, axis=-1)
    return loss, dZ / Z.shape[-2]


def train_stack(
    nets,
    lrs,
    X,
    y,
    X_test,
    y_test,
    *,
    steps,
    batch_size=60,
    rng=0,
    record_every=50,
    probe=None,
    test_every=None,
):
    """Train ``K`` identically shaped networks at once with plain SGD, one learning rate
    each.

    Every network sees the same mini-batches (drawn without replacement within each pass
    over the data; with one ``rng`` per network, each its own) and takes the step ``p ←
    p − η_k ∂E/∂p`` on every parameter (W, b, γ, β) for the mean softmax cross-entropy
    ``E``. BatchNorm layers normalise with batch statistics during training and with
    their running averages (unbiased variance) for the test records.

    Parameters
    ----------
    nets : sequence of Sequential
        Networks from :func:`bn_mlp` with the same sizes (e.g. the same seed, ``K``
        times). The trainer works on stacked copies of their parameters and writes the
        final values (and BN's running averages) back, so the networks end in their
        trained state.
    lrs : sequence of float
        One learning rate per network.
    X, y, X_test, y_test : arrays
        Training and test inputs (one row each) and integer labels ``0 … n_out − 1``.
    steps : int
    batch_size : int
        At least 2 (training-mode BatchNorm needs two rows).
    rng : Generator or int, or a sequence of them
        Seeds the order of the examples. One generator or seed: every network sees the
        same mini-batches. A sequence of ``K`` (one per network): each network draws its
        own order, so a stack can hold independent repetitions of an experiment (seeds ×
        learning rates).
    record_every : int
        Record at step 0 and every this many steps.
    probe : (int, int), optional
        ``(index, unit)``: record percentiles of column ``unit`` of the input of
        activation layer ``net[index]`` (the paper's "input to a sigmoid").
    test_every : int, optional
        Evaluate the test set (test loss, accuracy, percentiles) only at the records
        whose step is a multiple of this, and at the last one; the others are NaN.
        Default: at every record. The training loss is recorded at every record either
        way.

    Returns
    -------
    StackRun

    Implements eq. (gd-update) of chapters/01_gradient_descent for the networks of
    chapters/08_batchnorm.
    """
    nets = list(nets)
    if not nets:
        raise ValueError("train_stack: expected at least one network")
    lrs = as_float_array(lrs, "lrs", where="train_stack").reshape(-1)
    if lrs.shape != (len(nets),) or np.any(lrs <= 0):
        raise ValueError(
            "train_stack: expected one positive learning rate per network "
            f"({len(nets)}), got {lrs}"
        )
    X = as_batch(X, None, where="train_stack")
    X_test = as_batch(X_test, X.shape[1], name="X_test", where="train_stack")
    y, y_test = np.asarray(y), np.asarray(y_test)
    if (
        y.shape != (len(X),)
        or y_test.shape != (len(X_test),)
        or y.dtype.kind not in "iu"
    ):
        raise ValueError(
            f"train_stack: expected one integer label per row, got y {y.shape} "
            f"({y.dtype}), y_test {y_test.shape}"
        )
    steps = check_positive_int(steps, "train_stack: steps")
    batch_size = check_positive_int(batch_size, "train_stack: batch_size", minimum=2)
    record_every = check_positive_int(record_every, "train_stack: record_every")
    test_every = (
        record_every
        if test_every is None
        else check_positive_int(test_every, "train_stack: test_every")
    )
    if batch_size > len(X):
        raise ValueError(
            f"train_stack: batch_size {batch_size} exceeds the training set ({len(X)} "
            "rows)"
        )
    stack = stack_layers(nets, "train_stack")
    if probe is not None:
        idx, unit = probe
        if not (0 <= idx < len(stack) and stack[idx]["kind"] == "act"):
            raise ValueError(
                f"train_stack: probe index {idx} is not an activation layer of the "
                "networks"
            )
    K = len(nets)
    if isinstance(rng, (list, tuple)):
        if len(rng) != K:
            raise ValueError(
                f"train_stack: expected one rng per network ({K}), got {len(rng)}"
            )
        orders = [
            sgd_batches(len(X), batch_size, steps, as_rng(r, where="train_stack"))
            for r in rng
        ]
        batches = (np.stack(idx) for idx in zip(*orders))  # (K, batch_size) per step
    else:
        batches = sgd_batches(
            len(X), batch_size, steps, as_rng(rng, where="train_stack")
        )
    eta = lrs[:, None, None]
    alive = np.ones(K, dtype=bool)
    diverged = np.full(K, -1)
    rec = {"step": [], "train": [], "loss": [], "acc": [], "pct": []}
    window = []
    Xt = np.broadcast_to(X_test, (K,) + X_test.shape)

    def record(step):
        if (
            step % test_every and step + record_every <= steps
        ):  # no test evaluation at this record
            rec["loss"].append(np.full(K, np.nan))
            rec["acc"].append(np.full(K, np.nan))
            if probe is not None:
                rec["pct"].append(np.full((K, 3), np.nan))
        else:
            with np.errstate(all="ignore"):
                Z, caches = stack_forward(stack, Xt, "eval")
                loss, _ = _softmax_ce(Z, y_test)
                acc = np.mean(np.argmax(Z, axis=-1) == y_test, axis=-1)
                if probe is not None and any(e["kind"] == "bn" for e in stack):
                    caches = stack_forward(stack, Xt, "batch")[1]
            bad = ~alive | ~np.isfinite(loss)
            rec["loss"].append(np.where(bad, np.nan, loss))
            rec["acc"].append(np.where(bad, np.nan, acc))
            if probe is not None:
                pct = np.percentile(
                    caches[probe[0]][0][:, :, probe[1]], [15, 50, 85], axis=1
                ).T
                rec["pct"].append(np.where(bad[:, None], np.nan, pct))
        rec["train"].append(np.mean(window, axis=0) if window else rec["loss"][-1])
        rec["step"].append(step)
        window.clear()

    record(0)
    for step, idx in enumerate(batches, start=1):
        with np.errstate(all="ignore"):
            Xb = (
                X[idx]
                if idx.ndim == 2
                else np.broadcast_to(X[idx], (K, len(idx), X.shape[1]))
            )
            Z, caches = stack_forward(stack, Xb, "train")
            loss, dZ = _softmax_ce(Z, y[idx])
            grads = stack_backward(stack, caches, dZ)
        ok = np.isfinite(loss) & np.all(
            [np.all(np.isfinite(g.reshape(K, -1)), axis=1) for g in grads.values()],
            axis=0,
        )
        newly = alive & ~ok
        diverged[newly] = step
        alive &= ok
        scale = (
            np.where(alive, 1.0, 0.0)[:, None, None] * eta
        )  # frozen networks take no step
        all_alive = bool(alive.all())
        for (i, name), g in grads.items():
            e = stack[i]
            s = scale if g.ndim == 3 else scale[:, 0]
            e[name] = e[name] - s * (
                g if all_alive else np.nan_to_num(g, nan=0.0, posinf=0.0, neginf=0.0)
            )
        window.append(np.where(alive, loss, np.nan))
        if step % record_every == 0:
            record(step)
    write_back(stack)
    pct = np.array(rec["pct"]).transpose(1, 0, 2) if rec["pct"] else np.empty((K, 0, 3))
    return StackRun(
        lrs,
        np.array(rec["step"]),
        np.array(rec["train"]).T,
        np.array(rec["loss"]).T,
        np.array(rec["acc"]).T,
        pct,
        diverged,
    )
