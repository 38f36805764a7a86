"""Small tools for clipping and weight-penalty experiments (chapters 6 and 10).

- :func:`run_steps`: a lean training loop that records, for every step, the mini-batch loss and
  the global norm of the loss gradient *before* penalties and clipping, and stops at the first
  non-finite value;
- :func:`weights_of` / :func:`fraction_near_zero`: all weights of a network as one vector, and
  the fraction of them that are (nearly) zero;
- :func:`soft_threshold` and :class:`ProximalL1`: the proximal step of the L1 penalty, which
  produces exact zeros (plain subgradient steps only make weights hover around zero).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import losses as _losses
from .data import minibatches
from .optim import global_norm
from ._validate import as_batch, as_float_array, as_rng, check_positive_float, check_positive_int

__all__ = ["StepLog", "run_steps", "weights_of", "fraction_near_zero", "soft_threshold", "ProximalL1"]


@dataclass
class StepLog:
    """Per-step record of :func:`run_steps` (arrays of length ``steps``; NaN after a divergence).

    Attributes
    ----------
    loss : ndarray
        Mini-batch loss at each step, before the update.
    grad_norm : ndarray
        Global norm ``‖g‖`` of the loss gradient over all parameters, before penalties and clipping.
    grad_max : ndarray
        Largest ``|g_i|`` over all parameters (what clipping by value compares with its threshold).
    weight_norm : ndarray
        ``√(Σ_l ‖W^l‖²)`` over the weights (not the biases) after the step.
    clipped : ndarray of bool
        Whether the optimizer clipped at that step (``optimizer.last_clipped``).
    diverged_at : int or None
        The first step whose loss or gradient was NaN/inf (no update was made from it).
    """

    loss: np.ndarray
    grad_norm: np.ndarray
    grad_max: np.ndarray
    weight_norm: np.ndarray
    clipped: np.ndarray
    diverged_at: int | None = None

    def __repr__(self):
        n = len(self.loss)
        end = f"diverged at step {self.diverged_at}" if self.diverged_at is not None else f"final loss {self.loss[-1]:.4g}"
        return f"StepLog({n} steps, {end})"


def run_steps(net, loss, X, T, optimizer, steps, *, batch_size, rng):
    """Run ``steps`` mini-batch updates of ``net`` with ``optimizer`` and return a :class:`StepLog`.

    Batches are drawn epoch by epoch from seeded permutations of the rows of ``X``. The run stops
    (and records ``diverged_at``) at the first non-finite loss or gradient, or when the optimizer
    refuses a non-finite update.

    Implements the experiments on eqs. (tg-clip-value), (tg-clip-norm) and (tg-weight-decay) in
    chapters/06_taming_gradients.
    """
    loss = _losses.get(loss) if isinstance(loss, str) else loss
    if not hasattr(optimizer, "step"):
        raise TypeError(f"run_steps: optimizer must have a step(net) method, got {type(optimizer).__name__}")
    X = as_batch(X, None, where="run_steps")
    if len(T) != len(X):
        raise ValueError(f"run_steps: X has {len(X)} rows but T has {len(T)}; expected one target per row")
    steps = check_positive_int(steps, "steps")
    batch_size = check_positive_int(batch_size, "batch_size")
    gen = as_rng(rng, where="run_steps")
    nan = np.full(steps, np.nan)
    log = StepLog(nan.copy(), nan.copy(), nan.copy(), nan.copy(), np.zeros(steps, dtype=bool))
    batches = iter(())
    for k in range(steps):
        idx = next(batches, None)
        if idx is None:
            batches = minibatches(len(X), batch_size, gen)
            idx = next(batches)
        with np.errstate(over="ignore", invalid="ignore"):
            Y = net.forward(X[idx])
            value = loss.value(Y, T[idx]) if np.all(np.isfinite(Y)) else np.nan
            if np.isfinite(value):
                net.backward(loss.grad(Y, T[idx]))
                grads = [g for _, _, g in net.parameters()]
                norm = global_norm(grads)
        if not np.isfinite(value) or not np.isfinite(norm):
            log.diverged_at = k
            break
        log.loss[k], log.grad_norm[k] = value, norm
        log.grad_max[k] = max(float(np.max(np.abs(g))) for g in grads)
        try:
            optimizer.step(net)
        except ValueError as exc:  # SGD refuses an update that overflows
            if "NaN/inf" not in str(exc):
                raise
            log.diverged_at = k
            break
        log.clipped[k] = bool(getattr(optimizer, "last_clipped", False))
        log.weight_norm[k] = global_norm([p for key, p, _ in net.parameters() if key.rsplit(".", 1)[-1] == "W"])
    return log


def weights_of(net, names=("W",)):
    """All parameters of ``net`` whose name is in ``names`` (default: the weights), as one flat vector.

    Implements the weight histograms of eq. (tg-l1-update) in chapters/06_taming_gradients.
    """
    if isinstance(names, str):
        names = (names,)
    if not callable(getattr(net, "parameters", None)):
        raise TypeError(f"weights_of: expected a network with parameters(), got {type(net).__name__}")
    parts = [np.ravel(p) for k, p, _ in net.parameters() if k.rsplit(".", 1)[-1] in names]
    if not parts:
        raise ValueError(f"weights_of: the network has no parameters named {tuple(names)}")
    return np.concatenate(parts)


def fraction_near_zero(weights, tol):
    """The fraction of entries with ``|w| ≤ tol`` (``weights``: an array or a network's weights).

    Implements the sparsity measure of eq. (tg-l1-update) in chapters/06_taming_gradients.
    """
    if callable(getattr(weights, "parameters", None)):
        weights = weights_of(weights)
    w = as_float_array(weights, "weights", where="fraction_near_zero")
    if w.size == 0:
        raise ValueError("fraction_near_zero: expected at least one weight, got an empty array")
    tol = check_positive_float(tol, "tol", allow_zero=True)
    return float(np.mean(np.abs(w) <= tol))


def soft_threshold(w, t):
    """Return ``sign(w) · max(|w| − t, 0)``, the proximal step of the penalty ``t‖w‖₁``.

    Entries with ``|w| ≤ t`` become exactly 0; the others move ``t`` towards 0. A new array.

    Implements eq. (tg-soft-threshold) in chapters/06_taming_gradients.
    """
    w = as_float_array(w, "w", where="soft_threshold")
    t = check_positive_float(t, "t", allow_zero=True)
    return np.sign(w) * np.maximum(np.abs(w) - t, 0.0)


class ProximalL1:
    """An optimizer wrapper: ``inner.step(net)``, then ``W ← soft_threshold(W, η λ)`` for the weights.

    With ``inner = SGD(lr=η)`` (no ``l1``) this is proximal gradient descent on ``E + λ‖W‖₁``
    (ISTA): the gradient step on ``E`` followed by the exact minimiser of
    ``λ‖W‖₁ + ‖W − V‖² / (2η)``.

    Parameters
    ----------
    inner : optimizer with ``lr`` and ``step(net)``, e.g. :class:`bookcode.optim.SGD`
    lam : float
        ``λ ≥ 0``.
    decay : tuple of str, default ("W",)
        Names of the parameters that are thresholded.

    Implements eq. (tg-soft-threshold) in chapters/06_taming_gradients.
    """

    def __init__(self, inner, lam, decay=("W",)):
        if not (hasattr(inner, "step") and hasattr(inner, "lr")):
            raise TypeError(f"ProximalL1: inner must be an optimizer with lr and step(net), got {inner!r}")
        if getattr(inner, "l1", 0):
            raise ValueError("ProximalL1: the inner optimizer already adds an L1 subgradient (l1 > 0); use l1=0")
        self.inner, self.lam = inner, check_positive_float(lam, "lam", allow_zero=True)
        self.decay = (decay,) if isinstance(decay, str) else tuple(decay)
        self.last_clipped = False

    def step(self, net):
        """One inner step, then the soft-threshold of every decayed parameter, in place."""
        self.inner.step(net)
        self.last_clipped = bool(getattr(self.inner, "last_clipped", False))
        t = self.inner.lr * self.lam
        for key, p, _ in net.parameters():
            if key.rsplit(".", 1)[-1] in self.decay:
                p[...] = soft_threshold(p, t)

    def __repr__(self):
        return f"ProximalL1({self.inner!r}, lam={self.lam!r})"
