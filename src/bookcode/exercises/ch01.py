"""Checks for the coding exercises of chapters/01_gradient_descent.

- :func:`check_gradient_descent`: ``gradient_descent(grad, w0, lr, n_steps)`` returns
  the path;
- :func:`check_central_difference`: ``central_difference(f, w, eps=1e-6)`` returns
  ``∇f(w)``.

Every reference value is computed here independently of
:mod:`bookcode.experiments.descent` and :mod:`bookcode.gradcheck`: closed forms where
they exist, otherwise a plain loop.
"""

from __future__ import annotations

import numpy as np

from . import Hint, call_learner, learner_array, run_checks

__all__ = ["check_gradient_descent", "check_central_difference"]

_RTOL = 1e-8


def _close(a, b):
    return a.shape == b.shape and np.allclose(a, b, rtol=_RTOL, atol=1e-12)


# --------------------------------------------------------------------- gradient descent
def _descend(grad, w0, lr, n, *, sign=-1.0, frozen=False):
    """A plain reference loop: ``sign=+1`` climbs, ``frozen`` keeps one gradient."""
    w = np.array(w0, dtype=np.float64)
    g0 = grad(w)
    path = [w]
    for _ in range(n):
        w = w + sign * lr * (g0 if frozen else grad(w))
        path.append(w)
    return np.array(path)


def _named(fn, name):
    """Give a reference function a short name, so errors in the learner's calls read
    well."""
    fn.__name__ = fn.__qualname__ = name
    return fn


def _gd_case(grad, w0, lr, n, closed_form=None):
    grad = _named(grad, "grad")

    def case(learner):
        start = np.array(w0, dtype=np.float64)
        given = list(w0) if isinstance(w0, list) else start.copy()
        try:
            out = call_learner(learner, grad, given, lr, n)
        except Hint as hint:
            if isinstance(w0, list) and "cast" in str(hint).lower():
                raise Hint(
                    f"{hint}. Here w0 is a list of integers: start from a float copy, "
                    "w = np.array(w0, dtype=float), before updating it"
                ) from None
            raise
        if not np.array_equal(np.asarray(given, dtype=np.float64), start):
            raise Hint(
                "your function changed w0 in place (the caller's start point moved). "
                "Work on a copy: w = np.array(w0, dtype=float)"
            )
        path = learner_array(out)
        want = closed_form if closed_form is not None else _descend(grad, start, lr, n)
        _diagnose_path(path, want, grad, start, lr, n)

    return case


def _diagnose_path(path, want, grad, w0, lr, n):
    d = w0.size
    if path.shape != want.shape:
        if path.shape == (d,) and n > 0 and _close(path, want[-1]):
            raise Hint(
                f"you returned only the last point, shape {path.shape}. Return the "
                "whole path: w0 and every iterate, an array of shape (n_steps + 1, d) "
                f"= {want.shape}"
            )
        if path.shape == (n, d) and n > 0 and _close(path, want[1:]):
            raise Hint(
                f"your path has {n} rows and misses the start w0. The first row must "
                f"be w0, then one row per step: n_steps + 1 = {n + 1} rows"
            )
        if path.shape == (n, d) and n > 0 and _close(path, want[:-1]):
            raise Hint(
                f"your path stops one step short ({n} rows). Do n_steps updates and "
                f"keep w0 too: n_steps + 1 = {n + 1} rows"
            )
        if path.shape == (n + 2, d):
            raise Hint(
                f"your path has one row too many ({n + 2}); n_steps = {n} updates give "
                f"{n + 1} rows (w0 included). Check the range of your loop"
            )
        if path.shape == want.T.shape and d != n + 1:
            raise Hint(
                f"your path is transposed, shape {path.shape}; put one iterate per "
                f"row: {want.shape}"
            )
        raise Hint(
            f"expected a path of shape (n_steps + 1, d) = {want.shape}, got shape "
            f"{path.shape}"
        )
    if (
        n > 1
        and not _close(want, np.broadcast_to(want[-1], want.shape))
        and _close(path, np.broadcast_to(path[-1], path.shape))
    ):
        raise Hint(
            "every row of your path is the same point. You appended the same array "
            "each time and then changed it in place (w -= ...), which changes every "
            "row you stored: append a copy, or make each step build a new array"
        )
    if not _close(path[0], w0):
        raise Hint(
            f"the first row of the path must be the start w0 = {w0.tolist()}, "
            f"got {np.round(path[0], 6).tolist()}"
        )
    if n > 0 and _close(path, _descend(grad, w0, lr, n, sign=+1.0)):
        raise Hint(
            "your path climbs: E increases. The gradient points uphill, so a descent "
            "step goes against it (look at the sign of your update, eq. (gd-update))"
        )
    if n > 1 and _close(path, _descend(grad, w0, lr, n, frozen=True)):
        raise Hint(
            "every step uses the gradient at w0. Recompute grad(w) at the current "
            "point in each step"
        )
    if n > 0 and lr != 1.0 and _close(path, _descend(grad, w0, 1.0, n)):
        raise Hint("your steps ignore the learning rate: multiply the gradient by lr")
    if not _close(path, want):
        k = int(np.argmax(~np.isclose(path, want, rtol=_RTOL, atol=1e-12).all(axis=1)))
        raise Hint(
            f"the path first differs at row {k}: expected "
            f"{np.round(want[k], 6).tolist()}, got {np.round(path[k], 6).tolist()}. "
            "Each row must be one step of eq. (gd-update) from the row before it"
        )


def check_gradient_descent(gradient_descent):
    """Check a learner's ``gradient_descent(grad, w0, lr, n_steps)`` → path of shape
    (n_steps + 1, d).

    Cases: a 2-D quadratic bowl (compared with the closed form ``(I − ηA)^k w0``), a
    quartic in 3-D, an integer start given as a list, and ``n_steps = 0``.

    Implements the check of the coding exercise on eq. (gd-update) in
    chapters/01_gradient_descent.
    """
    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    w0, lr, n = np.array([1.0, -2.0]), 0.1, 5
    bowl_path = np.array(
        [np.linalg.matrix_power(np.eye(2) - lr * A, k) @ w0 for k in range(n + 1)]
    )
    cases = [
        (
            "quadratic bowl in 2-D, lr=0.1, 5 steps",
            _gd_case(lambda w: A @ w, w0, lr, n, bowl_path),
        ),
        (
            "quartic in 3-D, lr=0.05, 4 steps",
            _gd_case(lambda w: w**3, np.array([1.0, -0.5, 2.0]), 0.05, 4),
        ),
        (
            "start given as a list of ints [3, -1]",
            _gd_case(lambda w: 2 * w, [3, -1], 0.25, 3),
        ),
        (
            "n_steps=0 returns just the start",
            _gd_case(lambda w: A @ w, w0, lr, 0, w0[None, :]),
        ),
    ]
    return run_checks("gradient_descent", gradient_descent, cases)


# ------------------------------------------------------------------- central difference
def _differences(f, w, eps, kind):
    """Reference finite differences (and the mistakes they are confused with), on copies
    of w."""
    g = np.zeros(w.size)
    x = w.copy()
    for i in range(w.size):
        e = np.zeros(w.size)
        e[i] = eps
        if kind == "central":
            g[i] = (f(w + e) - f(w - e)) / (2 * eps)
        elif kind == "forward":
            g[i] = (f(w + e) - f(w)) / eps
        elif kind == "backward":
            g[i] = (f(w) - f(w - e)) / eps
        elif (
            kind == "alias"
        ):  # x_plus = w; x_minus = w (no copy): the minus step lands back on w
            g[i] = (f(w + e) - f(w)) / (2 * eps)
        elif (
            kind == "no-restore"
        ):  # x[i] += eps; f; x[i] -= 2 eps; f; and x[i] never put back
            x[i] += eps
            fp = f(x.copy())
            x[i] -= 2 * eps
            g[i] = (fp - f(x.copy())) / (2 * eps)
    return g


def _cd_case(f, w, eps, exact):
    f = _named(f, "f")

    def case(learner):
        given = w.copy()
        out = (
            call_learner(learner, f, given)
            if eps is None
            else call_learner(learner, f, given, eps)
        )
        if not np.allclose(
            given, w, rtol=1e-12, atol=1e-15
        ):  # a few ulps if restored by arithmetic
            raise Hint(
                "w changed after your function returned: you perturbed w[i] and did "
                "not put it back. Restore w[i] = old after the two evaluations (or "
                "work on a copy)"
            )
        g = learner_array(out)
        if g.shape != w.shape:
            kind = "a single number" if g.ndim == 0 else f"shape {g.shape}"
            raise Hint(
                f"the gradient has one entry per coordinate of w, shape {w.shape}; you "
                f"returned {kind}"
            )
        h = 1e-6 if eps is None else eps
        ref = _differences(f, w, h, "central")
        if _close(g, ref) and np.allclose(g, exact, rtol=1e-6, atol=1e-8):
            return
        hints = [
            (
                _differences(f, w, h, "forward"),
                "this is the forward difference: it compares f one step ahead with f "
                "at w itself, error O(eps). The central difference steps to both sides "
                "of w, symmetrically, and its errors of order eps cancel, error "
                "O(eps²): eq. (central-difference)",
            ),
            (
                _differences(f, w, h, "backward"),
                "this is the backward difference: it compares f at w with f one step "
                "behind, error O(eps). The central difference steps to both sides of "
                "w, symmetrically: eq. (central-difference)",
            ),
            (
                2 * ref,
                "your gradient is twice too large: the two points are 2 eps apart, and "
                "a slope is the rise divided by the whole distance between them",
            ),
            (
                -ref,
                "your gradient has the right size but the wrong sign: a slope is the "
                "rise from the minus side to the plus side, in the direction of +e_i",
            ),
            (
                _differences(f, w, h, "alias"),
                "x_plus = w does not copy w: your 'minus' point is back at w. Make "
                "real copies (w.copy()) or perturb, evaluate and restore one "
                "coordinate at a time",
            ),
            (
                _differences(f, w, h, "no-restore"),
                "after the two evaluations for coordinate i you did not put "
                "w[i] back, so the later coordinates are evaluated at a shifted point",
            ),
        ]
        if eps is not None:
            hints.append(
                (
                    _differences(f, w, 1e-6, "central"),
                    f"your function ignores its eps argument "
                    f"(called with eps={eps}); use eps, not a fixed step",
                )
            )
        for wrong, hint in hints:
            if _close(g, wrong):
                raise Hint(hint)
        i = int(np.argmax(np.abs(g - ref)))
        raise Hint(
            f"coordinate {i}: expected {ref[i]:.8g}, got {g[i]:.8g}. Each entry is the "
            "central difference of eq. (central-difference) along its own coordinate, "
            "with the eps given"
        )

    return case


def check_central_difference(central_difference):
    """Check a learner's ``central_difference(f, w, eps=1e-6)`` → the gradient of ``f``
    at ``w``.

    Cases: a cubic with cross terms at ``eps = 0.01`` (the central difference is exact
    up to ``eps²``, so the forward difference, a missing factor 2 or a forgotten restore
    are all recognised), a smooth function with the default ``eps``, and a 1-D ``w``.

    Implements the check of the coding exercise on eq. (central-difference) in
    chapters/01_gradient_descent.
    """

    def cubic(w):
        return float(np.sum(w**3) + w[0] * w[1] - 2 * w[1] * w[2])

    def smooth(w):
        return float(np.sin(w[0]) * np.exp(0.5 * w[1]) + w[1] ** 2)

    w3 = np.array([0.5, -1.0, 2.0])
    eps = 1e-2
    cubic_exact = (
        3 * w3**2 + np.array([w3[1], w3[0] - 2 * w3[2], -2 * w3[1]]) + eps**2
    )  # central: + eps²
    w2 = np.array([0.3, -1.2])
    smooth_exact = np.array(
        [
            np.cos(w2[0]) * np.exp(0.5 * w2[1]),
            0.5 * np.sin(w2[0]) * np.exp(0.5 * w2[1]) + 2 * w2[1],
        ]
    )
    w1 = np.array([2.0])
    cases = [
        ("cubic in 3-D with eps=0.01", _cd_case(cubic, w3, eps, cubic_exact)),
        ("smooth 2-D function, default eps", _cd_case(smooth, w2, None, smooth_exact)),
        (
            "f(w) = w⁴ at w = [2.0], eps=0.001",
            _cd_case(
                lambda w: float(w[0] ** 4), w1, 1e-3, np.array([32.0 + 8.0 * 1e-6])
            ),
        ),
    ]
    return run_checks("central_difference", central_difference, cases)
