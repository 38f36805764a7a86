"""Checks for the coding exercise of chapters/06_taming_gradients.

- :func:`check_clip_by_global_norm`: ``clip_by_global_norm(grads, max_norm)`` returns a
  list of new arrays, all scaled by one factor so that their global norm is at most
  ``max_norm``.

The reference values are computed here from the definition (eq. tg-clip-norm),
independently of :mod:`bookcode.optim`; every typical mistake is recomputed and
recognised by its result.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..seeding import rng as _seeded_rng
from . import Hint, call_learner, learner_array, run_checks

__all__ = ["check_clip_by_global_norm"]


def _close(a, b):
    return a.shape == b.shape and np.allclose(a, b, rtol=1e-10, atol=1e-12)


def _global(grads, max_norm):
    norm = np.sqrt(sum(float(np.sum(g * g)) for g in grads))
    s = max_norm / norm if norm > max_norm else 1.0
    return [g * s for g in grads]


def _mistakes(grads, max_norm):
    """(hint, arrays) for the wrong variants this checker recognises, in the order they
    are tried."""
    sq = sum(float(np.sum(g * g)) for g in grads)
    norm, norms = np.sqrt(sq), [float(np.sqrt(np.sum(g * g))) for g in grads]
    out = [
        (
            "you clipped every array by its own norm. Clipping by the GLOBAL norm "
            "measures all arrays together, as one long vector, and scales every array "
            "by the same factor — that is what keeps the direction of the whole "
            "gradient (eq. (tg-clip-norm))",
            [g * (max_norm / n if n > max_norm else 1.0) for g, n in zip(grads, norms)],
        ),
        (
            "you clipped every entry to [-max_norm, max_norm]: that is clipping by "
            "value, eq. (tg-clip-value), which changes the direction. Clipping by the "
            "global norm rescales instead: one common factor for all arrays, eq. "
            "(tg-clip-norm)",
            [np.clip(g, -max_norm, max_norm) for g in grads],
        ),
        (
            "your norm is the sum of the arrays' norms, Σ_k ‖g_k‖. The global norm is "
            "the length of all entries stacked into one long vector, and lengths of "
            "orthogonal pieces do not add up like that (think of the sides of a right "
            "triangle)",
            [
                g * (max_norm / sum(norms) if sum(norms) > max_norm else 1.0)
                for g in grads
            ],
        ),
        (
            "you used the squared norm Σ g² (no square root) as the norm",
            [g * (max_norm / sq if sq > max_norm else 1.0) for g in grads],
        ),
        (
            "your scale factor is upside down: it grows the gradient. When clipping, "
            "the factor must bring the global norm down to exactly max_norm, so it is "
            "below 1",
            [g * (norm / max_norm if norm > max_norm else 1.0) for g in grads],
        ),
        (
            "you rescaled a gradient whose norm was already at most max_norm. Clip "
            "only when ‖g‖ > max_norm; otherwise return (copies of) the arrays "
            "unchanged",
            [g * (max_norm / norm) for g in grads] if norm > 0 else None,
        ),
    ]
    return [(h, a) for h, a in out if a is not None]


def _case(arrays, max_norm, *, zero=False):
    arrays = [np.array(a, dtype=np.float64) for a in arrays]

    def case(learner):
        given = [a.copy() for a in arrays]
        try:
            out = call_learner(learner, given, max_norm)
        except Hint as hint:
            if zero and ("ZeroDivision" in str(hint) or "divide" in str(hint)):
                raise Hint(
                    f"{hint}. All gradients are zero here, so ‖g‖ = 0: clip only when "
                    "‖g‖ > max_norm, and you never divide by 0"
                ) from None
            raise
        for a, g in zip(arrays, given):
            if not np.array_equal(a, g):
                raise Hint(
                    "your function changed the caller's gradient arrays in place (e.g. "
                    "g *= scale). Return new arrays and leave the inputs as they were "
                    "— the caller may still need the unclipped gradient, e.g. to log "
                    "its norm"
                )
        if (
            isinstance(out, tuple)
            and len(out) == 2
            and isinstance(out[1], numbers.Real)
        ):
            raise Hint(
                "you returned a pair (arrays, norm); return only the list of clipped "
                "arrays"
            )
        if isinstance(out, np.ndarray):
            raise Hint(
                f"you returned one array of shape {out.shape}; return a list with one "
                "array per input gradient, each of its input's shape: "
                f"{[a.shape for a in arrays]}"
            )
        if out is None:
            raise Hint(
                "your function returned None — did you forget the `return` statement?"
            )
        try:
            out = list(out)
        except TypeError:
            raise Hint(f"expected a list of arrays, got {type(out).__name__}") from None
        if len(out) != len(arrays):
            raise Hint(
                f"you returned {len(out)} arrays for {len(arrays)} gradients; return "
                "one per input"
            )
        try:
            res = [learner_array(o, "your function") for o in out]
        except Hint as hint:
            if zero and "NaN" in str(hint):
                raise Hint(
                    f"{hint}. All gradients are zero here, so ‖g‖ = 0 and max_norm / "
                    "‖g‖ is inf (and 0 · inf is NaN): scale only when ‖g‖ > max_norm"
                ) from None
            raise
        for r, a in zip(res, arrays):
            if r.shape != a.shape:
                raise Hint(
                    f"an output has shape {r.shape} but its gradient has shape "
                    f"{a.shape}; keep the shapes"
                )
        if any(o is g for o, g in zip(out, given)):
            raise Hint(
                "you returned the caller's own arrays (the same objects). Return new "
                "arrays (g.copy() or g * 1.0) so that changing the result cannot "
                "change the input"
            )
        want = _global(arrays, max_norm)
        if all(_close(r, w) for r, w in zip(res, want)):
            return
        for hint, wrong in _mistakes(arrays, max_norm):
            if all(_close(r, w) for r, w in zip(res, wrong)):
                raise Hint(hint)
        got = np.sqrt(sum(float(np.sum(r * r)) for r in res))
        raise Hint(
            "expected arrays with global norm "
            f"{np.sqrt(sum(float(np.sum(w * w)) for w in want)):.6g} pointing the same "
            f"way as the input; yours have global norm {got:.6g}. See eq. "
            "(tg-clip-norm): one norm for all arrays together and, only when it "
            "exceeds max_norm, one common factor for every array"
        )

    return case


def check_clip_by_global_norm(clip_by_global_norm):
    """Check a learner's ``clip_by_global_norm(grads, max_norm)`` → list of clipped
    copies.

    Cases: two arrays of global norm 5 clipped to 2.5 (per-array norms 3 and 4, so
    clipping each array by its own norm, by value or with a sum of norms all give
    different answers), three arrays below the threshold (returned unchanged, as new
    arrays), one large matrix, and all-zero gradients. Every case also checks that the
    caller's arrays are left unchanged.

    Implements the check of the coding exercise on eq. (tg-clip-norm) in
    chapters/06_taming_gradients.
    """
    rng = _seeded_rng(6)
    big = rng.normal(size=(4, 3)) * 10.0
    cases = [
        (
            "two arrays, global norm 5 > max_norm 2.5",
            _case([[[1.0, -2.0], [2.0, 0.0]], [0.0, 4.0, 0.0]], 2.5),
        ),
        (
            "three arrays with global norm 0.74 < max_norm 1",
            _case([[[0.3, -0.2]], [0.5, 0.1], [-0.4]], 1.0),
        ),
        ("one 4 × 3 matrix far above max_norm 1", _case([big], 1.0)),
        (
            "all-zero gradients, max_norm 1",
            _case([np.zeros((2, 2)), np.zeros(3)], 1.0, zero=True),
        ),
    ]
    return run_checks("clip_by_global_norm", clip_by_global_norm, cases)
