"""Experiments of chapters/12_modern_training: pre-norm and post-norm residual stacks.

- :func:`norm_mlp` builds ``x ← LN(x + F(x))`` (post) or ``x ← x + F(LN(x))`` (pre);
- :func:`init_grad_norms` measures ``‖∂E/∂W‖`` and ``‖∂E/∂x_l‖`` of every block at
  initialisation; :func:`warmup_runs` trains with Adam, with and without warm-up, all
  seeds at once (parameters stacked on a first axis; ``tests/test_norm_study.py`` checks
  that this computes what the layers of :func:`norm_mlp` compute).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from .. import layernorm as _ln
from .. import losses as _losses
from .._validate import as_rng, check_choice, check_positive_float, check_positive_int
from ..activations import logsumexp, softmax
from ..adam import Adam
from ..data import digits, sgd_batches
from ..layers import Activation, Linear
from ..network import Sequential
from ..optim import LinearWarmup
from ..residual import Residual
from ..train import _progress
from .residual_study import block_grad_norms

__all__ = ["norm_mlp", "init_grad_norms", "warmup_runs", "WarmupRuns"]

ORDERS = ("pre", "post")
NORMS = {"layernorm": _ln.LayerNorm, "rmsnorm": _ln.RMSNorm}


def norm_mlp(
    n_in,
    width,
    n_out,
    depth,
    *,
    order="pre",
    norm="layernorm",
    activation="relu",
    init="xavier_normal",
    rng=0,
):
    """A deep MLP of ``depth`` normalised residual blocks, pre-norm or post-norm.

    ``Linear(n_in, width)``, then ``depth`` blocks with the branch ``F = Linear → f →
    Linear``, then ``Linear(width, n_out)``. A post-norm block is ``x ← N(x + F(x))``
    (``Sequential([Residual(F), N])``: the norm sits on the identity path, as in the
    original Transformer); a pre-norm block is ``x ← x + F(N(x))`` (``Residual`` of
    ``[N, F…]``: the identity path is clean), and a final ``N`` precedes the head.

    Parameters
    ----------
    n_in, width, n_out, depth : int
    order : {"pre", "post"}
    norm : {"layernorm", "rmsnorm"}
        ``N``: :class:`bookcode.layernorm.LayerNorm` or ``RMSNorm``.
    activation, init : str
        ``f``, and the initializer of every Linear (Xavier, as in Xiong et al. 2020).
    rng : Generator or int

    Returns
    -------
    Sequential
        Layer 0 is the input Linear, layers ``1 … depth`` the blocks, then (pre-norm)
        the final norm, then the head.

    Implements eqs. (prenorm) and (postnorm) in chapters/12_modern_training.
    """
    for k, v in dict(n_in=n_in, width=width, n_out=n_out, depth=depth).items():
        check_positive_int(v, f"norm_mlp: {k}")
    check_choice(order, ORDERS, "norm_mlp order")
    Norm = NORMS[check_choice(norm, tuple(NORMS), "norm_mlp norm")]
    gen = as_rng(rng, where="norm_mlp")

    def branch():
        return [
            Linear(width, width, init=init, rng=gen),
            Activation(activation),
            Linear(width, width, init=init, rng=gen),
        ]

    layers = [Linear(n_in, width, init=init, rng=gen)]
    for _ in range(depth):
        if order == "pre":
            layers.append(Residual(Sequential([Norm(width), *branch()])))
        else:
            layers.append(Sequential([Residual(Sequential(branch())), Norm(width)]))
    layers += [Norm(width)] if order == "pre" else []
    return Sequential(layers + [Linear(width, n_out, init=init, rng=gen)])


def init_grad_norms(order, seeds, *, depth=24, width=32, rows=256, **net):
    """``‖∂E/∂W‖`` and ``‖∂E/∂x_l‖`` of every block of new :func:`norm_mlp` nets.

    One forward and backward pass (softmax cross-entropy) on the first ``rows`` training
    digits; one network per seed. ``net``: ``norm``, ``activation``, ``init`` of
    :func:`norm_mlp`.

    Returns
    -------
    grad_W, grad_x : numpy.ndarray, shape (seeds, depth)
        Block ``l`` (input side first): the Frobenius norm of the gradient of the two
        weight matrices of its branch together; of ``∂E/∂x`` at its input
        (:func:`bookcode.experiments.residual_study.block_grad_norms`).

    Implements the experiment on eqs. (prenorm) and (postnorm) in
    chapters/12_modern_training.
    """
    check_choice(order, ORDERS, "init_grad_norms order")
    depth = check_positive_int(depth, "init_grad_norms: depth")
    rows = check_positive_int(rows, "init_grad_norms: rows")
    seeds = _seeds(seeds, "init_grad_norms")
    X, T, _, _ = digits()
    X, T, loss = X[:rows], T[:rows], _losses.get("softmax_cross_entropy")
    grad_W, grad_x = np.empty((2, len(seeds), depth))
    for i, seed in enumerate(seeds):
        model = norm_mlp(64, width, 10, depth, order=order, rng=seed, **net)
        model.backward(loss.grad(model.forward(X), T))
        grad_x[i] = block_grad_norms(model)[:depth]
        grad_W[i] = [
            np.sqrt(sum(np.sum(g * g) for k, g in b.grads.items() if k.endswith("W")))
            for b in model.layers[1 : depth + 1]
        ]
    return grad_W, grad_x


@dataclass(frozen=True)
class WarmupRuns:
    """What :func:`warmup_runs` records, keyed by ``(order, warm)``, e.g.
    ``runs.loss["post", False]`` (chapters/12_modern_training).

    ``loss[key]`` (seeds, steps): the loss of every training batch, before its step
    (``inf`` if not finite); ``accuracy[key]`` (seeds,): test accuracy at the end;
    ``lr``, ``warmup_steps``, ``seeds``.
    """

    loss: dict
    accuracy: dict
    lr: float
    warmup_steps: int
    seeds: tuple

    def best(self, window=10):
        """Per run: the lowest mean loss over ``window`` consecutive steps."""
        window = check_positive_int(window, "WarmupRuns.best: window")
        kernel = np.ones(window) / window
        return {
            k: np.array([np.convolve(r, kernel, "valid").min() for r in v])
            for k, v in self.loss.items()
        }


def warmup_runs(
    seeds,
    *,
    lr,
    warmup_steps,
    orders=ORDERS,
    depth=8,
    width=32,
    steps=40,
    batch_size=96,
    progress=None,
    **net,
):
    """Train :func:`norm_mlp` nets on the digits with Adam, with and without warm-up.

    For every order and seed ``s``, two identical networks (weights and batch order
    from seed ``s``) train for ``steps`` steps with ``Adam(lr)`` and with
    ``Adam(LinearWarmup(lr, warmup_steps))`` (``β = (0.9, 0.999)``) on batches of
    ``batch_size`` training digits (softmax cross-entropy). The networks of one order
    are trained together, their parameters stacked. ``progress``: a progress bar
    (``None``: after 2 s unless ``BOOKCODE_PROGRESS=0``); ``net``: ``norm``,
    ``activation``, ``init`` of :func:`norm_mlp`.

    Returns
    -------
    WarmupRuns

    Implements the warm-up experiment on eqs. (prenorm), (postnorm) and (adam-step) in
    chapters/12_modern_training.
    """
    where = "warmup_runs"
    lr = check_positive_float(lr, f"{where}: lr")
    warmup_steps = check_positive_int(warmup_steps, f"{where}: warmup_steps", minimum=2)
    steps = check_positive_int(steps, f"{where}: steps")
    batch_size = check_positive_int(batch_size, f"{where}: batch_size")
    seeds = _seeds(seeds, where)
    orders = [check_choice(o, ORDERS, f"{where} order") for o in orders]
    X, T, X_test, T_test = digits()
    S, loss, accuracy = len(seeds), {}, {}
    bar = _progress(len(orders) * steps, progress, unit="step", desc="warm-up runs")
    try:
        for order in orders:
            nets, batches = [], []
            for seed in seeds * 2:  # without, then with warm-up
                gen = as_rng(seed, where=where)
                nets.append(norm_mlp(64, width, 10, depth, order=order, rng=gen, **net))
                batches.append(sgd_batches(len(X), batch_size, steps, gen))
            stack, values = _Stack(nets, order), np.empty((2 * S, steps))
            rates = (lr, LinearWarmup(lr, warmup_steps))
            opts = [Adam(rate, allow_nonfinite=True) for rate in rates]
            with np.errstate(all="ignore"):
                for t, idx in enumerate(zip(*batches)):
                    idx = np.stack(idx)
                    values[:, t], dY = _cross_entropy(stack.forward(X[idx]), T[idx])
                    stack.backward(dY)
                    for w, opt in enumerate(opts):
                        opt.step(stack.view(slice(w * S, (w + 1) * S)))
                    if bar is not None:
                        bar.update(1)
                hit = np.argmax(stack.forward(X_test), axis=-1) == T_test
            values = np.where(np.isfinite(values), values, np.inf)
            for w in (0, 1):
                loss[order, bool(w)] = values[w * S : (w + 1) * S]
                accuracy[order, bool(w)] = hit[w * S : (w + 1) * S].mean(axis=1)
    finally:
        if bar is not None:
            bar.close()
    return WarmupRuns(loss, accuracy, lr, warmup_steps, tuple(seeds))


def _seeds(seeds, where):
    out = list(seeds) if np.ndim(seeds) == 1 else []
    if out and all(isinstance(s, (int, np.integer)) and s >= 0 for s in out):
        return [int(s) for s in out]
    raise ValueError(
        f"{where}: expected a non-empty list of int seeds >= 0, got {seeds!r}"
    )


def _cross_entropy(Z, T):
    """Softmax cross-entropy per network of logits ``(M, N, K)``, labels ``(M, N)``;
    and ``dE/dZ``."""
    onehot = np.eye(Z.shape[-1])[T]
    value = np.mean(logsumexp(Z, axis=-1) - np.sum(onehot * Z, axis=-1), axis=-1)
    return value, (softmax(Z) - onehot) / Z.shape[1]


class _Stack:
    """M :func:`norm_mlp` nets of one shape: the parameters stacked on a first axis
    (a branch's ``"1.W"``: ``(M, depth, width, width)``); :mod:`bookcode.layernorm`'s
    norms."""

    def __init__(self, nets, order):
        self.pre = order == "pre"
        try:
            blocks = [n.layers[1 : len(n) - (2 if self.pre else 1)] for n in nets]
            branches = [[(b if self.pre else b[0]).branch for b in bs] for bs in blocks]
            norms = [[b.branch[0] if self.pre else b[1] for b in bs] for bs in blocks]
            i = self.i = int(self.pre)  # the branch's first Linear
            P = {f"in.{k}": [[n[0].params[k]] for n in nets] for k in "Wb"}
            P.update({f"out.{k}": [[n[-1].params[k]] for n in nets] for k in "Wb"})
            for key in (f"{j}.{k}" for j in (i, i + 2) for k in "Wb"):
                P[key] = [[b.params[key] for b in bs] for bs in branches]
            for k in norms[0][0].params:
                P["n." + k] = [[m.params[k] for m in ms] for ms in norms]
                if self.pre:
                    P["nf." + k] = [[n[-2].params[k]] for n in nets]
            self.P = {k: np.array(v, dtype=np.float64) for k, v in P.items()}
            self.f, self.eps = branches[0][0][i + 1].f, norms[0][0].eps
        except (AttributeError, IndexError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(
                f"_Stack: expected {order}-norm nets of one shape from norm_mlp ({exc})"
            ) from None
        self.rms = "n.beta" not in self.P
        self.G = {k: np.zeros_like(v) for k, v in self.P.items()}

    def view(self, rows):
        """The networks ``rows`` (a slice), as a model for an optimizer (views)."""
        triples = lambda: ((k, self.P[k][rows], self.G[k][rows]) for k in self.P)
        return SimpleNamespace(parameters=triples)

    def _norm(self, h, name, l=0):
        P, H, one = self.P, h.reshape(-1, h.shape[-1]), np.ones(h.shape[-1])
        if self.rms:
            _, c = _ln.rmsnorm_forward(H, one, self.eps)
        else:  # γ = 1, β = 0 here; below, the γ and β of every network
            _, c = _ln.layernorm_forward(H, one, 0 * one, self.eps)
        x_hat = c[0].reshape(h.shape)
        y = x_hat * P[name + ".gamma"][:, l, None]
        y = y if self.rms else y + P[name + ".beta"][:, l, None]
        return y, (name, l, c, x_hat)

    def _norm_back(self, dy, saved):
        (name, l, c, x_hat), n = saved, dy.shape[-1]
        self.G[name + ".gamma"][:, l] = np.sum(dy * x_hat, axis=1)
        if not self.rms:
            self.G[name + ".beta"][:, l] = dy.sum(axis=1)
        back = _ln.rmsnorm_backward if self.rms else _ln.layernorm_backward
        g = (dy * self.P[name + ".gamma"][:, l, None]).reshape(-1, n)
        return back(g, c)[0].reshape(dy.shape)

    def forward(self, X):
        P, i, j, self.cache = self.P, self.i, self.i + 2, []
        h = X @ P["in.W"][:, 0] + P["in.b"][:, 0, None]
        self.X = np.broadcast_to(X, (len(h), *X.shape[-2:]))
        for l in range(P[f"{i}.W"].shape[1]):
            z, sn = self._norm(h, "n", l) if self.pre else (h, None)
            a = z @ P[f"{i}.W"][:, l] + P[f"{i}.b"][:, l, None]
            r = self.f(a)
            h = h + r @ P[f"{j}.W"][:, l] + P[f"{j}.b"][:, l, None]
            h, sn = (h, sn) if self.pre else self._norm(h, "n", l)
            self.cache.append((z, a, r, sn))
        self.h, self.final = self._norm(h, "nf") if self.pre else (h, None)
        return self.h @ P["out.W"][:, 0] + P["out.b"][:, 0, None]

    def backward(self, dY):
        P, G, i, j = self.P, self.G, self.i, self.i + 2
        tr = lambda A: np.swapaxes(A, -1, -2)
        G["out.W"][:, 0], G["out.b"][:, 0] = tr(self.h) @ dY, dY.sum(axis=1)
        dh = dY @ tr(P["out.W"][:, 0])
        dh = self._norm_back(dh, self.final) if self.pre else dh
        for l in range(len(self.cache) - 1, -1, -1):
            z, a, r, sn = self.cache[l]
            dh = dh if self.pre else self._norm_back(dh, sn)
            G[f"{j}.W"][:, l], G[f"{j}.b"][:, l] = tr(r) @ dh, dh.sum(axis=1)
            da = self.f.vjp(a, r, dh @ tr(P[f"{j}.W"][:, l]))
            G[f"{i}.W"][:, l], G[f"{i}.b"][:, l] = tr(z) @ da, da.sum(axis=1)
            dz = da @ tr(P[f"{i}.W"][:, l])
            dh = dh + (self._norm_back(dz, sn) if self.pre else dz)
        G["in.W"][:, 0], G["in.b"][:, 0] = tr(self.X) @ dh, dh.sum(axis=1)
