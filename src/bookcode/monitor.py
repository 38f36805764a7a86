"""Training monitors for a network that will not train: summaries, a rule-based triage
and one panel.

Everything here reads what :func:`bookcode.train.train` already records in its
:class:`~bookcode.train.History` (loss, per-layer gradient norms, update:data ratios,
saturated and dead fractions); the measurements themselves live in
:mod:`bookcode.diagnostics` and the non-finite guard is
:func:`bookcode.diagnostics.find_nonfinite`. This module adds

- :func:`update_ratio` and :func:`lr_for_ratio`: the update:data ratio ‖ΔW‖/‖W‖ and the
  learning rate that would bring it to a target (the rule of thumb is about 1e-3);
- :func:`gradient_spread`: how many powers of ten separate the largest and smallest
  per-layer gradient;
- :func:`summarize` and :func:`diagnose`: the numbers of a run, and the symptoms they
  show, each with the chapter that explains it;

The four monitors of a run in one figure are
:func:`bookcode.display.panels.monitor_panel`; the same run for several seeds at once is
:func:`bookcode.experiments.stacked.train_seeds`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validate import as_float_array, check_positive_float

__all__ = [
    "RULE_OF_THUMB",
    "update_ratio",
    "lr_for_ratio",
    "gradient_spread",
    "summarize",
    "Finding",
    "diagnose",
]

#: The update:data ratio ‖ΔW‖/‖W‖ per step that Karpathy's cs231n notes call healthy
#: ("around 1e-3").
RULE_OF_THUMB = 1e-3


def update_ratio(delta, W):
    """The update:data ratio ``‖ΔW‖_F / ‖W‖_F`` of one step (``inf`` if ``W = 0`` and
    ``ΔW ≠ 0``).

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
        raise ValueError(
            f"update_ratio: delta and W must have the same shape, got {delta.shape} "
            f"and {W.shape}"
        )
    d, w = float(np.linalg.norm(delta)), float(np.linalg.norm(W))
    if w == 0.0:
        return np.inf if d > 0 else 0.0
    return d / w


def lr_for_ratio(lr, ratio, target=RULE_OF_THUMB):
    """The learning rate that would give update:data ratio ``target``: ``η · target /
    ratio``.

    For plain SGD the update is ``η g``, so the ratio is proportional to ``η``;
    ``ratio`` is the one measured with learning rate ``lr`` (a number or one per layer;
    the result has the same shape).

    Implements eq. (dx-lr-from-ratio) in chapters/10_diagnosis.
    """
    lr = check_positive_float(lr, "lr")
    target = check_positive_float(target, "target")
    r = as_float_array(ratio, "ratio", where="lr_for_ratio")
    if np.any(r <= 0):
        raise ValueError(
            f"lr_for_ratio: the measured ratios must be > 0, got {r.min():.3g}"
        )
    out = lr * target / r
    return float(out) if out.ndim == 0 else out


def gradient_spread(norms):
    """``log10(max_l ‖g^l‖ / min_l ‖g^l‖)``: the powers of ten between the per-layer
    gradient norms.

    0 means every layer gets a gradient of the same size; 1 means a factor 10. Returns
    ``inf`` if some norm is 0 or any norm is not finite.

    Implements eq. (dx-grad-spread) in chapters/10_diagnosis.
    """
    g = as_float_array(norms, "norms", where="gradient_spread", allow_nonfinite=True)
    if g.ndim != 1 or g.size == 0:
        raise ValueError(
            "gradient_spread: expected a non-empty 1-D sequence of per-layer norms, "
            f"got shape {g.shape}"
        )
    if np.any(g < 0):
        raise ValueError("gradient_spread: norms must be >= 0")
    if not np.all(np.isfinite(g)) or g.min() == 0:
        return np.inf
    return float(np.log10(g.max() / g.min()))


def _check_history(history, where):
    from .train import History

    if not isinstance(history, History):
        raise TypeError(
            f"{where}: expected a bookcode.train.History (from train.train), got "
            f"{type(history).__name__}"
        )
    if not history.epoch:
        raise ValueError(f"{where}: the History is empty; train for at least one epoch")
    return history


def _last_finite_row(rows):
    """Index of the last epoch whose row has at least one finite entry (``None`` if
    there is none)."""
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
    """The numbers a diagnosis starts from, as a dict (NaN where the run did not record
    them).

    Keys: ``loss_first``, ``loss_last`` (last recorded, may be NaN), ``loss_best``,
    ``diverged_at``, ``accuracy``, ``val_accuracy``, ``gap`` (training minus validation
    accuracy), ``grad_first``, ``grad_last`` (‖∂E/∂W‖ of the first and last layer at
    initialisation), ``spread_init`` (:func:`gradient_spread` at initialisation),
    ``ratio_max``, ``ratio_min`` (update:data ratios over the layers, in the last epoch
    that recorded them), ``saturated_max``, ``dead_max`` (over the layers, at the end).

    Implements the monitors of eqs. (dx-update-ratio) and (dx-grad-spread) in
    chapters/10_diagnosis.
    """
    h = _check_history(history, "summarize")
    loss = np.asarray(h.loss, dtype=float)
    finite = loss[np.isfinite(loss)]
    g0 = np.asarray(h.grad_norms[0], dtype=float)
    k = _last_finite_row(h.update_ratios[1:])
    ratios = (
        np.asarray(h.update_ratios[1:][k], dtype=float)
        if k is not None
        else np.array([np.nan])
    )
    ratios = ratios[np.isfinite(ratios)] if np.any(np.isfinite(ratios)) else ratios
    acc = float(h.accuracy[-1])
    val = float(h.val_accuracy[-1]) if h.val_accuracy else float("nan")
    return {
        "loss_first": float(loss[0]),
        "loss_last": float(loss[-1]),
        "loss_best": float(finite.min()) if finite.size else float("nan"),
        "diverged_at": h.diverged_at,
        "accuracy": acc,
        "val_accuracy": val,
        "gap": acc - val,
        "grad_first": float(g0[0]),
        "grad_last": float(g0[-1]),
        "spread_init": gradient_spread(g0),
        "ratio_max": float(np.max(ratios)),
        "ratio_min": float(np.min(ratios)),
        "saturated_max": _nanmax(h.act_saturated[-1]),
        "dead_max": _nanmax(h.act_dead[-1]),
    }


@dataclass(frozen=True)
class Finding:
    """One symptom found by :func:`diagnose`: what, the measured evidence, and the
    chapter that explains it."""

    symptom: str
    evidence: str
    chapter: str

    def __str__(self):
        return f"{self.symptom}: {self.evidence} (see {self.chapter})"


def diagnose(
    history,
    *,
    flat=0.95,
    spread=1.0,
    ratio_high=1e-2,
    ratio_low=1e-5,
    saturated=0.5,
    dead=0.5,
    gap=0.1,
):
    """Triage a run: the symptoms of the chapter's table that its :class:`History`
    shows.

    Each threshold is a keyword: ``flat`` (final loss above this fraction of the initial
    loss), ``spread`` (powers of ten between layers' gradients at initialisation),
    ``ratio_high`` / ``ratio_low`` (update:data ratio of some layer above / below),
    ``saturated`` and ``dead`` (fraction of the units of some layer at the end), ``gap``
    (training minus validation accuracy).

    Returns
    -------
    list of Finding
        Empty when no rule fires. A diverged run reports the NaN/inf first; a loss that
        ends above its start is reported as "loss rises", not also as "loss flat".

    Implements the symptom table of chapters/10_diagnosis.
    """
    h = _check_history(history, "diagnose")
    for name, v in dict(
        flat=flat,
        spread=spread,
        ratio_high=ratio_high,
        ratio_low=ratio_low,
        saturated=saturated,
        dead=dead,
        gap=gap,
    ).items():
        check_positive_float(v, name)
    s = summarize(h)
    out = []
    if s["diverged_at"] is not None:
        out.append(
            Finding(
                "loss is NaN/inf",
                f"non-finite loss or gradient in epoch {s['diverged_at']}",
                "chapter 5; locate it with diagnostics.find_nonfinite",
            )
        )
    elif s["loss_last"] > s["loss_first"]:
        out.append(
            Finding(
                "loss rises",
                f"loss {s['loss_first']:.3g} → {s['loss_last']:.3g}",
                "chapter 1 (learning rate above the stability bound)",
            )
        )
    elif s["loss_last"] > flat * s["loss_first"]:
        out.append(
            Finding(
                "loss flat",
                f"loss {s['loss_first']:.3g} → {s['loss_last']:.3g}",
                "chapters 5 and 7 (vanishing signal, initialization)",
            )
        )
    if s["spread_init"] > spread:
        side = "first" if s["grad_first"] < s["grad_last"] else "last"
        out.append(
            Finding(
                f"{side} layers get the smallest gradient",
                f"layers' ‖∂E/∂W‖ span 10^{s['spread_init']:.1f} at initialisation",
                "chapters 5 and 7",
            )
        )
    if s["ratio_max"] > ratio_high:
        out.append(
            Finding(
                "updates too large",
                f"update:data ratio up to {s['ratio_max']:.2g}",
                "chapters 1 and 6 (lower η, clip)",
            )
        )
    if s["ratio_min"] < ratio_low:
        out.append(
            Finding(
                "some layers barely move",
                f"update:data ratio down to {s['ratio_min']:.2g}",
                "chapters 5, 7 and 8",
            )
        )
    if s["saturated_max"] > saturated:
        out.append(
            Finding(
                "saturated units",
                f"up to {s['saturated_max']:.0%} of a layer's outputs saturated",
                "chapters 4 and 7",
            )
        )
    if s["dead_max"] > dead:
        out.append(
            Finding(
                "dead units",
                f"up to {s['dead_max']:.0%} of a layer's units dead",
                "chapter 4",
            )
        )
    if np.isfinite(s["gap"]) and s["gap"] > gap:
        out.append(
            Finding(
                "validation much worse than training",
                f"accuracy {s['accuracy']:.0%} (training) vs {s['val_accuracy']:.0%} "
                "(validation)",
                "chapter 6 (weight penalties)",
            )
        )
    return out
