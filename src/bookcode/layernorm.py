"""Layer normalization (Ba, Kiros & Hinton 2016) and RMSNorm (Zhang & Sennrich 2019).

Batch normalization normalises each feature (column) over the batch; these two
normalise each example (row) over its own ``n`` features, so the rows never meet. For a
batch ``X`` of shape ``(N, n)`` and one row ``x``::

    LayerNorm:  μ = mean(x),  σ² = mean((x − μ)²),  x̂ = (x − μ) / sqrt(σ² + ε)
                y = γ ∘ x̂ + β
    RMSNorm:    r = sqrt(mean(x²) + ε),  x̂ = x / r,  y = γ ∘ x̂

The projection view: ``x − μ 1 = x P`` with ``P = I − 1 1ᵀ/n``, the orthogonal
projection that removes the component along the all-ones direction ``1``. LayerNorm
projects each row onto the hyperplane ``Σ_j x_j = 0`` and scales it to length
``≈ √n`` (``‖x̂‖² = n σ²/(σ² + ε)``); RMSNorm skips the projection and only scales.
So LayerNorm's output does not change when a row is shifted by a constant (along
``1``) or multiplied by a positive constant, RMSNorm's only under the scaling (both up
to ε). The backward passes are the same projections in reverse: the gradient loses its
component along ``1`` (LayerNorm only) and along ``x̂``, the directions in which moving
the input does not move the output.

Prefer them to BatchNorm when the batch is small or a single example (N = 1 works: the
statistics are the row's own), for sequences and variable-length inputs (each token is
normalised on its own), and whenever inference must compute what training computed:
there are no running statistics, and the ``training`` flag changes nothing. What they
give up is BatchNorm's per-feature standardisation over the data set, and RMSNorm also
the centring.

The functions :func:`layernorm_forward`, :func:`layernorm_backward`,
:func:`rmsnorm_forward` and :func:`rmsnorm_backward` are the bare math (no state), used
by the layers :class:`LayerNorm` and :class:`RMSNorm`.
"""

from __future__ import annotations

import numpy as np

from ._validate import as_float_array, check_positive_float, check_positive_int
from .layers import Layer

__all__ = [
    "LayerNorm",
    "RMSNorm",
    "layernorm_forward",
    "layernorm_backward",
    "rmsnorm_forward",
    "rmsnorm_backward",
]


def layernorm_forward(X, gamma, beta, eps=1e-5):
    """Layer normalization of a batch: every row with its own mean and variance.

    Parameters
    ----------
    X : array-like, shape (N, n)
        Batch, one example per row (``N ≥ 1``, ``n ≥ 1``).
    gamma, beta : array-like, shape (n,)
        Scale and shift, one per feature.
    eps : float
        The ``ε`` added to each row's (biased) variance.

    Returns
    -------
    Y : numpy.ndarray, shape (N, n)
    cache : tuple
        ``(X̂, inv_std, gamma)`` with ``inv_std = 1/sqrt(σ² + ε)`` per row (shapes
        ``(N, n)``, ``(N, 1)``, ``(n,)``), for :func:`layernorm_backward`.

    Implements eqs. (ln-stats), (ln-normalize) and (ln-scale-shift) in
    chapters/12_modern_training.
    """
    X = _batch(X, "layernorm_forward")
    gamma = _vector(gamma, X.shape[1], "gamma", "layernorm_forward")
    beta = _vector(beta, X.shape[1], "beta", "layernorm_forward")
    eps = check_positive_float(eps, "layernorm_forward: eps")
    n = X.shape[1]
    mean_cols = np.full((n, 1), 1.0 / n, dtype=X.dtype)  # (1/n) 1: row means
    Xc = X - X @ mean_cols  # = X P, P = I − 1 1ᵀ/n
    var = (Xc * Xc) @ mean_cols
    inv_std = 1.0 / np.sqrt(var + eps)
    X_hat = Xc * inv_std
    return X_hat * gamma + beta, (X_hat, inv_std, gamma)


def layernorm_backward(dY, cache):
    """Backward pass of :func:`layernorm_forward` in compact matrix form.

    With ``G = dE/dY ∘ γ`` and the row means ``mean_cols``::

        dE/dX = (1/sqrt(σ² + ε)) ∘ (G − mean_cols(G) − X̂ ∘ mean_cols(G ∘ X̂))

    row by row (BatchNorm's formula with rows and columns exchanged), and ``dγ =
    Σ_rows dE/dY ∘ X̂``, ``dβ = Σ_rows dE/dY``. The subtracted terms are the paths
    through the row mean and the row variance: they remove ``G``'s components along
    ``1`` and along ``x̂``.

    Parameters
    ----------
    dY : array-like, shape (N, n)
        ``dE/dY``.
    cache : tuple
        The second return value of :func:`layernorm_forward`.

    Returns
    -------
    dX, dgamma, dbeta : numpy.ndarray
        Shapes ``(N, n)``, ``(n,)``, ``(n,)``.

    Implements eqs. (ln-dgamma-dbeta) and (ln-backward-compact) in
    chapters/12_modern_training.
    """
    X_hat, inv_std, gamma = _unpack(cache, "layernorm", "X_hat, inv_std, gamma")
    dY = _like(dY, X_hat, "layernorm_backward")
    n = X_hat.shape[1]
    mean_cols = np.full((n, 1), 1.0 / n, dtype=X_hat.dtype)
    G = dY * gamma
    dX = inv_std * (G - G @ mean_cols - X_hat * ((G * X_hat) @ mean_cols))
    return dX, np.sum(dY * X_hat, axis=0), dY.sum(axis=0)


def rmsnorm_forward(X, gamma, eps=1e-6):
    """RMS normalization of a batch: every row divided by its root mean square.

    Parameters
    ----------
    X : array-like, shape (N, n)
        Batch, one example per row (``N ≥ 1``, ``n ≥ 1``).
    gamma : array-like, shape (n,)
        Scale, one per feature (RMSNorm has no shift).
    eps : float
        The ``ε`` added to each row's mean square.

    Returns
    -------
    Y : numpy.ndarray, shape (N, n)
    cache : tuple
        ``(X̂, inv_rms, gamma)`` with ``inv_rms = 1/sqrt(mean(x²) + ε)`` per row (shapes
        ``(N, n)``, ``(N, 1)``, ``(n,)``), for :func:`rmsnorm_backward`.

    Implements eq. (rms-normalize) in chapters/12_modern_training.
    """
    X = _batch(X, "rmsnorm_forward")
    gamma = _vector(gamma, X.shape[1], "gamma", "rmsnorm_forward")
    eps = check_positive_float(eps, "rmsnorm_forward: eps")
    n = X.shape[1]
    mean_cols = np.full((n, 1), 1.0 / n, dtype=X.dtype)
    inv_rms = 1.0 / np.sqrt((X * X) @ mean_cols + eps)
    X_hat = X * inv_rms
    return X_hat * gamma, (X_hat, inv_rms, gamma)


def rmsnorm_backward(dY, cache):
    """Backward pass of :func:`rmsnorm_forward` in compact matrix form.

    With ``r = sqrt(mean(x²) + ε)``, ``x̂ = x/r`` and ``G = dE/dY ∘ γ``, row by row::

        dE/dX = (1/r) (G − x̂ ∘ mean_cols(G ∘ x̂)),   dγ = Σ_rows dE/dY ∘ x̂

    (from ``∂x̂_i/∂x_j = (δ_ij − x̂_i x̂_j / n) / r``): LayerNorm's formula without the
    mean term, since nothing was centred.

    Parameters
    ----------
    dY : array-like, shape (N, n)
        ``dE/dY``.
    cache : tuple
        The second return value of :func:`rmsnorm_forward`.

    Returns
    -------
    dX, dgamma : numpy.ndarray
        Shapes ``(N, n)``, ``(n,)``.

    Implements eq. (rms-backward-compact) in chapters/12_modern_training.
    """
    X_hat, inv_rms, gamma = _unpack(cache, "rmsnorm", "X_hat, inv_rms, gamma")
    dY = _like(dY, X_hat, "rmsnorm_backward")
    n = X_hat.shape[1]
    G = dY * gamma
    mean_cols = np.full((n, 1), 1.0 / n, dtype=X_hat.dtype)
    dX = inv_rms * (G - X_hat * ((G * X_hat) @ mean_cols))
    return dX, np.sum(dY * X_hat, axis=0)


class LayerNorm(Layer):
    """Layer normalization for ``(N, n_features)`` batches: each row on its own.

    Parameters
    ----------
    n_features : int
        Number of features (columns) ``n``; ``gamma`` (ones) and ``beta`` (zeros) have
        shape ``(n,)``.
    eps : float, default 1e-5
        Added to each row's variance before the square root (keeps a constant row
        finite).
    dtype : numpy dtype, default float64

    Notes
    -----
    No running statistics: training and inference compute the same function, and a
    batch of one row works (BatchNorm's training mode refuses it).

    Implements eqs. (ln-normalize) and (ln-backward-compact) in
    chapters/12_modern_training.
    """

    def __init__(self, n_features, *, eps=1e-5, dtype=np.float64):
        super().__init__()
        self.n_features = check_positive_int(n_features, "LayerNorm: n_features")
        self.eps = check_positive_float(eps, "LayerNorm: eps")
        dtype = _float_dtype(dtype, "LayerNorm")
        self.params["gamma"] = np.ones(self.n_features, dtype=dtype)
        self.params["beta"] = np.zeros(self.n_features, dtype=dtype)
        self.zero_grad()

    @property
    def gamma(self):
        return self.params["gamma"]

    @property
    def beta(self):
        return self.params["beta"]

    def forward(self, X):
        X = _layer_batch(X, self.n_features, f"LayerNorm({self.n_features})")
        gamma, beta = self.params["gamma"], self.params["beta"]
        Y, self._cache = layernorm_forward(X, gamma, beta, self.eps)
        return Y

    def backward(self, dY):
        cache = self._need_cache()
        dY = self._check_dY(dY, cache[0].shape)
        dX, self.grads["gamma"], self.grads["beta"] = layernorm_backward(dY, cache)
        return dX

    def __repr__(self):
        return f"LayerNorm({self.n_features}, eps={self.eps:g})"


class RMSNorm(Layer):
    """RMS normalization for ``(N, n_features)`` batches: each row divided by its root
    mean square, then scaled.

    Parameters
    ----------
    n_features : int
        Number of features (columns) ``n``; ``gamma`` (ones) has shape ``(n,)``. There
        is no ``beta``.
    eps : float, default 1e-6
        Added to each row's mean square before the square root.
    dtype : numpy dtype, default float64

    Notes
    -----
    Cheaper than LayerNorm (no mean, no shift): Zhang & Sennrich (2019) report the
    same accuracy in less time and argue that the invariance to re-scaling, not to
    re-centring, is what helps. The same in training and inference; a batch of one row
    works.

    Implements eqs. (rms-normalize) and (rms-backward-compact) in
    chapters/12_modern_training.
    """

    def __init__(self, n_features, *, eps=1e-6, dtype=np.float64):
        super().__init__()
        self.n_features = check_positive_int(n_features, "RMSNorm: n_features")
        self.eps = check_positive_float(eps, "RMSNorm: eps")
        dtype = _float_dtype(dtype, "RMSNorm")
        self.params["gamma"] = np.ones(self.n_features, dtype=dtype)
        self.zero_grad()

    @property
    def gamma(self):
        return self.params["gamma"]

    def forward(self, X):
        X = _layer_batch(X, self.n_features, f"RMSNorm({self.n_features})")
        Y, self._cache = rmsnorm_forward(X, self.params["gamma"], self.eps)
        return Y

    def backward(self, dY):
        cache = self._need_cache()
        dY = self._check_dY(dY, cache[0].shape)
        dX, self.grads["gamma"] = rmsnorm_backward(dY, cache)
        return dX

    def __repr__(self):
        return f"RMSNorm({self.n_features}, eps={self.eps:g})"


def _batch(X, where):
    X = as_float_array(X, "X", where=where, allow_nonfinite=True)
    if X.ndim != 2 or 0 in X.shape:
        raise ValueError(
            f"{where}: expected X as a batch of shape (N, n) with N >= 1 and n >= 1 "
            f"(one example per row), got shape {X.shape}"
        )
    return X


def _layer_batch(X, n, where):
    X = as_float_array(X, "X", where=where, allow_nonfinite=True)
    if X.ndim == 2 and X.shape[1] == n and X.shape[0] > 0:
        return X
    if X.ndim == 1:
        hint = " (one example per row: a single example x is x[None, :])"
    elif X.ndim == 2 and X.shape[1] == n:
        hint = " (an empty batch; expected N >= 1)"
    else:
        hint = ""
    raise ValueError(f"{where}: expected X of shape (N, {n}), got {X.shape}{hint}")


def _vector(v, n, name, where):
    v = as_float_array(v, name, where=where, allow_nonfinite=True)
    if v.shape != (n,):
        raise ValueError(
            f"{where}: expected {name} of shape {(n,)} (one per feature), got {v.shape}"
        )
    return v


def _unpack(cache, name, fields):
    if not (isinstance(cache, tuple) and len(cache) == 3):
        raise TypeError(
            f"{name}_backward: expected the cache ({fields}) returned by "
            f"{name}_forward, got {type(cache).__name__}"
        )
    return cache


def _like(dY, X_hat, where):
    dY = as_float_array(dY, "dY", where=where, allow_nonfinite=True)
    if dY.shape != X_hat.shape:
        raise ValueError(f"{where}: expected dY of shape {X_hat.shape}, got {dY.shape}")
    return dY


def _float_dtype(dtype, where):
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"{where}: expected a floating dtype, got {dtype}")
    return dtype
