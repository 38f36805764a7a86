"""Checks for the coding exercise of chapters/02_perceptron_delta.

- :func:`check_delta_rule_step`: ``delta_rule_step(W, b, X, T, lr, f, f_prime)`` returns
  the new ``(W, b)`` after one step of gradient descent on ``E = (1/N) Σ_n ½‖t_n −
  y_n‖²``, ``Y = f(X W + b)``.

The reference step and the known mistakes are computed here, independently of
:mod:`bookcode.experiments.perceptron`.
"""

from __future__ import annotations

import numpy as np

from ..seeding import rng as _seeded_rng
from . import Hint, call_learner, learner_array, run_checks

__all__ = ["check_delta_rule_step"]

_RTOL = 1e-8


def _close(a, b):
    return a.shape == b.shape and np.allclose(a, b, rtol=_RTOL, atol=1e-12)


def _tanh(x):
    return np.tanh(x)


def _tanh_prime(x):
    return 1.0 - np.tanh(x) ** 2


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # = 1 / (1 + e^-x), without overflow


def _sigmoid_prime(x):
    s = _sigmoid(x)
    return s * (1.0 - s)


for _fn, _name in (
    (_tanh, "f"),
    (_tanh_prime, "f_prime"),
    (_sigmoid, "f"),
    (_sigmoid_prime, "f_prime"),
):
    _fn.__name__ = _fn.__qualname__ = (
        _name  # errors in the learner's calls then read "f(...)"
    )


def _step(W, b, X, T, lr, f, fp, mistake=None):
    """The Delta-rule step, or the step with one known ``mistake``; returns (W_new,
    b_new)."""
    N = X.shape[0]
    net = X @ W + (0.0 if mistake == "forward-no-bias" else b)
    Y = net if mistake == "no-activation" else f(net)
    slope = {"no-fprime": 1.0, "fprime-of-y": fp(Y)}.get(mistake, fp(net))
    delta = (
        -(T - Y) * slope / (1.0 if mistake == "sum" else N)
    )  # δ = ∂E/∂net, eq. (delta-signal)
    sign = +1.0 if mistake == "ascent" else -1.0
    eta = 1.0 if mistake == "no-lr" else lr
    dW = X.T @ delta  # eq. (delta-gradient)
    dW = dW.T if mistake == "transposed" else dW  # delta.T @ X
    return W + sign * eta * dW, b + sign * eta * delta.sum(axis=0)


_HINTS = [
    (
        "ascent",
        "your step goes uphill (the loss grows): a descent step moves against ∂E/∂W. "
        "If you wrote the error as (T − Y), as many texts do, the gradient's minus "
        "sign is already folded into it: count the minus signs between ∂E/∂W and your "
        "step",
    ),
    (
        "no-fprime",
        "you left out f′(net). On its way from the error back to the weights the chain "
        "rule passes through the activation, whose slope ∂y/∂net is a factor of δ, eq. "
        "(delta-signal) (dropping it is the perceptron's shortcut, not the gradient)",
    ),
    (
        "fprime-of-y",
        "you evaluated f′ at the output Y = f(net). The chain rule takes the slope of "
        "f where f was evaluated: at the net input, before the activation",
    ),
    (
        "sum",
        "your step is N times too large: you summed over the batch. The loss is the "
        "mean over the N examples, so divide by N = X.shape[0]",
    ),
    ("no-lr", "your step ignores the learning rate: multiply the gradient by lr"),
    (
        "no-activation",
        "the error uses net instead of the output: the loss compares the targets with "
        "the output after the activation f",
    ),
    (
        "forward-no-bias",
        "the forward pass leaves out the bias: the net input includes b, and the error "
        "depends on it",
    ),
    (
        "transposed",
        "your weight step is transposed: ∂E/∂W must have the shape of W, (n_in, "
        "n_out), one row per input and one column per output. With a square W the "
        "shapes agree either way, only the values tell",
    ),
]


def _case(W, b, X, T, lr, f, fp):
    def case(learner):
        args = [W.copy(), b.copy(), X.copy(), T.copy()]
        try:
            out = call_learner(learner, *args, lr, f, fp)
        except Hint as hint:
            if "broadcast" in str(hint):
                raise Hint(
                    f"{hint}. Check the shapes: X is (N, n_in) and delta (N, n_out); "
                    "the weight step must have W's shape (n_in, n_out) and the bias "
                    "step b's shape (n_out,), so in both the batch dimension N has to "
                    f"disappear; here N, n_in, n_out = {X.shape[0]}, {W.shape[0]}, "
                    f"{W.shape[1]}"
                ) from None
            raise
        for given, orig, name in zip(args, (W, b, X, T), ("W", "b", "X", "T")):
            if not np.array_equal(given, orig):
                raise Hint(
                    f"your function changed the caller's {name} in place (e.g. {name} "
                    "-= ...). Return new arrays W_new and b_new and leave the inputs "
                    "as they were"
                )
        if out is None:
            raise Hint(
                "your function returned None — did you forget `return W_new, b_new`?"
            )
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise Hint(
                "return the pair (W_new, b_new): both the weights and the bias are "
                "updated"
            )
        W_new, b_new = learner_array(out[0], "W_new"), learner_array(out[1], "b_new")
        if W_new.shape == b.shape and b_new.shape == W.shape and W.shape != b.shape:
            raise Hint(
                "you returned (b_new, W_new); return (W_new, b_new), in that order"
            )
        if W_new.shape != W.shape:
            W_t = _step(W, b, X, T, lr, f, fp, "transposed")[
                0
            ]  # broadcasts to (n_in, n_in) if n_out = 1
            if W_new.shape == W.shape[::-1]:
                raise Hint(
                    f"W_new has shape {W_new.shape}, the transpose of W's {W.shape}: "
                    "your weight step is outputs × inputs. ∂E/∂W has one row per "
                    "input and one column per output"
                )
            if _close(W_new, W_t):
                raise Hint(
                    f"W_new has shape {W_new.shape} instead of {W.shape}: your weight "
                    f"step is transposed, shape {W.shape[::-1]} (outputs × inputs), "
                    "and numpy broadcast it against W. ∂E/∂W has one row per input "
                    "and one column per output"
                )
            raise Hint(
                f"W_new must have the shape of W, {W.shape}; got {W_new.shape}. Check "
                "the matrix product: the sum over the batch must pair each example's "
                "inputs with its own delta, and leave inputs × outputs"
            )
        if b_new.shape != b.shape:
            raise Hint(
                f"b_new must have the shape of b, {b.shape}; got {b_new.shape}. The "
                "bias is shared by all N examples: their contributions add up over "
                "the batch, one entry per output"
            )
        W_ref, b_ref = _step(W, b, X, T, lr, f, fp)
        if _close(W_new, W_ref) and _close(b_new, b_ref):
            return
        if _close(W_new, W_ref) and _close(b_new, b):
            raise Hint(
                "b came back unchanged. The bias is a parameter too (a weight whose "
                "input is a constant 1, eq. (bias-augmented)): it takes a gradient "
                "step of its own, like W"
            )
        if _close(W_new, W_ref):
            raise Hint(
                "W_new is right but b_new is not. The bias is a weight whose input is "
                "the constant 1: its step uses the same delta as W's, with 1 in place "
                "of each example's inputs"
            )
        for mistake, hint in _HINTS:
            W_bad, b_bad = _step(W, b, X, T, lr, f, fp, mistake)
            if _close(W_new, W_bad):
                raise Hint(hint)
        i = tuple(
            int(k)
            for k in np.unravel_index(int(np.argmax(np.abs(W_new - W_ref))), W.shape)
        )
        raise Hint(
            f"W_new{list(i)} should be {W_ref[i]:.8g}, got {W_new[i]:.8g}. Follow the "
            "chapter: the forward pass, the signal δ of eq. (delta-signal), the "
            "gradient of eq. (delta-gradient) and the step of eq. (delta-rule)"
        )

    return case


def check_delta_rule_step(delta_rule_step):
    """Check a learner's ``delta_rule_step(W, b, X, T, lr, f, f_prime)`` → ``(W_new,
    b_new)``.

    Cases: one example with one tanh output; a batch of five with two sigmoid outputs
    (mean, not sum); a square ``W`` (a transposed product keeps the shape there). Each
    case also checks that the caller's arrays are not modified.

    Implements the check of the coding exercise on eq. (delta-rule) in
    chapters/02_perceptron_delta.
    """
    rng = _seeded_rng(2)
    cases = []
    for desc, N, n_in, n_out, f, fp in [
        ("one example, one tanh output", 1, 3, 1, _tanh, _tanh_prime),
        (
            "a batch of 5 examples, two sigmoid outputs",
            5,
            3,
            2,
            _sigmoid,
            _sigmoid_prime,
        ),
        (
            "a square W: 2 inputs, 2 tanh outputs, batch of 4",
            4,
            2,
            2,
            _tanh,
            _tanh_prime,
        ),
    ]:
        W, b = rng.normal(0, 0.8, (n_in, n_out)), rng.normal(0, 0.5, n_out)
        X, T = rng.normal(0, 1, (N, n_in)), rng.uniform(-0.9, 0.9, (N, n_out))
        cases.append((desc, _case(W, b, X, T, 0.3, f, fp)))
    return run_checks("delta_rule_step", delta_rule_step, cases)
