"""Gradient descent: full-batch (:func:`gradient_descent`), with momentum
(:func:`momentum_descent`) and mini-batch/stochastic (:func:`minibatch_descent`), each
returning the whole path so chapters can draw it.

The surfaces they are run on in chapter 1 live in :mod:`bookcode.experiments.surfaces`.
"""

from __future__ import annotations

import numpy as np

from .._validate import (
    as_float_array,
    as_rng,
    check_callable,
    check_positive_float,
    check_positive_int,
)
from ..data import minibatches

__all__ = ["gradient_descent", "momentum_descent", "minibatch_descent"]


def gradient_descent(grad, w0, lr, n_steps, *, max_norm=1e8):
    """Run ``w ← w − η ∇E(w)`` for ``n_steps`` steps and return the whole path.

    Parameters
    ----------
    grad : callable
        ``grad(w)`` returns ``∇E(w)``, same shape as ``w``.
    w0 : array-like, shape (d,)
        Start point (copied; never modified).
    lr : float
        Learning rate ``η > 0``.
    n_steps : int
        Number of updates (0 returns just the start).
    max_norm : float
        Divergence guard: stop as soon as ``‖w‖`` exceeds it or an iterate is NaN/inf.

    Returns
    -------
    numpy.ndarray, shape (k + 1, d)
        ``w_0, w_1, …, w_k``; ``k == n_steps`` unless the run diverged (then the path
        stops at the first iterate beyond ``max_norm``, or just before the first
        non-finite one).

    Implements eq. (gd-update) in chapters/01_gradient_descent.
    """
    check_callable(grad, "grad", where="gradient_descent")
    w = np.array(
        as_float_array(w0, "w0", where="gradient_descent")
    )  # a copy, float dtype kept
    lr = check_positive_float(lr, "lr")
    n_steps = check_positive_int(n_steps, "n_steps", minimum=0)
    max_norm = check_positive_float(max_norm, "max_norm")
    path = [w]
    for _ in range(n_steps):
        w = _step(w, grad(w), lr, "gradient_descent")
        if not _keep(w, path, max_norm):
            break
    return np.array(path)


def momentum_descent(grad, w0, lr, n_steps, momentum, *, nesterov=False, max_norm=1e8):
    """Gradient descent with momentum (heavy ball or Nesterov); returns the whole path.

    Heavy ball: ``v ← μ v + ∇E(w)``, ``w ← w − η v`` with ``v = 0`` at the start, the
    convention of :class:`bookcode.optim.SGD` (and PyTorch). Nesterov, in the same
    form: ``w ← w − η (∇E(w) + μ v)`` with the new ``v``: the step looks one momentum
    step ahead.

    Parameters
    ----------
    grad : callable
        ``grad(w)`` returns ``∇E(w)``, same shape as ``w``.
    w0 : array-like, shape (d,)
        Start point (copied; never modified).
    lr : float
        Learning rate ``η > 0``.
    n_steps : int
        Number of updates.
    momentum : float in [0, 1)
        ``μ``; 0 is plain gradient descent.
    nesterov : bool
        Nesterov's variant instead of the heavy ball.
    max_norm : float
        Divergence guard, as in :func:`gradient_descent`.

    Returns
    -------
    numpy.ndarray, shape (k + 1, d)
        ``w_0, …, w_k``, as for :func:`gradient_descent`.

    Implements eq. (momentum) in chapters/01_gradient_descent.
    """
    check_callable(grad, "grad", where="momentum_descent")
    w = np.array(as_float_array(w0, "w0", where="momentum_descent"))
    lr = check_positive_float(lr, "lr")
    n_steps = check_positive_int(n_steps, "n_steps", minimum=0)
    momentum = check_positive_float(momentum, "momentum", allow_zero=True)
    if momentum >= 1:
        raise ValueError(
            f"momentum_descent: momentum must be in [0, 1), got {momentum}"
        )
    if not isinstance(nesterov, bool):
        raise TypeError(f"momentum_descent: nesterov must be bool, got {nesterov!r}")
    max_norm = check_positive_float(max_norm, "max_norm")
    path, v = [w], np.zeros_like(w)
    for _ in range(n_steps):
        g = _step(np.zeros_like(w), grad(w), -1.0, "momentum_descent")  # checked copy
        with np.errstate(over="ignore", invalid="ignore"):
            v = momentum * v + g
            w = w - lr * (g + momentum * v if nesterov else v)
        if not _keep(w, path, max_norm):
            break
    return np.array(path)


def _step(w, g, lr, where):
    """One update ``w − η g`` (a new array), with the gradient's shape checked."""
    g = np.asarray(g)
    if g.shape != w.shape:
        raise ValueError(
            f"{where}: the gradient has shape {g.shape}, expected the shape of w, "
            f"{w.shape}"
        )
    with np.errstate(
        over="ignore", invalid="ignore"
    ):  # divergence is detected, not warned about
        return w - lr * g.astype(w.dtype, copy=False)


def _keep(w, path, max_norm):
    """Append ``w`` to ``path`` if finite; return False when the run has diverged."""
    if not np.all(np.isfinite(w)):
        return False
    path.append(w)
    return bool(np.linalg.norm(w) <= max_norm)


def minibatch_descent(
    grad_batch, w0, n_examples, lr, batch_size, n_epochs, rng, *, max_norm=1e8
):
    """Mini-batch gradient descent: each epoch shuffles the examples and steps once per
    batch.

    ``batch_size = n_examples`` is batch gradient descent, ``batch_size = 1`` is
    stochastic gradient descent (SGD); the last batch of an epoch may be smaller.

    Parameters
    ----------
    grad_batch : callable
        ``grad_batch(w, idx)``: the gradient averaged over the examples with indices
        ``idx``.
    w0 : array-like, shape (d,)
    n_examples, batch_size, n_epochs : int
    lr : float
    rng : numpy.random.Generator or int
        Seed of the shuffles.
    max_norm : float
        Divergence guard, as in :func:`gradient_descent`.

    Returns
    -------
    path : numpy.ndarray, shape (n_updates + 1, d)
    seen : numpy.ndarray, shape (n_updates + 1,)
        Examples processed before each point of ``path`` (0, B, 2B, …). Both stop early
        if the run diverges.

    Implements eq. (minibatch-gradient) in chapters/01_gradient_descent.
    """
    check_callable(grad_batch, "grad_batch", where="minibatch_descent")
    w = np.array(as_float_array(w0, "w0", where="minibatch_descent"))
    n_examples = check_positive_int(n_examples, "n_examples")
    batch_size = check_positive_int(batch_size, "batch_size")
    if batch_size > n_examples:
        raise ValueError(
            f"minibatch_descent: batch_size must be <= n_examples = {n_examples}, got "
            f"{batch_size}"
        )
    lr = check_positive_float(lr, "lr")
    n_epochs = check_positive_int(n_epochs, "n_epochs")
    max_norm = check_positive_float(max_norm, "max_norm")
    rng = as_rng(rng, where="minibatch_descent")
    path, seen = [w], [0]
    for _ in range(n_epochs):
        for idx in minibatches(n_examples, batch_size, rng):
            w = _step(w, grad_batch(w, idx), lr, "minibatch_descent")
            if not _keep(w, path, max_norm):
                return np.array(path), np.array(seen)
            seen.append(seen[-1] + idx.size)
    return np.array(path), np.array(seen)
