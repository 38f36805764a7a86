"""Experiments of chapters/12_modern_training: how far each layer moves, SGD vs Adam.

:func:`update_ratios_by_layer` trains deep sigmoid MLPs on the digits (the network
whose first layers barely learn in chapter 5) with one optimizer and records, at every
step and for every layer, the update:data ratio ``‖ΔW^l‖ / ‖W^l‖`` of chapter 10 and the
training loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import losses as _losses
from .._validate import as_rng, check_choice, check_positive_float, check_positive_int
from ..adam import Adam
from ..data import digits, sgd_batches
from ..network import mlp
from ..optim import SGD, LinearWarmup
from ..train import _progress

__all__ = ["UpdateRuns", "update_ratios_by_layer", "adam_step_trace"]


@dataclass(frozen=True)
class UpdateRuns:
    """What :func:`update_ratios_by_layer` records.

    ``ratios`` (seeds, steps, layers): ``‖ΔW^l‖_F / ‖W^l‖_F`` of every step, layer 1
    (input side) first; ``loss`` (seeds, steps): the training loss of each step's batch,
    before the step; ``optimizer``, ``lr``, ``seeds``.
    """

    ratios: np.ndarray
    loss: np.ndarray
    optimizer: str
    lr: float
    seeds: tuple

    def spread(self, start=0):
        """Per seed: the median over steps ``start…`` of the last layer's ratio over
        the first layer's; shape (seeds,)."""
        r = self.ratios[:, start:]
        return np.median(r[:, :, -1] / r[:, :, 0], axis=1)


def update_ratios_by_layer(
    optimizer,
    seeds,
    *,
    lr,
    depth=8,
    width=32,
    steps=100,
    batch_size=64,
    activation="sigmoid",
    warmup_steps=1,
    progress=None,
):
    """Train deep MLPs on the digits with SGD or Adam; record every layer's update
    ratio.

    The network is ``64 → width × depth → 10`` (``bookcode.network.mlp``, Xavier
    initialisation, ``activation`` in every hidden layer) with the softmax
    cross-entropy, trained on batches of the digits' training set; seed ``s`` draws
    the weights and the batch order.

    Parameters
    ----------
    optimizer : {"sgd", "adam"}
        ``SGD(lr)`` or ``Adam(lr)`` (``β1 = 0.9``, ``β2 = 0.999``, ``ε = 1e-8``).
    seeds : sequence of int
    lr : float
    depth, width, steps, batch_size : int
    activation : str
    warmup_steps : int
        ``>= 2``: the learning rate is ``LinearWarmup(lr, warmup_steps)``.
    progress : bool or None
        Progress bar for runs longer than 2 s.

    Returns
    -------
    UpdateRuns

    Implements the experiment on eq. (adam-step) in chapters/12_modern_training.
    """
    where = "update_ratios_by_layer"
    optimizer = check_choice(optimizer, ("sgd", "adam"), f"{where}: optimizer")
    lr = check_positive_float(lr, f"{where}: lr")
    depth = check_positive_int(depth, f"{where}: depth")
    width = check_positive_int(width, f"{where}: width")
    steps = check_positive_int(steps, f"{where}: steps")
    batch_size = check_positive_int(batch_size, f"{where}: batch_size")
    warmup_steps = check_positive_int(warmup_steps, f"{where}: warmup_steps")
    seeds = list(seeds)
    if not seeds:
        raise ValueError(f"{where}: expected at least one seed, got an empty list")
    X, y, _, _ = digits()
    loss = _losses.get("softmax_cross_entropy")
    rate = LinearWarmup(lr, warmup_steps) if warmup_steps > 1 else lr
    ratios = np.empty((len(seeds), steps, depth + 1))
    losses = np.empty((len(seeds), steps))
    bar = _progress(len(seeds) * steps, progress, unit="step", desc=optimizer)
    try:
        for i, seed in enumerate(seeds):
            gen = as_rng(seed, where=where)
            net = mlp([64] + [width] * depth + [10], activation, rng=gen)
            opt = SGD(rate) if optimizer == "sgd" else Adam(rate)
            keys = [f"{2 * l}.W" for l in range(depth + 1)]  # Linear layers: 0, 2, …
            for k, idx in enumerate(sgd_batches(len(X), batch_size, steps, gen)):
                Z = net.forward(X[idx])
                losses[i, k] = loss.value(Z, y[idx])
                net.backward(loss.grad(Z, y[idx]))
                opt.step(net)
                ratios[i, k] = [opt.last_update_ratios[key] for key in keys]
                if bar is not None:
                    bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return UpdateRuns(ratios, losses, optimizer, lr, tuple(seeds))


def adam_step_trace(grads, *, beta1=0.9, beta2=0.999, eps=1e-8, correct=True):
    """Adam's step, in units of ``η``, for every step of given gradient streams.

    Parameters
    ----------
    grads : array-like, shape (steps,) or (steps, k)
        The gradient of one parameter entry (or of ``k`` independent entries) at steps
        ``t = 1, 2, …``.
    beta1, beta2 : float in [0, 1)
    eps : float >= 0
    correct : bool
        Apply the bias correction (True: Adam as published and as
        :class:`bookcode.adam.Adam` computes it; False: divide the raw averages).

    Returns
    -------
    numpy.ndarray, the shape of ``grads``
        ``m̂_t / (√v̂_t + ε)`` (or ``m_t / (√v_t + ε)``): the step is ``η`` times this.

    Implements eqs. (adam-moments), (adam-bias) and (adam-step) in
    chapters/12_modern_training.
    """
    where = "adam_step_trace"
    g = np.asarray(grads, dtype=float)
    if g.ndim not in (1, 2) or g.shape[0] == 0 or not np.all(np.isfinite(g)):
        raise ValueError(
            f"{where}: expected finite gradients of shape (steps,) or (steps, k), "
            f"got shape {g.shape}"
        )
    for name, b in (("beta1", beta1), ("beta2", beta2)):
        if not 0.0 <= b < 1.0:
            raise ValueError(f"{where}: {name} must lie in [0, 1), got {b!r}")
    eps = check_positive_float(eps, f"{where}: eps", allow_zero=True)
    m = v = np.zeros(g.shape[1:])
    out = np.empty_like(g)
    for t in range(1, len(g) + 1):
        m = beta1 * m + (1 - beta1) * g[t - 1]
        v = beta2 * v + (1 - beta2) * g[t - 1] ** 2
        if correct:
            out[t - 1] = (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
        else:
            out[t - 1] = m / (np.sqrt(v) + eps)
    return out
