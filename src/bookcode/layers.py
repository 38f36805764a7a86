"""Layers: one protocol from the perceptron to ResNet.

Every layer has

- ``forward(X)``: returns the output and caches what ``backward`` needs;
- ``backward(dY)``: takes ``dE/dY`` (same shape as the output), returns ``dE/dX`` and
  fills ``layer.grads[name]`` for every parameter ``layer.params[name]``;
- ``params`` / ``grads``: dicts of named arrays (``"W"``, ``"b"``, later ``"gamma"``,
  ``"beta"``), so optimizers, gradient checks and monitors work on any layer;
- ``training``: a flag for layers that behave differently at inference (BatchNorm,
  later).

Layers propagate NaN and inf like numpy does (IEEE arithmetic) instead of refusing them:
a diverging network is a state the book studies (chapters/05_vanishing_exploding), and
:func:`bookcode.diagnostics.find_nonfinite` reports where the first non-finite value
appeared. Training entry points (:func:`bookcode.train.train`) reject non-finite data.

Batches are row-major: ``X`` has one example per row, shape ``(N, n_in)``; a linear
layer computes ``net = X W + b`` with ``W`` of shape ``(n_in, n_out)``.
"""

from __future__ import annotations

import numpy as np

from . import activations as _act
from ._validate import as_batch, check_positive_int

__all__ = ["Layer", "Linear", "Activation"]


class Layer:
    """Base class of the Layer protocol (see the module docstring).

    Subclasses set ``self.params`` / ``self.grads`` (possibly empty) and implement
    ``forward`` and ``backward``.
    """

    def __init__(self):
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.training = True
        self._cache = None

    def forward(self, X):  # pragma: no cover - interface
        raise NotImplementedError

    def backward(self, dY):  # pragma: no cover - interface
        raise NotImplementedError

    def __call__(self, X):
        return self.forward(X)

    def zero_grad(self):
        """Set every gradient to zero (same shapes as the parameters)."""
        for name, p in self.params.items():
            self.grads[name] = np.zeros_like(p)

    def _need_cache(self):
        if self._cache is None:
            raise RuntimeError(
                f"{type(self).__name__}.backward called before forward: call "
                "forward(X) first (backward uses the values cached by the last "
                "forward pass)"
            )
        return self._cache

    def _check_dY(self, dY, expected_shape):
        dY = np.asarray(dY)
        if dY.shape != tuple(expected_shape):
            raise ValueError(
                f"{type(self).__name__}.backward: expected dY of shape "
                f"{tuple(expected_shape)} (the shape of the last forward output), got "
                f"{dY.shape}"
            )
        return dY


class Linear(Layer):
    """Affine layer ``net = X W + b``.

    Parameters
    ----------
    n_in, n_out : int
        Input and output widths; ``W`` has shape ``(n_in, n_out)``, ``b`` shape
        ``(n_out,)``.
    init : str or callable, default "xavier_normal"
        Name of an initializer in :mod:`bookcode.init` (called as ``init(n_in, n_out,
        rng=rng)``) or such a callable, or an array of shape ``(n_in, n_out)`` to use as
        ``W``.
    rng : numpy.random.Generator or int, optional
        Random generator (or seed) for the initializer. Required for random
        initializers.
    bias : bool, default True
        Without a bias the layer is ``net = X W`` and has no ``b`` parameter.
    dtype : numpy dtype, default float64

    Notes
    -----
    Backward (for a batch of ``N`` rows, ``δ = dE/dnet``):
    ``dE/dW = Xᵀ δ``, ``dE/db = Σ_rows δ``, ``dE/dX = δ Wᵀ``.
    Implements eq. (backprop-dW) and (backprop-delta) in chapters/03_backprop.
    """

    def __init__(
        self, n_in, n_out, init="xavier_normal", rng=None, bias=True, dtype=np.float64
    ):
        super().__init__()
        n_in = check_positive_int(n_in, "n_in")
        n_out = check_positive_int(n_out, "n_out")
        self.n_in, self.n_out = n_in, n_out
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"Linear: expected a floating dtype, got {dtype}")
        if isinstance(init, np.ndarray) or isinstance(init, (list, tuple)):
            W = np.array(init, dtype=dtype)
            if W.shape != (n_in, n_out):
                raise ValueError(
                    f"Linear: expected an initial W of shape {(n_in, n_out)}, got "
                    f"{W.shape}"
                )
        else:
            from . import init as _init

            fn = _init.get(init) if isinstance(init, str) else init
            if not callable(fn):
                raise TypeError(
                    "Linear: init must be a name, a callable or an array, got "
                    f"{type(init).__name__}"
                )
            try:
                W = np.asarray(fn(n_in, n_out, rng=rng), dtype=dtype)
            except _init.MissingSeed:
                name = (
                    init
                    if isinstance(init, str)
                    else getattr(init, "__name__", "your initializer")
                )
                raise _init.MissingSeed(
                    f"Linear({n_in}, {n_out}, init={name!r}) draws random weights and "
                    "needs a seed: pass rng=<an int seed> (e.g. rng=0) or "
                    "rng=bookcode.rng(seed)"
                ) from None
            if W.shape != (n_in, n_out):
                raise ValueError(
                    f"Linear: initializer returned shape {W.shape}, expected "
                    f"{(n_in, n_out)}"
                )
        self.params["W"] = W
        if bias:
            self.params["b"] = np.zeros(n_out, dtype=dtype)
        self.zero_grad()

    @property
    def W(self):
        return self.params["W"]

    @property
    def b(self):
        return self.params.get("b")

    def forward(self, X):
        X = as_batch(X, self.n_in, where="Linear.forward", allow_nonfinite=True)
        net = X @ self.params["W"]
        if "b" in self.params:
            net = net + self.params["b"]
        self._cache = X
        return net

    def backward(self, dY):
        X = self._need_cache()
        delta = self._check_dY(dY, (X.shape[0], self.n_out))
        self.grads["W"] = X.T @ delta
        if "b" in self.params:
            self.grads["b"] = delta.sum(axis=0)
        return delta @ self.params["W"].T

    def __repr__(self):
        bias = "" if "b" in self.params else ", bias=False"
        return f"Linear({self.n_in}, {self.n_out}{bias})"


class Activation(Layer):
    """Element-wise non-linearity ``Y = f(net)`` as a layer (no parameters).

    Parameters
    ----------
    f : str or activation object
        A name known to :func:`bookcode.activations.get` (``"sigmoid"``, ``"relu"``, …)
        or an object returned by it. Keyword arguments (e.g. ``alpha=0.1``) go to
        ``activations.get``.

    Notes
    -----
    Backward: ``dE/dnet = dE/dY ∘ f'(net)`` (a vector-Jacobian product for softmax).
    Implements eq. (backprop-delta) in chapters/03_backprop.
    """

    def __init__(self, f="sigmoid", **kwargs):
        super().__init__()
        self.f = _act.get(f, **kwargs) if isinstance(f, str) else f
        if not (callable(self.f) and hasattr(self.f, "vjp")):
            raise TypeError(
                "Activation: expected an activation name or an object from "
                f"bookcode.activations.get, got {type(f).__name__}"
            )

    def forward(self, X):
        X = as_batch(X, None, where="Activation.forward", allow_nonfinite=True)
        Y = self.f(X)
        self._cache = (X, Y)
        return Y

    def backward(self, dY):
        X, Y = self._need_cache()
        dY = self._check_dY(dY, Y.shape)
        return self.f.vjp(X, Y, dY)

    def __repr__(self):
        return f"Activation({self.f!r})"
