"""Many deep MLPs of one shape trained at once: the fast path of the sweeps in
chapters/09_residual.

:func:`batched_runs` trains a list of networks built by
:func:`bookcode.experiments.residual_study.deep_mlp` (plain and residual, several seeds)
with the *same arithmetic* as :func:`bookcode.experiments.residual_study.train_steps`,
but with the parameters of all networks stacked along a leading axis, so one numpy call
serves every network. ``tests/test_residual_batch.py`` checks that both give the same
losses and gradient norms to rounding error. The networks themselves are not modified.
"""

from __future__ import annotations

import contextlib

import numpy as np

from .._validate import as_batch, as_rng, check_positive_float, check_positive_int
from ..network import Sequential
from ..residual import Residual

__all__ = ["batched_runs", "BatchedResult"]


class BatchedResult:
    """What :func:`batched_runs` measured, one row per network (in the order given); see
    chapters/09_residual.

    Attributes
    ----------
    steps : numpy.ndarray
        The step numbers at which the loss was recorded (0 = at initialisation).
    loss : numpy.ndarray, shape (networks, recorded steps)
        Loss on the monitored training rows in inference mode; ``inf`` from the first
        non-finite step on.
    grad_x, grad_W : numpy.ndarray, shape (networks, units)
        ``‖∂E/∂x_l‖`` at the input of unit ``l`` and ``‖∂E/∂W_l‖`` of its Linear, at
        initialisation (training mode) on the monitored rows.
    """

    def __init__(self, steps, loss, grad_x, grad_W):
        self.steps, self.loss, self.grad_x, self.grad_W = steps, loss, grad_x, grad_W

    def __repr__(self):
        return (
            f"BatchedResult({self.loss.shape[0]} networks, {int(self.steps[-1])} steps)"
        )


# the same function as activations.get("relu"), without per-call checks
class _FastReLU:
    def __call__(self, x):
        return np.maximum(x, 0.0)

    def vjp(self, x, y, dy):
        return dy * (x > 0)


def _unit_layers(net):
    return [u.branch if isinstance(u, Residual) else u for u in net.layers[1:-2]]


class _Stack:
    """The parameters of M same-shaped networks stacked: ``P[name]`` has shape ``(M,
    …)``."""

    def __init__(self, nets):
        units = [_unit_layers(n) for n in nets]
        lin = [[u.layers[-1] for u in us] for us in units]
        P = {
            "Wi": [n[0].params["W"] for n in nets],
            "bi": [n[0].params["b"] for n in nets],
            "Wo": [n[-1].params["W"] for n in nets],
            "bo": [n[-1].params["b"] for n in nets],
            "W": [[v.params["W"] for v in row] for row in lin],
        }
        self.bn = "b" not in lin[0][0].params
        if self.bn:
            P["g"] = [[u.layers[0].params["gamma"] for u in us] for us in units]
            P["be"] = [[u.layers[0].params["beta"] for u in us] for us in units]
            self.eps, self.mom = (
                units[0][0].layers[0].eps,
                units[0][0].layers[0].momentum,
            )
        else:
            P["b"] = [[v.params["b"] for v in row] for row in lin]
        self.P = {k: np.array(v, dtype=np.float64) for k, v in P.items()}
        self.M, self.L, width = self.P["W"].shape[:3]
        f = units[0][0].layers[-2].f
        self.f = _FastReLU() if getattr(f, "name", "") == "relu" else f
        self.res = np.array([float(isinstance(n[1], Residual)) for n in nets])[
            :, None, None
        ]
        self.scale = np.array(
            [n[1].scale if isinstance(n[1], Residual) else 1.0 for n in nets]
        )[:, None, None]
        self.run_mu, self.run_var = (
            np.zeros((self.M, self.L, width)),
            np.ones((self.M, self.L, width)),
        )

    def forward(self, Xb, train):
        P, f, h, cache = self.P, self.f, Xb @ self.P["Wi"] + self.P["bi"][:, None], []
        for l in range(self.L):
            z, zh, inv = h, None, None
            if self.bn:
                if train:
                    mu, var, n = z.mean(axis=1), z.var(axis=1), z.shape[1]
                    self.run_mu[:, l] = (1 - self.mom) * self.run_mu[
                        :, l
                    ] + self.mom * mu
                    self.run_var[:, l] = (1 - self.mom) * self.run_var[
                        :, l
                    ] + self.mom * var * n / (n - 1)
                else:
                    mu, var = self.run_mu[:, l], self.run_var[:, l]
                inv = 1.0 / np.sqrt(var + self.eps)[:, None]
                zh = (z - mu[:, None]) * inv
                z = zh * P["g"][:, l, None] + P["be"][:, l, None]
            a = f(z)
            u = a @ P["W"][:, l] if self.bn else a @ P["W"][:, l] + P["b"][:, l, None]
            cache.append((zh, inv, z, a))
            h = self.res * h + self.scale * u
        ao = f(h)
        return ao @ P["Wo"] + P["bo"][:, None], (Xb, cache, h, ao)

    def backward(self, Y, onehot, saved):
        P, f, (Xb, cache, h, ao) = self.P, self.f, saved
        S = np.exp(Y - Y.max(axis=2, keepdims=True))
        dY = (S / S.sum(axis=2, keepdims=True) - onehot) / Y.shape[
            1
        ]  # softmax cross-entropy, mean over rows
        G = {"Wo": ao.transpose(0, 2, 1) @ dY, "bo": dY.sum(axis=1)}
        dh = f.vjp(h, ao, dY @ P["Wo"].transpose(0, 2, 1))
        gx, gW, gb, gg, gbe = ([None] * self.L for _ in range(5))
        for l in range(self.L - 1, -1, -1):
            zh, inv, z, a = cache[l]
            du = self.scale * dh
            gW[l] = a.transpose(0, 2, 1) @ du
            dz = f.vjp(z, a, du @ P["W"][:, l].transpose(0, 2, 1))
            if self.bn:
                gbe[l], gg[l] = dz.sum(axis=1), np.sum(dz * zh, axis=1)
                dg = dz * P["g"][:, l, None]
                dz = inv * (
                    dg
                    - dg.mean(axis=1, keepdims=True)
                    - zh * np.mean(dg * zh, axis=1, keepdims=True)
                )
            else:
                gb[l] = du.sum(axis=1)
            dh = self.res * dh + dz
            gx[l] = dh  # dE/d(input of unit l), as residual_study.block_grad_norms
        G.update(Wi=Xb.transpose(0, 2, 1) @ dh, bi=dh.sum(axis=1), W=np.stack(gW, 1))
        G.update(
            {"g": np.stack(gg, 1), "be": np.stack(gbe, 1)}
            if self.bn
            else {"b": np.stack(gb, 1)}
        )
        return G, np.stack(gx, 1)

    def loss(self, Xs, onehot):
        Y, _ = self.forward(Xs, False)
        Z = Y - Y.max(axis=2, keepdims=True)
        value = (np.log(np.exp(Z).sum(axis=2)) - np.sum(onehot * Z, axis=2)).mean(
            axis=1
        )
        return np.where(np.isfinite(value), value, np.inf)


@contextlib.contextmanager
def _one_blas_thread():
    """Tiny matrices: BLAS threads only add overhead (and contend on a busy machine)."""
    try:
        from threadpoolctl import threadpool_limits  # installed with scikit-learn
    except ImportError:  # pragma: no cover
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def batched_runs(
    nets,
    X,
    T,
    steps,
    lr,
    *,
    momentum=0.9,
    batch_size=64,
    rng=0,
    record_every=None,
    monitor=None,
):
    """Train many :func:`~bookcode.experiments.residual_study.deep_mlp` networks of one
    shape at once.

    Same arithmetic as :func:`~bookcode.experiments.residual_study.train_steps` (softmax
    cross-entropy on class labels, SGD with momentum, inference-mode loss on the whole
    training set): network ``i`` sees the mini-batches that ``train_steps(..., rng=rng +
    i)`` would draw. The networks may differ in ``residual``, ``branch_scale`` and
    initial weights, not in width, depth, activation or ``norm``; they are not modified.

    Parameters
    ----------
    nets : list of Sequential
    X : array, shape (N, n_in)
    T : int array, shape (N,)
        Class labels.
    steps : int
    lr, momentum : float
    batch_size : int
    rng : int
        Base seed of the mini-batch order.
    record_every : int or None
        Record the loss every this many steps (``None``: at the start and the end only).
    monitor : int or None
        Measure the recorded losses and the initial gradient norms on the first
        ``monitor`` rows of ``X`` only (cheaper); ``None``: on all of ``X``. Training
        always uses all of ``X``.

    Returns
    -------
    BatchedResult

    Implements eqs. (res-block) and (res-block-backward) with the SGD of eq.
    (gd-update), for the sweeps of chapters/09_residual.
    """
    if (
        not isinstance(nets, (list, tuple))
        or not nets
        or not all(isinstance(n, Sequential) for n in nets)
    ):
        raise TypeError(
            "batched_runs: expected a non-empty list of networks built by deep_mlp, "
            f"got {nets!r:.60}"
        )
    try:
        stack = _Stack(nets)
    except (ValueError, KeyError, IndexError, AttributeError) as exc:
        raise ValueError(
            f"batched_runs: the networks must come from deep_mlp with one shape ({exc})"
        ) from None
    X = as_batch(X, stack.P["Wi"].shape[1], where="batched_runs")
    T = np.asarray(T)
    if T.shape != (len(X),) or T.dtype.kind not in "iu":
        raise ValueError(
            f"batched_runs: expected T as {len(X)} integer class labels, got {T.dtype} "
            f"of shape {T.shape}"
        )
    steps = check_positive_int(steps, "batched_runs: steps")
    every = (
        steps
        if record_every is None
        else check_positive_int(record_every, "batched_runs: record_every")
    )
    batch_size = check_positive_int(batch_size, "batched_runs: batch_size")
    lr = check_positive_float(lr, "batched_runs: lr")
    momentum = check_positive_float(momentum, "batched_runs: momentum", allow_zero=True)
    if isinstance(rng, bool) or not isinstance(rng, (int, np.integer)) or rng < 0:
        raise TypeError(
            f"batched_runs: rng must be a non-negative int seed, got {rng!r}"
        )
    n_mon = (
        len(X)
        if monitor is None
        else min(check_positive_int(monitor, "batched_runs: monitor"), len(X))
    )
    with _one_blas_thread(), np.errstate(all="ignore"):
        return _run(
            stack, X, T, steps, every, batch_size, lr, momentum, int(rng), n_mon
        )


def _run(stack, X, T, steps, every, batch_size, lr, momentum, rng, n_mon):
    M, P = stack.M, stack.P
    onehot = np.eye(P["Wo"].shape[-1])[T]
    keep = stack.run_mu.copy(), stack.run_var.copy()
    Xmon = np.ascontiguousarray(
        np.broadcast_to(X[:n_mon], (M, n_mon, X.shape[1]))
    )  # matmul is slow on stride 0
    Y, saved = stack.forward(
        Xmon, True
    )  # gradients at initialisation (on the monitored rows)
    G0, gx0 = stack.backward(Y, onehot[None, :n_mon], saved)
    stack.run_mu, stack.run_var = keep
    grad_x, grad_W = (
        np.linalg.norm(gx0, axis=(2, 3)),
        np.linalg.norm(G0["W"], axis=(2, 3)),
    )

    gens = [as_rng(rng + i) for i in range(M)]
    orders, pos = [g.permutation(len(X)) for g in gens], 0
    vel = {k: np.zeros_like(v) for k, v in P.items()}
    alive = np.ones(M, bool)
    done, losses = [0], [stack.loss(Xmon, onehot[:n_mon])]
    for step in range(1, steps + 1):
        if pos + batch_size > len(X):
            orders, pos = [g.permutation(len(X)) for g in gens], 0
        idx = np.stack([o[pos : pos + batch_size] for o in orders])
        pos += batch_size
        Y, saved = stack.forward(X[idx], True)
        G, _ = stack.backward(Y, onehot[idx], saved)
        alive &= np.isfinite(Y).all(axis=(1, 2)) & np.all(
            [np.isfinite(g.reshape(M, -1)).all(axis=1) for g in G.values()], axis=0
        )
        for k in P:
            vel[k] = momentum * vel[k] + np.where(
                alive.reshape(-1, *[1] * (G[k].ndim - 1)), G[k], 0.0
            )
            P[k] -= lr * vel[k]
        if step % every == 0 or step == steps:
            done.append(step)
            losses.append(np.where(alive, stack.loss(Xmon, onehot[:n_mon]), np.inf))
    return BatchedResult(np.array(done), np.array(losses).T, grad_x, grad_W)
