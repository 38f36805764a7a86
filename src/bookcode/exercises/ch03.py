"""Checks for the coding exercises of chapters/03_backprop.

- :func:`check_linear_backward`: ``linear_backward(X, W, dY)`` returns ``(dX, dW, db)``;
- :func:`check_two_layer_backprop`: ``two_layer_backprop(X, T, W1, b1, W2, b2)`` returns
  the gradients of a tanh hidden layer and a sigmoid output with mean binary
  cross-entropy.

A learner's answer passes when it agrees with central finite differences of the loss
(relative error below :data:`bookcode.gradcheck.TOLERANCE`, float64). The finite
differences are computed here with a plain loop, independent of
:mod:`bookcode.gradcheck` and :mod:`bookcode.layers`. Known mistakes are recognised by
comparing with their closed forms, and get their own hint.
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

__all__ = ["check_linear_backward", "check_two_layer_backprop"]


def _call(learner, *args):
    """``call_learner``, with a pointer to the shapes when numpy refuses a product."""
    try:
        return call_learner(learner, *args)
    except Hint as hint:
        text = str(hint)
        if "matmul" in text or "shapes" in text or "broadcast" in text:
            raise Hint(
                f"{text}. Check the shapes: a batch has one example per row, X is (N, "
                "n_in), W is (n_in, n_out), δ = dE/dnet is (N, n_out). Write down the "
                "shape each result must have (that of the quantity it is the gradient "
                "of) and choose the product, and the transposes, that give it"
            ) from None
        raise


# ---------------------------------------------------------------------- linear_backward
def _softmax_ce(Z, labels):
    Z = Z - Z.max(axis=1, keepdims=True)
    logp = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    return float(-np.mean(logp[np.arange(len(labels)), labels]))


def _linear_case(N, n_in, n_out, loss, seed):
    """A linear layer followed by a loss; the learner gets dY = dE/dnet and must return
    the rest."""
    rng = _seeded_rng(seed)
    X, W, b = (
        rng.standard_normal((N, n_in)),
        rng.standard_normal((n_in, n_out)),
        rng.standard_normal(n_out),
    )
    if loss == "mean softmax cross-entropy":
        labels = rng.integers(0, n_out, N)

        def E():
            return _softmax_ce(X @ W + b, labels)

        Z = X @ W + b
        P = np.exp(Z - Z.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        dY = (P - np.eye(n_out)[labels]) / N
    else:  # "summed half squared error": E = ½ Σ (net - T)²
        T = rng.standard_normal((N, n_out))

        def E():
            return float(0.5 * np.sum((X @ W + b - T) ** 2))

        dY = X @ W + b - T
    ref = {
        "dX": numerical_gradient(E, X),
        "dW": numerical_gradient(E, W),
        "db": numerical_gradient(E, b),
    }

    def case(learner):
        args = (X.copy(), W.copy(), dY.copy())
        out = _call(learner, *args)
        if not all(np.array_equal(a, b) for a, b in zip(args, (X, W, dY))):
            raise Hint(
                "your function changed one of its inputs in place; compute new arrays "
                "instead"
            )
        if out is None:
            raise Hint(
                "your function returned None — did you forget `return dX, dW, db`?"
            )
        if not isinstance(out, (tuple, list)) or len(out) != 3:
            raise Hint(
                f"return three arrays, `return dX, dW, db`; got {type(out).__name__}"
                + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else "")
            )
        if any(v is None for v in out):
            raise Hint("one of the three results is None; return the arrays dX, dW, db")
        dX, dW, db = (
            learner_array(v, f"your function (its {name})")
            for v, name in zip(out, ("dX", "dW", "db"))
        )
        _diagnose_linear(dX, dW, db, X, W, dY, ref, N, n_in, n_out)

    return case


_ZERO = {
    "dX": "dX is all zeros, but the inputs do receive a gradient: the signal dY flows "
    "back through the weights to every input (eq. (backprop-delta))",
    "dW": "dW is all zeros, but the weights do receive a gradient: each weight "
    "connects an input to an output, and every example contributes (eq. "
    "(backprop-dW))",
    "db": "db is all zeros, but the bias does receive a gradient: it is added to every "
    "example's net input, so every row of dY reaches it (eq. (backprop-dW))",
}
_SIGN = {
    "dX": "dX has the right size but the opposite sign: dE/dX is passed to the layer "
    "below as its dY, as it is — a minus sign belongs only to the update of the "
    "parameters",
    "dW": "dW has the right size but the opposite sign: return dE/dW itself, the "
    "direction in which E grows; the minus sign of a descent step belongs to the "
    "update, not to the gradient",
    "db": "db has the right size but the opposite sign: the bias is simply added to "
    "the net input, so its gradient has the sign of dY itself",
}


def _sign_or_zero(name, got, ref):
    kind = sign_or_zero(got, ref)
    if kind is not None:
        raise Hint((_ZERO if kind == "zero" else _SIGN)[name])


def _diagnose_linear(dX, dW, db, X, W, dY, ref, N, n_in, n_out):
    expected, actual = (
        [(N, n_in), (n_in, n_out), (n_out,)],
        [dX.shape, dW.shape, db.shape],
    )
    if actual != expected and sorted(actual) == sorted(expected):
        raise Hint(
            "your three results have the right shapes but come back in the wrong "
            "order; return them as (dX, dW, db)"
        )
    if actual == expected and all(
        sign_or_zero(g, ref[k]) == "sign" for g, k in zip((dX, dW, db), ref)
    ):
        raise Hint(
            "dX, dW and db all have the right size but the opposite sign: return the "
            "gradients of E themselves, the direction in which E grows. dY is already "
            "dE/dnet; the minus sign of a descent step belongs to the update, not to "
            "the gradients"
        )
    # dW
    if (
        dW.shape == (n_out, n_in)
        and matches(dW.T, ref["dW"])
        and not matches(dW, ref["dW"])
    ):
        raise Hint(
            f"dW is transposed: shape {dW.shape}, but it must have W's shape "
            f"{(n_in, n_out)}, one row per input and one column per output. Look at "
            "the order and the transposes of your product"
        )
    if matches(dW * N, ref["dW"]) and N > 1:
        raise Hint(
            "dW is N times too small: you divided by the batch size. dY already "
            "contains the 1/N of the mean loss (it is dE/dnet for this E), so no "
            "further average is needed"
        )
    if dW.shape != (n_in, n_out):
        raise Hint(
            f"dW must have the shape of W, {(n_in, n_out)}; got {dW.shape}. Its sum "
            "runs over the batch, so N must disappear from the product"
        )
    _sign_or_zero("dW", dW, ref["dW"])
    if not matches(dW, ref["dW"]):
        raise Hint(
            "dW differs from the finite-difference gradient (relative error "
            f"{relative_difference(dW, ref['dW']):.1e}). W_ij connects input i to "
            "output j, and each example contributes through both: see eq. "
            "(backprop-dW)"
        )
    # db
    if db.shape == (N, n_out) and matches(db.sum(axis=0), ref["db"]):
        raise Hint(
            f"db has one row per example, shape {db.shape}. The bias is shared by all "
            "N examples, so their contributions add up into one entry per output"
        )
    if db.shape == (N,) and N != n_out:
        raise Hint(
            "db has one entry per example: you summed over the wrong axis. The bias "
            "has one entry per output; the examples are what adds up"
        )
    if db.size == 1 and n_out > 1:
        raise Hint(
            "db is a single number: you summed over everything. The bias has one entry "
            "per output; add up over the examples only"
        )
    if db.shape == (n_out,) and N > 1 and matches(db * N, ref["db"]):
        raise Hint(
            "db is N times too small: you averaged over the batch. dY already contains "
            "the 1/N of the mean loss, so the examples' contributions add up, with no "
            "second average"
        )
    if (
        db.shape == (n_out,)
        and N > 1
        and matches(db, dY[0])
        and not matches(db, ref["db"])
    ):
        raise Hint(
            "db is the first example's row only. The bias is shared by all examples, "
            "and every one of them contributes to its gradient"
        )
    if db.shape != (n_out,):
        raise Hint(
            f"db must have the shape of b, {(n_out,)}, one entry per output; got shape "
            f"{db.shape}"
        )
    _sign_or_zero("db", db, ref["db"])
    if not matches(db, ref["db"]):
        raise Hint(
            "db has the right shape but the wrong values (relative error "
            f"{relative_difference(db, ref['db']):.1e}). The bias is added to every "
            "example's net input: see eq. (backprop-dW)"
        )
    # dX
    if dX.shape != (N, n_in):
        raise Hint(
            f"dX must have the shape of X, {(N, n_in)}; got {dX.shape}. Going back "
            "through the layer turns each example's n_out signals into n_in input "
            "gradients"
        )
    if n_in == n_out and matches(dX, dY @ W) and not matches(dX, ref["dX"]):
        raise Hint(
            "dX uses W where it needs its transpose: forward, W maps inputs to "
            "outputs; backward, the signal travels from the outputs to the inputs. "
            "With a square W the shapes agree either way, only the values tell"
        )
    if N > 1 and matches(dX * N, ref["dX"]):
        raise Hint(
            "dX is N times too small: do not divide by the batch size, dY already has "
            "the 1/N"
        )
    _sign_or_zero("dX", dX, ref["dX"])
    if not matches(dX, ref["dX"]):
        raise Hint(
            "dX differs from the finite-difference gradient (relative error "
            f"{relative_difference(dX, ref['dX']):.1e}). The signal goes back through "
            "the weights: see eq. (backprop-delta)"
        )


def check_linear_backward(linear_backward):
    """Check a learner's ``linear_backward(X, W, dY) -> (dX, dW, db)`` against finite
    differences.

    ``dY`` is ``∂E/∂net`` for ``net = X W + b`` (it already includes the ``1/N`` of a
    mean loss). Cases: a batch of 5 with mean softmax cross-entropy (3 inputs, 4
    outputs), one example, and a batch of 6 with a summed squared error and a square
    ``W`` (so that ``dY @ W`` has the right shape and only its values give it away).

    Implements the check of the coding exercise on eq. (backprop-dW) in
    chapters/03_backprop.
    """
    cases = [
        (
            "batch of 5, 3 inputs, 4 outputs, mean cross-entropy",
            _linear_case(5, 3, 4, "mean softmax cross-entropy", 0),
        ),
        ("a single example", _linear_case(1, 4, 2, "mean softmax cross-entropy", 1)),
        (
            "batch of 6, square W (3 × 3), summed squared error",
            _linear_case(6, 3, 3, "summed half squared error", 2),
        ),
    ]
    return run_checks("linear_backward", linear_backward, cases)


# ------------------------------------------------------------------- two_layer_backprop
def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # stable for any z


def _bce_value(X, T, W1, b1, W2, b2):
    Z = np.tanh(X @ W1 + b1) @ W2 + b2
    return float(
        np.mean(np.logaddexp(0.0, Z) - T * Z)
    )  # softplus(z) - t z = -[t log σ + (1-t) log(1-σ)]


def _two_layer_variants(X, T, W1, b1, W2, b2):
    """Closed-form gradients: the right one and the typical wrong ones, by name."""
    N = len(X)
    H = np.tanh(X @ W1 + b1)
    Y = _sigmoid(H @ W2 + b2)

    def grads(d2, hidden_deriv, bias_sum=True):
        d1 = (d2 @ W2.T) * hidden_deriv
        s = (lambda d: d.sum(axis=0)) if bias_sum else (lambda d: d)
        return {"W1": X.T @ d1, "b1": s(d1), "W2": H.T @ d2, "b2": s(d2)}

    right = (Y - T) / N
    return {
        "right": grads(right, 1 - H**2),
        "extra sigmoid'": grads(right * Y * (1 - Y), 1 - H**2),
        "no 1/N": grads(Y - T, 1 - H**2),
        "sigmoid' in hidden": grads(right, H * (1 - H)),
        "no f' in hidden": grads(right, 1.0),
        "1 - net²": grads(right, 1 - (X @ W1 + b1) ** 2),
        "sign flipped": grads(-right, 1 - H**2),
    }


_TWO_LAYER_HINTS = {
    "extra sigmoid'": "your output signal has an extra factor σ'(net²) = y(1 − y). "
    "With cross-entropy that factor cancels against the 1/(y(1 − y)) "
    "in the loss's derivative, eq. (bp-bce-delta); keeping it is the "
    "squared-error rule, eq. (bp-mse-delta)",
    "no 1/N": "every gradient is N times too large: the loss is the mean over the "
    "batch, so every example's output signal carries a factor 1/N (eq. "
    "(backprop-output))",
    "sigmoid' in hidden": "the hidden layer uses y(1 − y), the sigmoid's derivative. "
    "The hidden units are tanh: use tanh's derivative, which can "
    "be written with the hidden output y alone",
    "no f' in hidden": "the hidden signal is missing the factor f'(net¹): on its way "
    "back the signal passes through the tanh, and the chain rule "
    "multiplies by its slope (eq. (backprop-recursion))",
    "1 - net²": "you used 1 − net² for tanh'. That form of the derivative takes the "
    "hidden *output* y = tanh(net), not its input net",
    "sign flipped": "your gradients have the right size but the opposite sign: this is "
    "the textbook δ = (t − y) f', which gives the *update direction* "
    "−∂E/∂W. Return ∂E/∂W itself, the direction in which E grows",
}


def _two_layer_case(N, n, m, seed):
    rng = _seeded_rng(seed)
    X = rng.standard_normal((N, n))
    T = rng.integers(0, 2, (N, 1)).astype(float)
    params = {
        "W1": rng.standard_normal((n, m)),
        "b1": 0.5 * rng.standard_normal(m),
        "W2": rng.standard_normal((m, 1)),
        "b2": 0.5 * rng.standard_normal(1),
    }
    order = ("W1", "b1", "W2", "b2")

    def E():
        return _bce_value(X, T, *(params[k] for k in order))

    numeric = {k: numerical_gradient(E, params[k]) for k in order}
    variants = _two_layer_variants(X, T, *(params[k] for k in order))
    assert all(
        matches(variants["right"][k], numeric[k]) for k in order
    )  # the derivation, checked

    def case(learner):
        given = {k: v.copy() for k, v in params.items()}
        out = _call(learner, X.copy(), T.copy(), *(given[k] for k in order))
        if any(not np.array_equal(given[k], params[k]) for k in order):
            raise Hint(
                "your function changed the parameters in place; it must only compute "
                "gradients (the update is the optimizer's job)"
            )
        if out is None:
            raise Hint(
                "your function returned None — return a dict {'W1': dW1, 'b1': db1, "
                "'W2': dW2, 'b2': db2}"
            )
        if not isinstance(out, dict) or set(out) != set(order):
            raise Hint(
                f"return a dict with the keys 'W1', 'b1', 'W2', 'b2'; got "
                f"{sorted(out) if isinstance(out, dict) else type(out).__name__}"
            )
        got = {k: learner_array(out[k], f"your gradient for {k}") for k in order}
        for k in ("b1", "b2"):
            if got[k].shape == (N, params[k].size):
                raise Hint(
                    f"the gradient for {k} has one row per example, shape "
                    f"{got[k].shape}: a bias is shared by all examples, so their "
                    "contributions add up into one entry per unit"
                )
        for k in order:
            if got[k].shape != params[k].shape:
                raise Hint(
                    f"the gradient for {k} must have the shape of {k}, "
                    f"{params[k].shape}; got {got[k].shape}"
                )
        if all(matches(got[k], numeric[k]) for k in order):
            return
        for name, hint in _TWO_LAYER_HINTS.items():
            if all(matches(got[k], variants[name][k]) for k in order):
                raise Hint(hint)
        wrong = [k for k in order if not matches(got[k], numeric[k])]
        small = [
            k
            for k in wrong
            if k in ("b1", "b2") and N > 1 and matches(got[k] * N, numeric[k])
        ]
        if small and small == wrong:
            raise Hint(
                "the weight gradients are right but the bias "
                f"gradient{'s' if len(small) > 1 else ''} {' and '.join(small)} "
                f"{'are' if len(small) > 1 else 'is'} N times too small: you averaged "
                "over the batch. δ² already carries the 1/N of the mean loss; a bias "
                "is shared by all N examples, so their contributions add up, with no "
                "second average"
            )
        if wrong == ["W1", "b1"] or wrong == ["W1"] or wrong == ["b1"]:
            raise Hint(
                f"the output layer is right but {' and '.join(wrong)} "
                f"{'are' if len(wrong) > 1 else 'is'} not: check the hidden signal δ¹ "
                "of eq. (backprop-recursion) and the gradients built from it, eq. "
                "(backprop-dW)"
            )
        errors = ", ".join(
            f"{k}: {relative_difference(got[k], numeric[k]):.1e}" for k in order
        )
        raise Hint(
            "your gradients differ from finite differences (relative errors "
            f"{errors}). Start from the output signal of eq. (bp-bce-delta), averaged "
            "over the batch, and follow eqs. (backprop-recursion) and (backprop-dW)"
        )

    return case


def check_two_layer_backprop(two_layer_backprop):
    """Check ``two_layer_backprop(X, T, W1, b1, W2, b2)`` → ``{"W1", "b1", "W2", "b2"}``
    gradients.

    The network is ``Y = σ(tanh(X W1 + b1) W2 + b2)`` with one output and the mean
    binary cross-entropy; the answer is compared with finite differences of that loss.
    Cases: 6 examples with 3 hidden units, one example, and 10 examples with 5 hidden
    units.

    Implements the check of the coding exercise on eqs. (bp-bce-delta) and
    (backprop-recursion) in chapters/03_backprop.
    """
    cases = [
        ("6 examples, 2 inputs, 3 tanh hidden units", _two_layer_case(6, 2, 3, 10)),
        ("a single example", _two_layer_case(1, 3, 2, 11)),
        ("10 examples, 4 inputs, 5 hidden units", _two_layer_case(10, 4, 5, 12)),
    ]
    return run_checks("two_layer_backprop", two_layer_backprop, cases)
