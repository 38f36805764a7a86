"""The exercise check of chapter 2: the reference passes, each typical mistake gets its
own hint."""

import numpy as np
import pytest
from _checkers import assert_rejected_with_hint

from bookcode.exercises.ch02 import check_delta_rule_step
from bookcode.experiments import perceptron


def reference(W, b, X, T, lr, f, f_prime):
    net = X @ W + b
    Y = f(net)
    delta = -(T - Y) * f_prime(net) / X.shape[0]
    return W - lr * X.T @ delta, b - lr * delta.sum(axis=0)


def note_convention(
    W, b, X, T, lr, f, f_prime
):  # also correct: the textbook sign, δ = (t − y) f′
    net = X @ W + b
    d = (T - f(net)) * f_prime(net)
    N = len(X)
    return W + lr * X.T @ d / N, b + lr * np.mean(d, axis=0)


def einsum_loop(
    W, b, X, T, lr, f, f_prime
):  # also correct: an explicit loop over examples, lists out
    W_new, b_new = W.copy(), b.copy()
    for x, t in zip(X, T):
        net = x @ W + b
        d = (t - f(net)) * f_prime(net)
        W_new += lr * np.outer(x, d) / len(X)
        b_new += lr * d / len(X)
    return [W_new, b_new]


def ascent(W, b, X, T, lr, f, f_prime):
    net = X @ W + b
    delta = -(T - f(net)) * f_prime(net) / len(X)
    return W + lr * X.T @ delta, b + lr * delta.sum(axis=0)


def no_fprime(W, b, X, T, lr, f, f_prime):
    delta = -(T - f(X @ W + b)) / len(X)
    return W - lr * X.T @ delta, b - lr * delta.sum(axis=0)


def fprime_of_y(W, b, X, T, lr, f, f_prime):
    Y = f(X @ W + b)
    delta = -(T - Y) * f_prime(Y) / len(X)
    return W - lr * X.T @ delta, b - lr * delta.sum(axis=0)


def summed(W, b, X, T, lr, f, f_prime):
    net = X @ W + b
    delta = -(T - f(net)) * f_prime(net)
    return W - lr * X.T @ delta, b - lr * delta.sum(axis=0)


def no_lr(W, b, X, T, lr, f, f_prime):
    return reference(W, b, X, T, 1.0, f, f_prime)


def no_activation(W, b, X, T, lr, f, f_prime):
    net = X @ W + b
    delta = -(T - net) * f_prime(net) / len(X)
    return W - lr * X.T @ delta, b - lr * delta.sum(axis=0)


def forward_no_bias(W, b, X, T, lr, f, f_prime):
    net = X @ W
    delta = -(T - f(net)) * f_prime(net) / len(X)
    return W - lr * X.T @ delta, b - lr * delta.sum(axis=0)


def transposed(W, b, X, T, lr, f, f_prime):
    net = X @ W + b
    delta = -(T - f(net)) * f_prime(net) / len(X)
    return W - lr * (delta.T @ X), b - lr * delta.sum(axis=0)


def transposed_square_only(
    W, b, X, T, lr, f, f_prime
):  # right shapes, wrong orientation when W is square
    W_new, b_new = reference(W, b, X, T, lr, f, f_prime)
    return (W + (W_new - W).T if W.shape[0] == W.shape[1] else W_new), b_new


def bias_forgotten(W, b, X, T, lr, f, f_prime):
    return reference(W, b, X, T, lr, f, f_prime)[0], b


def bias_wrong(W, b, X, T, lr, f, f_prime):
    W_new, b_new = reference(W, b, X, T, lr, f, f_prime)
    return W_new, b_new * 2 - b


def bias_wrong_axis(W, b, X, T, lr, f, f_prime):
    net = X @ W + b
    delta = -(T - f(net)) * f_prime(net) / len(X)
    return W - lr * X.T @ delta, b - lr * delta.sum(axis=1)


def in_place(W, b, X, T, lr, f, f_prime):
    net = X @ W + b
    delta = -(T - f(net)) * f_prime(net) / len(X)
    W -= lr * X.T @ delta
    b -= lr * delta.sum(axis=0)
    return W, b


def swapped(W, b, X, T, lr, f, f_prime):
    W_new, b_new = reference(W, b, X, T, lr, f, f_prime)
    return b_new, W_new


def only_W(W, b, X, T, lr, f, f_prime):
    return reference(W, b, X, T, lr, f, f_prime)[0]


def returns_none(W, b, X, T, lr, f, f_prime):
    reference(W, b, X, T, lr, f, f_prime)


def nan_out(W, b, X, T, lr, f, f_prime):
    return np.full(W.shape, np.nan), b


def raises(W, b, X, T, lr, f, f_prime):
    return f(X, W)  # wrong call: TypeError inside the learner's code


def half_step(
    W, b, X, T, lr, f, f_prime
):  # an unrecognised mistake gets the generic hint
    return reference(W, b, X, T, lr / 2, f, f_prime)


def single_precision(W, b, X, T, lr, f, f_prime):
    W_new, b_new = reference(W, b, X, T, lr, f, f_prime)
    return W_new.astype(np.float32), b_new.astype(np.float32)


def stub(*args):
    raise NotImplementedError


MUTANTS = [
    (ascent, "goes uphill"),
    (no_fprime, "left out f′(net)"),
    (fprime_of_y, "evaluated f′ at the output"),
    (summed, "N times too large"),
    (no_lr, "ignores the learning rate"),
    (no_activation, "uses net instead of the output"),
    (forward_no_bias, "leaves out the bias"),
    (transposed, "numpy broadcast it against W"),
    (transposed_square_only, "weight step is transposed"),
    (bias_forgotten, "b came back unchanged"),
    (bias_wrong, "W_new is right but b_new is not"),
    (bias_wrong_axis, "Check the shapes"),
    (in_place, "changed the caller's W in place"),
    (swapped, "in that order"),
    (only_W, "return the pair"),
    (returns_none, "returned None"),
    (nan_out, "NaN or inf"),
    (raises, "raised TypeError"),
    (half_step, "should be"),
    (single_precision, "returned float32 numbers"),
    (perceptron.delta_rule_step, "that is the book's implementation: write your own"),
]


@pytest.mark.parametrize("learner", [reference, note_convention, einsum_loop])
def test_reference_passes(learner, capsys):
    result = check_delta_rule_step(learner)
    assert result.passed and bool(result)
    assert "all 3 checks passed" in capsys.readouterr().out


@pytest.mark.parametrize("mutant, hint", MUTANTS, ids=[m.__name__ for m, _ in MUTANTS])
def test_mutants_get_their_hint(mutant, hint, capsys):
    result = check_delta_rule_step(mutant)
    assert_rejected_with_hint(result, hint, capsys.readouterr().out)


def test_sum_is_only_caught_with_a_batch_and_transpose_only_with_square_W():
    assert (
        "check 2 of 3" in check_delta_rule_step(summed).message
    )  # N = 1 cannot tell sum from mean
    assert "check 3 of 3" in check_delta_rule_step(transposed_square_only).message


def test_each_mutant_is_told_something_different():
    messages = [
        check_delta_rule_step(m).message.split("failed.")[-1] for m, _ in MUTANTS
    ]
    assert len(set(messages)) == len(messages)


def test_stub_is_not_attempted(capsys):
    result = check_delta_rule_step(stub)
    assert not result.passed and not result.attempted
    assert "not attempted yet" in capsys.readouterr().out


def test_not_a_function():
    result = check_delta_rule_step("delta_rule_step")
    assert not result.passed and "expected your function" in result.message
