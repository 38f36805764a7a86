"""Training monitors for a network that will not train: summaries, a rule-based triage and one panel.

Everything here reads what :func:`bookcode.train.train` already records in its
:class:`~bookcode.train.History` (loss, per-layer gradient norms, update:data ratios, saturated
and dead fractions); the measurements themselves live in :mod:`bookcode.diagnostics` and the
non-finite guard is :func:`bookcode.diagnostics.find_nonfinite`. This module adds

- :func:`update_ratio` and :func:`lr_for_ratio`: the update:data ratio ‖ΔW‖/‖W‖ and the learning
  rate that would bring it to a target (the rule of thumb is about 1e-3);
- :func:`gradient_spread`: how many powers of ten separate the largest and smallest per-layer gradient;
- :func:`summarize` and :func:`diagnose`: the numbers of a run, and the symptoms they show, each
  with the chapter that explains it;
- :func:`monitor_panel`: the four monitors of a run in one figure;
- :func:`train_seeds`: the same run for several seeds at once (stacked parameters), so that a claim
  about a run can be checked as a property of the method.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validate import as_float_array, check_positive_float

__all__ = ["RULE_OF_THUMB", "update_ratio", "lr_for_ratio", "gradient_spread", "summarize", "Finding",
           "diagnose", "monitor_panel", "train_seeds"]

#: The update:data ratio ‖ΔW‖/‖W‖ per step that Karpathy's cs231n notes call healthy ("around 1e-3").
RULE_OF_THUMB = 1e-3
_MONITORS = ("loss", "gradients", "updates", "units")


def update_ratio(delta, W):
    """The update:data ratio ``‖ΔW‖_F / ‖W‖_F`` of one step (``inf`` if ``W = 0`` and ``ΔW ≠ 0``).

    Parameters
    ----------
    delta : array
        The change of the parameter in one step, ``W_new − W_old``.
    W : array
        The parameter before the step (same shape).

    Implements eq. (dx-update-ratio) in chapters/10_diagnosis.
    """
    delta = as_float_array(delta, "delta", where="update_ratio")
    W = as_float_array(W, "W", where="update_ratio")
    if delta.shape != W.shape:
        raise ValueError(f"update_ratio: delta and W must have the same shape, got {delta.shape} and {W.shape}")
    d, w = float(np.linalg.norm(delta)), float(np.linalg.norm(W))
    if w == 0.0:
        return np.inf if d > 0 else 0.0
    return d / w


def lr_for_ratio(lr, ratio, target=RULE_OF_THUMB):
    """The learning rate that would give update:data ratio ``target``: ``η · target / ratio``.

    For plain SGD the update is ``η g``, so the ratio is proportional to ``η``; ``ratio`` is the one
    measured with learning rate ``lr`` (a number or one per layer; the result has the same shape).

    Implements eq. (dx-lr-from-ratio) in chapters/10_diagnosis.
    """
    lr = check_positive_float(lr, "lr")
    target = check_positive_float(target, "target")
    r = as_float_array(ratio, "ratio", where="lr_for_ratio")
    if np.any(r <= 0):
        raise ValueError(f"lr_for_ratio: the measured ratios must be > 0, got {r.min():.3g}")
    out = lr * target / r
    return float(out) if out.ndim == 0 else out


def gradient_spread(norms):
    """``log10(max_l ‖g^l‖ / min_l ‖g^l‖)``: the powers of ten between the per-layer gradient norms.

    0 means every layer gets a gradient of the same size; 1 means a factor 10. Returns ``inf`` if
    some norm is 0 or any norm is not finite.

    Implements eq. (dx-grad-spread) in chapters/10_diagnosis.
    """
    g = as_float_array(norms, "norms", where="gradient_spread", allow_nonfinite=True)
    if g.ndim != 1 or g.size == 0:
        raise ValueError(f"gradient_spread: expected a non-empty 1-D sequence of per-layer norms, got shape {g.shape}")
    if np.any(g < 0):
        raise ValueError("gradient_spread: norms must be >= 0")
    if not np.all(np.isfinite(g)) or g.min() == 0:
        return np.inf
    return float(np.log10(g.max() / g.min()))


def _check_history(history, where):
    from .train import History

    if not isinstance(history, History):
        raise TypeError(f"{where}: expected a bookcode.train.History (from train.train), got {type(history).__name__}")
    if not history.epoch:
        raise ValueError(f"{where}: the History is empty; train for at least one epoch")
    return history


def _last_finite_row(rows):
    """Index of the last epoch whose row has at least one finite entry (``None`` if there is none)."""
    for i in range(len(rows) - 1, -1, -1):
        row = np.asarray(rows[i], dtype=float)
        if row.size and np.any(np.isfinite(row)):
            return i
    return None


def _nanmax(values):
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return float(v.max()) if v.size else float("nan")


def summarize(history):
    """The numbers a diagnosis starts from, as a dict (NaN where the run did not record them).

    Keys: ``loss_first``, ``loss_last`` (last recorded, may be NaN), ``loss_best``, ``diverged_at``,
    ``accuracy``, ``val_accuracy``, ``gap`` (training minus validation accuracy), ``grad_first``,
    ``grad_last`` (‖∂E/∂W‖ of the first and last layer at initialisation), ``spread_init``
    (:func:`gradient_spread` at initialisation), ``ratio_max``, ``ratio_min`` (update:data ratios
    over the layers, in the last epoch that recorded them), ``saturated_max``, ``dead_max`` (over the
    layers, at the end).

    Implements the monitors of eqs. (dx-update-ratio) and (dx-grad-spread) in chapters/10_diagnosis.
    """
    h = _check_history(history, "summarize")
    loss = np.asarray(h.loss, dtype=float)
    finite = loss[np.isfinite(loss)]
    g0 = np.asarray(h.grad_norms[0], dtype=float)
    k = _last_finite_row(h.update_ratios[1:])
    ratios = np.asarray(h.update_ratios[1:][k], dtype=float) if k is not None else np.array([np.nan])
    ratios = ratios[np.isfinite(ratios)] if np.any(np.isfinite(ratios)) else ratios
    acc = float(h.accuracy[-1])
    val = float(h.val_accuracy[-1]) if h.val_accuracy else float("nan")
    return {
        "loss_first": float(loss[0]), "loss_last": float(loss[-1]),
        "loss_best": float(finite.min()) if finite.size else float("nan"), "diverged_at": h.diverged_at,
        "accuracy": acc, "val_accuracy": val, "gap": acc - val,
        "grad_first": float(g0[0]), "grad_last": float(g0[-1]), "spread_init": gradient_spread(g0),
        "ratio_max": float(np.max(ratios)), "ratio_min": float(np.min(ratios)),
        "saturated_max": _nanmax(h.act_saturated[-1]), "dead_max": _nanmax(h.act_dead[-1]),
    }


@dataclass(frozen=True)
class Finding:
    """One symptom found by :func:`diagnose`: what, the measured evidence, and the chapter that explains it."""

    symptom: str
    evidence: str
    chapter: str

    def __str__(self):
        return f"{self.symptom}: {self.evidence} (see {self.chapter})"


def diagnose(history, *, flat=0.95, spread=1.0, ratio_high=1e-2, ratio_low=1e-5, saturated=0.5, dead=0.5,
             gap=0.1):
    """Triage a run: the symptoms of the chapter's table that its :class:`History` shows.

    Each threshold is a keyword: ``flat`` (final loss above this fraction of the initial loss),
    ``spread`` (powers of ten between layers' gradients at initialisation), ``ratio_high`` /
    ``ratio_low`` (update:data ratio of some layer above / below), ``saturated`` and ``dead``
    (fraction of the units of some layer at the end), ``gap`` (training minus validation accuracy).

    Returns
    -------
    list of Finding
        Empty when no rule fires. A diverged run reports the NaN/inf first; a loss that ends above
        its start is reported as "loss rises", not also as "loss flat".

    Implements the symptom table of chapters/10_diagnosis.
    """
    h = _check_history(history, "diagnose")
    for name, v in dict(flat=flat, spread=spread, ratio_high=ratio_high, ratio_low=ratio_low,
                        saturated=saturated, dead=dead, gap=gap).items():
        check_positive_float(v, name)
    s = summarize(h)
    out = []
    if s["diverged_at"] is not None:
        out.append(Finding("loss is NaN/inf", f"non-finite loss or gradient in epoch {s['diverged_at']}",
                           "chapter 5; locate it with diagnostics.find_nonfinite"))
    elif s["loss_last"] > s["loss_first"]:
        out.append(Finding("loss rises", f"loss {s['loss_first']:.3g} → {s['loss_last']:.3g}",
                           "chapter 1 (learning rate above the stability bound)"))
    elif s["loss_last"] > flat * s["loss_first"]:
        out.append(Finding("loss flat", f"loss {s['loss_first']:.3g} → {s['loss_last']:.3g}",
                           "chapters 5 and 7 (vanishing signal, initialization)"))
    if s["spread_init"] > spread:
        side = "first" if s["grad_first"] < s["grad_last"] else "last"
        out.append(Finding(f"{side} layers get the smallest gradient",
                           f"layers' ‖∂E/∂W‖ span 10^{s['spread_init']:.1f} at initialisation",
                           "chapters 5 and 7"))
    if s["ratio_max"] > ratio_high:
        out.append(Finding("updates too large", f"update:data ratio up to {s['ratio_max']:.2g}",
                           "chapters 1 and 6 (lower η, clip)"))
    if s["ratio_min"] < ratio_low:
        out.append(Finding("some layers barely move", f"update:data ratio down to {s['ratio_min']:.2g}",
                           "chapters 5, 7 and 8"))
    if s["saturated_max"] > saturated:
        out.append(Finding("saturated units", f"up to {s['saturated_max']:.0%} of a layer's outputs saturated",
                           "chapters 4 and 7"))
    if s["dead_max"] > dead:
        out.append(Finding("dead units", f"up to {s['dead_max']:.0%} of a layer's units dead", "chapter 4"))
    if np.isfinite(s["gap"]) and s["gap"] > gap:
        out.append(Finding("validation much worse than training",
                           f"accuracy {s['accuracy']:.0%} (training) vs {s['val_accuracy']:.0%} (validation)",
                           "chapter 6 (weight penalties)"))
    return out


def _epoch_rows(rows, epochs):
    return {f"epoch {e}": np.asarray(rows[e], dtype=float) for e in epochs
            if e < len(rows) and len(rows[e]) and np.any(np.isfinite(np.asarray(rows[e], dtype=float)))}


def monitor_panel(history, *, monitors=_MONITORS, title=None, target_ratio=RULE_OF_THUMB, nonfinite=None, axes=None):
    """The training monitors of a run side by side; returns the figure.

    Panels (any subset, in this order of ``monitors``): ``"loss"`` (training and validation loss
    per epoch, log scale), ``"gradients"`` (‖∂E/∂W^l‖ per layer at initialisation and at the end),
    ``"updates"`` (update:data ratio per layer in the first and last epoch, with the rule-of-thumb
    line ``target_ratio``), ``"units"`` (fractions of saturated and dead units per layer at the end).

    Parameters
    ----------
    history : bookcode.train.History
    monitors : sequence of str
    title : str, optional
        Figure title.
    target_ratio : float
        Where to draw the rule-of-thumb line of the update panel.
    nonfinite : bookcode.diagnostics.NonFiniteReport, optional
        Printed on the loss panel (where the first NaN/inf came from).
    axes : sequence of matplotlib Axes, optional
        One per monitor; a new figure (one row) if ``None``.

    Implements the monitor panel of chapters/10_diagnosis (eqs. dx-update-ratio and dx-grad-spread).
    """
    import matplotlib.pyplot as plt

    from . import plotting

    h = _check_history(history, "monitor_panel")
    if isinstance(monitors, str) or not monitors:
        raise TypeError(f"monitor_panel: monitors must be a non-empty sequence drawn from {_MONITORS}, got {monitors!r}")
    bad = [m for m in monitors if m not in _MONITORS]
    if bad or len(set(monitors)) != len(monitors):
        raise ValueError(f"monitor_panel: monitors must be distinct names from {_MONITORS}, got {list(monitors)}")
    target_ratio = check_positive_float(target_ratio, "target_ratio")
    if axes is None:
        fig, axes = plt.subplots(1, len(monitors), figsize=(3.3 * len(monitors) + 0.4, 3.2), squeeze=False)
        axes = list(axes[0])
    else:
        axes = list(np.ravel(np.asarray(axes, dtype=object)))
        if len(axes) != len(monitors):
            raise ValueError(f"monitor_panel: expected {len(monitors)} Axes (one per monitor), got {len(axes)}")
        fig = axes[0].figure
    last = len(h.epoch) - 1
    for ax, name in zip(axes, monitors):
        if name == "loss":
            curves = {"training": h.loss}
            if h.val_loss:
                curves["validation"] = h.val_loss
            plotting.plot_curves(curves, ylabel="loss E", logy=True, ax=ax)
            finite = np.array([v for c in curves.values() for v in c if np.isfinite(v) and v > 0])
            if finite.size and finite.max() < 1.5 * finite.min():  # a near-constant loss: show a decade around it
                ax.set_ylim(finite.min() / 3, finite.max() * 3)
            elif finite.size and finite.max() > 1e100:  # an overflowing run: matplotlib's ticks would reach inf
                lo, hi = np.floor(np.log10(finite.min())), min(np.floor(np.log10(finite.max())) + 1, 307)
                ax.set_ylim(10.0**lo, 10.0**hi)
                ax.set_yticks(10.0 ** np.unique(np.linspace(lo, hi, 5).round()))
                ax.minorticks_off()
            for line in ax.lines:  # dots per epoch, so that a run of one or two epochs is visible too
                if line.get_marker() in ("None", None, ""):
                    line.set_marker("o")
                    line.set_markersize(3)
            if nonfinite is not None:
                ax.text(0.02, 0.98, f"first NaN/inf: {nonfinite.phase} pass,\nnet.layers[{nonfinite.layer_index}]",
                        transform=ax.transAxes, va="top", fontsize="small", color=plotting.PALETTE[1])
        elif name == "gradients":
            rows = _epoch_rows(h.grad_norms, sorted({0, last}))
            if rows:
                plotting.plot_per_layer(rows, r"$\|\partial E/\partial W^l\|$", logy=True, ax=ax, kind="line")
            ax.set_title(f"gradient spread $10^{{{gradient_spread(h.grad_norms[0]):.1f}}}$ at init", fontsize="small")
        elif name == "updates":
            rows = _epoch_rows(h.update_ratios, sorted({min(1, last), last}))
            if rows:
                plotting.plot_per_layer(rows, r"update:data $\|\Delta W\|/\|W\|$", logy=True, ax=ax, kind="line")
            ax.axhline(target_ratio, color="gray", ls="--", lw=1)
            ax.text(0.98, target_ratio, f"{target_ratio:g}", transform=ax.get_yaxis_transform(), ha="right",
                    va="bottom", fontsize="small", color="gray")
            if not rows:
                ax.text(0.5, 0.5, "no update recorded", transform=ax.transAxes, ha="center")
        else:
            units = {"saturated": np.nan_to_num(np.asarray(h.act_saturated[last], dtype=float)),
                     "dead": np.nan_to_num(np.asarray(h.act_dead[last], dtype=float))}
            plotting.plot_per_layer(units, f"fraction of units (epoch {h.epoch[last]})", logy=False, ax=ax)
            ax.legend(loc="upper center")
            ax.set_ylim(0, 1.05)
    if title:
        fig.suptitle(title, fontsize="medium")
    return fig


def _stack_layers(nets):
    """The layers of identically built networks, with their parameters stacked along a first axis."""
    from .batchnorm import BatchNorm
    from .layers import Activation, Linear

    stack = []
    for layers in zip(*(n.layers for n in nets)):
        first = layers[0]
        sig = {(type(l), tuple((k, v.shape) for k, v in l.params.items()), getattr(getattr(l, "f", None), "name", None))
               for l in layers}
        if len(sig) != 1 or any(len(n.layers) != len(nets[0].layers) for n in nets):
            raise ValueError("train_seeds: the networks must have the same layers (same builder, other seeds)")
        if isinstance(first, Linear):
            e = {"kind": "linear", "W": np.stack([l.params["W"] for l in layers]).astype(float)}
            if "b" in first.params:
                e["b"] = np.stack([l.params["b"] for l in layers]).astype(float)
        elif isinstance(first, BatchNorm):
            e = {"kind": "bn", "gamma": np.stack([l.params["gamma"] for l in layers]).astype(float),
                 "beta": np.stack([l.params["beta"] for l in layers]).astype(float), "eps": first.eps,
                 "momentum": first.momentum, "rmean": np.stack([l.running_mean for l in layers]).astype(float),
                 "rvar": np.stack([l.running_var for l in layers]).astype(float)}
        elif isinstance(first, Activation):
            e = {"kind": "act", "f": first.f}
        else:
            raise TypeError(f"train_seeds: unsupported layer {type(first).__name__} (Linear, BatchNorm, Activation)")
        stack.append(e)
    return stack


def _stack_forward(stack, X, mode, alive=None):
    """Logits ``(M, N, K)`` and caches; ``mode``: "train" (batch statistics, running averages of the
    ``alive`` networks updated), "batch" (batch statistics only) or "eval" (running averages)."""
    from .batchnorm import batchnorm_forward

    caches, Y = [], X
    for e in stack:
        if e["kind"] == "linear":
            caches.append(Y)
            Y = Y @ e["W"] + (e["b"][:, None, :] if "b" in e else 0.0)
        elif e["kind"] == "bn" and mode != "eval":
            if mode == "train":
                m, keep = e["momentum"], alive[:, None]
                e["rmean"] = np.where(keep, (1 - m) * e["rmean"] + m * Y.mean(axis=-2), e["rmean"])
                e["rvar"] = np.where(keep, (1 - m) * e["rvar"] + m * np.var(Y, axis=-2, ddof=1), e["rvar"])
            Y, cache = batchnorm_forward(Y, e["gamma"], e["beta"], e["eps"])
            caches.append(cache)
        elif e["kind"] == "bn":
            inv = 1.0 / np.sqrt(e["rvar"][:, None, :] + e["eps"])
            Y = (Y - e["rmean"][:, None, :]) * inv * e["gamma"][:, None, :] + e["beta"][:, None, :]
            caches.append(None)
        else:
            X_in = Y
            if e["f"].name == "sigmoid":  # the same function as activations.sigmoid, one exp per entry
                with np.errstate(over="ignore"):
                    Y = 1.0 / (1.0 + np.exp(-X_in))
            else:
                Y = e["f"](X_in)
            caches.append((X_in, Y))
    return Y, caches


def _stack_backward(stack, caches, dY):
    """Gradients ``{(layer index, name): (M, …) array}`` of every parameter."""
    from .batchnorm import batchnorm_backward

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
    """Euclidean norm of every row of ``A``, without overflow (as optim.SGD measures its ratios)."""
    with np.errstate(all="ignore"):
        out = np.sqrt(np.einsum("ij,ij->i", A, A))
        bad = ~np.isfinite(out) | (out == 0)  # overflow, NaN/inf entries, underflow (or a zero row: stays 0)
        if np.any(bad):
            s = np.max(np.abs(A[bad]), axis=1, keepdims=True)
            s = np.where(np.isfinite(s) & (s > 0), s, 1.0)
            out[bad] = s[:, 0] * np.sqrt(np.sum((A[bad] / s) ** 2, axis=1))
    return out


def _stack_loss(Z, T):
    """Mean softmax cross-entropy per network (NaN where the logits are not finite), accuracy, dE/dZ."""
    with np.errstate(all="ignore"):
        Zs = Z - Z.max(axis=-1, keepdims=True)
        logp = Zs - np.log(np.exp(Zs).sum(axis=-1, keepdims=True))
        value = -np.take_along_axis(logp, np.broadcast_to(T[:, None], Z.shape[:-1] + (1,)), axis=-1)[..., 0].mean(-1)
        value = np.where(np.all(np.isfinite(Z), axis=(1, 2)), value, np.nan)
        dZ = np.exp(logp)
        dZ[:, np.arange(len(T)), T] -= 1.0
    return value, np.mean(np.argmax(Z, axis=-1) == T, axis=-1), dZ / len(T)


def train_seeds(nets, X, T, lr, epochs, *, momentum=0.0, batch_size=32, rng=0, X_val=None, T_val=None):
    """Train several networks of one architecture at once; one :class:`~bookcode.train.History` each.

    The result for network ``m`` is what ``train.train(nets[m], "softmax_cross_entropy", X, T,
    optim.SGD(lr, momentum=momentum, allow_nonfinite=True), epochs, batch_size=batch_size, rng=rng,
    X_val=X_val, T_val=T_val)`` records (to rounding error; ``tests/test_monitor.py`` checks it), with
    the parameters of all networks stacked along a leading axis so that one numpy call serves them
    all. Typical use: the same builder with seeds ``0 … k−1``, to check that a claim about a run is a
    property of the method and not of one seed. The networks themselves are not modified.

    Parameters
    ----------
    nets : sequence of Sequential
        Networks of ``Linear``, ``BatchNorm`` and ``Activation`` layers, all built alike (e.g. by
        :func:`bookcode.network.mlp` with different seeds).
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
        A network whose loss or gradient becomes NaN/inf stops there (``diverged_at`` set), as in
        ``train.train``.

    Implements the monitors of eqs. (dx-update-ratio) and (dx-grad-spread), over seeds, in
    chapters/10_diagnosis.
    """
    import time

    from ._validate import as_batch, as_rng, check_positive_int
    from .data import minibatches
    from .diagnostics import SATURATION_TOL
    from .network import Sequential
    from .train import History

    nets = list(nets) if isinstance(nets, (list, tuple)) else nets
    if not isinstance(nets, list) or not nets or not all(isinstance(n, Sequential) for n in nets):
        raise TypeError(f"train_seeds: expected a non-empty list of Sequential networks, got {nets!r:.60}")
    stack = _stack_layers(nets)
    lin = [i for i, e in enumerate(stack) if e["kind"] == "linear"]
    if not lin or lin[0] != 0 or lin[-1] != len(stack) - 1:
        raise ValueError("train_seeds: the networks must start and end with a Linear layer (logits out)")
    X = as_batch(X, stack[0]["W"].shape[1], where="train_seeds")
    T = np.asarray(T)
    if T.shape != (len(X),) or T.dtype.kind not in "iu" or T.min() < 0 or T.max() >= stack[-1]["W"].shape[2]:
        raise ValueError(f"train_seeds: expected T as {len(X)} integer class labels, got {T.dtype} of shape {T.shape}")
    if (X_val is None) != (T_val is None):
        raise ValueError("train_seeds: give both X_val and T_val, or neither")
    if X_val is not None:
        X_val, T_val = as_batch(X_val, X.shape[1], name="X_val", where="train_seeds"), np.asarray(T_val)
        if T_val.shape != (len(X_val),) or T_val.dtype.kind not in "iu":
            raise ValueError(f"train_seeds: expected T_val as {len(X_val)} integer class labels")
    lr = check_positive_float(lr, "train_seeds: lr")
    momentum = check_positive_float(momentum, "train_seeds: momentum", allow_zero=True)
    if momentum >= 1:
        raise ValueError(f"train_seeds: momentum must be in [0, 1), got {momentum}")
    epochs = check_positive_int(epochs, "train_seeds: epochs")
    batch_size = check_positive_int(batch_size, "train_seeds: batch_size")
    gen = as_rng(rng, where="train_seeds")

    M, t0 = len(nets), time.perf_counter()
    keys = [(i, k) for i, e in enumerate(stack) for k in ("W", "b", "gamma", "beta") if k in e]
    wkeys, bkeys = [k for k in keys if k[1] == "W"], [k for k in keys if k[1] == "b"]
    hists = [History() for _ in range(M)]
    alive = np.ones(M, dtype=bool)
    X_mon = X[:256]

    def norms(grads, which):
        return np.stack([np.linalg.norm(grads[k].reshape(M, -1), axis=1) for k in which], axis=1) if which \
            else np.zeros((M, 0))

    def record(epoch, who, g_w, g_b, ratios):
        with np.errstate(all="ignore"):
            sets = [(X, T, "loss", "accuracy")] + ([(X_val, T_val, "val_loss", "val_accuracy")] if X_val is not None
                                                   else [])
            evals = [(a, b) + _stack_loss(_stack_forward(stack, Xs, "eval")[0], Ts)[:2] for Xs, Ts, a, b in sets]
            _, caches = _stack_forward(stack, X_mon, "batch")
        acts = [(stack[i]["f"], caches[i]) for i in range(len(stack)) if stack[i]["kind"] == "act"]
        for m in np.flatnonzero(who):
            h = hists[m]
            h.epoch.append(epoch)
            for a, b, value, acc in evals:
                getattr(h, a).append(float(value[m]))
                getattr(h, b).append(float(acc[m]))
            rows = [(g_w, h.grad_norms), (g_b, h.bias_grad_norms)]
            for rec, series in rows:
                series.append([float(v) for v in np.mean(rec[m], axis=0)] if rec[m] else [])
            h.update_ratios.append([float(v) for v in np.mean(ratios[m], axis=0)] if ratios[m]
                                   else [float("nan")] * len(wkeys))
            for name in ("act_mean", "act_std", "act_saturated", "act_dead"):
                getattr(h, name).append([])
            with np.errstate(all="ignore"):
                for f, (net_in, Y) in acts:
                    h.act_mean[-1].append(float(np.mean(Y[m])))
                    h.act_std[-1].append(float(np.std(Y[m])))
                    lo, hi = f.range
                    tol = SATURATION_TOL * (hi - lo)
                    h.act_saturated[-1].append(float(np.mean((Y[m] < lo + tol) | (Y[m] > hi - tol)))
                                               if np.isfinite(lo) and np.isfinite(hi) else float("nan"))
                    h.act_dead[-1].append(float(np.mean(np.all(f.derivative(net_in[m]) == 0, axis=0))))

    with np.errstate(all="ignore"):  # epoch 0: the full-batch gradient at initialisation
        Z, caches = _stack_forward(stack, X, "train", alive)
        grads = _stack_backward(stack, caches, _stack_loss(Z, T)[2])
    record(0, alive, [[r] for r in norms(grads, wkeys)], [[r] for r in norms(grads, bkeys)], [[] for _ in range(M)])
    velocity = {}
    for epoch in range(1, epochs + 1):
        start = alive.copy()
        g_w, g_b, ratios = ([[] for _ in range(M)] for _ in range(3))
        for idx in minibatches(len(X), batch_size, gen):
            if not alive.any():
                break
            with np.errstate(all="ignore"):
                Z, caches = _stack_forward(stack, X[idx], "train", alive)
                value, _, dZ = _stack_loss(Z, T[idx])
                ok = alive & np.isfinite(value)
                grads = _stack_backward(stack, caches, np.where(ok[:, None, None], dZ, 0.0))
                gw, gb = norms(grads, wkeys), norms(grads, bkeys)
                finite = np.all([np.all(np.isfinite(g.reshape(M, -1)), axis=1) for g in grads.values()], axis=0)
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
                        v = g.copy() if v is None else np.where(step.reshape(shape), momentum * v + g, v)
                        velocity[k], g = v, v
                    delta = lr * g
                    if k[1] == "W":
                        dn, wn = _row_norms(delta.reshape(M, -1)), _row_norms(p.reshape(M, -1))
                        rows.append(np.where(wn > 0, dn / np.where(wn > 0, wn, 1.0), np.where(dn > 0, np.inf, 0.0)))
                    stack[k[0]][k[1]] = np.where(step.reshape(shape), p - delta, p)
            for m in np.flatnonzero(alive):
                ratios[m].append(np.array(rows)[:, m])
        record(epoch, start, g_w, g_b, ratios)
    seconds = time.perf_counter() - t0
    for h in hists:
        h.seconds = seconds
    return hists
