"""The perceptron and the Delta rule: the single-layer learning rules of
chapters/02_perceptron_delta.

- **Perceptron** (eq. perceptron-rule): ``y = step(x·w + b)``; for each example in turn,
  ``w += η (t − y) x`` and ``b += η (t − y)``. It is per-sample by nature: a mistake
  changes the weights before the next example is seen. Targets are 0/1 labels.
- **Delta rule** (eqs. delta-signal, delta-rule): gradient descent on the squared error
  of one layer ``Y = f(X W + b)``, with ``δ = ∂E/∂net = −(T − Y) ∘ f′(net)`` (divided by
  N for the batch mean) and ``W ← W − η Xᵀδ``, ``b ← b − η Σ_rows δ``. With ``f`` the
  identity it is the LMS (Widrow–Hoff) rule.

Rows are examples. A weight vector ``w`` of shape ``(n_in,)`` means one output unit
(targets of shape ``(N,)``); a matrix ``W`` of shape ``(n_in, n_out)`` means ``n_out``
units (targets ``(N, n_out)``).
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .. import activations as _act
from .._validate import (
    as_batch,
    as_float_array,
    as_rng,
    check_choice,
    check_positive_float,
    check_positive_int,
)
from ..data import minibatches

_EPS = float(np.finfo(np.float64).eps)

__all__ = [
    "step",
    "perceptron_predict",
    "perceptron_fit",
    "PerceptronRun",
    "perceptron_criterion",
    "novikoff_bound",
    "NovikoffBound",
    "delta_rule_gradient",
    "delta_rule_step",
    "delta_rule_fit",
    "delta_rule_fit_many",
    "DeltaRuleRun",
    "lms_stable_lr",
    "as_network",
]


def step(x):
    """Heaviside step ``1 if x > 0 else 0`` (so step(0) = 0), in the float dtype of
    ``x``; NaN stays NaN.

    Its derivative is 0 for ``x ≠ 0`` and does not exist at 0: no gradient flows through
    it.

    Implements eq. (perceptron-output) in chapters/02_perceptron_delta.
    """
    x = as_float_array(x, "x", allow_nonfinite=True, where="step")
    return np.where(np.isnan(x), x, x > 0).astype(x.dtype, copy=False)


def _labels01(y, n, where):
    y = np.asarray(y)
    if y.shape != (n,):
        raise ValueError(
            f"{where}: expected labels y of shape ({n},) (one per row of X), got shape "
            f"{y.shape}"
        )
    if y.dtype.kind not in "biuf" or not np.all((y == 0) | (y == 1)):
        raise ValueError(
            f"{where}: expected 0/1 labels, got values {np.unique(y)[:6].tolist()}"
        )
    return y.astype(np.float64)


def _weights(w, b, n_in, where):
    w = as_float_array(w, "w", where=where)
    if w.shape != (n_in,):
        raise ValueError(
            f"{where}: expected w of shape ({n_in},) (one weight per input), got shape "
            f"{w.shape}"
        )
    return w, float(as_float_array(b, "b", where=where))


def perceptron_predict(X, w, b=0.0):
    """Labels ``step(X w + b)`` (int 0/1) of a perceptron with weights ``w`` and bias
    ``b``.

    Implements eq. (perceptron-output) in chapters/02_perceptron_delta.
    """
    X = as_batch(X, where="perceptron_predict")
    w, b = _weights(w, b, X.shape[1], "perceptron_predict")
    return (X @ w + b > 0).astype(np.int64)


@dataclass(repr=False)
class PerceptronRun:
    """History of :func:`perceptron_fit`.

    Attributes
    ----------
    W : ndarray, shape (epochs_run + 1, n_in)
        Weights at the start (row 0) and after each epoch.
    b : ndarray, shape (epochs_run + 1,)
        Bias, likewise (all zero when fitted with ``bias=False``).
    mistakes : ndarray of int, shape (epochs_run,)
        Mistakes (= updates) made during each epoch.
    errors : ndarray of int, shape (epochs_run + 1,)
        Training points misclassified by the weights in ``W[e]``, ``b[e]``.
    converged : bool
        True if an epoch passed without a mistake (then every point is classified
        correctly).
    lr : float
    trace_W, trace_b : ndarray or None
        With ``trace=True``: the weights after every single example (row 0 = start).

    Implements the output of eq. (perceptron-rule) in chapters/02_perceptron_delta.
    """

    W: np.ndarray
    b: np.ndarray
    mistakes: np.ndarray
    errors: np.ndarray
    converged: bool
    lr: float
    trace_W: np.ndarray | None = None
    trace_b: np.ndarray | None = None

    @property
    def epochs_run(self):
        return len(self.mistakes)

    @property
    def total_mistakes(self):
        return int(self.mistakes.sum())

    def predict(self, X, epoch=-1):
        """Labels predicted by the weights after ``epoch`` (default: the last)."""
        return perceptron_predict(X, self.W[epoch], self.b[epoch])

    def __repr__(self):
        state = "converged" if self.converged else "not converged"
        return (
            f"PerceptronRun({self.epochs_run} epochs, {self.total_mistakes} mistakes, "
            f"{state}, final errors {int(self.errors[-1])})"
        )


def perceptron_fit(
    X,
    y,
    lr=1.0,
    epochs=100,
    rng=None,
    *,
    w0=None,
    b0=0.0,
    bias=True,
    stop_when_converged=True,
    trace=False,
):
    """Train a perceptron with Rosenblatt's rule, one example at a time.

    For each example ``n`` (in order ``0..N-1``, or shuffled each epoch if ``rng`` is
    given): ``y_n = step(x_n·w + b)``; ``w += lr (t_n − y_n) x_n``; ``b += lr (t_n −
    y_n)``.

    Parameters
    ----------
    X : array_like, shape (N, n_in)
    y : array_like, shape (N,)
        0/1 labels.
    lr : float > 0
    epochs : int >= 1
        Maximal number of passes over the data.
    rng : Generator, int or None
        None: the fixed cyclic order (deterministic); otherwise a new permutation every
        epoch.
    w0, b0 : initial weights (default zeros) and bias.
    bias : bool
        False fits ``y = step(x·w)`` (no ``b``; e.g. when ``X`` already has a column of
        ones).
    stop_when_converged : bool
        Stop after the first epoch without a mistake (nothing would change afterwards).
    trace : bool
        Also record the weights after every example (``trace_W``, ``trace_b``).

    Returns
    -------
    PerceptronRun

    Implements eq. (perceptron-rule) in chapters/02_perceptron_delta.
    """
    where = "perceptron_fit"
    X = as_batch(X, where=where).astype(np.float64)
    N, n_in = X.shape
    t = _labels01(y, N, where)
    lr = check_positive_float(lr, "lr")
    epochs = check_positive_int(epochs, "epochs")
    gen = None if rng is None else as_rng(rng, where=where)
    if not isinstance(bias, bool):
        raise TypeError(f"{where}: bias must be True or False, got {bias!r}")
    w, b = _weights(
        np.zeros(n_in) if w0 is None else w0, b0 if bias else 0.0, n_in, where
    )
    Ws, bs, mistakes, errors = [w.copy()], [b], [], [int(np.sum((X @ w + b > 0) != t))]
    tW, tb = ([w.copy()], [b]) if trace else (None, None)
    # The loop runs on Python floats: for a few inputs per example, NumPy's cost per
    # call would dominate. A net input within rounding of 0 (|net| <= slack) is
    # recomputed as NumPy's x_n @ w + b: the same decisions.
    rows, targets, w, mul = X.tolist(), t.tolist(), w.tolist(), operator.mul
    row_l1 = float(np.abs(X).sum(axis=1).max())
    slack_growth = _rounding_slack(
        [lr * float(np.abs(X).max())] * n_in, lr, row_l1
    )  # at most, per update
    for _ in range(epochs):
        m, slack = 0, _rounding_slack(w, b, row_l1)
        for n in range(N) if gen is None else gen.permutation(N).tolist():
            net = sum(map(mul, rows[n], w), b)  # x_n·w + b
            if not abs(net) > slack:
                net = X[n] @ np.array(w) + b
            err = targets[n] - (1.0 if net > 0 else 0.0)
            if err != 0.0:
                w = [
                    wi + (lr * err) * xi for wi, xi in zip(w, rows[n])
                ]  # a new list: recorded rows stay put
                if bias:
                    b = b + lr * err
                slack += slack_growth
                m += 1
            if trace:
                tW.append(w)
                tb.append(b)
        Ws.append(w)
        bs.append(b)
        mistakes.append(m)
        errors.append(np.count_nonzero((X @ np.array(w) + b > 0) != t))
        if m == 0 and stop_when_converged:
            break
    return PerceptronRun(
        np.array(Ws),
        np.array(bs),
        np.array(mistakes, dtype=np.int64),
        np.array(errors, dtype=np.int64),
        bool(mistakes[-1] == 0),
        lr,
        None if tW is None else np.array(tW),
        None if tb is None else np.array(tb),
    )


def _rounding_slack(w, b, row_l1):
    """Four times the largest rounding difference between two summation orders.

    Of ``x·w + b`` for rows ``x`` with ``Σ|x_i| <= row_l1`` (about
    ``(n_in + 1) eps (Σ|x_i w_i| + |b|)`` each way): a net input farther from 0 than
    this has the same sign however it is summed (chapters/02_perceptron_delta,
    ``perceptron_fit``). An update ``w += c x_k`` raises this bound by at most
    ``_rounding_slack([|c| max|x|], |c|, row_l1)``.
    """
    return (
        4 * (len(w) + 2) * _EPS * (row_l1 * max(map(abs, w), default=0.0) + abs(b))
        + 1e-300
    )


def perceptron_criterion(w, b, X, y):
    """The perceptron criterion ``E_P = Σ_n max(0, −s_n (x_n·w + b))`` with ``s_n = 2
    t_n − 1 = ±1``.

    The sum of ``|net|`` over the misclassified examples; one perceptron update on a
    mistake is a gradient step on that example's term (with step size ``lr``).

    Implements eq. (perceptron-criterion) in chapters/02_perceptron_delta.
    """
    X = as_batch(X, where="perceptron_criterion")
    w, b = _weights(w, b, X.shape[1], "perceptron_criterion")
    s = 2 * _labels01(y, X.shape[0], "perceptron_criterion") - 1
    return float(np.sum(np.maximum(0.0, -s * (X @ w + b))))


class NovikoffBound(NamedTuple):
    """``R`` (largest input norm), ``gamma`` (margin of the given hyperplane) and
    ``bound = (R/γ)²``.

    Implements eq. (novikoff-bound) in chapters/02_perceptron_delta.
    """

    R: float
    gamma: float
    bound: float


def novikoff_bound(X, y, w, b=0.0, *, bias=True):
    """Novikoff's bound on the number of perceptron mistakes, for a separating
    hyperplane ``(w, b)``.

    With ``bias=True`` the inputs are augmented to ``x̃ = (1, x)`` and the hyperplane to
    ``ũ = (b, w)/‖(b, w)‖``: ``R = max ‖x̃_n‖``, ``γ = min_n s_n ũ·x̃_n``. Any
    separating hyperplane gives a valid bound (the max-margin one the tightest). The
    bound holds for ``w0 = 0, b0 = 0``, any ``lr`` and any order of the examples. With
    ``bias=False`` no augmentation (and ``b`` must be 0).

    Returns
    -------
    NovikoffBound
        ``(R, gamma, bound)``. Raises ``ValueError`` if ``(w, b)`` does not separate the
        data.

    Implements eq. (novikoff-bound) in chapters/02_perceptron_delta.
    """
    where = "novikoff_bound"
    X = as_batch(X, where=where)
    w, b = _weights(w, b, X.shape[1], where)
    s = 2 * _labels01(y, X.shape[0], where) - 1
    if not bias and b != 0.0:
        raise ValueError(
            f"{where}: with bias=False the hyperplane passes through 0, so b must be "
            f"0, got {b}"
        )
    Xa = np.column_stack([np.ones(len(X)), X]) if bias else X
    u = np.concatenate([[b], w]) if bias else w
    if not np.any(u):
        raise ValueError(f"{where}: the hyperplane (w, b) must not be zero")
    gamma = float(np.min(s * (Xa @ u)) / np.linalg.norm(u))
    if gamma <= 0:
        raise ValueError(
            f"{where}: (w, b) does not separate the data (margin {gamma:.3g} <= 0)"
        )
    R = float(np.linalg.norm(Xa, axis=1).max())
    return NovikoffBound(R, gamma, (R / gamma) ** 2)


# --------------------------------------------------------------------------- Delta rule
def _layer_args(W, b, X, T, where):
    """2-D W (n_in, n_out), b (n_out,) or None, X, T (N, n_out), and whether W came as a
    vector."""
    X = as_batch(X, where=where)
    W = as_float_array(W, "W", where=where)
    vector = W.ndim == 1
    if W.ndim not in (1, 2) or W.shape[0] != X.shape[1]:
        raise ValueError(
            f"{where}: expected W of shape ({X.shape[1]}, n_out) or ({X.shape[1]},), "
            f"got {W.shape}"
        )
    W2 = W[:, None] if vector else W
    T = as_float_array(T, "T", where=where)
    want = (X.shape[0],) if vector else (X.shape[0], W2.shape[1])
    if T.shape != want:
        raise ValueError(
            f"{where}: expected T of shape {want} for X {X.shape} and W {W.shape}, got "
            f"{T.shape}"
        )
    T2 = T[:, None] if vector else T
    b2 = None
    if b is not None:
        b2 = as_float_array(b, "b", where=where).reshape(-1)
        if b2.shape != (W2.shape[1],):
            raise ValueError(
                f"{where}: expected b with {W2.shape[1]} entries (one per output), got "
                f"{np.shape(b)}"
            )
    return W2, b2, X, T2, vector


def _f(f, where):
    f = _act.get(f) if isinstance(f, str) else f
    if not isinstance(f, _act.ActivationFunction) or f.name == "softmax":
        raise TypeError(
            f"{where}: f must be an element-wise activation name or object (e.g. "
            f"'sigmoid'), got {f!r}"
        )
    return f


def delta_rule_gradient(W, b, X, T, f="identity", reduction="mean"):
    """Loss and gradient of one layer ``Y = f(X W + b)`` under the squared error.

    ``E = (1/N) Σ_n ½‖t_n − y_n‖²`` (``reduction="mean"``) or ``Σ_n ½‖t_n − y_n‖²``
    (``"sum"``); ``δ = ∂E/∂net = −(T − Y) ∘ f′(net)`` (divided by N for the mean);
    ``∂E/∂W = Xᵀδ``, ``∂E/∂b = Σ_rows δ``.

    Returns
    -------
    dW, db, E
        ``dW`` with the shape of ``W``; ``db`` with the shape of ``b`` (None if ``b`` is
        None); ``E`` float.

    Implements eqs. (delta-signal) and (delta-gradient) in chapters/02_perceptron_delta.
    """
    where = "delta_rule_gradient"
    W2, b2, X, T2, vector = _layer_args(W, b, X, T, where)
    f = _f(f, where)
    scale = (
        1.0 / X.shape[0]
        if check_choice(reduction, ("mean", "sum"), "reduction") == "mean"
        else 1.0
    )
    dW, db, Y = _gradient(W2, b2, X, T2, f, scale)
    E = float(0.5 * np.sum((T2 - Y) ** 2) * scale)
    if vector:
        dW, db = _as_vector(dW, db, b)
    return dW, db, E


def _gradient(W2, b2, X, T2, f, scale, forward=None):
    """The arithmetic of :func:`delta_rule_gradient` on checked 2-D arrays: ``(dW, db or
    None, Y)``. ``forward``: ``(net, Y)`` of these arrays if already computed
    (:func:`_forward`)."""
    net, Y = _forward(W2, b2, X, f) if forward is None else forward
    delta = -(T2 - Y) * f.derivative(net) * scale  # eq. (delta-signal)
    dW = X.T @ delta  # eq. (delta-gradient)
    return dW, None if b2 is None else delta.sum(axis=0), Y


def _forward(W2, b2, X, f):
    """``(net, Y)`` of the layer, ``net = X W + b`` and ``Y = f(net)``."""
    net = X @ W2 + (0.0 if b2 is None else b2)
    return net, f(net)


def _as_vector(dW, db, b):
    """The gradient of one output unit in the shapes of a weight vector and of ``b`` (a
    float or an array)."""
    return dW[:, 0], None if db is None else (float(db[0]) if np.ndim(b) == 0 else db)


def _descend(W, b, dW, db, lr):
    """``(W − lr dW, b − lr db)``: new arrays (a float ``b`` stays a float)."""
    if b is not None:
        b = (
            float(b) - lr * db
            if np.ndim(b) == 0
            else np.asarray(b, dtype=db.dtype) - lr * db
        )
    return np.asarray(W, dtype=dW.dtype) - lr * dW, b


def delta_rule_step(W, b, X, T, lr, f="identity", reduction="mean"):
    """One Delta-rule step ``W ← W − η ∂E/∂W``, ``b ← b − η ∂E/∂b``; returns new ``(W,
    b)`` (inputs untouched).

    Implements eq. (delta-rule) in chapters/02_perceptron_delta.
    """
    lr = check_positive_float(lr, "lr")
    dW, db, _ = delta_rule_gradient(W, b, X, T, f, reduction)
    return _descend(W, b, dW, db, lr)


@dataclass(repr=False)
class DeltaRuleRun:
    """History of :func:`delta_rule_fit`: ``W``, ``b`` at the start and after each
    epoch, the loss ``E`` and the number of misclassified training points for those
    weights, and ``diverged``.

    Implements the output of eq. (delta-rule) in chapters/02_perceptron_delta.
    """

    W: np.ndarray
    b: np.ndarray | None
    loss: np.ndarray
    errors: np.ndarray
    diverged: bool
    lr: float
    f: object

    @property
    def epochs_run(self):
        return len(self.loss) - 1

    def predict(self, X, epoch=-1):
        """Outputs ``f(X W + b)`` of the weights after ``epoch`` (default: the last)."""
        X = as_batch(X, where="DeltaRuleRun.predict")
        return self.f(X @ self.W[epoch] + (0.0 if self.b is None else self.b[epoch]))

    def __repr__(self):
        return (
            f"DeltaRuleRun(f={self.f!r}, lr={self.lr:g}, {self.epochs_run} epochs, "
            f"{'diverged' if self.diverged else f'loss {self.loss[-1]:.4g}'})"
        )


def delta_rule_fit(
    X,
    T,
    f="identity",
    lr=0.1,
    epochs=100,
    *,
    W0=None,
    b0=None,
    bias=True,
    reduction="mean",
    batch_size=None,
    rng=None,
    classify_at=0.5,
    max_norm=1e6,
):
    """Train one layer ``Y = f(X W + b)`` with the Delta rule (gradient descent on the
    squared error).

    Parameters
    ----------
    X : array_like, shape (N, n_in)
    T : array_like, shape (N,) or (N, n_out)
        Targets; 1-D targets give a weight vector ``w`` of shape (n_in,) and a scalar
        bias.
    f : str or activation object
        ``"identity"`` gives the LMS / Widrow–Hoff rule, ``"sigmoid"`` the "continuous
        perceptron".
    lr, epochs : step size and number of passes.
    W0, b0 : initial weights and bias (default zeros).
    bias : bool
    reduction : "mean" or "sum"
        Loss averaged (the book's choice) or summed over the examples of a batch.
    batch_size, rng : None for full-batch steps (one per epoch); an int for shuffled
    mini-batches
        (``rng`` required), e.g. 1 for Widrow and Hoff's per-example LMS.
    classify_at : float
        ``errors`` counts the points with ``(y > classify_at) != (t > classify_at)``.
    max_norm : float
        Stop and set ``diverged`` when ``‖W‖`` exceeds it or becomes NaN/inf.

    Returns
    -------
    DeltaRuleRun

    Implements eq. (delta-rule) in chapters/02_perceptron_delta.
    """
    where = "delta_rule_fit"
    X = as_batch(X, where=where)
    T = as_float_array(T, "T", where=where)
    if T.ndim not in (1, 2):
        raise ValueError(
            f"{where}: expected T of shape (N,) or (N, n_out), got {T.shape}"
        )
    shape = (X.shape[1],) if T.ndim == 1 else (X.shape[1], T.shape[1])
    W = (
        np.zeros(shape)
        if W0 is None
        else np.array(as_float_array(W0, "W0", where=where))
    )
    if not isinstance(bias, bool):
        raise TypeError(f"{where}: bias must be True or False, got {bias!r}")
    b = (
        None
        if not bias
        else (
            np.zeros(shape[1:])
            if b0 is None
            else np.array(as_float_array(b0, "b0", where=where))
        )
    )
    b = float(b) if b is not None and T.ndim == 1 else b
    f = _f(f, where)
    lr = check_positive_float(lr, "lr")
    epochs = check_positive_int(epochs, "epochs")
    max_norm = check_positive_float(max_norm, "max_norm")
    classify_at = float(as_float_array(classify_at, "classify_at", where=where))
    N = X.shape[0]
    if batch_size is not None:
        batch_size = check_positive_int(batch_size, "batch_size")
        gen = as_rng(rng, where=f"{where} (batch_size given)")
    delta_rule_gradient(W, b, X, T, f, reduction)  # validates shapes and reduction once

    vector = T.ndim == 1

    # The steps and records below do exactly the arithmetic of delta_rule_step and of
    # f(X W + b), without the per-call checks (done once above); full batch, the step
    # reuses the record's forward pass.
    def forward(W, b, idx=slice(None)):
        return _forward(
            W[:, None] if vector else W,
            None if b is None else np.reshape(b, -1),
            X[idx],
            f,
        )

    def step(W, b, idx, fwd):
        if b is not None and not (
            math.isfinite(b) if vector else np.all(np.isfinite(b))
        ):
            return delta_rule_step(
                W, b, X[idx], T[idx], lr, f, reduction
            )  # raises its error
        Xb, Tb = X[idx], T[idx]
        fwd = forward(W, b, idx) if fwd is None else fwd
        dW, db, _ = _gradient(
            None,
            b,
            Xb,
            Tb[:, None] if vector else Tb,
            f,  # fwd replaces W, b
            1.0 / Xb.shape[0] if reduction == "mean" else 1.0,
            fwd,
        )
        if vector:
            dW, db = _as_vector(dW, db, b)
        return _descend(W, b, dW, db, lr)

    def record(W, b, fwd):
        if fwd is None or not (
            X.dtype == W.dtype == np.float64
            and (vector or b is None or b.dtype == np.float64)
        ):
            Y = f(
                X @ W + (0.0 if b is None else b)
            )  # in float64 fwd has these numbers; float32 may round apart
        else:
            Y = fwd[1][:, 0] if vector else fwd[1]
        E = 0.5 * ((T - Y) ** 2).sum() / (N if reduction == "mean" else 1)
        return float(E), np.count_nonzero((Y > classify_at) != T_class)

    T_class = T > classify_at

    fwd = forward(W, b) if batch_size is None else None
    Ws, bs, rec, diverged = [W], [b], [record(W, b, fwd)], False
    for _ in range(epochs):
        for idx in (
            [slice(None)] if batch_size is None else minibatches(N, batch_size, gen)
        ):
            W, b = step(W, b, idx, fwd if batch_size is None else None)
            norm = np.linalg.norm(W)
            if not np.isfinite(norm) or norm > max_norm:
                diverged = True
                break
        if diverged:
            break
        fwd = forward(W, b) if batch_size is None else None
        Ws.append(W)
        bs.append(b)
        rec.append(record(W, b, fwd))
    loss, errors = (np.array(v) for v in zip(*rec))
    return DeltaRuleRun(
        np.array(Ws),
        None if b is None else np.array(bs),
        loss,
        errors.astype(np.int64),
        diverged,
        lr,
        f,
    )


def delta_rule_fit_many(
    X, T, f="identity", lr=0.1, epochs=100, *, classify_at=0.5, max_norm=1e6
):
    """Full-batch Delta rule on several independent data sets at once: one unit, from
    ``w = 0``, ``b = 0``, per set.

    The run on set ``s`` is :func:`delta_rule_fit` ``(X[s], T[s], f, lr, epochs)`` (1-D
    targets, full batch, the loss averaged over the examples), up to rounding; the sets
    are stacked so that every epoch is one array operation for all of them. A chapter
    uses it to check a claim about the method on many data sets.

    Parameters
    ----------
    X : array_like, shape (S, N, n_in)
        ``S`` data sets of ``N`` examples each.
    T : array_like, shape (S, N)
        Their targets.
    f, lr, epochs, classify_at, max_norm
        As in :func:`delta_rule_fit`; a set whose ``‖w‖`` exceeds ``max_norm`` (or is
        not finite) stops there and is marked ``diverged``, the others go on.

    Returns
    -------
    list of DeltaRuleRun
        One per set.

    Implements eq. (delta-rule) in chapters/02_perceptron_delta.
    """
    where = "delta_rule_fit_many"
    X = as_float_array(X, "X", where=where).astype(np.float64)
    if X.ndim != 3 or 0 in X.shape:
        raise ValueError(
            f"{where}: expected X of shape (S, N, n_in) (S data sets of N rows), got "
            f"{X.shape}"
        )
    T = as_float_array(T, "T", where=where).astype(np.float64)
    if T.shape != X.shape[:2]:
        raise ValueError(
            f"{where}: expected T of shape {X.shape[:2]} (one target per row of X), "
            f"got {T.shape}"
        )
    f = _f(f, where)
    lr = check_positive_float(lr, "lr")
    epochs = check_positive_int(epochs, "epochs")
    max_norm = check_positive_float(max_norm, "max_norm")
    classify_at = float(as_float_array(classify_at, "classify_at", where=where))
    S, N, n_in = X.shape
    W, b = np.zeros((S, n_in)), np.zeros(S)
    T_class = T > classify_at
    alive, runs_for = np.ones(S, dtype=bool), np.full(S, epochs)

    def forward(W, b):
        net = np.einsum("snd,sd->sn", X, W) + b[:, None]
        return net, f(net)

    def record(Y):
        return 0.5 * ((T - Y) ** 2).sum(axis=1) / N, np.count_nonzero(
            (Y > classify_at) != T_class, axis=1
        )

    net, Y = forward(W, b)
    Ws, bs, rec = [W], [b], [record(Y)]
    with np.errstate(
        over="ignore", invalid="ignore"
    ):  # a diverging set is detected, not warned about
        for e in range(epochs):
            delta = (
                -(T - Y) * f.derivative(net) / N
            )  # eq. (delta-signal), one row per set
            W_new = W - lr * np.einsum("sn,snd->sd", delta, X)  # eq. (delta-rule)
            b_new = b - lr * delta.sum(axis=1)
            norm = np.sqrt((W_new**2).sum(axis=1))
            stop = alive & ~(np.isfinite(norm) & (norm <= max_norm))
            runs_for[stop] = e
            alive &= ~stop
            if not alive.any():
                break
            W, b = np.where(alive[:, None], W_new, W), np.where(alive, b_new, b)
            net, Y = forward(W, b)
            Ws.append(W)
            bs.append(b)
            rec.append(record(Y))
    Ws, bs = np.array(Ws), np.array(bs)
    loss, errors = (np.array(v) for v in zip(*rec))
    return [
        DeltaRuleRun(
            Ws[: k + 1, s],
            bs[: k + 1, s],
            loss[: k + 1, s],
            errors[: k + 1, s].astype(np.int64),
            bool(k < epochs),
            lr,
            f,
        )
        for s, k in enumerate(runs_for)
    ]


def lms_stable_lr(X, *, bias=True, reduction="mean"):
    """Largest stable full-batch learning rate of the LMS rule, ``2 / λ_max`` of its
    Hessian.

    The LMS loss is a quadratic bowl in ``(w, b)`` with Hessian ``X̃ᵀX̃ / N`` (mean) or
    ``X̃ᵀX̃`` (sum), ``X̃ = [1, X]`` (or ``X`` with ``bias=False``); chapter 1's bound
    ``η < 2/λ_max`` applies.

    Implements eq. (lms-stability) in chapters/02_perceptron_delta.
    """
    X = as_batch(X, where="lms_stable_lr")
    Xa = np.column_stack([np.ones(len(X)), X]) if bias else X
    H = (
        Xa.T
        @ Xa
        / (
            len(X)
            if check_choice(reduction, ("mean", "sum"), "reduction") == "mean"
            else 1
        )
    )
    return float(2.0 / np.linalg.eigvalsh(H).max())


def as_network(W, b, f="identity"):
    """The layer ``Y = f(X W + b)`` as a :class:`~bookcode.network.Sequential` of
    ``Linear`` and ``Activation`` (copies of ``W`` and ``b``), for gradient checks with
    :mod:`bookcode.gradcheck`.

    Implements the single layer of eq. (delta-gradient) in chapters/02_perceptron_delta.
    """
    from ..layers import Activation, Linear
    from ..network import Sequential

    W = np.array(as_float_array(W, "W", where="as_network"), dtype=np.float64)
    W = W[:, None] if W.ndim == 1 else W
    if W.ndim != 2:
        raise ValueError(
            f"as_network: expected W of shape (n_in, n_out) or (n_in,), got {W.shape}"
        )
    lin = Linear(W.shape[0], W.shape[1], init=W, bias=b is not None)
    if b is not None:
        lin.params["b"][...] = as_float_array(b, "b", where="as_network").reshape(-1)
    return Sequential([lin, Activation(_f(f, "as_network"))])
