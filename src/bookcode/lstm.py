"""The LSTM layer (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al.
2000) and its backpropagation through time.

For a batch of sequences ``X`` of shape ``(N, T, n_in)`` (as in
:mod:`bookcode.recurrent`), with row vectors and ``σ`` the sigmoid::

    z_t = x_t W_x + h_{t-1} W_h + b                      (N, 4 n): four blocks
    i_t = σ(z_i),  f_t = σ(z_f),  g_t = tanh(z_g),  o_t = σ(z_o)
    c_t = f_t ∘ c_{t-1} + i_t ∘ g_t
    h_t = o_t ∘ tanh(c_t)

The four blocks of the stacked parameters ``W_x`` ``(n_in, 4n)``, ``W_h`` ``(n, 4n)``
and ``b`` ``(4n,)`` are in the order **i, f, g, o** (input gate, forget gate,
candidate, output gate): columns ``[0, n)``, ``[n, 2n)``, ``[2n, 3n)``, ``[3n, 4n)``.

Backward runs through both states. The cell state's own path is the point of the
design: ``∂c_t/∂c_{t-1} = diag(f_t)``, so ``∂E/∂c_{t-1} = ∂E/∂c_t ∘ f_t + …`` (the
other terms go through ``h``). With the forget gate open (``f_t ≈ 1``) the gradient
crosses many steps unchanged, where a simple RNN multiplies it by ``W_hᵀ`` every step.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from . import init as _init
from ._validate import check_positive_int
from .layers import Layer
from .recurrent import (
    _generator,
    _matrix,
    _sequences,
    _state,
    _sum_outer,
    random_orthogonal,
)

__all__ = ["LSTM", "GATES"]

#: Order of the four blocks in the stacked parameters (and the keys of ``LSTM.gates``).
GATES = ("i", "f", "g", "o")


class LSTM(Layer):
    """Long short-term memory layer on batches of sequences; returns every ``h_t``.

    Parameters
    ----------
    n_in, n_hidden : int
        Features per step and size ``n`` of the hidden and cell states. Parameters:
        ``W_x`` ``(n_in, 4n)``, ``W_h`` ``(n, 4n)``, ``b`` ``(4n,)``, blocks in the
        order i, f, g, o (see :data:`GATES` and the module docstring).
    rng : numpy.random.Generator or int
        Seed of the random weights; required unless both ``W_x`` and ``W_h`` are given.
    forget_bias : float, default 1.0
        Initial bias of the forget gate (the other biases start at 0): ``σ(1) ≈ 0.73``
        lets the cell remember from the start (Gers et al. 2000).
    h0, c0 : array-like, shape (n_hidden,) or (N, n_hidden), optional
        Initial hidden and cell states (attributes ``h0``, ``c0``); default zeros.
    W_x, W_h : array-like, optional
        Explicit initial weights (copied). By default ``W_x`` is normal with variance
        ``1/n_in`` and each of the four ``n × n`` blocks of ``W_h`` is a random
        orthogonal matrix.

    Attributes
    ----------
    gates : dict of numpy.ndarray
        After ``forward``: ``"i"``, ``"f"``, ``"g"``, ``"o"``, each ``(N, T, n)``: the
        gate activations of every step (``∂c_t/∂c_{t-1} = diag(f_t)``).
    cell_states : numpy.ndarray, shape (N, T, n)
        After ``forward``: ``c_1 … c_T``.
    grad_norms_per_step, cell_grad_norms_per_step : numpy.ndarray, shape (T,)
        After ``backward``: ``‖∂E/∂h_t‖`` and ``‖∂E/∂c_t‖`` (Frobenius over the batch).
    dh0, dc0 : numpy.ndarray, shape (N, n)
        After ``backward``: gradients with respect to the initial states.

    Implements eqs. (lstm-gates), (lstm-cell) and (lstm-cell-grad) in
    chapters/11_recurrent.
    """

    def __init__(
        self,
        n_in,
        n_hidden,
        *,
        rng=None,
        forget_bias=1.0,
        h0=None,
        c0=None,
        W_x=None,
        W_h=None,
    ):
        super().__init__()
        self.n_in = check_positive_int(n_in, "LSTM: n_in")
        self.n_hidden = n = check_positive_int(n_hidden, "LSTM: n_hidden")
        where = self._where = f"LSTM({self.n_in}, {n})"
        if isinstance(forget_bias, bool) or not isinstance(forget_bias, numbers.Real):
            raise TypeError(
                f"{where}: forget_bias must be a real number, got {forget_bias!r}"
            )
        if not math.isfinite(forget_bias):
            raise ValueError(
                f"{where}: forget_bias must be finite, got {forget_bias!r}"
            )
        gen = None
        if W_x is None or W_h is None:
            gen = _generator(rng, where, "draws random weights")
        if W_x is None:
            W_x = _init.normal(self.n_in, 4 * n, std=1 / math.sqrt(self.n_in), rng=gen)
        if W_h is None:
            W_h = np.hstack([random_orthogonal(n, rng=gen) for _ in GATES])
        self.params["W_x"] = _matrix(W_x, (self.n_in, 4 * n), "W_x", where)
        self.params["W_h"] = _matrix(W_h, (n, 4 * n), "W_h", where)
        self.params["b"] = np.zeros(4 * n)
        self.params["b"][n : 2 * n] = forget_bias  # block f
        self.h0 = _state(h0, None, n, "h0", where)
        self.c0 = _state(c0, None, n, "c0", where)
        self.gates = self.cell_states = self.dh0 = self.dc0 = None
        self.grad_norms_per_step = self.cell_grad_norms_per_step = None
        self.zero_grad()

    def forward(self, X):
        """All hidden states ``H`` (N, T, n) of a batch ``X`` (N, T, n_in).

        Implements eqs. (lstm-gates) and (lstm-cell) in chapters/11_recurrent.
        """
        X = _sequences(X, self.n_in, self._where)
        (N, T, _), n = X.shape, self.n_hidden
        W_h = self.params["W_h"]
        h0 = h = _state(self.h0, N, n, "h0", self._where)
        c0 = c = _state(self.c0, N, n, "c0", self._where)
        XW = X @ self.params["W_x"] + self.params["b"]  # input part, all steps
        G = np.empty((N, T, 4 * n))  # gate activations i, f, g, o
        H, C = np.empty((N, T, n)), np.empty((N, T, n))
        tanh_C = np.empty((N, T, n))  # tanh(c_t), kept for backward
        i, f, g, o = _blocks(n)
        for t in range(T):
            z = XW[:, t] + h @ W_h
            a = G[:, t]
            a[...] = _sigmoid(z)  # i, f, o (g is overwritten)
            a[:, g] = np.tanh(z[:, g])
            c = C[:, t] = a[:, f] * c + a[:, i] * a[:, g]
            tanh_C[:, t] = np.tanh(c)
            h = H[:, t] = a[:, o] * tanh_C[:, t]
        self.gates = dict(zip(GATES, np.split(G, 4, axis=2)))  # views of G
        self.cell_states = C
        self._cache = (X, G, H, C, tanh_C, h0, c0)
        return H

    def backward(self, dH):
        """BPTT through ``h`` and ``c``: ``dE/dX`` from ``dH = dE/dH`` (N, T, n).

        Implements eq. (lstm-cell-grad) in chapters/11_recurrent.
        """
        X, G, H, C, tanh_C, h0, c0 = self._need_cache()
        dH = self._check_dY(dH, H.shape)
        T, W_h = X.shape[1], self.params["W_h"]
        C_prev = np.concatenate([c0[:, None], C[:, :-1]], axis=1)  # c_{t-1}
        D = np.empty_like(G)  # ∂E/∂z_t, blocks i, f, g, o
        norms_h, norms_c = np.empty(T), np.empty(T)
        dh, dc = np.zeros_like(h0), np.zeros_like(c0)  # through step t + 1
        i, f, g, o = _blocks(self.n_hidden)
        for t in reversed(range(T)):
            a, d, tanh_c = G[:, t], D[:, t], tanh_C[:, t]
            dh = dH[:, t] + dh
            dc = dc + dh * a[:, o] * (1 - tanh_c**2)  # via c_{t+1} and via h_t
            norms_h[t], norms_c[t] = np.linalg.norm(dh), np.linalg.norm(dc)
            d[:, i] = dc * a[:, g] * a[:, i] * (1 - a[:, i])
            d[:, f] = dc * C_prev[:, t] * a[:, f] * (1 - a[:, f])
            d[:, g] = dc * a[:, i] * (1 - a[:, g] ** 2)
            d[:, o] = dh * tanh_c * a[:, o] * (1 - a[:, o])
            dh, dc = d @ W_h.T, dc * a[:, f]  # ∂c_t/∂c_{t-1} = diag(f_t)
        self.dh0, self.dc0 = dh, dc
        self.grad_norms_per_step, self.cell_grad_norms_per_step = norms_h, norms_c
        H_prev = np.concatenate([h0[:, None], H[:, :-1]], axis=1)  # h_{t-1}
        self.grads["W_x"] = _sum_outer(X, D)
        self.grads["W_h"] = _sum_outer(H_prev, D)
        self.grads["b"] = D.sum(axis=(0, 1))
        return D @ self.params["W_x"].T

    def __repr__(self):
        return f"LSTM({self.n_in}, {self.n_hidden})"


def _blocks(n):
    """Column slices of the four blocks i, f, g, o in a stacked ``(…, 4n)`` array."""
    return tuple(slice(k * n, (k + 1) * n) for k in range(4))


def _sigmoid(z):
    """The stable sigmoid of :func:`bookcode.activations.sigmoid` without its input
    checks (the inner loop calls it on arrays it made)."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0, e) / (1.0 + e)
