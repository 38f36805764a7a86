"""The exercise check of chapter 4: the reference passes, each typical mistake gets its
own hint."""

import math

import numpy as np
import pytest
from _checkers import assert_rejected_with_hint

from bookcode import activations
from bookcode.exercises.ch04 import check_elu


# ---------------------------------------------------- reference solutions (all correct)
def elu_ref(x, alpha=1.0):
    x = np.asarray(x, dtype=float)
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def delu_ref(x, alpha=1.0):
    x = np.asarray(x, dtype=float)
    return np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0)))


def elu_errstate(
    x, alpha=1.0
):  # also correct: the overflow is computed but explicitly silenced
    with np.errstate(over="ignore"):
        return np.where(x > 0, x, alpha * (np.exp(x) - 1))


def delu_via_elu(x, alpha=1.0):  # also correct: for x <= 0, elu'(x) = elu(x) + alpha
    return np.where(np.asarray(x) > 0, 1.0, elu_ref(x, alpha) + alpha)


def elu_via_bookcode(x, alpha=1.0):  # the learner's own function may call the book's
    return activations.elu(x, alpha)


def elu_vectorize(x, alpha=1.0):  # also correct: a loop over the entries, shape kept
    x = np.asarray(x, dtype=float)
    return np.array([v if v > 0 else alpha * math.expm1(v) for v in x.ravel()]).reshape(
        x.shape
    )


# ------------------------------------------------------------------------------ mutants
def elu_overflow(x, alpha=1.0):
    return np.where(x > 0, x, alpha * (np.exp(x) - 1))


def delu_overflow(x, alpha=1.0):
    return np.where(x > 0, 1.0, alpha * np.exp(x))


def delu_wrong_branch(x, alpha=1.0):
    x = np.asarray(x, dtype=float)
    return np.where(x >= 0, 1.0, alpha * np.exp(np.minimum(x, 0)))


def elu_no_alpha(x, alpha=1.0):
    return elu_ref(x, 1.0)


def delu_no_alpha(x, alpha=1.0):
    return delu_ref(x, 1.0)


def elu_scalar(x, alpha=1.0):
    return x if x > 0 else alpha * (math.exp(x) - 1)


def delu_scalar(x, alpha=1.0):
    return 1.0 if x > 0 else alpha * math.exp(x)


def elu_math_exp(x, alpha=1.0):  # no `if`, but math.exp cannot take an array
    return np.where(np.asarray(x) > 0, x, alpha * (math.exp(np.minimum(x, 0)) - 1))


def elu_is_relu(x, alpha=1.0):
    return np.maximum(x, 0.0)


def elu_no_minus_one(x, alpha=1.0):
    x = np.asarray(x, dtype=float)
    return np.where(x > 0, x, alpha * np.exp(np.minimum(x, 0)))


def delu_keeps_minus_one(x, alpha=1.0):
    x = np.asarray(x, dtype=float)
    return np.where(x > 0, 1.0, alpha * np.expm1(np.minimum(x, 0)))


def delu_is_relu_derivative(x, alpha=1.0):
    return (np.asarray(x) > 0).astype(float)


def delu_returns_elu(x, alpha=1.0):
    return elu_ref(x, alpha)


def elu_in_place(x, alpha=1.0):
    x = np.asarray(x)
    if x.ndim:
        neg = x <= 0
        x[neg] = alpha * np.expm1(x[neg])
        return x
    return elu_ref(x, alpha)


def elu_flattens(x, alpha=1.0):
    return elu_ref(x, alpha).ravel()


def elu_returns_none(x, alpha=1.0):
    elu_ref(x, alpha)


def elu_log(x, alpha=1.0):  # log(0) at x = 0 warns
    x = np.asarray(x, dtype=float)
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))) + 0 * np.log(
        np.abs(x)
    )


def elu_off_by_a_bit(x, alpha=1.0):
    return elu_ref(x, alpha) * 1.001


def elu_flat_positive(x, alpha=1.0):  # the branches mixed up: 0 for x > 0
    x = np.asarray(x, dtype=float)
    return np.where(x > 0, 0.0, alpha * np.expm1(np.minimum(x, 0)))


def elu_float32(x, alpha=1.0):
    return elu_ref(x, alpha).astype(np.float32)


def stub(x, alpha=1.0):
    raise NotImplementedError


MUTANTS = [  # (elu, elu_derivative, words of the expected hint)
    (elu_overflow, delu_ref, "overflow warning"),
    (elu_ref, delu_overflow, "elu_derivative triggered an overflow"),
    (elu_ref, delu_wrong_branch, "x <= 0 branch at the kink"),
    (elu_no_alpha, delu_ref, "elu ignores alpha"),
    (elu_ref, delu_no_alpha, "elu_derivative ignores alpha"),
    (elu_scalar, delu_scalar, "works only for single numbers"),
    (elu_math_exp, delu_ref, "elu works only for single numbers"),
    (elu_is_relu, delu_ref, "this is ReLU"),
    (elu_no_minus_one, delu_ref, "you forgot the - 1 of eq. (elu)"),
    (elu_ref, delu_keeps_minus_one, "keeps the - 1 of ELU's formula"),
    (elu_ref, delu_is_relu_derivative, "ReLU's derivative"),
    (elu_ref, delu_returns_elu, "returns ELU itself"),
    (elu_in_place, delu_ref, "changed its input x in place"),
    (elu_flattens, delu_ref, "keep the shape of x"),
    (elu_returns_none, delu_ref, "returned None"),
    (elu_log, delu_ref, "floating-point warning"),
    (elu_off_by_a_bit, delu_ref, "should be"),
    (elu_float32, delu_ref, "returned float32 numbers"),
    (elu_flat_positive, delu_ref, "for x > 0 your elu returns 0"),
    (
        activations.elu,
        activations.elu_derivative,
        "you passed bookcode.activations.elu — that is the book's implementation: "
        "write your own",
    ),
    (
        elu_ref,
        activations.elu_derivative,
        "you passed bookcode.activations.elu_derivative — that is the book's "
        "implementation: write your own",
    ),
]


@pytest.mark.parametrize(
    "elu, delu",
    [
        (elu_ref, delu_ref),
        (elu_errstate, delu_via_elu),
        (elu_vectorize, delu_ref),
        (elu_via_bookcode, delu_ref),
    ],
)
def test_reference_solutions_pass(elu, delu, capsys):
    result = check_elu(elu, delu)
    assert result.passed and bool(result), result.message
    assert "all 5 checks passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "elu, delu, hint",
    MUTANTS,
    ids=[f"{e.__name__}-{d.__name__}" for e, d, _ in MUTANTS],
)
def test_mutants_get_their_hint(elu, delu, hint, capsys):
    result = check_elu(elu, delu)
    assert_rejected_with_hint(result, hint, capsys.readouterr().out)


def test_each_mutant_is_told_something_different():
    messages = [check_elu(e, d).message.split("failed.")[-1] for e, d, _ in MUTANTS]
    assert len(set(messages)) == len(messages)


def test_overflow_is_found_only_by_the_large_x_case():
    result = check_elu(elu_overflow, delu_ref)
    assert "check 5 of 5" in result.message


def test_wrong_branch_is_invisible_with_alpha_1_and_found_with_alpha_half():
    result = check_elu(elu_ref, delu_wrong_branch)
    assert "check 2 of 5" in result.message and "alpha = 0.5" in result.message


def test_stub_is_not_attempted(capsys):
    for elu, delu in ((stub, stub), (elu_ref, stub)):
        result = check_elu(elu, delu)
        assert not result.passed and not result.attempted
        assert "not attempted" in capsys.readouterr().out


def test_not_callable():
    result = check_elu(elu_ref, None)
    assert not result.passed and "check_elu(elu, elu_derivative)" in result.message
    result = check_elu("elu", delu_ref)
    assert not result.passed and "got str" in result.message
