"""Experiments of chapters/09_residual: plain and residual deep MLPs side by side.

- :func:`deep_mlp` builds the two architectures with the same layers — a plain stack of
  ``[BatchNorm →] f → Linear`` units, or the same units as residual branches;
- :func:`train_steps` trains a network for a fixed budget of SGD steps (the degradation
  runs); (:func:`bookcode.experiments.residual_batch.batched_runs` does the same for
  many networks at once);
- :func:`block_grad_norms` and :func:`block_variances` measure ``‖∂E/∂x_l‖`` and
  ``Var(x_l)`` at the input of every unit, input side first.
"""

from __future__ import annotations

import math

import numpy as np

from .. import losses as _losses
from .._validate import (
    as_batch,
    as_rng,
    check_choice,
    check_positive_float,
    check_positive_int,
)
from ..data import sgd_batches
from ..layers import Activation, Linear
from ..network import Sequential
from ..optim import SGD
from ..residual import Residual

__all__ = ["deep_mlp", "train_steps", "block_grad_norms", "block_variances"]


def deep_mlp(
    n_in,
    width,
    n_out,
    depth,
    *,
    residual=True,
    norm=None,
    activation="relu",
    branch_scale=1.0,
    init="he_normal",
    rng=0,
):
    """A deep MLP of ``depth`` identical units, plain or residual.

    The network is ``Linear(n_in, width)``, then ``depth`` units ``u(x) =
    Linear(f(norm(x)))`` (the "pre-activation" order of He et al. 2016b), then ``f →
    Linear(width, n_out)``. With ``residual=True`` each unit is a branch: ``x ← x + s ·
    u(x)``; with ``residual=False`` the same layers are stacked directly: ``x ← u(x)``.
    Both have exactly the same parameters.

    Parameters
    ----------
    n_in, width, n_out, depth : int
    residual : bool
    norm : {None, "bn"}
        ``"bn"`` puts a :class:`bookcode.batchnorm.BatchNorm` first in every unit (and
        then the unit's Linear has no bias, which BN would cancel).
    activation : str
    branch_scale : float or "1/sqrt(L)"
        The constant ``s`` of every residual block; ``"1/sqrt(L)"`` means ``1/√depth``.
    init : str
        Initializer of every Linear (default He, for ReLU).
    rng : Generator or int

    Returns
    -------
    Sequential
        Layer 0 is the input Linear; layers ``1 … depth`` are the units (``Residual``
        blocks, or for a plain net ``Sequential`` units); then the head.

    Implements eq. (res-block) in chapters/09_residual.
    """
    n_in, width, n_out = (
        check_positive_int(v, f"deep_mlp: {k}")
        for k, v in (("n_in", n_in), ("width", width), ("n_out", n_out))
    )
    depth = check_positive_int(depth, "deep_mlp: depth")
    check_choice(norm, (None, "bn"), "deep_mlp norm")
    if not isinstance(residual, bool):
        raise TypeError(f"deep_mlp: residual must be True or False, got {residual!r}")
    if branch_scale == "1/sqrt(L)":
        branch_scale = 1.0 / math.sqrt(depth)
    branch_scale = check_positive_float(branch_scale, "deep_mlp: branch_scale")
    gen = as_rng(rng, where="deep_mlp")

    def unit():
        layers = []
        if norm == "bn":
            from ..batchnorm import BatchNorm

            layers.append(BatchNorm(width))
        layers += [
            Activation(activation),
            Linear(width, width, init=init, rng=gen, bias=norm is None),
        ]
        return Sequential(layers)

    layers = [Linear(n_in, width, init=init, rng=gen)]
    for _ in range(depth):
        layers.append(Residual(unit(), scale=branch_scale) if residual else unit())
    layers += [
        Activation(activation),
        Linear(width, n_out, init="xavier_normal", rng=gen),
    ]
    return Sequential(layers)


def train_steps(
    net,
    X,
    T,
    steps,
    lr,
    *,
    momentum=0.9,
    batch_size=64,
    loss="softmax_cross_entropy",
    rng=0,
    record_every=None,
    monitor=None,
):
    """Train ``net`` for a fixed budget of ``steps`` mini-batch SGD steps; return the
    training losses.

    Parameters
    ----------
    net : Sequential
    X, T : arrays
        Training inputs ``(N, n_in)`` and targets (class labels for the default loss).
    steps : int
        Number of SGD steps (mini-batches drawn without replacement, reshuffled every
        epoch).
    lr, momentum : float
        Of :class:`bookcode.optim.SGD`.
    batch_size : int
    loss : str or loss object
    rng : Generator or int
        Seeds the batches.
    record_every : int or None
        Also record the full-training-set loss every this many steps (``None``: only at
        the start and the end).
    monitor : int or None
        Measure the recorded losses on the first ``monitor`` rows of ``X`` only;
        ``None``: all rows.

    Returns
    -------
    steps_done, losses : numpy.ndarray
        The step numbers at which the loss on the whole training set was measured
        (inference mode) and the losses; ``inf`` once a step has produced a non-finite
        loss (training stops).

    Implements eq. (gd-update) of chapters/01_gradient_descent for the degradation runs
    of chapters/09_residual.
    """
    loss = _losses.get(loss) if isinstance(loss, str) else loss
    X = as_batch(X, None, where="train_steps")
    T = np.asarray(T)
    if len(T) != len(X):
        raise ValueError(
            f"train_steps: X has {len(X)} rows but T has {len(T)}; expected one target "
            "per row"
        )
    steps = check_positive_int(steps, "train_steps: steps")
    batch_size = check_positive_int(batch_size, "train_steps: batch_size")
    every = (
        steps
        if record_every is None
        else check_positive_int(record_every, "train_steps: record_every")
    )
    gen = as_rng(rng, where="train_steps")
    opt = SGD(lr, momentum=momentum, allow_nonfinite=True)

    n_mon = (
        len(X)
        if monitor is None
        else min(check_positive_int(monitor, "train_steps: monitor"), len(X))
    )

    def full_loss():
        net.eval()
        with np.errstate(all="ignore"):
            Y = net.forward(X[:n_mon])
            value = (
                float(loss.value(Y, T[:n_mon])) if np.all(np.isfinite(Y)) else np.inf
            )
        net.train()
        return value if np.isfinite(value) else np.inf

    done, values = [0], [full_loss()]
    for step, idx in enumerate(sgd_batches(len(X), batch_size, steps, gen), start=1):
        with np.errstate(all="ignore"):
            Y = net.forward(X[idx])
            ok = np.all(np.isfinite(Y))
            if ok:
                net.backward(loss.grad(Y, T[idx]))
                ok = all(np.all(np.isfinite(g)) for _, _, g in net.parameters())
        if not ok:
            done.append(step)
            values.append(np.inf)
            break
        opt.step(net)
        if step % every == 0 or step == steps:
            done.append(step)
            values.append(full_loss())
            if not np.isfinite(values[-1]):
                break
    return np.array(done), np.array(values)


def block_grad_norms(net):
    """``‖∂E/∂x_l‖`` (Frobenius norm over the batch) at the input of every layer after
    the first.

    Call after ``net.forward`` and ``net.backward``. For a network from :func:`deep_mlp`
    entry ``l − 1`` is the gradient at the input of unit ``l`` (``l = 1 … depth``), then
    the head.

    Implements eq. (res-grad-identity) in chapters/09_residual.
    """
    deltas = getattr(net, "deltas", None)
    if (
        not isinstance(net, Sequential)
        or deltas is None
        or any(d is None for d in deltas)
    ):
        raise ValueError(
            "block_grad_norms: expected a Sequential on which forward and backward "
            "have run"
        )
    return np.array([float(np.linalg.norm(d)) for d in deltas[1:]])


def block_variances(net, X):
    """Variance of the signal ``x_l`` entering every layer after the first (one forward
    pass on ``X``).

    For a network from :func:`deep_mlp`, entry ``l − 1`` is ``Var(x_l)`` over all
    examples and features at the input of unit ``l``, then the input of the head.

    Implements eq. (res-variance) in chapters/09_residual.
    """
    if not isinstance(net, Sequential):
        raise TypeError(
            f"block_variances: expected a Sequential, got {type(net).__name__}"
        )
    X = as_batch(X, None, where="block_variances")
    with np.errstate(all="ignore"):
        net.forward(X)
        return np.array([float(np.var(Y)) for Y in net.outputs[1:-1]])
