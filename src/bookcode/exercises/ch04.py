"""Checks for the coding exercise of chapters/04_activations.

- :func:`check_elu`: ``elu(x, alpha=1.0)`` and ``elu_derivative(x, alpha=1.0)``.

The reference values are computed here one number at a time with :mod:`math`
(``math.expm1`` and ``math.exp`` on ``min(x, 0)``), independently of
:mod:`bookcode.activations`.
"""

from __future__ import annotations

import math

import numpy as np

from ..seeding import rng as _seeded_rng
from . import FAIL, CheckResult, Hint, NotAttempted, learner_array, run_checks

__all__ = ["check_elu"]

_RTOL, _ATOL = (
    1e-10,
    1e-12,
)  # elu(x) + alpha for elu'(x), x <= 0, is correct up to ~1e-16 absolute


def _ref_elu(x, alpha):
    return np.array(
        [v if v > 0 else alpha * math.expm1(min(v, 0.0)) for v in np.ravel(x)]
    ).reshape(np.shape(x))


def _ref_delu(x, alpha):
    return np.array(
        [1.0 if v > 0 else alpha * math.exp(min(v, 0.0)) for v in np.ravel(x)]
    ).reshape(np.shape(x))


def _close(a, b):
    return a.shape == b.shape and np.allclose(a, b, rtol=_RTOL, atol=_ATOL)


def _call(fn, name, x, alpha):
    """Call the learner with every floating-point problem raised, and turn mistakes into
    hints."""
    given = float(x) if np.ndim(x) == 0 else np.array(x, copy=True)
    try:
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            out = fn(given) if alpha is None else fn(given, alpha)
    except NotImplementedError:
        raise NotAttempted from None
    except FloatingPointError as exc:
        if "overflow" not in str(exc):
            raise Hint(
                f"{name} triggered a floating-point warning ({exc}); ELU needs no "
                "division and no log, and every value it computes is finite"
            ) from None
        raise Hint(
            f"{name} triggered an overflow warning ({exc}). np.where computes BOTH "
            "branches for every x, so np.exp(x) overflows for large positive x even "
            "where that branch is not used. Make sure the exponential only ever sees "
            "numbers that cannot overflow: the negative branch needs x <= 0 only"
        ) from None
    except OverflowError as exc:
        raise Hint(
            f"{name} raised OverflowError ({exc}): math.exp(x) overflows for large x. "
            "Work on whole arrays with numpy, and let the exponential see only "
            "numbers that cannot overflow"
        ) from None
    except (TypeError, ValueError) as exc:
        text = str(exc)
        if np.ndim(x) > 0 and any(
            s in text
            for s in (
                "length-1",
                "size-1",
                "0-dimensional",
                "truth value",
                "only 0-d",
                "scalar",
            )
        ):
            raise Hint(
                f"{name} works only for single numbers ({type(exc).__name__}: "
                f"{text.splitlines()[0]}). Use numpy on the whole array: np.where(x > "
                "0, ..., ...) and np.exp instead of `if x > 0` and math.exp"
            ) from None
        raise Hint(
            f"{name} raised {type(exc).__name__}: "
            f"{text.splitlines()[0] if text else ''}"
        ) from None
    except Exception as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise Hint(
            f"{name} raised {type(exc).__name__}{': ' + text if text else ''}"
        ) from None
    if not np.array_equal(given, np.asarray(x), equal_nan=True):
        raise Hint(
            f"{name} changed its input x in place. Compute a new array (np.where(...)) "
            "instead of assigning into x"
        )
    return learner_array(out, f"{name}({'x' if alpha is None else 'x, alpha'})")


def _values_case(xs, alpha, elu, delu):
    """Compare both functions with the reference on ``xs``; name the mistake if they
    differ.

    ``xs`` is a list of single numbers (each passed alone, the results compared
    together) or of arrays.
    """
    scalars = all(np.ndim(x) == 0 for x in xs)

    def case(_learner):
        for name, fn, ref in (
            ("elu", elu, _ref_elu),
            ("elu_derivative", delu, _ref_delu),
        ):
            batches = [np.array(xs, dtype=float)] if scalars else xs
            for x in batches:
                got = (
                    np.array([_checked(fn, name, v, alpha, ()) for v in xs])
                    if scalars
                    else _checked(fn, name, x, alpha, np.shape(x))
                )
                a = 1.0 if alpha is None else alpha
                if not _close(got, ref(x, a)):
                    _diagnose(name, got, x, a, alpha)

    return case


def _checked(fn, name, x, alpha, shape):
    got = _call(fn, name, x, alpha)
    if got.shape != shape:
        if got.size == int(np.prod(shape)):
            raise Hint(
                f"{name} must keep the shape of x {shape}; it returned shape "
                f"{got.shape} (no flattening or reshaping)"
            )
        raise Hint(
            f"{name} must return one value per entry of x, shape {shape}; got shape "
            f"{got.shape}"
        )
    return got


def _diagnose(name, got, x, a, alpha):
    x = np.asarray(x, dtype=float)
    neg = x <= 0
    if name == "elu":
        if a != 1.0 and _close(got, _ref_elu(x, 1.0)):
            raise Hint(
                "elu ignores alpha: your values are those of alpha = 1. alpha scales "
                "the negative branch of eq. (elu), the level ELU saturates at for very "
                "negative x"
            )
        if _close(got, np.maximum(x, 0)):
            raise Hint(
                "this is ReLU: for x <= 0, ELU is not 0 but a smooth curve that bends "
                "down towards −alpha (eq. (elu))"
            )
        if _close(got, np.where(neg, a * np.exp(np.minimum(x, 0)), x)):
            raise Hint(
                "for x <= 0 your ELU is shifted up by alpha: you forgot the - 1 of eq. "
                "(elu). ELU must be 0 at x = 0, where it meets the identity branch, "
                "and approach −alpha for very negative x"
            )
        if np.allclose(got[~neg], 0) and np.any(~neg):
            raise Hint(
                "for x > 0 your elu returns 0: there ELU is the identity, like ReLU"
            )
    else:
        zero = x == 0
        if (
            np.any(zero)
            and _close(got[~zero], _ref_delu(x, a)[~zero])
            and np.allclose(got[zero], 1.0)
        ):
            raise Hint(
                "at x = 0 you used the x > 0 branch (derivative 1). The book's "
                "convention (as in bookcode.activations) takes the x <= 0 branch at "
                "the kink: elu'(0) = alpha"
            )
        if a != 1.0 and _close(got, _ref_delu(x, 1.0)):
            raise Hint(
                "elu_derivative ignores alpha: your values are those of alpha = 1. "
                "alpha scales ELU's negative branch, so it scales that branch's slope "
                "too"
            )
        if _close(got, np.where(neg, a * np.expm1(np.minimum(x, 0)), 1.0)):
            raise Hint(
                "for x <= 0 your derivative keeps the - 1 of ELU's formula: a constant "
                "term has slope 0, so the - 1 disappears when you differentiate (eq. "
                "(elu-derivative))"
            )
        if _close(got, (x > 0).astype(float)):
            raise Hint(
                "this is ReLU's derivative: for x <= 0 ELU is not flat, so its "
                "derivative is not 0 there — that slope is the point of ELU"
            )
        if _close(got, _ref_elu(x, a)):
            raise Hint(
                "elu_derivative returns ELU itself, not its derivative: differentiate "
                "each branch (eq. (elu-derivative))"
            )
    i = int(
        np.argmax(
            ~np.isclose(
                got,
                (_ref_elu if name == "elu" else _ref_delu)(x, a),
                rtol=_RTOL,
                atol=_ATOL,
            ).ravel()
        )
    )
    xi = float(np.ravel(x)[i])
    want = float(np.ravel((_ref_elu if name == "elu" else _ref_delu)(x, a))[i])
    args = f"{xi:g}" + ("" if alpha is None else f", alpha={alpha:g}")
    raise Hint(
        f"{name}({args}) should be {want:.10g}, got {float(np.ravel(got)[i]):.10g}"
    )


def check_elu(elu, elu_derivative):
    """Check a learner's ``elu(x, alpha=1.0)`` and ``elu_derivative(x, alpha=1.0)``.

    Cases, in order: single numbers around 0 with the default alpha; ``alpha = 0.5``
    (alpha used, and the value at the kink x = 0 is alpha, the book's convention);
    arrays of shapes (5,), (2, 3) and (2, 2, 2); and x = ±1000, ±50 in float64, where
    nothing may overflow (every floating-point warning counts as a failure). The input
    must not be modified.

    Implements the check of the coding exercise on eqs. (elu) and (elu-derivative) in
    chapters/04_activations.
    """
    for fn in (elu, elu_derivative):
        if not callable(fn):
            msg = (
                f"{FAIL} elu: expected your two functions, check_elu(elu, "
                f"elu_derivative), got {type(fn).__name__}"
            )
            print(msg)
            return CheckResult("elu", False, msg)
    rng = _seeded_rng(4)
    cases = [
        (
            "single numbers -2, -0.5, 0, 0.5, 2 with the default alpha",
            [-2.0, -0.5, 0.0, 0.5, 2.0],
            None,
        ),
        ("alpha = 0.5 at the single numbers -1.5, 0, 1", [-1.5, 0.0, 1.0], 0.5),
        (
            "an array of shape (5,), alpha = 2",
            [np.array([-3.0, -1.0, 0.0, 1.0, 3.0])],
            2.0,
        ),
        (
            "arrays of shape (2, 3) and (2, 2, 2)",
            [rng.normal(0, 2, (2, 3)), rng.normal(0, 2, (2, 2, 2))],
            None,
        ),
        (
            "x = -1000, -50, 0, 50, 1000 in float64 (no overflow warnings)",
            [np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])],
            None,
        ),
    ]
    return run_checks(
        "elu",
        elu,
        [(d, _values_case(xs, a, elu, elu_derivative)) for d, xs, a in cases],
        others=(elu_derivative,),
    )
