"""Initialisation studies: signals through deep nets, their prediction, symmetry,
deep-net training.

- :func:`deep_stats` measures the spread of the pre-activations, activations and
  learning signals of every layer of a deep square network at initialisation, for a
  weight scheme and an activation;
- :func:`predicted_stats` predicts the same numbers layer by layer from the
  second-moment recursions (:func:`gauss_expectation` does the Gaussian integrals),
  :func:`moment_gain` and :func:`fixed_point_variance` give the gains that keep them
  level;
- :func:`matmul_chain_std` is the 50-matrix-product check, :func:`hidden_unit_spread`
  measures how different the hidden units of a layer are (zero after a symmetric start);
- :func:`train_deep_mlps` trains several deep ReLU networks at once (Xavier against He).

All of it is taught in chapters/07_initialization.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .. import activations as _act
from .. import init as _init
from .._validate import (
    as_batch,
    as_rng,
    check_choice,
    check_positive_float,
    check_positive_int,
)
from ..layers import Linear

__all__ = [
    "SCHEMES",
    "weight_std",
    "draw_weights",
    "gauss_expectation",
    "moment_gain",
    "fixed_point_variance",
    "deep_stats",
    "predicted_stats",
    "matmul_chain_std",
    "hidden_unit_spread",
    "train_deep_mlps",
]

#: Weight schemes by name: ``W_ij ~ N(0, std²)`` with the std given by
#: :func:`weight_std`.
SCHEMES = ("zeros", "small", "normal", "lecun", "xavier", "he")

_Z = np.linspace(
    -12.0, 12.0, 4801
)  # grid for E[h(z)], z ~ N(0, 1); z = 0 is a panel boundary
_PHI = np.exp(-0.5 * _Z**2) / math.sqrt(2.0 * math.pi) * (_Z[1] - _Z[0]) / 3.0
_PHI[1:-1:2] *= 4.0  # composite Simpson weights 1, 4, 2, 4, …, 4, 1: a kink at 0
_PHI[2:-1:2] *= 2.0  # (ReLU) falls between panels, so the error stays O(h⁴)
_MID = _Z.size // 2
_ZE = np.concatenate([_Z, [1e-9, -1e-9]])  # the two sides of z = 0


def weight_std(scheme, n_in, n_out):
    """Standard deviation of the weights of a ``n_in × n_out`` layer under ``scheme``.

    ``"zeros"``: 0; ``"small"``: 0.01; ``"normal"``: 1; ``"lecun"``: ``1/√n_in``;
    ``"xavier"``: ``√(2/(n_in + n_out))``; ``"he"``: ``√(2/n_in)``. A positive number
    ``g`` is read as the gain of ``g/√n_in``.

    Implements eqs. (init-xavier-variance) and (init-he-variance) in
    chapters/07_initialization.
    """
    n_in, n_out = check_positive_int(n_in, "n_in"), check_positive_int(n_out, "n_out")
    if isinstance(scheme, numbers.Real) and not isinstance(scheme, bool):
        return check_positive_float(scheme, "gain") / math.sqrt(n_in)
    if not isinstance(scheme, str):
        raise TypeError(
            f"weight_std: scheme must be a name or a positive gain, got {scheme!r}"
        )
    check_choice(scheme, SCHEMES, "scheme")
    return {
        "zeros": 0.0,
        "small": 0.01,
        "normal": 1.0,
        "lecun": 1.0 / math.sqrt(n_in),
        "xavier": math.sqrt(2.0 / (n_in + n_out)),
        "he": math.sqrt(2.0 / n_in),
    }[scheme]


def draw_weights(scheme, n_in, n_out, rng):
    """A ``(n_in, n_out)`` weight matrix under ``scheme``, drawn with
    :mod:`bookcode.init`.

    Implements eqs. (init-xavier-variance) and (init-he-variance) in
    chapters/07_initialization.
    """
    std = weight_std(scheme, n_in, n_out)
    if scheme == "xavier":
        return _init.xavier_normal(n_in, n_out, rng=rng)
    if scheme == "he":
        return _init.he_normal(n_in, n_out, rng=rng)
    if std == 0.0:
        return _init.zeros(n_in, n_out)
    return _init.normal(n_in, n_out, std=std, rng=rng)


def gauss_expectation(h, var):
    """``E[h(√var · z)]`` for ``z ~ N(0, 1)``, by Simpson's rule on [−12, 12] (``h``
    vectorised).

    Used for the second moments ``E[f(net)²]`` and ``E[f'(net)²]`` of a Gaussian
    ``net``. Implements the expectations of eq. (init-moment-recursion) in
    chapters/07_initialization.
    """
    var = check_positive_float(var, "var", allow_zero=True)
    s = math.sqrt(var)
    vals = np.asarray(h(s * _ZE), dtype=float)
    vals[_MID] = 0.5 * (
        vals[-1] + vals[-2]
    )  # a jump at 0 (ReLU's f') counts with its mean value
    return float(np.sum(_PHI * vals[:-2]))


def _f(activation, params):
    f = _act.get(activation, **params)
    if f.name == "softmax":
        raise ValueError("expected an element-wise activation, got 'softmax'")
    return f


def moment_gain(activation, moment="second", var=1.0, **params):
    """The gain ``g`` with ``g² · M[f(net)] = Var[net]`` for ``net ~ N(0, var)``.

    ``moment="second"``: ``M = E[f²]`` (right: the next layer's variance needs the
    second moment, so ``Var W = g²/n_in`` keeps it level); ``moment="variance"``: ``M =
    Var[f]`` (the common mistake). For ReLU: √2 and ``1/√(1/2 − 1/(2π)) ≈ 1.71``.

    Implements eqs. (init-he-variance) and (init-leaky-gain) in
    chapters/07_initialization.
    """
    check_choice(moment, ("second", "variance"), "moment")
    var = check_positive_float(var, "var")
    f = _f(activation, params)
    m2 = gauss_expectation(lambda x: f(x) ** 2, var)
    if moment == "variance":
        m2 -= gauss_expectation(f, var) ** 2
    return math.sqrt(var / m2)


def fixed_point_variance(activation, gain, var0=1.0, n_iter=2000, **params):
    """The variance ``q*`` that ``q ← g² E[f(√q z)²]`` settles at, from ``q = var0``.

    Returns 0.0 when the iteration decays (e.g. tanh with ``g ≤ 1``: the decay is only
    like 1/l). Implements eq. (init-moment-recursion) in chapters/07_initialization.
    """
    g2 = check_positive_float(gain, "gain") ** 2
    q = check_positive_float(var0, "var0")
    n_iter = check_positive_int(n_iter, "n_iter")
    f = _f(activation, params)
    for _ in range(n_iter):
        q_new = g2 * gauss_expectation(lambda x: f(x) ** 2, q)
        if not math.isfinite(q_new) or q_new > 1e12:
            raise ValueError(
                "fixed_point_variance: the variance grows without bound for gain "
                f"{gain}"
            )
        if abs(q_new - q) <= 1e-13 * max(q, 1e-300):
            return q_new
        q = q_new
    return q if q > 1e-3 * var0 else 0.0


def _check_sizes(depth, width, n_examples):
    return (
        check_positive_int(depth, "depth"),
        check_positive_int(width, "width"),
        check_positive_int(n_examples, "n_examples"),
    )


def deep_stats(
    scheme, activation, depth=50, width=100, n_examples=256, rng=0, **params
):
    """Per-layer spread of a deep ``width × width`` network at initialisation (no
    biases).

    The input ``X`` and the output signal ``∂E/∂Y^L`` are independent standard normal
    batches (drawn first, then ``W^1 … W^L``), so the forward and backward passes can be
    compared with :func:`predicted_stats`. Plain matrix code (``net = Y W``, ``δ = G ∘
    f'(net)``, ``G = δ Wᵀ``): the same arithmetic as ``Linear``/``Activation``, without
    their per-call checks.

    Returns
    -------
    dict of ndarray, shape (depth,), layer 1 first
        ``net_std``: std of ``net^l = Y^{l-1} W^l``; ``act_std``: of ``Y^l = f(net^l)``;
        ``grad_std``: of the learning signal ``δ^l = ∂E/∂net^l`` (inf/NaN when it
        overflowed).

    Implements eqs. (init-forward) and (init-backward) in chapters/07_initialization.
    """
    depth, width, n_examples = _check_sizes(depth, width, n_examples)
    gen = as_rng(rng, where="deep_stats")
    f = _f(activation, params)
    X = gen.standard_normal((n_examples, width))
    G = gen.standard_normal((n_examples, width))
    Ws = [draw_weights(scheme, width, width, gen) for _ in range(depth)]
    out = {"net_std": [], "act_std": [], "grad_std": [0.0] * depth}
    nets, outs = [], []
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        Y = X
        for W in Ws:
            nets.append(Y @ W)
            Y = f(nets[-1])
            outs.append(Y)
            out["net_std"].append(np.std(nets[-1]))
            out["act_std"].append(np.std(Y))
        for l in range(depth - 1, -1, -1):
            # tanh' = 1 − tanh²: the same numbers as f.derivative, without a second tanh
            # per entry
            slope = (
                1.0 - outs[l] * outs[l] if f.name == "tanh" else f.derivative(nets[l])
            )
            delta = G * slope
            out["grad_std"][l] = np.std(delta)
            G = delta @ Ws[l].T
    return {k: np.array(v, dtype=float) for k, v in out.items()}


def predicted_stats(
    scheme, activation, depth=50, width=100, input_var=1.0, grad_var=1.0, **params
):
    """The spreads of :func:`deep_stats` predicted by the second-moment recursions.

    Forward: ``q^l = n Var W · E[(y^{l-1})²]`` with ``E[(y^l)²] = E[f(√q^l z)²]`` (``y^0
    = x``); backward: ``d^l = n Var W · d^{l+1} · E[f'(√q^l z)²]``, starting from ``d^L
    = grad_var · E[f'(√q^L z)²]``. Assumes Gaussian pre-activations, independent of the
    weights and of the backward signal (exact as the width grows; an estimate at finite
    width).

    Returns
    -------
    dict of ndarray, shape (depth,), with the keys of :func:`deep_stats`.

    Implements eq. (init-moment-recursion) in chapters/07_initialization.
    """
    depth, width, _ = _check_sizes(depth, width, 1)
    f = _f(activation, params)
    s2 = weight_std(scheme, width, width) ** 2 * width  # n · Var W
    m = check_positive_float(input_var, "input_var")
    d = check_positive_float(grad_var, "grad_var")
    q, act_var, dd = [], [], []
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(depth):
            q.append(s2 * m)
            m = (
                gauss_expectation(lambda x: f(x) ** 2, q[-1])
                if math.isfinite(q[-1])
                else math.inf
            )
            mean = gauss_expectation(f, q[-1]) if math.isfinite(q[-1]) else 0.0
            act_var.append(max(m - mean**2, 0.0))
        slopes = [
            gauss_expectation(lambda x: f.derivative(x) ** 2, v)
            if math.isfinite(v)
            else math.nan
            for v in q
        ]
        for i in range(depth - 1, -1, -1):
            d = d * slopes[i] if i == depth - 1 else d * s2 * slopes[i]
            dd.append(d)
    return {
        "net_std": np.sqrt(q),
        "act_std": np.sqrt(act_var),
        "grad_std": np.sqrt(dd[::-1]),
    }


def matmul_chain_std(scale, n_layers=50, width=100, dtype=np.float32, rng=0):
    """Std of ``x`` after each of ``x ← x A_k`` with ``A_k = scale · N(0, 1)^{width ×
    width}``.

    No activation: the pure effect of the weight scale. In float32, ``scale = 1``
    overflows to inf and then NaN, ``scale = 0.01`` underflows to exact zeros, ``scale =
    1/√width`` stays O(1).

    Returns
    -------
    ndarray, shape (n_layers,)
        The std after layer k (computed in float64 from the ``dtype`` vector; NaN once x
        is not finite).

    Implements eq. (init-forward) with a linear activation in
    chapters/07_initialization.
    """
    scale = check_positive_float(scale, "scale")
    n_layers, width, _ = _check_sizes(n_layers, width, 1)
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"matmul_chain_std: expected a floating dtype, got {dtype}")
    gen = as_rng(rng, where="matmul_chain_std")
    x = gen.standard_normal(width).astype(dtype)
    out = []
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        for _ in range(n_layers):
            x = x @ (scale * gen.standard_normal((width, width))).astype(dtype)
            out.append(
                np.std(x.astype(np.float64)) if np.all(np.isfinite(x)) else math.nan
            )
    return np.array(out)


def hidden_unit_spread(net):
    """For every hidden Linear layer: ``max_{i,j} |W_ij − W_i0|``, how different its
    units' weights are.

    Zero means every hidden unit has the same incoming weights (the columns of ``W`` are
    equal). Implements the symmetry check of eq. (init-symmetry) in
    chapters/07_initialization.
    """
    layers = getattr(net, "layers", None)
    if layers is None:
        raise TypeError(
            "hidden_unit_spread: expected a Sequential network, got "
            f"{type(net).__name__}"
        )
    linears = [layer for layer in layers if isinstance(layer, Linear)]
    if len(linears) < 2:
        raise ValueError(
            "hidden_unit_spread: expected at least one hidden layer (two Linear layers)"
        )
    return np.array([np.max(np.abs(lin.W - lin.W[:, :1])) for lin in linears[:-1]])


def train_deep_mlps(
    inits,
    seeds,
    X,
    y,
    depth=30,
    width=32,
    lr=0.01,
    momentum=0.9,
    epochs=10,
    batch_size=128,
    rng=0,
):
    """Train one ReLU MLP per (init, seed) at once, stacked along a leading axis;
    softmax cross-entropy.

    Every network is ``mlp([n_in] + [width] * (depth - 1) + [n_classes], "relu",
    init=init, rng=seed)`` (same weights as :func:`bookcode.network.mlp`), zero biases,
    trained by SGD with heavy-ball momentum on the same mini-batches (order from
    ``rng``).

    Returns
    -------
    dict
        ``loss``, ``accuracy``: arrays ``(len(inits) * len(seeds), epochs + 1)`` on
        ``(X, y)`` (column 0: at initialisation), runs ordered init-major; ``runs``: the
        ``(init, seed)`` pairs.

    Implements the experiment of eq. (init-he-variance) in chapters/07_initialization.
    """
    from ..network import mlp

    X = as_batch(X, None, where="train_deep_mlps")
    y = np.asarray(y)
    if y.shape != (len(X),) or y.dtype.kind not in "iu" or y.min() < 0:
        raise ValueError(
            f"train_deep_mlps: expected integer labels of shape ({len(X)},), got "
            f"{y.shape} {y.dtype}"
        )
    depth = check_positive_int(depth, "depth", minimum=2)
    width, epochs, batch_size = (
        check_positive_int(v, k)
        for v, k in ((width, "width"), (epochs, "epochs"), (batch_size, "batch_size"))
    )
    lr = check_positive_float(lr, "lr")
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f"train_deep_mlps: momentum must be in [0, 1), got {momentum}")
    runs = [(i, s) for i in inits for s in seeds]
    if not runs:
        raise ValueError("train_deep_mlps: expected at least one init and one seed")
    K = int(y.max()) + 1
    nets = [
        mlp([X.shape[1]] + [width] * (depth - 1) + [K], "relu", init=i, rng=s)
        for i, s in runs
    ]
    W = [np.stack([n.layers[2 * l].W for n in nets]) for l in range(depth)]
    b = [np.zeros((len(runs), 1, w.shape[2])) for w in W]
    vel = [np.zeros_like(p) for p in W + b]
    T = np.eye(K)[y]
    gen = as_rng(rng, where="train_deep_mlps")

    def forward(Xb):
        hs, z = [np.broadcast_to(Xb, (len(runs),) + Xb.shape)], None
        for l in range(depth):
            z = hs[-1] @ W[l]
            z += b[l]  # in place: no second large array per layer
            if l < depth - 1:
                np.maximum(z, 0.0, out=z)  # ReLU; backward only needs relu(z) > 0
            hs.append(z)
        z = z - z.max(axis=-1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
        return hs, logp

    def record(hist):
        _, logp = forward(X)
        hist["loss"].append(-np.mean(np.sum(T * logp, axis=-1), axis=-1))
        hist["accuracy"].append(np.mean(logp.argmax(axis=-1) == y, axis=-1))

    hist = {"loss": [], "accuracy": []}
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        record(hist)
        for _ in range(epochs):
            perm = gen.permutation(len(X))
            for start in range(0, len(X), batch_size):
                idx = perm[start : start + batch_size]
                hs, logp = forward(X[idx])
                delta = (np.exp(logp) - T[idx]) / len(
                    idx
                )  # ∂E/∂net^L, E = mean cross-entropy
                for l in range(depth - 1, -1, -1):
                    grads = (
                        np.swapaxes(hs[l], 1, 2) @ delta,
                        delta.sum(axis=1, keepdims=True),
                    )
                    if l > 0:
                        delta = delta @ np.swapaxes(W[l], 1, 2)
                        delta *= hs[l] > 0
                    for j, (p, g) in enumerate(zip((W[l], b[l]), grads)):
                        v = vel[l + j * depth]
                        v *= momentum
                        v += g
                        p -= lr * v
            record(hist)
    return {
        "loss": np.array(hist["loss"]).T,
        "accuracy": np.array(hist["accuracy"]).T,
        "runs": runs,
    }
