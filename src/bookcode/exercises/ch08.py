"""Checks for the coding exercise of chapters/08_batchnorm.

- :func:`check_batchnorm_backward`: ``batchnorm_backward(dY, X, gamma, eps)`` returns
  ``(dX, dgamma, dbeta)`` for training-mode batch normalization ``Y = γ (X − μ)/sqrt(σ²
  + ε) + β`` with the batch mean ``μ`` and the biased batch variance ``σ²``.

A learner's answer passes when it agrees with central finite differences of ``E = Σ Y ∘
dY`` (relative error below :data:`bookcode.gradcheck.TOLERANCE`, float64), computed here
with a plain loop, independent of :mod:`bookcode.batchnorm`. Known mistakes are
recognised by comparing with their closed forms, and get their own hint.
"""

from __future__ import annotations

import numpy as np

from ..gradcheck import numerical_gradient
from ..seeding import rng as _seeded_rng
from . import (
    Hint,
    call_learner,
    learner_array,
    matches,
    relative_difference,
    run_checks,
    sign_or_zero,
)

__all__ = ["check_batchnorm_backward"]


def _bn(X, gamma, beta, eps, ddof=0):
    mu = X.mean(axis=0)
    var = ((X - mu) ** 2).sum(axis=0) / (X.shape[0] - ddof)
    return gamma * (X - mu) / np.sqrt(var + eps) + beta


def _wrong_answers(X, gamma, dY, eps):
    """Closed forms of the typical mistakes: {name: dX}."""
    N = X.shape[0]
    mu = X.mean(axis=0)
    inv = 1.0 / np.sqrt(X.var(axis=0) + eps)
    Xh = (X - mu) * inv
    mean_g, mean_gx = dY.mean(axis=0), (dY * Xh).mean(axis=0)
    inv_unbiased = 1.0 / np.sqrt(X.var(axis=0, ddof=1) + eps)
    Xh_u = (X - mu) * inv_unbiased
    Xh0 = (X - mu) / X.std(axis=0)  # without ε
    return {
        "frozen": gamma * inv * dY,
        "no_mean": gamma * inv * (dY - Xh * mean_gx),
        "no_var": gamma * inv * (dY - mean_g),
        "no_gamma": inv * (dY - mean_g - Xh * mean_gx),
        "no_eps": gamma / X.std(axis=0) * (dY - mean_g - Xh0 * (dY * Xh0).mean(axis=0)),
        "unbiased": gamma
        * inv_unbiased
        * (dY - mean_g - Xh_u * (dY * Xh_u).sum(axis=0) / (N - 1)),
        "sum_not_mean": gamma * inv * (dY - N * mean_g - Xh * N * mean_gx),
        "dgamma_unbiased": (dY * Xh_u).sum(axis=0),
        "dgamma_no_eps": (dY * Xh0).sum(axis=0),
    }


_UNBIASED = (
    "you normalised with the unbiased variance Σ(x − μ)²/(N − 1). In training, BN "
    "divides by N (the biased batch variance); N/(N − 1) belongs only to the running "
    "variance used at inference"
)
_NO_EPS = (
    "ε is missing: the forward pass divides by sqrt(σ² + ε), so X̂ and the backward "
    "pass must use sqrt(σ² + ε) too. It matters for features whose variance is small"
)


def _case(N, n, seed, eps=1e-5, small_var=False):
    rng = _seeded_rng(seed)
    X = rng.normal(1.5, 2.0, (N, n))
    if small_var:  # a feature whose variance is comparable to ε: forgetting ε shows
        X[:, 0] = 0.3 + 3e-3 * rng.standard_normal(N)
    gamma, beta = rng.uniform(0.5, 2.0, n), rng.standard_normal(n)
    dY = rng.standard_normal((N, n))

    def E():
        return float(np.sum(_bn(X, gamma, beta, eps) * dY))

    ref = {
        "dX": numerical_gradient(E, X),
        "dgamma": numerical_gradient(E, gamma),
        "dbeta": numerical_gradient(E, beta),
    }
    wrong = _wrong_answers(X, gamma, dY, eps)

    def case(learner):
        args = (dY.copy(), X.copy(), gamma.copy(), eps)
        out = call_learner(learner, *args)
        if not all(np.array_equal(a, b) for a, b in zip(args[:3], (dY, X, gamma))):
            raise Hint(
                "your function changed one of its inputs in place; compute new arrays "
                "instead"
            )
        if out is None:
            raise Hint(
                "your function returned None — did you forget `return dX, dgamma, "
                "dbeta`?"
            )
        if not isinstance(out, (tuple, list)) or len(out) != 3:
            raise Hint(
                "return three arrays, `return dX, dgamma, dbeta`; got "
                f"{type(out).__name__}"
                + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else "")
            )
        dX, dgamma, dbeta = (
            learner_array(v, f"your function (its {name})")
            for v, name in zip(out, ("dX", "dgamma", "dbeta"))
        )
        _diagnose(dX, dgamma, dbeta, ref, wrong, X, dY, N, n)

    return case


def _diagnose(dX, dgamma, dbeta, ref, wrong, X, dY, N, n):
    if [dX.shape, dgamma.shape, dbeta.shape] != [(N, n), (n,), (n,)]:
        if sorted([dX.shape, dgamma.shape, dbeta.shape]) == sorted(
            [(N, n), (n,), (n,)]
        ):
            raise Hint(
                "your results come back in the wrong order; return (dX, dgamma, dbeta)"
            )
        raise Hint(
            f"expected shapes dX {(N, n)}, dgamma {(n,)}, dbeta {(n,)} (one γ and β "
            f"per feature); got {dX.shape}, {dgamma.shape}, {dbeta.shape}. γ and β are "
            "shared by all rows: their gradients add up the rows' contributions, one "
            "entry per feature"
        )
    if matches(dbeta, ref["dgamma"]) and matches(dgamma, ref["dbeta"]):
        raise Hint(
            "dgamma and dbeta are swapped: β is only added, so its gradient sees dY "
            "alone; γ multiplies X̂, so its gradient carries X̂ too (eq. "
            "(bn-dgamma-dbeta))"
        )
    if not matches(dbeta, ref["dbeta"]):
        if matches(dbeta * N, ref["dbeta"]):
            raise Hint(
                "dbeta is N times too small: β is added to every row, and every row's "
                "contribution counts in full: add them up, don't average"
            )
        if sign_or_zero(dbeta, ref["dbeta"]) == "sign":
            raise Hint(
                "dbeta has the right size but the opposite sign: β is simply added to "
                "the output, so its gradient has the sign of dY itself"
            )
        raise Hint(
            "dbeta is wrong: β is added to every row of the output, so every row's dY "
            "reaches it (eq. (bn-dgamma-dbeta))"
        )
    if not matches(dgamma, ref["dgamma"]):
        if matches(dgamma, ref["dbeta"]):
            raise Hint(
                "dgamma equals Σ dY: you forgot the factor X̂. γ multiplies X̂ in the "
                "forward pass, so X̂ is part of its gradient"
            )
        if matches(dgamma * N, ref["dgamma"]):
            raise Hint(
                "dgamma is N times too small: γ is shared by all rows, and their "
                "contributions add up — don't average"
            )
        if matches(dgamma, wrong["dgamma_unbiased"]):
            raise Hint(_UNBIASED)
        if matches(dgamma, wrong["dgamma_no_eps"]):
            raise Hint(_NO_EPS)
        if sign_or_zero(dgamma, ref["dgamma"]) == "sign":
            raise Hint(
                "dgamma has the right size but the opposite sign: return dE/dγ itself, "
                "the direction in which E grows"
            )
        raise Hint(
            "dgamma is wrong: γ multiplies X̂ = (X − μ)/sqrt(σ² + ε), normalised with "
            "this batch's statistics (eq. (bn-dgamma-dbeta))"
        )
    if matches(dX, ref["dX"]):
        return
    if matches(dX, wrong["frozen"]):
        raise Hint(
            "dX = γ dY / sqrt(σ² + ε) treats μ and σ² as constants. That is the "
            "gradient in inference (eval) mode, where the running averages are fixed "
            "numbers. In training mode μ and σ² are computed from this batch, so every "
            "row of X also moves them: add the paths through the mean and the variance "
            "(train/eval confusion)"
        )
    if matches(dX, wrong["no_mean"]):
        raise Hint(
            "the path through the batch mean is missing: μ depends on every row, so "
            "moving one x moves μ, and with it every row of X̂ (eqs. (bn-dmu) and "
            "(bn-dx-staged))"
        )
    if matches(dX, wrong["no_var"]):
        raise Hint(
            "the path through the batch variance is missing: σ² depends on every row "
            "of X, so moving one x rescales every row of X̂ (eqs. (bn-dvar) and "
            "(bn-dx-staged))"
        )
    if matches(dX, wrong["no_gamma"]):
        raise Hint(
            "dX lacks the factor γ: Y = γ X̂ + β, so the gradient that reaches X̂ has "
            "passed through the multiplication by γ (eq. (bn-dxhat))"
        )
    if matches(dX, wrong["sum_not_mean"]):
        raise Hint(
            "the mean and variance terms are N times too large: they are column "
            "*means* over the batch (divide the sums by N), because μ and σ² are "
            "averages"
        )
    if matches(dX, wrong["unbiased"]):
        raise Hint(_UNBIASED)
    if matches(dX, wrong["no_eps"]):
        raise Hint(_NO_EPS)
    kind = sign_or_zero(dX, ref["dX"])
    if kind == "sign":
        raise Hint(
            "dX has the right size but the opposite sign: return dE/dX itself, which "
            "the layer below takes as its dY — no minus sign enters a backward pass"
        )
    if kind == "zero":
        raise Hint(
            "dX is all zeros, but X does receive a gradient in training mode: the "
            "three paths (direct, through μ, through σ²) do not cancel for a general dY"
        )
    raise Hint(
        "dX differs from the finite-difference gradient (relative error "
        f"{relative_difference(dX, ref['dX']):.1e}). Build it from three paths — "
        "direct, through μ, through σ² — as in eq. (bn-dx-staged), or follow eq. "
        "(bn-backward-compact)"
    )


def check_batchnorm_backward(batchnorm_backward, *, quiet=False):
    """Check ``batchnorm_backward(dY, X, gamma, eps) -> (dX, dgamma, dbeta)`` (training
    mode).

    Four cases: a batch of 6 × 4, one of 2 rows (where only the sign of the difference
    survives), a feature with variance near ε, and a large batch. Prints one line (or a
    hint) and returns a :class:`~bookcode.exercises.CheckResult`.

    Implements the check of eq. (bn-backward-compact) in chapters/08_batchnorm.
    """
    cases = [
        ("a batch of 6 examples, 4 features", _case(6, 4, 0)),
        ("a batch of 2 examples", _case(2, 3, 1)),
        ("a feature with variance close to ε", _case(5, 3, 2, small_var=True)),
        ("a batch of 40 examples, 7 features", _case(40, 7, 3)),
    ]
    return run_checks("batchnorm_backward", batchnorm_backward, cases, quiet=quiet)
