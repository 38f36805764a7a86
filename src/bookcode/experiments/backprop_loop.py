"""Backpropagation for a two-layer network, one example and one weight at a time.

This is the algebraic form of the derivation in chapters/03_backprop, written as
explicit Python loops over examples ``n``, inputs ``i``, hidden units ``j`` and outputs
``k``, with plain ``float`` arithmetic. It exists only to be compared with the matrix
form (:class:`bookcode.layers.Linear`, :class:`bookcode.layers.Activation`,
:class:`bookcode.network.Sequential`): the two must give the same numbers, and the loops
show why nobody trains networks this way.

The network is ``net¹_j = Σ_i x_i W¹_ij + b¹_j``, ``y¹_j = f₁(net¹_j)``, ``net²_k = Σ_j
y¹_j W²_jk + b²_k``, ``y²_k = f₂(net²_k)`` with ``q`` outputs, and the loss is
``E = Σ_n ½ Σ_k (t_nk − y²_nk)²`` (summed over the batch), or that sum divided by ``N``
with ``average=True``. Gradients use the book's sign: they are ``∂E/∂W`` (texts that
write the update ``ΔW`` mean ``−η ∂E/∂W``).
"""

from __future__ import annotations

import math

import numpy as np

from .._validate import as_batch, as_float_array, check_name

__all__ = ["SCALAR_ACTIVATIONS", "forward_loop", "gradients_loop"]


def _sigmoid(x):
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)  # x < 0: exp cannot overflow
    return e / (1.0 + e)


#: name -> (f(x), f'(x) written in terms of y = f(x)), on Python floats.
SCALAR_ACTIVATIONS = {
    "sigmoid": (_sigmoid, lambda y: y * (1.0 - y)),
    "tanh": (math.tanh, lambda y: 1.0 - y * y),
    "identity": (lambda x: x, lambda y: 1.0),
}


def _check(X, W1, b1, W2, b2, hidden, output, where):
    X = as_batch(X, None, where=where)
    W1 = as_float_array(W1, "W1", where=where)
    W2 = as_float_array(W2, "W2", where=where)
    b1 = as_float_array(b1, "b1", where=where)
    b2 = as_float_array(b2, "b2", where=where)
    if W1.ndim != 2 or W1.shape[0] != X.shape[1]:
        raise ValueError(
            f"{where}: expected W1 of shape ({X.shape[1]}, n_hidden) for X with "
            f"{X.shape[1]} columns, got {W1.shape}"
        )
    if W2.ndim != 2 or W2.shape[0] != W1.shape[1]:
        raise ValueError(
            f"{where}: expected W2 of shape ({W1.shape[1]}, n_out), got {W2.shape}"
        )
    if b1.shape != (W1.shape[1],) or b2.shape != (W2.shape[1],):
        raise ValueError(
            f"{where}: expected b1 of shape ({W1.shape[1]},) and b2 of shape "
            f"({W2.shape[1]},), got {b1.shape} and {b2.shape}"
        )
    known = tuple(SCALAR_ACTIVATIONS)
    hidden = check_name(hidden, known, "activation (element-wise, for the loop form)")
    output = check_name(output, known, "activation (element-wise, for the loop form)")
    return X, W1, b1, W2, b2, hidden, output


def forward_loop(x, W1, b1, W2, b2, hidden="sigmoid", output="sigmoid"):
    """Run one example through the two-layer network, one unit at a time.

    Parameters
    ----------
    x : array_like, shape (n,)
        One example.
    W1, b1, W2, b2 : arrays of shapes (n, m), (m,), (m, q), (q,)
    hidden, output : {"sigmoid", "tanh", "identity"}

    Returns
    -------
    net1, y1, net2, y2 : lists of float
        Net inputs and outputs of the ``m`` hidden and the ``q`` output units.

    Implements eq. (bp-two-forward) in chapters/03_backprop.
    """
    x = np.asarray(x)
    if x.ndim != 1:
        raise ValueError(
            f"forward_loop: expected one example x of shape (n,), got shape {x.shape}"
        )
    X, W1, b1, W2, b2, hidden, output = _check(
        x[None, :], W1, b1, W2, b2, hidden, output, "forward_loop"
    )
    return _forward(
        X[0].tolist(),
        W1.tolist(),
        b1.tolist(),
        W2.tolist(),
        b2.tolist(),
        SCALAR_ACTIVATIONS[hidden][0],
        SCALAR_ACTIVATIONS[output][0],
    )


def _forward(x, W1, b1, W2, b2, f1, f2):
    n, m, q = len(x), len(b1), len(b2)
    net1 = [b1[j] + sum(x[i] * W1[i][j] for i in range(n)) for j in range(m)]
    y1 = [f1(v) for v in net1]
    net2 = [b2[k] + sum(y1[j] * W2[j][k] for j in range(m)) for k in range(q)]
    y2 = [f2(v) for v in net2]
    return net1, y1, net2, y2


def gradients_loop(
    X, T, W1, b1, W2, b2, hidden="sigmoid", output="sigmoid", average=False
):
    """Loss and gradients of the two-layer network by per-example, per-weight loops.

    For each example: the output learning signals ``δ²_k = (y²_k − t_k) f₂'(net²_k)``,
    the hidden ones ``δ¹_j = (Σ_k δ²_k W²_jk) f₁'(net¹_j)``, then ``∂E/∂W²_jk += δ²_k
    y¹_j``, ``∂E/∂b²_k += δ²_k``, ``∂E/∂W¹_ij += δ¹_j x_i``, ``∂E/∂b¹_j += δ¹_j``.

    Parameters
    ----------
    X : array_like, shape (N, n)
    T : array_like, shape (N, q)
        Targets.
    W1, b1, W2, b2 : arrays of shapes (n, m), (m,), (m, q), (q,)
    hidden, output : {"sigmoid", "tanh", "identity"}
        Activations of the hidden and output layers (the classic derivation: sigmoid for
        both).
    average : bool, default False
        False: ``E = Σ_n ½‖t_n − y_n‖²`` as in chapter 3; True: that sum divided by
        ``N``.

    Returns
    -------
    E : float
    grads : dict
        ``{"W1", "b1", "W2", "b2"}``: arrays of ``∂E/∂·`` with the parameters' shapes.

    Implements eqs. (bp-two-error), (bp-out-delta), (bp-out-grad), (bp-hid-delta) and
    (bp-hid-grad) in chapters/03_backprop.
    """
    X, W1, b1, W2, b2, hidden, output = _check(
        X, W1, b1, W2, b2, hidden, output, "gradients_loop"
    )
    T = as_float_array(T, "T", where="gradients_loop")
    if T.shape != (X.shape[0], W2.shape[1]):
        raise ValueError(
            f"gradients_loop: expected T of shape {(X.shape[0], W2.shape[1])}, got "
            f"{T.shape}"
        )
    if not isinstance(average, bool):
        raise TypeError(
            f"gradients_loop: average must be True or False, got {average!r}"
        )
    f1, df1 = SCALAR_ACTIVATIONS[hidden]
    f2, df2 = SCALAR_ACTIVATIONS[output]
    W1, b1, W2, b2 = W1.tolist(), b1.tolist(), W2.tolist(), b2.tolist()
    n, m, q = len(W1), len(b1), len(b2)
    N = X.shape[0]
    scale = 1.0 / N if average else 1.0
    gW1 = [[0.0] * m for _ in range(n)]
    gW2 = [[0.0] * q for _ in range(m)]
    gb1, gb2 = [0.0] * m, [0.0] * q
    E = 0.0
    for x, t in zip(X.tolist(), T.tolist()):
        net1, y1, net2, y2 = _forward(x, W1, b1, W2, b2, f1, f2)
        E += scale * 0.5 * sum((t[k] - y2[k]) ** 2 for k in range(q))
        d2 = [scale * (y2[k] - t[k]) * df2(y2[k]) for k in range(q)]  # δ²_k
        d1 = [
            sum(d2[k] * W2[j][k] for k in range(q)) * df1(y1[j]) for j in range(m)
        ]  # δ¹_j
        for j in range(m):
            for k in range(q):
                gW2[j][k] += d2[k] * y1[j]
        for k in range(q):
            gb2[k] += d2[k]
        for i in range(n):
            for j in range(m):
                gW1[i][j] += d1[j] * x[i]
        for j in range(m):
            gb1[j] += d1[j]
    grads = {
        "W1": np.array(gW1),
        "b1": np.array(gb1),
        "W2": np.array(gW2),
        "b2": np.array(gb2),
    }
    return E, grads
