"""Checks for the coding exercises of chapters/03_backprop.

- :func:`check_linear_backward`: ``linear_backward(X, W, dY)`` returns ``(dX, dW, db)``;
- :func:`check_two_layer_backprop`: ``two_layer_backprop(X, T, W1, b1, W2, b2)`` returns the
  gradients of a tanh hidden layer and a sigmoid output with mean binary cross-entropy.

A learner's answer passes when it agrees with central finite differences of the loss (relative
error below :data:`bookcode.gradcheck.TOLERANCE`, float64). The finite differences are computed
here with a plain loop, independent of :mod:`bookcode.gradcheck` and :mod:`bookcode.layers`.
Known mistakes are recognised by comparing with their closed forms, and get their own hint.
"""

from __future__ import annotations

import numpy as np

from ..seeding import rng as _seeded_rng
from . import Hint, call_learner, learner_array, run_checks, matches, relative_difference
from ..gradcheck import numerical_gradient

__all__ = ["check_linear_backward", "check_two_layer_backprop"]

def _call(learner, *args):
    """``call_learner``, with a pointer to the shapes when numpy refuses a product."""
    try:
        return call_learner(learner, *args)
    except Hint as hint:
        text = str(hint)
        if "matmul" in text or "shapes" in text or "broadcast" in text:
            raise Hint(f"{text}. Check the shapes: a batch has one example per row, X is (N, n_in), W is "
                       "(n_in, n_out), δ = dE/dnet is (N, n_out); a product that goes backwards through W "
                       "uses W.T, one that forms a weight gradient uses the inputs transposed, X.T") from None
        raise


# ------------------------------------------------------------------------------- linear_backward
def _softmax_ce(Z, labels):
    Z = Z - Z.max(axis=1, keepdims=True)
    logp = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    return float(-np.mean(logp[np.arange(len(labels)), labels]))


def _linear_case(N, n_in, n_out, loss, seed):
    """A linear layer followed by a loss; the learner gets dY = dE/dnet and must return the rest."""
    rng = _seeded_rng(seed)
    X, W, b = rng.standard_normal((N, n_in)), rng.standard_normal((n_in, n_out)), rng.standard_normal(n_out)
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
    ref = {"dX": numerical_gradient(E, X), "dW": numerical_gradient(E, W), "db": numerical_gradient(E, b)}

    def case(learner):
        args = (X.copy(), W.copy(), dY.copy())
        out = _call(learner, *args)
        if not all(np.array_equal(a, b) for a, b in zip(args, (X, W, dY))):
            raise Hint("your function changed one of its inputs in place; compute new arrays instead")
        if out is None:
            raise Hint("your function returned None — did you forget `return dX, dW, db`?")
        if not isinstance(out, (tuple, list)) or len(out) != 3:
            raise Hint(f"return three arrays, `return dX, dW, db`; got {type(out).__name__}"
                       + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else ""))
        if any(v is None for v in out):
            raise Hint("one of the three results is None; return the arrays dX, dW, db")
        dX, dW, db = (learner_array(v, f"your function (its {name})") for v, name in zip(out, ("dX", "dW", "db")))
        _diagnose_linear(dX, dW, db, X, W, dY, ref, N, n_in, n_out)

    return case


def _diagnose_linear(dX, dW, db, X, W, dY, ref, N, n_in, n_out):
    expected, actual = [(N, n_in), (n_in, n_out), (n_out,)], [dX.shape, dW.shape, db.shape]
    if actual != expected and sorted(actual) == sorted(expected):
        raise Hint("your three results have the right shapes but come back in the wrong order; "
                   "return them as (dX, dW, db)")
    # dW
    if dW.shape == (n_out, n_in) and matches(dW.T, ref["dW"]) and not matches(dW, ref["dW"]):
        raise Hint(f"dW is transposed: shape {dW.shape}, but it must have W's shape {(n_in, n_out)}. "
                   "Use dW = X.T @ dY (inputs × outputs), not dY.T @ X")
    if matches(dW * N, ref["dW"]) and N > 1:
        raise Hint("dW is N times too small: you divided by the batch size. dY already contains the 1/N "
                   "of the mean loss (it is dE/dnet for this E), so dW = X.T @ dY with no extra average")
    if dW.shape != (n_in, n_out):
        raise Hint(f"dW must have the shape of W, {(n_in, n_out)}; got {dW.shape}. dW = X.T @ dY")
    if not matches(dW, ref["dW"]):
        raise Hint(f"dW differs from the finite-difference gradient (relative error {relative_difference(dW, ref['dW']):.1e}). "
                   "Each entry is dE/dW_ij = Σ_n X_ni dY_nj, i.e. dW = X.T @ dY")
    # db
    if db.shape == (N, n_out) and matches(db.sum(axis=0), ref["db"]):
        raise Hint(f"db has one row per example, shape {db.shape}. The bias is shared by all N examples, "
                   "so its gradient is the sum over the batch: db = dY.sum(axis=0)")
    if db.shape == (N,) and N != n_out:
        raise Hint("db has one entry per example: you summed over the wrong axis. Sum over the batch "
                   "(rows), db = dY.sum(axis=0), to get one entry per output")
    if db.size == 1 and n_out > 1:
        raise Hint("db is a single number: you summed over everything. Sum over the rows only, "
                   "db = dY.sum(axis=0), one entry per output")
    if db.shape == (n_out,) and N > 1 and matches(db * N, ref["db"]):
        raise Hint("db is N times too small: you averaged over the batch. dY already contains the 1/N, "
                   "so sum it: db = dY.sum(axis=0)")
    if db.shape == (n_out,) and N > 1 and matches(db, dY[0]) and not matches(db, ref["db"]):
        raise Hint("db is the first example's row only. Sum the contributions of all examples: "
                   "db = dY.sum(axis=0)")
    if db.shape != (n_out,) or not matches(db, ref["db"]):
        raise Hint(f"db must be the column sums of dY, shape {(n_out,)}; got shape {db.shape}")
    # dX
    if dX.shape != (N, n_in):
        raise Hint(f"dX must have the shape of X, {(N, n_in)}; got {dX.shape}. dX = dY @ W.T")
    if n_in == n_out and matches(dX, dY @ W) and not matches(dX, ref["dX"]):
        raise Hint("dX uses W where it needs W.T: dE/dX_ni = Σ_j dY_nj W_ij, i.e. dX = dY @ W.T")
    if N > 1 and matches(dX * N, ref["dX"]):
        raise Hint("dX is N times too small: do not divide by the batch size, dY already has the 1/N")
    if not matches(dX, ref["dX"]):
        raise Hint(f"dX differs from the finite-difference gradient (relative error {relative_difference(dX, ref['dX']):.1e}). "
                   "dX = dY @ W.T")


def check_linear_backward(linear_backward):
    """Check a learner's ``linear_backward(X, W, dY) -> (dX, dW, db)`` against finite differences.

    ``dY`` is ``∂E/∂net`` for ``net = X W + b`` (it already includes the ``1/N`` of a mean loss).
    Cases: a batch of 5 with mean softmax cross-entropy (3 inputs, 4 outputs), one example, and a
    batch of 6 with a summed squared error and a square ``W`` (so that ``dY @ W`` has the right
    shape and only its values give it away).

    Implements the check of the coding exercise on eq. (backprop-dW) in chapters/03_backprop.
    """
    cases = [
        ("batch of 5, 3 inputs, 4 outputs, mean cross-entropy", _linear_case(5, 3, 4, "mean softmax cross-entropy", 0)),
        ("a single example", _linear_case(1, 4, 2, "mean softmax cross-entropy", 1)),
        ("batch of 6, square W (3 × 3), summed squared error", _linear_case(6, 3, 3, "summed half squared error", 2)),
    ]
    return run_checks("linear_backward", linear_backward, cases)


# ---------------------------------------------------------------------------- two_layer_backprop
def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # stable for any z


def _bce_value(X, T, W1, b1, W2, b2):
    Z = np.tanh(X @ W1 + b1) @ W2 + b2
    return float(np.mean(np.logaddexp(0.0, Z) - T * Z))  # softplus(z) - t z = -[t log σ + (1-t) log(1-σ)]


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
    "extra sigmoid'": "your output signal has an extra factor σ'(net²) = y(1 − y). With cross-entropy that "
                      "factor cancels: δ² = (Y − T)/N, not (Y − T) σ'(net²)/N (that is the squared-error rule)",
    "no 1/N": "every gradient is N times too large: the loss is the mean over the batch, so δ² = (Y − T) / N",
    "sigmoid' in hidden": "the hidden layer uses y(1 − y), the sigmoid's derivative. The hidden units are tanh: "
                          "tanh'(net) = 1 − y², with y = tanh(net)",
    "no f' in hidden": "the hidden signal is missing the factor f'(net¹): δ¹ = (δ² W2ᵀ) ∘ (1 − Y1²)",
    "1 - net²": "you used 1 − net² for tanh'. The derivative is 1 − tanh(net)², i.e. 1 − y² with the "
                "hidden *output* y, not its input",
    "sign flipped": "your gradients have the wrong sign: this is the source notes' δ = (t − y) f', which gives the "
                    "*update direction* −∂E/∂W. Return ∂E/∂W itself: δ² = (Y − T)/N",
}


def _two_layer_case(N, n, m, seed):
    rng = _seeded_rng(seed)
    X = rng.standard_normal((N, n))
    T = rng.integers(0, 2, (N, 1)).astype(float)
    params = {"W1": rng.standard_normal((n, m)), "b1": 0.5 * rng.standard_normal(m),
              "W2": rng.standard_normal((m, 1)), "b2": 0.5 * rng.standard_normal(1)}
    order = ("W1", "b1", "W2", "b2")

    def E():
        return _bce_value(X, T, *(params[k] for k in order))

    numeric = {k: numerical_gradient(E, params[k]) for k in order}
    variants = _two_layer_variants(X, T, *(params[k] for k in order))
    assert all(matches(variants["right"][k], numeric[k]) for k in order)  # the derivation, checked

    def case(learner):
        given = {k: v.copy() for k, v in params.items()}
        out = _call(learner, X.copy(), T.copy(), *(given[k] for k in order))
        if any(not np.array_equal(given[k], params[k]) for k in order):
            raise Hint("your function changed the parameters in place; it must only compute gradients "
                       "(the update is the optimizer's job)")
        if out is None:
            raise Hint("your function returned None — return a dict {'W1': dW1, 'b1': db1, 'W2': dW2, 'b2': db2}")
        if not isinstance(out, dict) or set(out) != set(order):
            raise Hint(f"return a dict with the keys 'W1', 'b1', 'W2', 'b2'; got "
                       f"{sorted(out) if isinstance(out, dict) else type(out).__name__}")
        got = {k: learner_array(out[k], f"your gradient for {k}") for k in order}
        for k in ("b1", "b2"):
            if got[k].shape == (N, params[k].size):
                raise Hint(f"the gradient for {k} has one row per example, shape {got[k].shape}: a bias is "
                           "shared by all examples, so sum δ over the batch (axis=0)")
        for k in order:
            if got[k].shape != params[k].shape:
                raise Hint(f"the gradient for {k} must have the shape of {k}, {params[k].shape}; "
                           f"got {got[k].shape}")
        if all(matches(got[k], numeric[k]) for k in order):
            return
        for name, hint in _TWO_LAYER_HINTS.items():
            if all(matches(got[k], variants[name][k]) for k in order):
                raise Hint(hint)
        wrong = [k for k in order if not matches(got[k], numeric[k])]
        if wrong == ["W1", "b1"] or wrong == ["W1"] or wrong == ["b1"]:
            raise Hint(f"the output layer is right but {' and '.join(wrong)} are not: check the hidden "
                       "signal δ¹ = (δ² W2ᵀ) ∘ (1 − Y1²) and dW1 = Xᵀ δ¹, db1 = Σ_rows δ¹")
        errors = ", ".join(f"{k}: {relative_difference(got[k], numeric[k]):.1e}" for k in order)
        raise Hint(f"your gradients differ from finite differences (relative errors {errors}). Start from "
                   "δ² = (Y − T)/N and follow eqs. (backprop-recursion) and (backprop-dW)")

    return case


def check_two_layer_backprop(two_layer_backprop):
    """Check ``two_layer_backprop(X, T, W1, b1, W2, b2)`` → ``{"W1", "b1", "W2", "b2"}`` gradients.

    The network is ``Y = σ(tanh(X W1 + b1) W2 + b2)`` with one output and the mean binary
    cross-entropy; the answer is compared with finite differences of that loss. Cases: 6 examples
    with 3 hidden units, one example, and 10 examples with 5 hidden units.

    Implements the check of the coding exercise on eqs. (bp-bce-delta) and (backprop-recursion) in
    chapters/03_backprop.
    """
    cases = [
        ("6 examples, 2 inputs, 3 tanh hidden units", _two_layer_case(6, 2, 3, 10)),
        ("a single example", _two_layer_case(1, 3, 2, 11)),
        ("10 examples, 4 inputs, 5 hidden units", _two_layer_case(10, 4, 5, 12)),
    ]
    return run_checks("two_layer_backprop", two_layer_backprop, cases)
