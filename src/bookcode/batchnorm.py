"""Batch normalization (Ioffe & Szegedy 2015) as a layer of the Layer protocol.

For a batch ``X`` of shape ``(N, n)`` (one example per row), each feature (column) ``j``
is normalised with the statistics of the batch and then scaled and shifted by learned
``γ_j``, ``β_j``::

    μ = mean over rows of X,   σ² = mean over rows of (X − μ)²   (biased: divide by N)
    X̂ = (X − μ) / sqrt(σ² + ε),   Y = X̂ ∘ γ + β

In training mode the layer uses the batch statistics and keeps exponential running
averages of ``μ`` and of the *unbiased* variance ``σ² N/(N−1)`` (the paper's inference
statistics, and what PyTorch stores in ``running_var``); in eval mode it uses those
running averages, so the output of one example no longer depends on the rest of the
batch.

The functions :func:`batchnorm_forward` and :func:`batchnorm_backward` are the bare math
(no state), shared by the layer, the chapter and the exercise checker.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._validate import (
    as_batch,
    as_float_array,
    check_positive_float,
    check_positive_int,
)
from .layers import Layer

__all__ = ["BatchNorm", "batchnorm_forward", "batchnorm_backward"]


def batchnorm_forward(X, gamma, beta, eps=1e-5):
    """Training-mode batch normalization of a batch, with batch statistics.

    Parameters
    ----------
    X : array-like, shape (N, n)
        Batch, one example per row (``N ≥ 1``; with ``N = 1`` every ``X̂`` is 0 and ``Y
        = β``). A stack of independent batches ``(..., N, n)`` is normalised batch by
        batch.
    gamma, beta : array-like, shape (n,)
        Scale and shift (shape ``(..., n)`` for a stack).
    eps : float
        The ``ε`` added to the variance.

    Returns
    -------
    Y : numpy.ndarray, shape (N, n)
    cache : tuple
        ``(X̂, inv_std, gamma)`` with ``inv_std = 1/sqrt(σ² + ε)`` (shapes ``(..., N,
        n)``, ``(..., 1, n)``, ``(..., 1, n)``), for :func:`batchnorm_backward`.

    Implements eqs. (bn-mean), (bn-var), (bn-normalize) and (bn-scale-shift) in
    chapters/08_batchnorm.
    """
    X = as_float_array(X, "X", where="batchnorm_forward", allow_nonfinite=True)
    if X.ndim < 2 or X.shape[-2] == 0:
        raise ValueError(
            "batchnorm_forward: expected X as a batch of shape (N, n) with N >= 1 (or "
            f"a stack (..., N, n)), got shape {X.shape}"
        )
    shape = X.shape[:-2] + X.shape[-1:]
    gamma = _vector(gamma, shape, "gamma", "batchnorm_forward")[..., None, :]
    beta = _vector(beta, shape, "beta", "batchnorm_forward")[..., None, :]
    eps = check_positive_float(eps, "batchnorm_forward: eps")
    N = X.shape[-2]
    mean_rows = np.full((1, N), 1.0 / N)  # (1/N) 1ᵀ: column means as one product
    mu = mean_rows @ X
    Xc = X - mu
    var = mean_rows @ (Xc * Xc)
    inv_std = 1.0 / np.sqrt(var + eps)
    X_hat = Xc * inv_std
    return X_hat * gamma + beta, (X_hat, inv_std, gamma)


def batchnorm_backward(dY, cache):
    """Backward pass of :func:`batchnorm_forward` in compact matrix form.

    With ``G = dE/dY``, ``dγ = Σ_rows G ∘ X̂``, ``dβ = Σ_rows G`` and::

        dE/dX = (γ / sqrt(σ² + ε)) ∘ (G − mean_rows(G) − X̂ ∘ mean_rows(G ∘ X̂))

    The two subtracted terms are the paths through the batch mean and the batch
    variance.

    Parameters
    ----------
    dY : array-like, shape (N, n)
        ``dE/dY``.
    cache : tuple
        The second return value of :func:`batchnorm_forward`.

    Returns
    -------
    dX, dgamma, dbeta : numpy.ndarray
        Shapes ``(N, n)``, ``(n,)``, ``(n,)`` (``(..., N, n)``, ``(..., n)``, ``(...,
        n)`` for a stack).

    Implements eqs. (bn-dgamma-dbeta) and (bn-backward-compact) in
    chapters/08_batchnorm.
    """
    if not (isinstance(cache, tuple) and len(cache) == 3):
        raise TypeError(
            "batchnorm_backward: expected the cache (X_hat, inv_std, gamma) returned "
            "by batchnorm_forward"
        )
    X_hat, inv_std, gamma = cache
    G = as_float_array(dY, "dY", where="batchnorm_backward", allow_nonfinite=True)
    if G.shape != X_hat.shape:
        raise ValueError(
            f"batchnorm_backward: expected dY of shape {X_hat.shape}, got {G.shape}"
        )
    N = G.shape[-2]
    sum_rows = np.ones((1, N))  # 1ᵀ: column sums as one product
    dbeta = sum_rows @ G
    dgamma = sum_rows @ (G * X_hat)
    dX = (gamma * inv_std) * (G - dbeta / N - X_hat * (dgamma / N))
    return dX, dgamma[..., 0, :], dbeta[..., 0, :]


class BatchNorm(Layer):
    """Batch normalization layer for ``(N, n_features)`` batches.

    Parameters
    ----------
    n_features : int
        Number of features (columns) ``n``; ``gamma`` (ones) and ``beta`` (zeros) have
        shape ``(n,)``.
    eps : float, default 1e-5
        Added to the variance before the square root (keeps a constant feature finite).
    momentum : float in (0, 1], default 0.1
        Running averages are updated as ``r ← (1 − momentum) r + momentum · batch
        statistic``.
    dtype : numpy dtype, default float64

    Attributes
    ----------
    running_mean, running_var : numpy.ndarray, shape (n,)
        Start at 0 and 1; ``running_var`` averages the unbiased batch variance ``σ²
        N/(N−1)``.
    training : bool
        ``True``: normalise with batch statistics (``N ≥ 2`` required) and update the
        running averages. ``False`` (after ``Sequential.eval()``): normalise with the
        running averages.

    Implements eqs. (bn-normalize), (bn-backward-compact) and (bn-running) in
    chapters/08_batchnorm.
    """

    def __init__(self, n_features, *, eps=1e-5, momentum=0.1, dtype=np.float64):
        super().__init__()
        self.n_features = check_positive_int(n_features, "BatchNorm: n_features")
        self.eps = check_positive_float(eps, "BatchNorm: eps")
        if (
            isinstance(momentum, bool)
            or not isinstance(momentum, numbers.Real)
            or not 0.0 < momentum <= 1.0
        ):
            raise ValueError(
                f"BatchNorm: momentum must be a number in (0, 1], got {momentum!r}"
            )
        self.momentum = float(momentum)
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"BatchNorm: expected a floating dtype, got {dtype}")
        self.params["gamma"] = np.ones(self.n_features, dtype=dtype)
        self.params["beta"] = np.zeros(self.n_features, dtype=dtype)
        self.running_mean = np.zeros(self.n_features, dtype=dtype)
        self.running_var = np.ones(self.n_features, dtype=dtype)
        self.zero_grad()

    @property
    def gamma(self):
        return self.params["gamma"]

    @property
    def beta(self):
        return self.params["beta"]

    def forward(self, X):
        X = as_batch(
            X, self.n_features, where="BatchNorm.forward", allow_nonfinite=True
        )
        gamma, beta = self.params["gamma"], self.params["beta"]
        if self.training:
            N = X.shape[0]
            if N < 2:
                raise ValueError(
                    "BatchNorm.forward: training mode needs a batch of at least 2 "
                    "rows, got 1 (with one example X̂ = 0 and the output is β whatever "
                    "the input); use eval mode (Sequential.eval()) for single examples"
                )
            Y, cache = batchnorm_forward(X, gamma, beta, self.eps)
            mu = X.mean(axis=0)
            var_unbiased = np.var(X, axis=0, ddof=1)
            m = self.momentum
            self.running_mean = (1.0 - m) * self.running_mean + m * mu
            self.running_var = (1.0 - m) * self.running_var + m * var_unbiased
        else:
            inv_std = 1.0 / np.sqrt(self.running_var + self.eps)
            X_hat = (X - self.running_mean) * inv_std
            Y = X_hat * gamma + beta
            cache = (X_hat, inv_std, gamma)
        self._cache = (cache, bool(self.training))
        return Y

    def backward(self, dY):
        cache, was_training = self._need_cache()
        X_hat, inv_std, gamma = cache
        G = self._check_dY(dY, X_hat.shape)
        if was_training:
            dX, dgamma, dbeta = batchnorm_backward(G, cache)
        else:  # fixed statistics: an affine map per feature
            dgamma, dbeta = np.sum(G * X_hat, axis=0), G.sum(axis=0)
            dX = G * (gamma * inv_std)
        self.grads["gamma"] = dgamma
        self.grads["beta"] = dbeta
        return dX

    def __repr__(self):
        n, eps, momentum = self.n_features, self.eps, self.momentum
        return f"BatchNorm({n}, eps={eps:g}, momentum={momentum:g})"


def _vector(v, shape, name, where):
    v = as_float_array(v, name, where=where, allow_nonfinite=True)
    if v.shape != shape:
        raise ValueError(
            f"{where}: expected {name} of shape {shape} (one per feature), got "
            f"{v.shape}"
        )
    return v
