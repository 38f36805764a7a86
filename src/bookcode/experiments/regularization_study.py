"""Small tools for clipping and weight-penalty experiments (chapters 6 and 10).

- :func:`run_steps`: a lean training loop that records, for every step, the mini-batch
  loss and the global norm of the loss gradient *before* penalties and clipping, and
  stops at the first non-finite value; :func:`run_steps_many` runs many such loops
  (seeds, thresholds, penalties) of one MLP side by side, one stacked matrix product per
  layer;
- :func:`weights_of` / :func:`fraction_near_zero`: all weights of a network as one
  vector, and the fraction of them that are (nearly) zero;
- :func:`soft_threshold` and :class:`ProximalL1`: the proximal step of the L1 penalty,
  which produces exact zeros (plain subgradient steps only make weights hover around
  zero).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import losses as _losses
from .._validate import (
    as_batch,
    as_float_array,
    as_rng,
    check_positive_float,
    check_positive_int,
)
from ..data import minibatches
from ..optim import WEIGHTS, global_norm
from .gradient_flow import gaussian_mlp

__all__ = [
    "StepLog",
    "run_steps",
    "run_steps_many",
    "weights_of",
    "fraction_near_zero",
    "soft_threshold",
    "ProximalL1",
]


@dataclass
class StepLog:
    """Per-step record of :func:`run_steps` (arrays of length ``steps``; NaN after a
    divergence).

    Attributes
    ----------
    loss : ndarray
        Mini-batch loss at each step, before the update.
    grad_norm : ndarray
        Global norm ``‖g‖`` of the loss gradient over all parameters, before penalties
        and clipping.
    grad_max : ndarray
        Largest ``|g_i|`` over all parameters (what clipping by value compares with its
        threshold).
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
        end = (
            f"diverged at step {self.diverged_at}"
            if self.diverged_at is not None
            else f"final loss {self.loss[-1]:.4g}"
        )
        return f"StepLog({n} steps, {end})"


def run_steps(net, loss, X, T, optimizer, steps, *, batch_size, rng):
    """Run ``steps`` mini-batch updates of ``net`` with ``optimizer`` and return a
    :class:`StepLog`.

    Batches are drawn epoch by epoch from seeded permutations of the rows of ``X``. The
    run stops (and records ``diverged_at``) at the first non-finite loss or gradient, or
    when the optimizer refuses a non-finite update.

    Implements the experiments on eqs. (tg-clip-value), (tg-clip-norm) and
    (tg-weight-decay) in chapters/06_taming_gradients.
    """
    loss = _losses.get(loss) if isinstance(loss, str) else loss
    if not hasattr(optimizer, "step"):
        raise TypeError(
            "run_steps: optimizer must have a step(net) method, got "
            f"{type(optimizer).__name__}"
        )
    X = as_batch(X, None, where="run_steps")
    if len(T) != len(X):
        raise ValueError(
            f"run_steps: X has {len(X)} rows but T has {len(T)}; expected one target "
            "per row"
        )
    steps = check_positive_int(steps, "steps")
    batch_size = check_positive_int(batch_size, "batch_size")
    gen = as_rng(rng, where="run_steps")
    nan = np.full(steps, np.nan)
    log = StepLog(
        nan.copy(), nan.copy(), nan.copy(), nan.copy(), np.zeros(steps, dtype=bool)
    )
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
        log.weight_norm[k] = global_norm(
            [p for key, p, _ in net.parameters() if key.rsplit(".", 1)[-1] == "W"]
        )
    return log


_CONFIG_KEYS = {"seed", "batch_seed", "lr", "clip_norm", "clip_value", "l2"}


def _batch_plan(N, batch_size, steps, rng):
    """The index arrays of ``steps`` mini-batches, drawn epoch by epoch as in
    :func:`run_steps`."""
    gen, plan, batches = as_rng(rng, where="run_steps_many"), [], iter(())
    for _ in range(steps):
        idx = next(batches, None)
        if idx is None:
            batches = minibatches(N, batch_size, gen)
            idx = next(batches)
        plan.append(idx)
    return plan


def _row_norms(M):
    """Per row of ``M``, ``√(Σ m²)``, rescaled by the largest |entry| where the squares
    overflow or underflow."""
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        total = np.einsum("ij,ij->i", M, M)
        out = np.sqrt(total)
        bad = ~((total > 1e-280) & (total < 1e300))
        if bad.any():
            m = np.max(np.abs(M[bad]), axis=1)
            scaled = m * np.sqrt(
                np.sum((M[bad] / np.where(m > 0, m, 1)[:, None]) ** 2, axis=1)
            )
            out[bad] = np.where(np.isfinite(m) & (m > 0), scaled, m)
    return out


def run_steps_many(
    sizes, X, y, configs, steps, *, batch_size, activation="relu", weight_gain=1.0
):
    """:func:`run_steps` for many runs of one MLP at once; returns one :class:`StepLog`
    per config.

    Run ``i`` trains ``gaussian_mlp(sizes, activation, weight_gain,
    rng=configs[i]["seed"])`` with the softmax cross-entropy on the integer labels ``y``
    and the update of ``SGD(lr, clip_value=…, clip_norm=…, l2=…)`` (penalty, then
    clipping by value, then by global norm), on mini-batches drawn with
    ``rng=configs[i]["batch_seed"]``: the same run as ``run_steps(net,
    "softmax_cross_entropy", X, y, SGD(...), steps, batch_size=…, rng=batch_seed)``, up
    to rounding. All runs advance together, one stacked matrix product per layer, so a
    sweep over seeds and thresholds costs little more than one run.

    Parameters
    ----------
    sizes : sequence of int
        ``[n_0, …, n_L]``.
    X : array, shape (N, n_0)
    y : array of int, shape (N,)
        Class labels ``0 … n_L − 1``.
    configs : list of dict
        Keys ``seed``, ``batch_seed``, ``lr`` (required) and ``clip_norm``,
        ``clip_value``, ``l2`` (optional; None or 0 for none).
    steps, batch_size : int
    activation : str, default "relu"
    weight_gain : float, default 1.0
        As for :func:`bookcode.experiments.gradient_flow.gaussian_mlp`.

    Implements the experiments on eqs. (tg-clip-value), (tg-clip-norm) and
    (tg-weight-decay), over seeds, in chapters/06_taming_gradients.
    """
    X = as_batch(X, None, where="run_steps_many")
    y = np.asarray(y)
    if y.shape != (len(X),) or y.dtype.kind not in "iu":
        raise ValueError(
            f"run_steps_many: expected y as {len(X)} integer labels, got shape "
            f"{y.shape}, dtype {y.dtype}"
        )
    steps = check_positive_int(steps, "steps")
    batch_size = check_positive_int(batch_size, "batch_size")
    if not isinstance(configs, (list, tuple)) or not configs:
        raise ValueError("run_steps_many: expected a non-empty list of config dicts")
    for c in configs:
        if (
            not isinstance(c, dict)
            or not {"seed", "batch_seed", "lr"} <= set(c)
            or set(c) - _CONFIG_KEYS
        ):
            raise ValueError(
                "run_steps_many: a config needs seed, batch_seed, lr and may have "
                f"clip_norm, clip_value, l2; got {c!r}"
            )
    get = lambda key, default: np.array(
        [
            default
            if c.get(key) is None
            else check_positive_float(c[key], key, allow_zero=key == "l2")
            for c in configs
        ]
    )
    lr, l2 = get("lr", None), get("l2", 0.0)
    clip_value, clip_norm = get("clip_value", np.inf), get("clip_norm", np.inf)
    nets = [
        gaussian_mlp(sizes, activation, weight_gain, rng=c["seed"]) for c in configs
    ]
    linears = nets[0].layers[0::2]
    if linears[0].n_in != X.shape[1] or y.max() >= linears[-1].n_out:
        raise ValueError(
            f"run_steps_many: sizes {list(sizes)} do not fit X with {X.shape[1]} "
            f"columns and labels up to {y.max()}"
        )
    f = nets[0][1].f if len(nets[0].layers) > 1 else None
    # all parameters of a run as one row: W^1, b^1, W^2, b^2, …; the layers see views
    # into it
    shapes = [s_ for lin in linears for s_ in (lin.W.shape, lin.b.shape)]
    ends = np.cumsum([int(np.prod(s_)) for s_ in shapes])
    cuts = list(zip(np.r_[0, ends[:-1]], ends, shapes))
    theta = np.stack(
        [
            np.concatenate(
                [p.ravel() for lin in n.layers[0::2] for p in (lin.W, lin.b)]
            )
            for n in nets
        ]
    )
    is_W = np.concatenate([np.full(int(np.prod(s_)), len(s_) == 2) for s_ in shapes])
    plans = [_batch_plan(len(X), batch_size, steps, c["batch_seed"]) for c in configs]
    K, L = len(configs), len(linears)
    nan = np.full((K, steps), np.nan)
    loss, gnorm, gmax, wnorm = nan.copy(), nan.copy(), nan.copy(), nan.copy()
    clipped, diverged = np.zeros((K, steps), dtype=bool), np.full(K, -1)
    A = np.arange(K)  # the runs still going
    for k in range(steps):
        n = len(A)
        P = theta[A]
        Ws = [P[:, a:b].reshape(n, *s_) for a, b, s_ in cuts[0::2]]
        bs = [P[:, a:b] for a, b, _ in cuts[1::2]]
        idx = np.stack([plans[i][k] for i in A])
        Yb = y[idx]
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            Z, Y = [], [X[idx]]
            for l in range(L):  # forward
                Z.append(np.matmul(Y[-1], Ws[l]) + bs[l][:, None, :])
                if l < L - 1:
                    Y.append(f(Z[-1]))
            z = Z[-1] - Z[-1].max(
                axis=2, keepdims=True
            )  # softmax cross-entropy, per run
            e = np.exp(z)
            se = e.sum(axis=2, keepdims=True)
            value = np.mean(
                np.log(se[..., 0])
                - np.take_along_axis(z, Yb[..., None], axis=2)[..., 0],
                axis=1,
            )
            d = e / se
            np.put_along_axis(
                d,
                Yb[..., None],
                np.take_along_axis(d, Yb[..., None], axis=2) - 1,
                axis=2,
            )
            d /= idx.shape[1]
            grads = [None] * (2 * L)
            for l in reversed(range(L)):  # backward
                grads[2 * l] = np.matmul(np.swapaxes(Y[l], 1, 2), d).reshape(n, -1)
                grads[2 * l + 1] = d.sum(axis=1)
                if l > 0:
                    fprime = (
                        Z[l - 1] > 0 if f.name == "relu" else f.derivative(Z[l - 1])
                    )
                    d = np.matmul(d, np.swapaxes(Ws[l], 1, 2)) * fprime
            G = np.concatenate(grads, axis=1)
            norm = _row_norms(G)
            ok = np.isfinite(value) & np.isfinite(norm)
            loss[A[ok], k], gnorm[A[ok], k] = value[ok], norm[ok]
            gmax[A[ok], k] = np.max(np.abs(G[ok]), axis=1)
            if np.any(l2[A] > 0):  # (2) the penalty, on the weights only
                G += (l2[A][:, None] * is_W) * P
            cv = clip_value[A][:, None]  # (3) clipping by value, then by norm
            did = np.zeros(n, dtype=bool)
            if np.isfinite(cv).any():
                did = np.any(np.abs(G) > cv, axis=1)
                G = np.clip(G, -cv, cv)
            n2 = _row_norms(G)
            scale = np.where(
                np.isfinite(n2) & (n2 > clip_norm[A]), clip_norm[A] / n2, 1.0
            )
            did |= scale < 1
            new = P - (lr[A] * scale)[:, None] * G
            ok &= np.isfinite(new).all(axis=1)
        diverged[A[~ok]] = k
        theta[A[ok]] = new[ok]
        clipped[A[ok], k] = did[ok]
        wnorm[A[ok], k] = _row_norms(new[ok][:, is_W])
        A = A[ok]
        if not len(A):
            break
    return [
        StepLog(
            loss[i],
            gnorm[i],
            gmax[i],
            wnorm[i],
            clipped[i],
            None if diverged[i] < 0 else int(diverged[i]),
        )
        for i in range(K)
    ]


def weights_of(net, names=("W",)):
    """All parameters of ``net`` whose name is in ``names`` (default: the weights), as
    one flat vector.

    Implements the weight histograms of eq. (tg-l1-update) in
    chapters/06_taming_gradients.
    """
    if isinstance(names, str):
        names = (names,)
    if not callable(getattr(net, "parameters", None)):
        raise TypeError(
            "weights_of: expected a network with parameters(), got "
            f"{type(net).__name__}"
        )
    parts = [
        np.ravel(p) for k, p, _ in net.parameters() if k.rsplit(".", 1)[-1] in names
    ]
    if not parts:
        raise ValueError(
            f"weights_of: the network has no parameters named {tuple(names)}"
        )
    return np.concatenate(parts)


def fraction_near_zero(weights, tol):
    """The fraction of entries with ``|w| ≤ tol`` (``weights``: an array or a network's
    weights).

    Implements the sparsity measure of eq. (tg-l1-update) in
    chapters/06_taming_gradients.
    """
    if callable(getattr(weights, "parameters", None)):
        weights = weights_of(weights)
    w = as_float_array(weights, "weights", where="fraction_near_zero")
    if w.size == 0:
        raise ValueError(
            "fraction_near_zero: expected at least one weight, got an empty array"
        )
    tol = check_positive_float(tol, "tol", allow_zero=True)
    return float(np.mean(np.abs(w) <= tol))


def soft_threshold(w, t):
    """Return ``sign(w) · max(|w| − t, 0)``, the proximal step of the penalty ``t‖w‖₁``.

    Entries with ``|w| ≤ t`` become exactly 0; the others move ``t`` towards 0. A new
    array.

    Implements eq. (tg-soft-threshold) in chapters/06_taming_gradients.
    """
    w = as_float_array(w, "w", where="soft_threshold")
    t = check_positive_float(t, "t", allow_zero=True)
    return np.sign(w) * np.maximum(np.abs(w) - t, 0.0)


class ProximalL1:
    """An optimizer wrapper: ``inner.step(net)``, then ``W ← soft_threshold(W, η λ)``
    for the weights.

    With ``inner = SGD(lr=η)`` (no ``l1``) this is proximal gradient descent on ``E +
    λ‖W‖₁`` (ISTA): the gradient step on ``E`` followed by the exact minimiser of
    ``λ‖W‖₁ + ‖W − V‖² / (2η)``.

    Parameters
    ----------
    inner : optimizer with ``lr`` and ``step(net)``, e.g. :class:`bookcode.optim.SGD`
    lam : float
        ``λ ≥ 0``.
    decay : tuple of str, default WEIGHTS
        Names of the parameters that are thresholded.

    Implements eq. (tg-soft-threshold) in chapters/06_taming_gradients.
    """

    def __init__(self, inner, lam, decay=WEIGHTS):
        if not (hasattr(inner, "step") and hasattr(inner, "lr")):
            raise TypeError(
                "ProximalL1: inner must be an optimizer with lr and step(net), got "
                f"{inner!r}"
            )
        if getattr(inner, "l1", 0):
            raise ValueError(
                "ProximalL1: the inner optimizer already adds an L1 subgradient (l1 > "
                "0); use l1=0"
            )
        self.inner, self.lam = inner, check_positive_float(lam, "lam", allow_zero=True)
        self.decay = (decay,) if isinstance(decay, str) else tuple(decay)
        self.last_clipped = False

    def step(self, net):
        """One inner step, then the soft-threshold of every decayed parameter."""
        self.inner.step(net)
        self.last_clipped = bool(getattr(self.inner, "last_clipped", False))
        t = self.inner.lr * self.lam
        for key, p, _ in net.parameters():
            if key.rsplit(".", 1)[-1] in self.decay:
                p[...] = soft_threshold(p, t)

    def __repr__(self):
        return f"ProximalL1({self.inner!r}, lam={self.lam!r})"
