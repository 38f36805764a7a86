"""How the learning signal travels backwards: products of Jacobians, per-layer learning
speeds.

Backpropagation multiplies the output's learning signal by one Jacobian per layer, ``δ^l
= δ^{l+1} (W^{l+1})ᵀ diag(f'(net^l))``, so ``δ^l`` is ``δ^L`` times a product of ``L -
l`` matrices. This module makes that product explicit (:func:`backward_jacobians`,
:func:`deltas_from_jacobians`), measures the per-layer "speed of learning" ‖∂E/∂b^l‖ of
freshly initialised networks (:func:`gaussian_mlp`, :func:`gradient_norms_at_init`) with
the cost that Nielsen used (:class:`SigmoidCrossEntropySum`), and gives the growth rate
of a product of random Gaussian matrices (:func:`log_product_norms`,
:func:`gaussian_lyapunov_exponent`). :func:`full_batch_runs` trains one architecture
from several seeds at once (one stacked matrix product per layer), so that a chapter can
state its training claims over seeds.

All of it is taught in chapters/05_vanishing_exploding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import activations as _act
from .. import diagnostics as _diag
from .. import losses as _losses
from .._validate import (
    as_batch,
    as_float_array,
    as_rng,
    check_positive_float,
    check_positive_int,
)
from ..layers import Activation, Linear
from ..network import Sequential

__all__ = [
    "gaussian_mlp",
    "SigmoidCrossEntropySum",
    "gradient_norms_at_init",
    "backward_jacobians",
    "deltas_from_jacobians",
    "log_product_norms",
    "gaussian_lyapunov_exponent",
    "SeedRuns",
    "full_batch_runs",
]

_EULER_GAMMA = 0.5772156649015329


def gaussian_mlp(sizes, activation="sigmoid", weight_gain=1.0, bias_std=0.0, rng=None):
    """A fully connected network with ``W^l ~ N(0, gain² / n_{l-1})`` and ``b^l ~ N(0,
    bias_std²)``.

    Parameters
    ----------
    sizes : sequence of int
        ``[n_0, n_1, …, n_L]``, input width first.
    activation : str
        Hidden activation (see :func:`bookcode.activations.get`); the output layer is
        linear (logits for the fused losses).
    weight_gain : float, default 1.0
        ``g`` in ``std(W^l) = g / √n_{l-1}``. Nielsen's ``network2`` uses g = 1 with
        ``bias_std = 1``; ``g = √2`` is He's choice for ReLU
        (chapters/07_initialization).
    bias_std : float, default 0.0
        Standard deviation of the biases (0: zero biases).
    rng : Generator or int
        Required; one generator draws all layers in order (weights, then biases, per
        layer).

    Implements the Gaussian initialisation of the learning-speed experiments of eq.
    (vg-speed) in chapters/05_vanishing_exploding.
    """
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(
            f"gaussian_mlp: expected at least two sizes [n_in, …, n_out], got {sizes}"
        )
    sizes = [
        check_positive_int(s, f"gaussian_mlp: sizes[{i}]") for i, s in enumerate(sizes)
    ]
    gain = check_positive_float(weight_gain, "weight_gain")
    bias_std = check_positive_float(bias_std, "bias_std", allow_zero=True)
    if rng is None:
        raise TypeError(
            "gaussian_mlp: the weights are random; pass rng=<int seed or numpy "
            "Generator>"
        )
    gen = as_rng(rng, where="gaussian_mlp")
    _act.get(activation)  # fail early on an unknown name
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        lin = Linear(
            n_in,
            n_out,
            init=gen.normal(0.0, gain / math.sqrt(n_in), size=(n_in, n_out)),
        )
        if bias_std > 0:
            lin.params["b"][...] = gen.normal(0.0, bias_std, size=n_out)
        layers.append(lin)
        if i < len(sizes) - 2:
            layers.append(Activation(activation))
    return Sequential(layers)


class SigmoidCrossEntropySum(_losses.Loss):
    """Sigmoid outputs with cross-entropy summed over the K outputs and averaged over
    the N rows.

    ``E = (1/N) Σ_n Σ_k [softplus(z_nk) − t_nk z_nk]``, i.e. ``K`` times
    :func:`bookcode.losses.binary_cross_entropy` (which averages over all N·K entries);
    ``∂E/∂z = (σ(z) − t) / N``. This is the cost of Nielsen's ``network2``
    (cross-entropy of sigmoid output neurons), so gradient norms are on the scale of his
    published numbers.

    Implements the output signal δ^L of eq. (vg-speed) in
    chapters/05_vanishing_exploding.
    """

    name = "sigmoid_cross_entropy_sum"

    def value(self, Y, T):
        Y = as_float_array(Y, "Y (logits)", where=self.name)
        if Y.ndim != 2:
            raise ValueError(
                f"{self.name}: expected logits of shape (N, K), got shape {Y.shape}"
            )
        return float(Y.shape[1] * _losses.binary_cross_entropy(Y, T))

    def grad(self, Y, T):
        Y = as_float_array(Y, "Y (logits)", where=f"{self.name}.grad")
        if Y.ndim != 2:
            raise ValueError(
                f"{self.name}.grad: expected logits of shape (N, K), got shape "
                f"{Y.shape}"
            )
        return (_losses.BinaryCrossEntropy().grad(Y, T) * Y.shape[1]).astype(
            Y.dtype, copy=False
        )


def gradient_norms_at_init(sizes, X, T, loss, seeds, which="b", **mlp_kwargs):
    """Per-layer gradient norms of freshly initialised networks, one row per seed.

    For each seed, builds ``gaussian_mlp(sizes, rng=seed, **mlp_kwargs)``, runs one
    full-batch forward and backward pass on ``(X, T)`` and records ``‖∂E/∂θ^l‖`` for the
    parameters named ``which`` (``"b"``: Nielsen's speed of learning ``‖δ^l‖`` summed
    over the batch; ``"W"``).

    Returns
    -------
    ndarray, shape (len(seeds), L)
        Layer 1 (input side) first; the last column is the output layer.

    Implements eq. (vg-speed) in chapters/05_vanishing_exploding.
    """
    loss = _losses.get(loss) if isinstance(loss, str) else loss
    X = as_batch(X, sizes[0] if len(sizes) else None, where="gradient_norms_at_init")
    seeds = list(seeds)
    if not seeds:
        raise ValueError("gradient_norms_at_init: expected at least one seed")
    rows = []
    for seed in seeds:
        net = gaussian_mlp(sizes, rng=seed, **mlp_kwargs)
        with np.errstate(over="ignore", under="ignore"):
            Y = net.forward(X)
            net.backward(loss.grad(Y, T))
        rows.append(_diag.gradient_norms(net, which))
    return np.array(rows)


def _linear_activation_pairs(net):
    layers = getattr(net, "layers", None)
    if layers is None:
        raise TypeError(f"expected a Sequential network, got {type(net).__name__}")
    n = len(layers)
    ok = (
        n % 2 == 1
        and all(isinstance(layers[i], Linear) for i in range(0, n, 2))
        and all(
            isinstance(layers[i], Activation) and layers[i].f.name != "softmax"
            for i in range(1, n, 2)
        )
    )
    if not ok:
        raise ValueError(
            "expected a network Linear, Activation, Linear, …, Linear with "
            "element-wise activations and a linear output (e.g. from gaussian_mlp), "
            f"got {net!r}"
        )
    return layers[0::2], layers[1::2]


def backward_jacobians(net, x):
    """The matrices ``J^l = (W^{l+1})ᵀ diag(f'(net^l))`` that backprop multiplies, for
    one example.

    With them the learning signal of layer ``l`` (a row vector) is ``δ^l = δ^{l+1}
    J^l``.

    Parameters
    ----------
    net : Sequential
        ``Linear, Activation, …, Linear`` with element-wise activations and a linear
        output.
    x : array, shape (n_0,)
        One example.

    Returns
    -------
    list of ndarray
        ``[J^1, …, J^{L-1}]``; ``J^l`` has shape ``(n_{l+1}, n_l)``.

    Implements eq. (vg-jacobian) in chapters/05_vanishing_exploding.
    """
    linears, acts = _linear_activation_pairs(net)
    x = as_float_array(x, "x", where="backward_jacobians")
    if x.ndim != 1:
        raise ValueError(
            "backward_jacobians: expected one example x of shape (n_0,), got shape "
            f"{x.shape}"
        )
    if x.size != linears[0].n_in:
        raise ValueError(
            f"backward_jacobians: expected x with {linears[0].n_in} entries, got "
            f"{x.size}"
        )
    y, jacobians = x, []
    for lin, act, nxt in zip(linears[:-1], acts, linears[1:]):
        z = y @ lin.W + (
            lin.b if lin.b is not None else 0.0
        )  # net^l (the layers' caches are left alone)
        y = act.f(z)
        jacobians.append(
            nxt.W.T * act.f.derivative(z)
        )  # (W^{l+1})ᵀ diag(f'(net^l)): scales column j by f'_j
    return jacobians


def deltas_from_jacobians(jacobians, delta_out):
    """``δ^l = δ^L J^{L-1} J^{L-2} ⋯ J^l`` for l = L, …, 1, by explicit matrix products.

    Parameters
    ----------
    jacobians : list of arrays
        From :func:`backward_jacobians`.
    delta_out : array, shape (n_L,)
        ``δ^L = ∂E/∂net^L`` for the example.

    Returns
    -------
    list of ndarray
        ``[δ^1, …, δ^L]`` (input side first).

    Implements eq. (vg-product) in chapters/05_vanishing_exploding.
    """
    delta = as_float_array(
        delta_out, "delta_out", where="deltas_from_jacobians", allow_nonfinite=True
    )
    if delta.ndim != 1:
        raise ValueError(
            "deltas_from_jacobians: expected delta_out of shape (n_L,), got shape "
            f"{delta.shape}"
        )
    out = [delta]
    for J in reversed(list(jacobians)):
        J = as_float_array(
            J, "jacobian", where="deltas_from_jacobians", allow_nonfinite=True
        )
        if J.ndim != 2 or J.shape[0] != out[0].size:
            raise ValueError(
                f"deltas_from_jacobians: a Jacobian of shape {J.shape} cannot multiply "
                f"a signal of size {out[0].size}; expected shape ({out[0].size}, n_l)"
            )
        out.insert(0, out[0] @ J)
    return out


def log_product_norms(n, n_factors, rng, std=1.0, n_runs=1):
    """``ln ‖M_k ⋯ M_2 M_1‖_F`` for k = 0 … n_factors, with i.i.d. ``N(0, std²)``
    entries in each n × n M.

    The running product is renormalised after every factor and the logarithms of the
    scale factors are accumulated, so the result is exact to rounding however far the
    norm grows or shrinks (a plain product of 100 standard 4 × 4 matrices is near 10²⁴;
    of 2000, beyond float64).

    Returns
    -------
    ndarray, shape (n_runs, n_factors + 1)
        Column 0 is ``ln ‖I‖_F = ½ ln n``.

    Implements eq. (vg-lyapunov) in chapters/05_vanishing_exploding.
    """
    n = check_positive_int(n, "n")
    n_factors = check_positive_int(n_factors, "n_factors", minimum=0)
    n_runs = check_positive_int(n_runs, "n_runs")
    std = check_positive_float(std, "std")
    gen = as_rng(rng, where="log_product_norms")
    P = np.broadcast_to(np.eye(n), (n_runs, n, n)).copy()
    out = np.empty((n_runs, n_factors + 1))
    out[:, 0] = 0.5 * math.log(n)
    log_scale = np.zeros(n_runs)
    for k in range(1, n_factors + 1):
        P = gen.normal(0.0, std, size=(n_runs, n, n)) @ P
        s = np.linalg.norm(P, axis=(1, 2))
        P /= s[:, None, None]
        log_scale += np.log(s)
        out[:, k] = log_scale
    return out


def _digamma_half_integer(n):
    """ψ(n/2) for a positive integer n, from ψ(1) = −γ, ψ(½) = −γ − 2 ln 2 and ψ(x + 1)
    = ψ(x) + 1/x."""
    if n % 2 == 0:
        m = n // 2
        return -_EULER_GAMMA + sum(1.0 / k for k in range(1, m))
    m = (n - 1) // 2
    return (
        -_EULER_GAMMA
        - 2 * math.log(2)
        + sum(2.0 / (2 * k - 1) for k in range(1, m + 1))
    )


def gaussian_lyapunov_exponent(n, std=1.0):
    """Growth rate per factor of a product of n × n matrices with i.i.d. ``N(0, std²)``
    entries.

    ``γ = ln std + ½ [ln 2 + ψ(n/2)]`` (ψ: digamma). For a fixed unit vector v, ``‖M v‖²
    / std²`` is χ² with n degrees of freedom and independent of the direction of ``M
    v``, so ``ln ‖M_k ⋯ M_1 v‖`` is a sum of k i.i.d. terms with mean γ, and ``ln ‖M_k ⋯
    M_1‖ / k → γ``.

    Implements eq. (vg-lyapunov) in chapters/05_vanishing_exploding.
    """
    n = check_positive_int(n, "n")
    std = check_positive_float(std, "std")
    return math.log(std) + 0.5 * (math.log(2.0) + _digamma_half_integer(n))


@dataclass
class SeedRuns:
    """Full-batch gradient descent from several seeds, made by :func:`full_batch_runs`.

    Attributes
    ----------
    seeds : list of int
    loss : ndarray, shape (n_seeds, steps + 1)
        Training loss (data term) after 0, 1, …, ``steps`` updates; NaN from a run's
        divergence on.
    bias_grad_norms : ndarray, shape (n_seeds, steps + 1, L)
        ``‖∂E/∂b^l‖`` of the full-batch gradient at the same weights (the speed of
        learning).
    W, b : lists of ndarray
        The final parameters, stacked over seeds: ``W[l]`` has shape ``(n_seeds, n_l,
        n_{l+1})``. A run that diverged keeps the parameters that gave its first
        non-finite loss.
    activation : str
    """

    seeds: list
    loss: np.ndarray
    bias_grad_norms: np.ndarray
    W: list
    b: list
    activation: str

    @property
    def diverged_at(self):
        """Per seed, the first step count whose loss is not finite, or -1 for a run that
        stayed finite."""
        bad = ~np.isfinite(self.loss)
        return np.where(bad.any(axis=1), bad.argmax(axis=1), -1)

    def net(self, i):
        """The final network of the ``i``-th seed as a
        :class:`~bookcode.network.Sequential`."""
        layers = []
        for l, (W, b) in enumerate(zip(self.W, self.b)):
            lin = Linear(W.shape[1], W.shape[2], init=W[i])
            lin.params["W"], lin.params["b"] = (
                W[i].copy(),
                b[i].copy(),
            )  # in the dtype of the runs
            lin.zero_grad()
            layers += (
                [lin] if l == len(self.W) - 1 else [lin, Activation(self.activation)]
            )
        return Sequential(layers)

    def __repr__(self):
        n, d = len(self.seeds), int(np.sum(self.diverged_at >= 0))
        return f"SeedRuns({n} seeds, {self.loss.shape[1] - 1} steps, {d} diverged)"


def full_batch_runs(
    sizes,
    X,
    T,
    loss,
    seeds,
    *,
    lr,
    steps,
    l2=0.0,
    activation="sigmoid",
    weight_gain=1.0,
    bias_std=0.0,
    dtype=np.float64,
):
    """Train ``gaussian_mlp(sizes, …, rng=seed)`` for every seed with full-batch
    gradient descent.

    All seeds advance together: every layer is one stacked matrix product over the
    seeds, so eight seeds cost little more than one. The update is ``SGD(lr, l2=l2)`` of
    :mod:`bookcode.optim` (``W ← W − η(∂E/∂W + λW)``, biases not penalised), and the
    records follow :func:`bookcode.train.train` with ``batch_size=len(X)``. A seed whose
    loss or gradient becomes NaN/inf stops there; the others go on.

    Parameters
    ----------
    sizes : sequence of int
        ``[n_0, …, n_L]``, as for :func:`gaussian_mlp`.
    X, T : arrays
        Training inputs ``(N, n_0)`` and the targets ``loss`` expects.
    loss : loss object or name
    seeds : iterable of int
    lr : float
        Learning rate η > 0.
    steps : int
        Number of updates (0: only the state at initialisation).
    l2 : float, default 0
        L2 penalty λ on the weights.
    activation, weight_gain, bias_std :
        As for :func:`gaussian_mlp`.
    dtype : float64 or float32
        Arithmetic of the parameters, the inputs and every product.

    Returns
    -------
    SeedRuns

    Implements eq. (vg-speed) during training, over seeds, in
    chapters/05_vanishing_exploding.
    """
    loss = _losses.get(loss) if isinstance(loss, str) else loss
    if not (hasattr(loss, "value") and hasattr(loss, "grad")):
        raise TypeError(
            "full_batch_runs: loss must be a loss object or name, got "
            f"{type(loss).__name__}"
        )
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise ValueError(
            f"full_batch_runs: dtype must be float64 or float32, got {dtype}"
        )
    seeds = list(seeds)
    if not seeds:
        raise ValueError("full_batch_runs: expected at least one seed")
    lr = check_positive_float(lr, "lr")
    steps = check_positive_int(steps, "steps", minimum=0)
    l2 = check_positive_float(l2, "l2", allow_zero=True)
    nets = [
        gaussian_mlp(sizes, activation, weight_gain, bias_std, rng=s) for s in seeds
    ]
    X = as_batch(X, nets[0][0].n_in, where="full_batch_runs").astype(dtype)
    if len(T) != len(X):
        raise ValueError(
            f"full_batch_runs: X has {len(X)} rows but T has {len(T)}; expected one "
            "target per row"
        )
    f = _act.get(activation)
    W = [
        np.stack([n[i].W for n in nets]).astype(dtype)
        for i in range(0, len(nets[0].layers), 2)
    ]
    b = [
        np.stack([n[i].b for n in nets]).astype(dtype)
        for i in range(0, len(nets[0].layers), 2)
    ]
    k, L = len(seeds), len(W)
    out_loss, out_norms = (
        np.full((k, steps + 1), np.nan),
        np.full((k, steps + 1, L), np.nan),
    )
    alive = np.arange(k)
    for step in range(steps + 1):
        with np.errstate(all="ignore"):
            Ws, bs = [w[alive] for w in W], [c[alive] for c in b]
            n = len(alive)  # layer 1: one product for all seeds
            Z = [
                np.matmul(X, Ws[0].transpose(1, 0, 2).reshape(X.shape[1], -1))
                .reshape(len(X), n, -1)
                .transpose(1, 0, 2)
                + bs[0][:, None, :]
            ]
            Y = [X]
            for l in range(1, L + 1):  # forward, all live seeds at once
                Y.append(1 / (1 + np.exp(-Z[-1])) if f.name == "sigmoid" else f(Z[-1]))
                if l < L:
                    Z.append(np.matmul(Y[-1], Ws[l]) + bs[l][:, None, :])
            Y.pop()
            d, ok = np.zeros_like(Z[-1]), np.zeros(len(alive), dtype=bool)
            for j, i in enumerate(alive):  # the loss, seed by seed
                if np.all(np.isfinite(Z[-1][j])):
                    value = loss.value(Z[-1][j], T)
                    if np.isfinite(value):
                        out_loss[i, step], ok[j] = value, True
                        d[j] = loss.grad(Z[-1][j], T)
            gW, gb = [None] * L, [None] * L
            for l in reversed(range(L)):  # backward
                gb[l] = d.sum(axis=1)
                if l > 0:
                    gW[l] = np.matmul(np.swapaxes(Y[l], -1, -2), d)
                else:  # Xᵀ δ for all seeds in one product
                    gW[0] = (
                        (X.T @ d.transpose(1, 0, 2).reshape(len(X), -1))
                        .reshape(X.shape[1], n, -1)
                        .transpose(1, 0, 2)
                    )
                if l > 0:
                    fprime = (
                        Y[l] * (1 - Y[l])
                        if f.name == "sigmoid"
                        else f.derivative(Z[l - 1])
                    )
                    d = (
                        np.matmul(d, np.swapaxes(Ws[l], -1, -2)) * fprime
                    )  # σ' = y(1 − y): no new exp
            ok &= np.all(
                [np.isfinite(g.reshape(n, -1)).all(axis=1) for g in gW + gb], axis=0
            )
            norms = np.stack(
                [np.linalg.norm(g.astype(np.float64), axis=1) for g in gb], axis=1
            )
            out_norms[alive[ok], step] = norms[ok]
            out_loss[alive[~ok], step] = np.nan
        if step == steps or not ok.any():
            alive = alive[ok]
            break
        for l in range(L):  # the step, live seeds only
            W[l][alive[ok]] = Ws[l][ok] - (lr * (gW[l][ok] + l2 * Ws[l][ok])).astype(
                dtype, copy=False
            )
            b[l][alive[ok]] = bs[l][ok] - (lr * gb[l][ok]).astype(dtype, copy=False)
        alive = alive[ok]
    return SeedRuns(seeds, out_loss, out_norms, W, b, f.name)
