"""Several networks of one architecture, trained at once as stacked arrays (chapter 10).

:func:`train_seeds` trains networks built alike (typically one builder, other seeds)
with their parameters stacked along a leading axis, so that one numpy call serves them
all, and records one :class:`~bookcode.train.History` per network, as
:func:`bookcode.train.train` would. A claim about a run can then be checked as a
property of the method, not of one seed.
"""

from __future__ import annotations

import numpy as np

from .._validate import check_positive_float

__all__ = ["train_seeds"]


def stack_layers(nets, where="train_seeds"):
    """The layers of identically built networks, their parameters stacked on a first
    axis.

    One entry per layer: ``{"kind": "linear" | "bn" | "act", parameters..., "layers":
    the original layers}`` (for :func:`write_back`). Shared by :func:`train_seeds` and
    :func:`bookcode.experiments.bn_study.train_stack`.
    """
    from ..batchnorm import BatchNorm
    from ..layers import Activation, Linear

    stack = []
    for layers in zip(*(n.layers for n in nets)):
        first = layers[0]
        sig = {
            (
                type(l),
                tuple((k, v.shape) for k, v in l.params.items()),
                getattr(getattr(l, "f", None), "name", None),
            )
            for l in layers
        }
        if len(sig) != 1 or any(len(n.layers) != len(nets[0].layers) for n in nets):
            raise ValueError(
                f"{where}: the networks must have the same layers (same builder, other "
                "seeds)"
            )
        if isinstance(first, Linear):
            e = {
                "kind": "linear",
                "W": np.stack([l.params["W"] for l in layers]).astype(float),
            }
            if "b" in first.params:
                e["b"] = np.stack([l.params["b"] for l in layers]).astype(float)
        elif isinstance(first, BatchNorm):
            e = {
                "kind": "bn",
                "gamma": np.stack([l.params["gamma"] for l in layers]).astype(float),
                "beta": np.stack([l.params["beta"] for l in layers]).astype(float),
                "eps": first.eps,
                "momentum": first.momentum,
                "rmean": np.stack([l.running_mean for l in layers]).astype(float),
                "rvar": np.stack([l.running_var for l in layers]).astype(float),
            }
        elif isinstance(first, Activation):
            e = {"kind": "act", "f": first.f}
        else:
            raise TypeError(
                f"{where}: unsupported layer {type(first).__name__} (Linear, "
                "BatchNorm, Activation)"
            )
        e["layers"] = layers
        stack.append(e)
    return stack


def write_back(stack):
    """Copy the stacked parameters (and BN's running averages) back into the layers."""
    for e in stack:
        for k, layer in enumerate(e["layers"]):
            for name in layer.params:
                layer.params[name][...] = e[name][k]
            if e["kind"] == "bn":
                layer.running_mean = e["rmean"][k].copy()
                layer.running_var = e["rvar"][k].copy()


def stack_forward(stack, X, mode, alive=None):
    """Logits ``(M, N, K)`` and the per-layer caches of a stack.

    ``mode``: "train" (batch statistics; the running averages of the ``alive`` networks,
    all by default, are updated), "batch" (batch statistics only) or "eval" (running
    averages). ``X`` is ``(N, n)`` (the same batch for every network) or ``(M, N, n)``.
    """
    from ..batchnorm import batchnorm_forward

    caches, Y = [], X
    for e in stack:
        if e["kind"] == "linear":
            caches.append(Y)
            Y = Y @ e["W"] + (e["b"][:, None, :] if "b" in e else 0.0)
        elif e["kind"] == "bn" and mode != "eval":
            if mode == "train":
                m = e["momentum"]
                keep = True if alive is None else alive[:, None]
                e["rmean"] = np.where(
                    keep, (1 - m) * e["rmean"] + m * Y.mean(axis=-2), e["rmean"]
                )
                e["rvar"] = np.where(
                    keep,
                    (1 - m) * e["rvar"] + m * np.var(Y, axis=-2, ddof=1),
                    e["rvar"],
                )
            Y, cache = batchnorm_forward(Y, e["gamma"], e["beta"], e["eps"])
            caches.append(cache)
        elif e["kind"] == "bn":
            inv = 1.0 / np.sqrt(e["rvar"][:, None, :] + e["eps"])
            Y = (Y - e["rmean"][:, None, :]) * inv * e["gamma"][:, None, :] + e["beta"][
                :, None, :
            ]
            caches.append(None)
        else:
            X_in = Y
            if (
                e["f"].name == "sigmoid"
            ):  # the same function as activations.sigmoid, one exp per entry
                with np.errstate(over="ignore"):
                    Y = 1.0 / (1.0 + np.exp(-X_in))
            else:
                Y = e["f"](X_in)
            caches.append((X_in, Y))
    return Y, caches


def stack_backward(stack, caches, dY):
    """Gradients ``{(layer index, name): (M, …) array}`` of every parameter."""
    from ..batchnorm import batchnorm_backward

    grads = {}
    for i in range(len(stack) - 1, -1, -1):
        e, cache = stack[i], caches[i]
        if e["kind"] == "linear":
            grads[i, "W"] = np.swapaxes(cache, -1, -2) @ dY
            if "b" in e:
                grads[i, "b"] = dY.sum(axis=-2)
            if i:
                dY = dY @ np.swapaxes(e["W"], -1, -2)
        elif e["kind"] == "bn":
            dY, grads[i, "gamma"], grads[i, "beta"] = batchnorm_backward(dY, cache)
        elif e["f"].name == "sigmoid":
            dY = dY * cache[1] * (1.0 - cache[1])  # σ' = σ(1 − σ)
        elif e["f"].name == "tanh":
            dY = dY * (1.0 - cache[1] * cache[1])  # tanh' = 1 − tanh²
        else:
            dY = e["f"].vjp(cache[0], cache[1], dY)
    return grads


def _row_norms(A):
    """Euclidean norm of every row of ``A``, without overflow (as optim.SGD measures its
    ratios)."""
    with np.errstate(all="ignore"):
        out = np.sqrt(np.einsum("ij,ij->i", A, A))
        bad = ~np.isfinite(out) | (
            out == 0
        )  # overflow, NaN/inf entries, underflow (or a zero row: stays 0)
        if np.any(bad):
            s = np.max(np.abs(A[bad]), axis=1, keepdims=True)
            s = np.where(np.isfinite(s) & (s > 0), s, 1.0)
            out[bad] = s[:, 0] * np.sqrt(np.sum((A[bad] / s) ** 2, axis=1))
    return out


def _stack_loss(Z, T):
    """Mean softmax cross-entropy per network (NaN where the logits are not finite),
    accuracy, dE/dZ."""
    with np.errstate(all="ignore"):
        Zs = Z - Z.max(axis=-1, keepdims=True)
        logp = Zs - np.log(np.exp(Zs).sum(axis=-1, keepdims=True))
        value = -np.take_along_axis(
            logp, np.broadcast_to(T[:, None], Z.shape[:-1] + (1,)), axis=-1
        )[..., 0].mean(-1)
        value = np.where(np.all(np.isfinite(Z), axis=(1, 2)), value, np.nan)
        dZ = np.exp(logp)
        dZ[:, np.arange(len(T)), T] -= 1.0
    return value, np.mean(np.argmax(Z, axis=-1) == T, axis=-1), dZ / len(T)


def train_seeds(
    nets,
    X,
    T,
    lr,
    epochs,
    *,
    momentum=0.0,
    batch_size=32,
    rng=0,
    X_val=None,
    T_val=None,
):
    """Train several networks of one architecture at once; one
    :class:`~bookcode.train.History` each.

    The result for network ``m`` is what ``train.train(nets[m], "softmax_cross_entropy",
    X, T, optim.SGD(lr, momentum=momentum, allow_nonfinite=True), epochs,
    batch_size=batch_size, rng=rng, X_val=X_val, T_val=T_val)`` records (to rounding
    error; ``tests/test_monitor.py`` checks it), with the parameters of all networks
    stacked along a leading axis so that one numpy call serves them all. Typical use:
    the same builder with seeds ``0 … k−1``, to check that a claim about a run is a
    property of the method and not of one seed. The networks themselves are not
    modified.

    Parameters
    ----------
    nets : sequence of Sequential
        Networks of ``Linear``, ``BatchNorm`` and ``Activation`` layers, all built alike
        (e.g. by :func:`bookcode.network.mlp` with different seeds).
    X, T : arrays
        Training inputs ``(N, n_in)`` and integer class labels ``(N,)``.
    lr, momentum : float
        Of plain SGD (no clipping, no penalties).
    epochs, batch_size : int
    rng : Generator or int
        Seeds the mini-batch order; every network sees the same mini-batches.
    X_val, T_val : arrays, optional
        Validation set.

    Returns
    -------
    list of bookcode.train.History
        A network whose loss or gradient becomes NaN/inf stops there (``diverged_at``
        set), as in ``train.train``.

    Implements the monitors of eqs. (dx-update-ratio) and (dx-grad-spread), over seeds,
    in chapters/10_diagnosis.
    """
    import time

    from .._validate import as_batch, as_rng, check_positive_int
    from ..data import minibatches
    from ..diagnostics import SATURATION_TOL
    from ..network import Sequential
    from ..train import History

    nets = list(nets) if isinstance(nets, (list, tuple)) else nets
    if (
        not isinstance(nets, list)
        or not nets
        or not all(isinstance(n, Sequential) for n in nets)
    ):
        raise TypeError(
            "train_seeds: expected a non-empty list of Sequential networks, got "
            f"{nets!r:.60}"
        )
    stack = stack_layers(nets)
    lin = [i for i, e in enumerate(stack) if e["kind"] == "linear"]
    if not lin or lin[0] != 0 or lin[-1] != len(stack) - 1:
        raise ValueError(
            "train_seeds: the networks must start and end with a Linear layer (logits "
            "out)"
        )
    X = as_batch(X, stack[0]["W"].shape[1], where="train_seeds")
    T = np.asarray(T)
    if (
        T.shape != (len(X),)
        or T.dtype.kind not in "iu"
        or T.min() < 0
        or T.max() >= stack[-1]["W"].shape[2]
    ):
        raise ValueError(
            f"train_seeds: expected T as {len(X)} integer class labels, got {T.dtype} "
            f"of shape {T.shape}"
        )
    if (X_val is None) != (T_val is None):
        raise ValueError("train_seeds: give both X_val and T_val, or neither")
    if X_val is not None:
        X_val, T_val = (
            as_batch(X_val, X.shape[1], name="X_val", where="train_seeds"),
            np.asarray(T_val),
        )
        if T_val.shape != (len(X_val),) or T_val.dtype.kind not in "iu":
            raise ValueError(
                f"train_seeds: expected T_val as {len(X_val)} integer class labels"
            )
    lr = check_positive_float(lr, "train_seeds: lr")
    momentum = check_positive_float(momentum, "train_seeds: momentum", allow_zero=True)
    if momentum >= 1:
        raise ValueError(f"train_seeds: momentum must be in [0, 1), got {momentum}")
    epochs = check_positive_int(epochs, "train_seeds: epochs")
    batch_size = check_positive_int(batch_size, "train_seeds: batch_size")
    gen = as_rng(rng, where="train_seeds")

    M, t0 = len(nets), time.perf_counter()
    keys = [
        (i, k)
        for i, e in enumerate(stack)
        for k in ("W", "b", "gamma", "beta")
        if k in e
    ]
    wkeys, bkeys = [k for k in keys if k[1] == "W"], [k for k in keys if k[1] == "b"]
    hists = [History() for _ in range(M)]
    alive = np.ones(M, dtype=bool)
    X_mon = X[:256]

    def norms(grads, which):
        return (
            np.stack(
                [np.linalg.norm(grads[k].reshape(M, -1), axis=1) for k in which], axis=1
            )
            if which
            else np.zeros((M, 0))
        )

    def record(epoch, who, g_w, g_b, ratios):
        with np.errstate(all="ignore"):
            sets = [(X, T, "loss", "accuracy")] + (
                [(X_val, T_val, "val_loss", "val_accuracy")]
                if X_val is not None
                else []
            )
            evals = [
                (a, b) + _stack_loss(stack_forward(stack, Xs, "eval")[0], Ts)[:2]
                for Xs, Ts, a, b in sets
            ]
            _, caches = stack_forward(stack, X_mon, "batch")
        acts = [
            (stack[i]["f"], caches[i])
            for i in range(len(stack))
            if stack[i]["kind"] == "act"
        ]
        for m in np.flatnonzero(who):
            h = hists[m]
            h.epoch.append(epoch)
            for a, b, value, acc in evals:
                getattr(h, a).append(float(value[m]))
                getattr(h, b).append(float(acc[m]))
            rows = [(g_w, h.grad_norms), (g_b, h.bias_grad_norms)]
            for rec, series in rows:
                series.append(
                    [float(v) for v in np.mean(rec[m], axis=0)] if rec[m] else []
                )
            h.update_ratios.append(
                [float(v) for v in np.mean(ratios[m], axis=0)]
                if ratios[m]
                else [float("nan")] * len(wkeys)
            )
            for name in ("act_mean", "act_std", "act_saturated", "act_dead"):
                getattr(h, name).append([])
            with np.errstate(all="ignore"):
                for f, (net_in, Y) in acts:
                    h.act_mean[-1].append(float(np.mean(Y[m])))
                    h.act_std[-1].append(float(np.std(Y[m])))
                    lo, hi = f.range
                    tol = SATURATION_TOL * (hi - lo)
                    h.act_saturated[-1].append(
                        float(np.mean((Y[m] < lo + tol) | (Y[m] > hi - tol)))
                        if np.isfinite(lo) and np.isfinite(hi)
                        else float("nan")
                    )
                    h.act_dead[-1].append(
                        float(np.mean(np.all(f.derivative(net_in[m]) == 0, axis=0)))
                    )

    with np.errstate(
        all="ignore"
    ):  # epoch 0: the full-batch gradient at initialisation
        Z, caches = stack_forward(stack, X, "train", alive)
        grads = stack_backward(stack, caches, _stack_loss(Z, T)[2])
    record(
        0,
        alive,
        [[r] for r in norms(grads, wkeys)],
        [[r] for r in norms(grads, bkeys)],
        [[] for _ in range(M)],
    )
    velocity = {}
    for epoch in range(1, epochs + 1):
        start = alive.copy()
        g_w, g_b, ratios = ([[] for _ in range(M)] for _ in range(3))
        for idx in minibatches(len(X), batch_size, gen):
            if not alive.any():
                break
            with np.errstate(all="ignore"):
                Z, caches = stack_forward(stack, X[idx], "train", alive)
                value, _, dZ = _stack_loss(Z, T[idx])
                ok = alive & np.isfinite(value)
                grads = stack_backward(
                    stack, caches, np.where(ok[:, None, None], dZ, 0.0)
                )
                gw, gb = norms(grads, wkeys), norms(grads, bkeys)
                finite = np.all(
                    [
                        np.all(np.isfinite(g.reshape(M, -1)), axis=1)
                        for g in grads.values()
                    ],
                    axis=0,
                )
            for m in np.flatnonzero(ok):
                g_w[m].append(gw[m])
                g_b[m].append(gb[m])
            for m in np.flatnonzero(alive & ~(ok & finite)):
                hists[m].diverged_at = epoch
            alive &= ok & finite
            step = alive[:, None]
            with np.errstate(all="ignore"):
                rows = []
                for k in keys:
                    p, g = stack[k[0]][k[1]], grads[k]
                    shape = (M,) + (1,) * (p.ndim - 1)
                    if momentum:
                        v = velocity.get(k)
                        v = (
                            g.copy()
                            if v is None
                            else np.where(step.reshape(shape), momentum * v + g, v)
                        )
                        velocity[k], g = v, v
                    delta = lr * g
                    if k[1] == "W":
                        dn, wn = (
                            _row_norms(delta.reshape(M, -1)),
                            _row_norms(p.reshape(M, -1)),
                        )
                        rows.append(
                            np.where(
                                wn > 0,
                                dn / np.where(wn > 0, wn, 1.0),
                                np.where(dn > 0, np.inf, 0.0),
                            )
                        )
                    stack[k[0]][k[1]] = np.where(step.reshape(shape), p - delta, p)
            for m in np.flatnonzero(alive):
                ratios[m].append(np.array(rows)[:, m])
        record(epoch, start, g_w, g_b, ratios)
    seconds = time.perf_counter() - t0
    for h in hists:
        h.seconds = seconds
    return hists
