"""The exercise check of chapter 8: the reference passes, each typical mistake gets its
own hint."""

import numpy as np
import pytest
from _checkers import assert_rejected_with_hint

from bookcode import batchnorm
from bookcode.batchnorm import BatchNorm
from bookcode.exercises.ch08 import check_batchnorm_backward


def stub(dY, X, gamma, eps=1e-5):
    raise NotImplementedError


def _stats(X, eps, ddof=0, with_eps=True):
    mu = X.mean(axis=0)
    var = ((X - mu) ** 2).sum(axis=0) / (len(X) - ddof)
    inv = 1 / np.sqrt(var + eps) if with_eps else 1 / np.sqrt(var)
    return (X - mu) * inv, inv


def _compact(
    dY,
    X,
    gamma,
    eps,
    *,
    mean=True,
    var=True,
    with_gamma=True,
    ddof=0,
    with_eps=True,
    scale=None,
):
    Xh, inv = _stats(X, eps, ddof, with_eps)
    N = len(X) - ddof if scale is None else scale
    g = gamma if with_gamma else 1.0
    dX = (
        g
        * inv
        * (
            dY
            - (dY.sum(axis=0) / (N if ddof == 0 else len(X)) if mean else 0)
            - (Xh * (dY * Xh).sum(axis=0) / N if var else 0)
        )
    )
    return dX, (dY * Xh).sum(axis=0), dY.sum(axis=0)


def reference(dY, X, gamma, eps=1e-5):
    return _compact(dY, X, gamma, eps)


def step_by_step(
    dY, X, gamma, eps=1e-5
):  # the staged derivation of the chapter, one path at a time
    N = len(X)
    mu = X.mean(axis=0)
    xc = X - mu
    var = (xc**2).mean(axis=0)
    s = np.sqrt(var + eps)
    xh = xc / s
    dxh = dY * gamma
    dvar = np.sum(dxh * xc, axis=0) * -0.5 * s**-3
    dmu = -np.sum(dxh / s, axis=0) + dvar * np.mean(-2 * xc, axis=0)
    return (
        dxh / s + dvar * 2 * xc / N + dmu / N,
        np.sum(dY * xh, axis=0),
        dY.sum(axis=0),
    )


def via_bookcode(
    dY, X, gamma, eps=1e-5
):  # the package's own layer must pass the learner's check
    bn = BatchNorm(X.shape[1], eps=eps)
    bn.params["gamma"][:] = gamma
    bn.forward(X)
    dX = bn.backward(dY)
    return dX, bn.grads["gamma"], bn.grads["beta"]


def as_lists(dY, X, gamma, eps=1e-5):
    return [a.tolist() for a in reference(dY, X, gamma, eps)]


def frozen_statistics(dY, X, gamma, eps=1e-5):
    return _compact(dY, X, gamma, eps, mean=False, var=False)


def no_mean_term(dY, X, gamma, eps=1e-5):
    return _compact(dY, X, gamma, eps, mean=False)


def no_variance_term(dY, X, gamma, eps=1e-5):
    return _compact(dY, X, gamma, eps, var=False)


def no_gamma(dY, X, gamma, eps=1e-5):
    return _compact(dY, X, gamma, eps, with_gamma=False)


def sums_not_means(dY, X, gamma, eps=1e-5):
    return _compact(dY, X, gamma, eps, scale=1)


def unbiased_variance(dY, X, gamma, eps=1e-5):
    Xh, inv = _stats(X, eps, ddof=1)
    dX = (
        gamma * inv * (dY - dY.mean(axis=0) - Xh * (dY * Xh).sum(axis=0) / (len(X) - 1))
    )
    return dX, (dY * Xh).sum(axis=0), dY.sum(axis=0)


def no_eps(dY, X, gamma, eps=1e-5):
    return _compact(dY, X, gamma, eps, with_eps=False)


def no_eps_in_dX_only(dY, X, gamma, eps=1e-5):
    dX = _compact(dY, X, gamma, eps, with_eps=False)[0]
    return (dX,) + reference(dY, X, gamma, eps)[1:]


def dgamma_without_xhat(dY, X, gamma, eps=1e-5):
    dX, _, dbeta = reference(dY, X, gamma, eps)
    return dX, dbeta, dbeta


def swapped(dY, X, gamma, eps=1e-5):
    dX, dgamma, dbeta = reference(dY, X, gamma, eps)
    return dX, dbeta, dgamma


def dbeta_mean(dY, X, gamma, eps=1e-5):
    dX, dgamma, dbeta = reference(dY, X, gamma, eps)
    return dX, dgamma, dbeta / len(X)


def dgamma_mean(dY, X, gamma, eps=1e-5):
    dX, dgamma, dbeta = reference(dY, X, gamma, eps)
    return dX, dgamma / len(X), dbeta


def per_row_dbeta(dY, X, gamma, eps=1e-5):
    dX, dgamma, _ = reference(dY, X, gamma, eps)
    return dX, dgamma, dY


def wrong_order(dY, X, gamma, eps=1e-5):
    dX, dgamma, dbeta = reference(dY, X, gamma, eps)
    return dgamma, dbeta, dX


def two_results(dY, X, gamma, eps=1e-5):
    return reference(dY, X, gamma, eps)[:2]


def returns_none(dY, X, gamma, eps=1e-5):
    reference(dY, X, gamma, eps)


def changes_input(dY, X, gamma, eps=1e-5):
    X -= X.mean(axis=0)
    return reference(dY, X, gamma, eps)


def sign_error(dY, X, gamma, eps=1e-5):
    dX, dgamma, dbeta = reference(dY, X, gamma, eps)
    return -dX, dgamma, dbeta


def dX_zeros(dY, X, gamma, eps=1e-5):
    dX, dgamma, dbeta = reference(dY, X, gamma, eps)
    return np.zeros_like(dX), dgamma, dbeta


def dbeta_sign(dY, X, gamma, eps=1e-5):
    dX, dgamma, dbeta = reference(dY, X, gamma, eps)
    return dX, dgamma, -dbeta


def dgamma_sign(dY, X, gamma, eps=1e-5):
    dX, dgamma, dbeta = reference(dY, X, gamma, eps)
    return dX, -dgamma, dbeta


def float32(dY, X, gamma, eps=1e-5):
    return tuple(a.astype(np.float32) for a in reference(dY, X, gamma, eps))


MUTANTS = [
    (frozen_statistics, "train/eval confusion"),
    (no_mean_term, "path through the batch mean is missing"),
    (no_variance_term, "path through the batch variance is missing"),
    (no_gamma, "lacks the factor γ"),
    (sums_not_means, "N times too large"),
    (unbiased_variance, "unbiased variance"),
    (no_eps, "ε is missing"),
    (no_eps_in_dX_only, "ε is missing"),
    (dgamma_without_xhat, "forgot the factor X̂"),
    (swapped, "swapped"),
    (dbeta_mean, "dbeta is N times too small"),
    (dgamma_mean, "dgamma is N times too small"),
    (per_row_dbeta, "expected shapes"),
    (wrong_order, "wrong order"),
    (two_results, "return three arrays"),
    (returns_none, "returned None"),
    (changes_input, "changed one of its inputs"),
    (sign_error, "dX has the right size but the opposite sign"),
    (dX_zeros, "dX is all zeros, but X does receive a gradient"),
    (dbeta_sign, "dbeta has the right size but the opposite sign"),
    (dgamma_sign, "dgamma has the right size but the opposite sign"),
    (float32, "returned float32 numbers"),
    (
        batchnorm.batchnorm_backward,
        "you passed bookcode.batchnorm.batchnorm_backward — that is the book's "
        "implementation: write your own",
    ),
    (
        BatchNorm.backward,
        "you passed bookcode.batchnorm.BatchNorm.backward — that is the book's "
        "implementation: write your own",
    ),
]


@pytest.mark.parametrize("learner", [reference, step_by_step, via_bookcode, as_lists])
def test_reference_passes(learner, capsys):
    result = check_batchnorm_backward(learner)
    assert result.passed, result.message
    assert "all 4 checks passed" in capsys.readouterr().out


@pytest.mark.parametrize("mutant, hint", MUTANTS, ids=[m.__name__ for m, _ in MUTANTS])
def test_mutants_get_their_hint(mutant, hint, capsys):
    result = check_batchnorm_backward(mutant)
    assert_rejected_with_hint(result, hint, capsys.readouterr().out)


def test_stub_is_not_attempted(capsys):
    result = check_batchnorm_backward(stub)
    assert not result.passed and not result.attempted
    assert "not attempted" in capsys.readouterr().out


def test_not_a_function():
    result = check_batchnorm_backward(42, quiet=True)
    assert not result.passed and "expected your function" in result.message


def test_hints_do_not_give_the_answer():
    answers = ["mean(dY", "Σ_rows", "dY.sum", "sum(axis=0)", "dE/dX̂ = γ", "dX = γ/sqrt"]
    for mutant, _ in MUTANTS:
        message = " ".join(check_batchnorm_backward(mutant, quiet=True).message.split())
        assert not [a for a in answers if a in message], message
