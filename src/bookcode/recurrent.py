"""Recurrent layers: a simple (Elman) RNN, backpropagation through time, ``LastStep``.

A batch of sequences is a 3-D array ``X`` of shape ``(N, T, n_in)``: ``N`` sequences
of ``T`` steps, one row vector ``x_t`` of ``n_in`` features per step. The RNN carries a
hidden state (a row vector, like every activation in the book)::

    a_t = x_t W_x + h_{t-1} W_h + b,   h_t = f(a_t),   t = 1 … T

with ``h_0`` zeros (or a given initial state), and returns every hidden state, ``H`` of
shape ``(N, T, n_hidden)``. The weights are shared by all steps, so the network
unrolled in time is a deep network with the same ``W_h`` in every layer.

Backward is backpropagation through time (BPTT): with ``δ_t = ∂E/∂a_t``::

    ∂E/∂h_t = dH_t + δ_{t+1} W_hᵀ,   δ_t = ∂E/∂h_t ∘ f'(a_t)
    ∂E/∂W_x = Σ_t x_tᵀ δ_t,   ∂E/∂W_h = Σ_t h_{t-1}ᵀ δ_t,   ∂E/∂b = Σ_t Σ_rows δ_t

where ``dH_t`` is the part of the loss that reads ``h_t`` directly (all steps, or only
the last one). So the gradient that reaches ``h_t`` from step ``T`` has been multiplied
by ``diag(f'(a_s)) W_hᵀ`` once per step in between: for a linear RNN with ``W_h = s Q``
(``Q`` orthogonal) its norm is exactly ``s^(T−t) ‖dH_T‖``, vanishing for ``s < 1`` and
exploding for ``s > 1`` (Bengio et al. 1994; Pascanu et al. 2013). ``backward`` records
these norms, one per step, in ``grad_norms_per_step``.

The LSTM, which keeps that product near 1 through its cell state, is in
:mod:`bookcode.lstm`. To map the hidden states to one output per sequence, put
:class:`LastStep` and a :class:`bookcode.layers.Linear` after the recurrent layer in a
:class:`bookcode.network.Sequential`.
"""

from __future__ import annotations

import math

import numpy as np

from . import activations as _act
from . import init as _init
from ._validate import as_float_array, as_rng, check_positive_float, check_positive_int
from .layers import Layer

__all__ = ["RNN", "LastStep", "random_orthogonal"]


def random_orthogonal(n, rng=None):
    """A random orthogonal ``n × n`` matrix, uniformly distributed (Haar measure).

    The QR decomposition of a standard normal matrix ``G = Q R``, with the columns of
    ``Q`` multiplied by the signs of ``diag(R)`` so that the distribution is uniform
    (Mezzadri 2007). All singular values of ``Q`` are 1, so ``s · Q`` has all singular
    values (and all eigenvalue moduli) equal to ``s``.

    Parameters
    ----------
    n : int
        Size of the matrix.
    rng : numpy.random.Generator or int
        Required.

    Returns
    -------
    numpy.ndarray, shape (n, n)
        ``Q`` with ``Qᵀ Q = I`` (up to rounding).

    Implements eq. (rnn-orthogonal-init) in chapters/11_recurrent.
    """
    n = check_positive_int(n, "random_orthogonal: n")
    gen = _generator(rng, "random_orthogonal", "draws a random matrix")
    Q, R = np.linalg.qr(gen.standard_normal((n, n)))
    return Q * np.where(np.diag(R) < 0, -1.0, 1.0)


class RNN(Layer):
    """A simple recurrent layer ``h_t = f(x_t W_x + h_{t-1} W_h + b)`` on batches of
    sequences.

    Parameters
    ----------
    n_in, n_hidden : int
        Features per step of the input and size of the hidden state. Parameters:
        ``W_x`` ``(n_in, n_hidden)``, ``W_h`` ``(n_hidden, n_hidden)``, ``b``
        ``(n_hidden,)``.
    activation : str or activation object, default "tanh"
        Anything :func:`bookcode.activations.get` accepts ("tanh", "relu",
        "identity", …).
    rng : numpy.random.Generator or int
        Seed of the random weights; required unless both ``W_x`` and ``W_h`` are given.
    h0 : array-like, shape (n_hidden,) or (N, n_hidden), optional
        Initial state (the attribute ``h0`` may be changed later); default zeros.
    recurrent_scale : float >= 0, default 1.0
        ``W_h`` starts as ``recurrent_scale · Q`` with ``Q`` a random orthogonal matrix
        (:func:`random_orthogonal`), so every singular value of ``W_h``, and its
        spectral radius, equals ``recurrent_scale``.
    W_x, W_h : array-like, optional
        Explicit initial weights (copied; then ``recurrent_scale`` must stay 1). The
        default ``W_x`` is normal with variance ``1/n_in`` (Xavier's fan-in form).

    Attributes
    ----------
    grad_norms_per_step : numpy.ndarray, shape (T,)
        After ``backward``: ``‖∂E/∂h_t‖`` for every step (Frobenius norm over the
        batch).
    dh0 : numpy.ndarray, shape (N, n_hidden)
        After ``backward``: ``∂E/∂h_0``, the gradient with respect to the initial
        state.

    Implements eqs. (rnn-forward) and (bptt) in chapters/11_recurrent.
    """

    def __init__(
        self,
        n_in,
        n_hidden,
        activation="tanh",
        *,
        rng=None,
        h0=None,
        recurrent_scale=1.0,
        W_x=None,
        W_h=None,
    ):
        super().__init__()
        self.n_in = check_positive_int(n_in, "RNN: n_in")
        self.n_hidden = n = check_positive_int(n_hidden, "RNN: n_hidden")
        self.f = _act.get(activation)
        where = self._where = f"RNN({self.n_in}, {n})"
        scale = check_positive_float(
            recurrent_scale, f"{where}: recurrent_scale", allow_zero=True
        )
        if W_h is not None and scale != 1.0:
            raise ValueError(
                f"{where}: got both W_h and recurrent_scale={recurrent_scale!r}; "
                "give one (scale an explicit W_h yourself)"
            )
        gen = None
        if W_x is None or W_h is None:
            gen = _generator(rng, where, "draws random weights")
        if W_x is None:
            W_x = _init.normal(self.n_in, n, std=1 / math.sqrt(self.n_in), rng=gen)
        if W_h is None:
            W_h = scale * random_orthogonal(n, rng=gen)
        self.params["W_x"] = _matrix(W_x, (self.n_in, n), "W_x", where)
        self.params["W_h"] = _matrix(W_h, (n, n), "W_h", where)
        self.params["b"] = np.zeros(n)
        self.h0 = _state(h0, None, n, "h0", where)
        self.grad_norms_per_step = self.dh0 = None
        self.zero_grad()

    def forward(self, X):
        """All hidden states ``H`` (N, T, n_hidden) of a batch ``X`` (N, T, n_in).

        Implements eq. (rnn-forward) in chapters/11_recurrent.
        """
        X = _sequences(X, self.n_in, self._where)
        N, T, _ = X.shape
        W_x, W_h, b = self.params["W_x"], self.params["W_h"], self.params["b"]
        h0 = h = _state(self.h0, N, self.n_hidden, "h0", self._where)
        XW = X @ W_x + b  # the input part of every step at once
        A = np.empty((N, T, self.n_hidden))  # pre-activations a_t
        H = np.empty_like(A)
        for t in range(T):
            A[:, t] = XW[:, t] + h @ W_h
            h = H[:, t] = self.f(A[:, t])
        self._cache = (X, A, H, h0)
        return H

    def backward(self, dH):
        """BPTT: ``dE/dX`` from ``dH = dE/dH`` (N, T, n_hidden); fills the gradients.

        Implements eq. (bptt) in chapters/11_recurrent.
        """
        X, A, H, h0 = self._need_cache()
        dH = self._check_dY(dH, H.shape)
        W_x, W_h = self.params["W_x"], self.params["W_h"]
        T = X.shape[1]
        D = np.empty_like(A)  # δ_t = ∂E/∂a_t
        norms = np.empty(T)
        dh = np.zeros_like(h0)  # ∂E/∂h_t through step t + 1 (none after the last)
        for t in reversed(range(T)):
            dh = dH[:, t] + dh
            norms[t] = np.linalg.norm(dh)
            D[:, t] = self.f.vjp(A[:, t], H[:, t], dh)
            dh = D[:, t] @ W_h.T
        self.dh0, self.grad_norms_per_step = dh, norms
        H_prev = np.concatenate([h0[:, None], H[:, :-1]], axis=1)  # h_{t-1}
        self.grads["W_x"] = _sum_outer(X, D)
        self.grads["W_h"] = _sum_outer(H_prev, D)
        self.grads["b"] = D.sum(axis=(0, 1))
        return D @ W_x.T

    def __repr__(self):
        return f"RNN({self.n_in}, {self.n_hidden}, activation={self.f.name!r})"


class LastStep(Layer):
    """The last time step of a batch of sequences: ``(N, T, n) → (N, n)``.

    No parameters. Backward puts ``dE/dY`` at the last step and zeros at the others,
    so ``Sequential([RNN(...), LastStep(), Linear(...)])`` trains a recurrent net on a
    loss that reads only the final hidden state ``h_T``.

    Implements eq. (rnn-forward) in chapters/11_recurrent.
    """

    def forward(self, X):
        """``X[:, -1]``, the last step of every sequence.

        Implements eq. (rnn-forward) in chapters/11_recurrent.
        """
        X = _sequences(X, None, "LastStep()")
        self._cache = X.shape
        return X[:, -1].copy()

    def backward(self, dY):
        """``dE/dX``: ``dY`` at the last step, zeros elsewhere.

        Implements eq. (bptt) in chapters/11_recurrent.
        """
        N, T, n = self._need_cache()
        dY = self._check_dY(dY, (N, n))
        dX = np.zeros((N, T, n), dtype=dY.dtype)
        dX[:, -1] = dY
        return dX

    def __repr__(self):
        return "LastStep()"


# --- helpers shared with bookcode.lstm ------------------------------------------------


def _generator(rng, where, what):
    """A Generator from ``rng``; ``None`` raises ``init.MissingSeed`` naming
    ``where``."""
    if rng is None:
        raise _init.MissingSeed(
            f"{where} {what} and needs a seed: pass rng=<an int seed> (e.g. rng=0) or "
            "rng=bookcode.rng(seed)"
        )
    return as_rng(rng, where=where)


def _matrix(W, shape, name, where):
    """A float64 copy of the finite array ``W``, checked to have ``shape``."""
    W = as_float_array(W, name, where=where)
    if W.shape != shape:
        raise ValueError(f"{where}: expected {name} of shape {shape}, got {W.shape}")
    return np.array(W, dtype=np.float64)


def _state(s, N, n, name, where):
    """An initial state as an (N, n) array (zeros for None); ``N=None`` only checks."""
    if s is None:
        return None if N is None else np.zeros((N, n))
    s = as_float_array(s, name, where=where)
    if s.shape == (n,):
        return s.copy() if N is None else np.tile(s, (N, 1))
    if s.ndim == 2 and s.shape[1] == n and N in (None, s.shape[0]):
        return np.array(s, dtype=np.float64)
    batch = "" if N is None else f" with N = {N} (the batch size)"
    raise ValueError(
        f"{where}: expected {name} of shape ({n},) or (N, {n}){batch}, got {s.shape}"
    )


def _sequences(X, n_in, where):
    """``X`` as a float array of shape (N, T, n_in) with N >= 1 and T >= 1."""
    X = as_float_array(X, "X", where=where, allow_nonfinite=True)
    want = f"(N, T, {'n' if n_in is None else n_in})"
    if X.ndim != 3 or (n_in is not None and X.shape[2] != n_in):
        hint = ""
        if X.ndim < 3:
            hint = ": a batch of sequences; one sequence x is x[None]"
        raise ValueError(f"{where}: expected X of shape {want}, got {X.shape}{hint}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(
            f"{where}: expected X of shape {want} with N >= 1 sequences of T >= 1 "
            f"steps, got {X.shape}"
        )
    return X


def _sum_outer(A, B):
    """``Σ_t A_tᵀ B_t`` over the batch and the steps: (N, T, p), (N, T, q) → (p, q)."""
    return np.tensordot(A, B, axes=([0, 1], [0, 1]))
