"""Loss functions ``E(Y, T)`` and their gradients ``dE/dY``.

Plain functions give the value, for reading and teaching: ``half_sse(y, t)``, ``mse(y,
t)``, ``binary_cross_entropy(z, t)``, ``softmax_cross_entropy(z, t)``. Loss objects from
``get(name)`` have ``value(Y, T)`` (a float) and ``grad(Y, T)`` (``dE/dY``, shape and
dtype of ``Y``), which is where backprop starts.

The two cross-entropies are *fused* with their output activation: ``Y`` holds logits
``z`` (the output of the last Linear layer), and the sigmoid/softmax lives inside the
loss. That makes the value stable for any finite logits and the gradient the simple
``prediction - target``. There is deliberately no version that takes probabilities: with
saturated probabilities it must either return ``log 0 = -inf`` or clip, and clipping
silently zeroes the gradient exactly when a prediction is confidently wrong. Chapter 04
shows that failure with the naive formula.

``Y`` and ``T`` must be finite: a NaN loss should fail loudly where it starts.
"""

from __future__ import annotations

import numpy as np

from . import activations as _act
from ._validate import as_float_array, check_name, check_positive_int

__all__ = [
    "half_sse",
    "mse",
    "binary_cross_entropy",
    "softmax_cross_entropy",
    "one_hot",
    "Loss",
    "HalfSSE",
    "MSE",
    "BinaryCrossEntropy",
    "SoftmaxCrossEntropy",
    "get",
    "available",
]


def _pair(Y, T, where, y_name="Y"):
    """``Y`` and ``T`` as finite float arrays of the same, non-empty shape."""
    Y = as_float_array(Y, y_name, where=where)
    T = as_float_array(T, "T", where=where)
    if Y.shape != T.shape:
        raise ValueError(
            f"{where}: expected T with the shape of {y_name} {Y.shape}, got {T.shape} "
            f"(no broadcasting: reshape T, e.g. T.reshape({Y.shape}))"
        )
    if Y.size == 0:
        raise ValueError(f"{where}: {y_name} is empty (shape {Y.shape})")
    return Y, T


def _labels(labels, n_classes, where):
    """Integer class labels of shape (N,) with values in [0, n_classes)."""
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise TypeError(
            f"{where}: expected integer class labels, got dtype {labels.dtype} (use "
            "labels.astype(int))"
        )
    if labels.ndim != 1:
        raise ValueError(
            f"{where}: expected labels of shape (N,), got shape {labels.shape}"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(
            f"{where}: labels must lie in [0, {n_classes}), got values from "
            f"{labels.min()} to {labels.max()}"
        )
    return labels


def one_hot(labels, n_classes):
    """Rows of the identity: ``one_hot(labels, K)[n, k] = 1`` if ``labels[n] == k`` else
    0.

    Parameters
    ----------
    labels : array_like of int, shape (N,)
        Class indices in ``[0, n_classes)``.
    n_classes : int
        ``K``, the number of classes.

    Returns
    -------
    ndarray of float64, shape (N, K)

    Implements the one-hot targets of eq. (softmax-ce) in chapters/04_activations.
    """
    n_classes = check_positive_int(n_classes, "n_classes")
    labels = _labels(labels, n_classes, "one_hot")
    out = np.zeros((labels.size, n_classes))
    out[np.arange(labels.size), labels] = 1.0
    return out


def _bce_pair(z, t, where):
    z, t = _pair(z, t, where, y_name="Y (logits)")
    if np.any((t < 0) | (t > 1)):
        raise ValueError(
            f"{where}: targets T must lie in [0, 1], got values from {t.min()} to "
            f"{t.max()}"
        )
    return z, t


def _ce_pair(z, t, where):
    """Logits ``z`` (N, K) and the targets as probability rows (N, K)."""
    z = as_float_array(z, "Y (logits)", where=where)
    if z.ndim != 2 or 0 in z.shape:
        raise ValueError(
            f"{where}: expected Y (logits) of shape (N, K) with N, K >= 1, got shape "
            f"{z.shape}"
        )
    t = np.asarray(t)
    if t.ndim == 1:
        return z, one_hot(_labels(t, z.shape[1], where), z.shape[1])
    t = as_float_array(t, "T", where=where)
    if t.shape != z.shape:
        raise ValueError(
            f"{where}: expected T as integer labels of shape ({z.shape[0]},) or as "
            f"probability rows of the shape of Y {z.shape}, got shape {t.shape}"
        )
    tol = np.sqrt(np.finfo(t.dtype).eps)
    if np.any((t < 0) | (t > 1)) or not np.allclose(t.sum(axis=1), 1, rtol=0, atol=tol):
        raise ValueError(
            f"{where}: rows of T must be probabilities (entries in [0, 1], each row "
            "summing to 1)"
        )
    return z, t


def half_sse(y, t):
    r"""Half the sum of squared errors, :math:`E = \tfrac12 \sum_{n,k} (t_{nk} -
    y_{nk})^2`.

    Summed (not averaged) over the batch, as in many texts; :math:`\partial
    E/\partial y = y - t`.

    Implements eq. (delta-error) in chapters/02_perceptron_delta.
    """
    y, t = _pair(y, t, "half_sse")
    return float(0.5 * np.sum((t - y) ** 2))


def mse(y, t):
    r"""Mean squared error over all entries, :math:`E = \frac{1}{S} \sum (y - t)^2`, S =
    ``y.size``.

    The convention of PyTorch's ``MSELoss``; :math:`\partial E/\partial y = 2 (y - t) /
    S`.

    Implements eq. (mse) in chapters/04_activations.
    """
    y, t = _pair(y, t, "mse")
    return float(np.mean((y - t) ** 2))


def binary_cross_entropy(z, t):
    r"""Binary cross-entropy of the sigmoid of logits ``z`` against targets ``t`` in [0,
    1].

    With :math:`p = \sigma(z)`, :math:`-[t \log p + (1 - t)\log(1 - p)] =
    \mathrm{softplus}(z) - t z`, averaged over all entries (``z`` of shape (N,) or (N,
    1)). Stable for any finite ``z``; :math:`\partial E/\partial z = (\sigma(z) - t) /
    S`.

    Implements eq. (bce) in chapters/04_activations.
    """
    z, t = _bce_pair(z, t, "binary_cross_entropy")
    return float(np.mean(_act.softplus(z) - t * z))


def softmax_cross_entropy(z, t):
    r"""Cross-entropy of the softmax of logits ``z`` (N, K), averaged over the N rows.

    :math:`E = \frac1N \sum_n \big(\log\sum_k e^{z_{nk}} - \sum_k t_{nk} z_{nk}\big)`,
    which is :math:`-\frac1N\sum_n \sum_k t_{nk} \log \mathrm{softmax}(z_n)_k` for
    probability rows ``t``. ``t`` is either integer labels (N,) in [0, K) or probability
    rows (N, K), e.g. one-hot. :math:`\partial E/\partial z = (\mathrm{softmax}(z) - t)
    / N`.

    Implements eq. (softmax-ce) in chapters/04_activations.
    """
    z, t = _ce_pair(z, t, "softmax_cross_entropy")
    return float(np.mean(_act.logsumexp(z, axis=1) - np.sum(t * z, axis=1)))


class Loss:
    """A loss ``E(Y, T)``: ``value(Y, T)`` is a float, ``grad(Y, T)`` is ``dE/dY``
    (shape, dtype of Y).

    Subclasses set ``name`` and ``_value`` and implement ``grad``.

    Implements the start of backprop, eq. (backprop-output) in chapters/03_backprop.
    """

    name = "loss"
    _value = None

    def value(self, Y, T):
        """The loss, a Python float."""
        return self._value(Y, T)

    def __call__(self, Y, T):
        return self.value(Y, T)

    def grad(self, Y, T):  # pragma: no cover - interface
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}()"


class HalfSSE(Loss):
    """``E = ½ Σ (t - y)²`` over the batch, ``dE/dY = Y - T``. Implements eq.
    (delta-error) in chapters/02_perceptron_delta."""

    name, _value = "half_sse", staticmethod(half_sse)

    def grad(self, Y, T):
        Y, T = _pair(Y, T, "half_sse.grad")
        return (Y - T).astype(Y.dtype, copy=False)


class MSE(Loss):
    """``E = mean((y - t)²)``, ``dE/dY = 2 (Y - T) / Y.size``. Implements eq. (mse) in
    chapters/04_activations."""

    name, _value = "mse", staticmethod(mse)

    def grad(self, Y, T):
        Y, T = _pair(Y, T, "mse.grad")
        return (2 * (Y - T) / Y.size).astype(Y.dtype, copy=False)


class BinaryCrossEntropy(Loss):
    """Sigmoid + binary cross-entropy on logits, ``dE/dZ = (σ(Z) - T) / Z.size``.
    Implements eq. (bce) in chapters/04_activations."""

    name, _value = "binary_cross_entropy", staticmethod(binary_cross_entropy)

    def grad(self, Y, T):
        Y, T = _bce_pair(Y, T, "binary_cross_entropy.grad")
        return ((_act.sigmoid(Y) - T) / Y.size).astype(Y.dtype, copy=False)


class SoftmaxCrossEntropy(Loss):
    """Softmax + cross-entropy on logits, ``dE/dZ = (softmax(Z) - T) / N``. Implements
    eq. (softmax-ce) in chapters/04_activations."""

    name, _value = "softmax_cross_entropy", staticmethod(softmax_cross_entropy)

    def grad(self, Y, T):
        Y, T = _ce_pair(Y, T, "softmax_cross_entropy.grad")
        return ((_act.softmax(Y) - T) / Y.shape[0]).astype(Y.dtype, copy=False)


_REGISTRY = {
    cls.name: cls for cls in (HalfSSE, MSE, BinaryCrossEntropy, SoftmaxCrossEntropy)
}
_ALIASES = {
    "bce": "binary_cross_entropy",
    "cross_entropy": "softmax_cross_entropy",
    "ce": "softmax_cross_entropy",
    "mean_squared_error": "mse",
}


def get(name):
    """Return the loss object called ``name`` (case-insensitive; aliases "bce",
    "cross_entropy", "ce").

    A :class:`Loss` instance is returned as it is; an unknown name raises ``ValueError``
    listing :func:`available`.

    Implements the output-layer/loss pairs of chapters/04_activations.
    """
    if isinstance(name, Loss):
        return name
    return _REGISTRY[check_name(name, tuple(_REGISTRY), "loss", _ALIASES)]()


def available():
    """Names of the losses known to :func:`get`.

    Implements the output-layer/loss pairs of chapters/04_activations.
    """
    return list(_REGISTRY)
