"""Checks for the coding exercise of chapters/02_perceptron_delta.

- :func:`check_delta_rule_step`: ``delta_rule_step(W, b, X, T, lr, f, f_prime)`` returns the new
  ``(W, b)`` after one step of gradient descent on ``E = (1/N) Σ_n ½‖t_n − y_n‖²``, ``Y = f(X W + b)``.

The reference step and the known mistakes are computed here, independently of
:mod:`bookcode.perceptron`.
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


for _fn, _name in ((_tanh, "f"), (_tanh_prime, "f_prime"), (_sigmoid, "f"), (_sigmoid_prime, "f_prime")):
    _fn.__name__ = _fn.__qualname__ = _name  # errors in the learner's calls then read "f(...)"


def _step(W, b, X, T, lr, f, fp, mistake=None):
    """The Delta-rule step, or the step with one known ``mistake``; returns (W_new, b_new)."""
    N = X.shape[0]
    net = X @ W + (0.0 if mistake == "forward-no-bias" else b)
    Y = net if mistake == "no-activation" else f(net)
    slope = {"no-fprime": 1.0, "fprime-of-y": fp(Y)}.get(mistake, fp(net))
    delta = -(T - Y) * slope / (1.0 if mistake == "sum" else N)  # δ = ∂E/∂net, eq. (delta-signal)
    sign = +1.0 if mistake == "ascent" else -1.0
    eta = 1.0 if mistake == "no-lr" else lr
    dW = X.T @ delta                                               # eq. (delta-gradient)
    dW = dW.T if mistake == "transposed" else dW                   # delta.T @ X
    return W + sign * eta * dW, b + sign * eta * delta.sum(axis=0)


_HINTS = [
    ("ascent", "your step goes uphill (the loss grows). With δ = ∂E/∂net = −(T − Y) ∘ f′(net) / N the step is "
     "W − lr · Xᵀδ; with the note's sign, W + lr · Xᵀ[(T − Y) ∘ f′(net)] / N — one minus sign, not two"),
    ("no-fprime", "you left out f′(net). The chain rule gives ∂y/∂net = f′(net), so δ = −(T − Y) ∘ f′(net) / N "
     "(dropping f′ is the perceptron's shortcut, not the gradient)"),
    ("fprime-of-y", "you evaluated f′ at the output Y = f(net). Evaluate it at the net input, "
     "f_prime(X @ W + b)"),
    ("sum", "your step is N times too large: you summed over the batch. The loss is the mean over the N "
     "examples, so divide by N = X.shape[0]"),
    ("no-lr", "your step ignores the learning rate: multiply the gradient by lr"),
    ("no-activation", "the error uses net instead of the output: compute Y = f(X @ W + b) and use T − Y"),
    ("forward-no-bias", "the forward pass leaves out the bias: net = X @ W + b"),
    ("transposed", "your weight step is transposed. ∂E/∂W = X.T @ delta has the shape of W, (n_in, n_out)"),
]


def _case(W, b, X, T, lr, f, fp):
    def case(learner):
        args = [W.copy(), b.copy(), X.copy(), T.copy()]
        try:
            out = call_learner(learner, *args, lr, f, fp)
        except Hint as hint:
            if "broadcast" in str(hint):
                raise Hint(f"{hint}. Check the shapes: X is (N, n_in), delta (N, n_out), X.T @ delta "
                           f"(n_in, n_out) like W, delta.sum(axis=0) (n_out,) like b; here N, n_in, n_out = "
                           f"{X.shape[0]}, {W.shape[0]}, {W.shape[1]}") from None
            raise
        for given, orig, name in zip(args, (W, b, X, T), ("W", "b", "X", "T")):
            if not np.array_equal(given, orig):
                raise Hint(f"your function changed the caller's {name} in place (e.g. {name} -= ...). "
                           "Return new arrays: W_new = W - lr * dW, b_new = b - lr * db")
        if out is None:
            raise Hint("your function returned None — did you forget `return W_new, b_new`?")
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise Hint("return the pair (W_new, b_new): both the weights and the bias are updated")
        W_new, b_new = learner_array(out[0], "W_new"), learner_array(out[1], "b_new")
        if W_new.shape == b.shape and b_new.shape == W.shape and W.shape != b.shape:
            raise Hint("you returned (b_new, W_new); return (W_new, b_new), in that order")
        if W_new.shape != W.shape:
            W_t = _step(W, b, X, T, lr, f, fp, "transposed")[0]  # broadcasts to (n_in, n_in) if n_out = 1
            if W_new.shape == W.shape[::-1]:
                raise Hint(f"W_new has shape {W_new.shape}, the transpose of W's {W.shape}: "
                           "∂E/∂W = X.T @ delta, not delta.T @ X")
            if _close(W_new, W_t):
                raise Hint(f"W_new has shape {W_new.shape} instead of {W.shape}: your step delta.T @ X has shape "
                           f"{W.shape[::-1]} and numpy broadcast it against W. Use X.T @ delta, not delta.T @ X")
            raise Hint(f"W_new must have the shape of W, {W.shape}; got {W_new.shape}. "
                       "Check the matrix product: X.T (n_in, N) @ delta (N, n_out)")
        if b_new.shape != b.shape:
            raise Hint(f"b_new must have the shape of b, {b.shape}; got {b_new.shape}. "
                       "Sum delta over the rows (the examples): delta.sum(axis=0)")
        W_ref, b_ref = _step(W, b, X, T, lr, f, fp)
        if _close(W_new, W_ref) and _close(b_new, b_ref):
            return
        if _close(W_new, W_ref) and _close(b_new, b):
            raise Hint("b came back unchanged. The bias is a parameter too (its input is a constant 1): "
                       "b_new = b − lr · Σ_rows δ")
        if _close(W_new, W_ref):
            raise Hint("W_new is right but b_new is not: b_new = b − lr · delta.sum(axis=0), with the same delta")
        for mistake, hint in _HINTS:
            W_bad, b_bad = _step(W, b, X, T, lr, f, fp, mistake)
            if _close(W_new, W_bad):
                raise Hint(hint)
        i = tuple(int(k) for k in np.unravel_index(int(np.argmax(np.abs(W_new - W_ref))), W.shape))
        raise Hint(f"W_new{list(i)} should be {W_ref[i]:.8g}, got {W_new[i]:.8g}. The step is "
                   "W − lr · X.T @ delta with delta = −(T − Y) * f_prime(net) / N, net = X @ W + b, Y = f(net)")

    return case


def check_delta_rule_step(delta_rule_step):
    """Check a learner's ``delta_rule_step(W, b, X, T, lr, f, f_prime)`` → ``(W_new, b_new)``.

    Cases: one example with one tanh output; a batch of five with two sigmoid outputs (mean, not
    sum); a square ``W`` (a transposed product keeps the shape there). Each case also checks that
    the caller's arrays are not modified.

    Implements the check of the coding exercise on eq. (delta-rule) in chapters/02_perceptron_delta.
    """
    rng = _seeded_rng(2)
    cases = []
    for desc, N, n_in, n_out, f, fp in [
        ("one example, one tanh output", 1, 3, 1, _tanh, _tanh_prime),
        ("a batch of 5 examples, two sigmoid outputs", 5, 3, 2, _sigmoid, _sigmoid_prime),
        ("a square W: 2 inputs, 2 tanh outputs, batch of 4", 4, 2, 2, _tanh, _tanh_prime),
    ]:
        W, b = rng.normal(0, 0.8, (n_in, n_out)), rng.normal(0, 0.5, n_out)
        X, T = rng.normal(0, 1, (N, n_in)), rng.uniform(-0.9, 0.9, (N, n_out))
        cases.append((desc, _case(W, b, X, T, 0.3, f, fp)))
    return run_checks("delta_rule_step", delta_rule_step, cases)
