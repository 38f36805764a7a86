"""Residual blocks: ``Y = X + s · F(X)`` around any inner layer or ``Sequential``.

The block adds its input to the output of a *branch* ``F`` (any object of the Layer
protocol, often a small ``Sequential`` such as ``Activation → Linear`` or ``BatchNorm →
Activation → Linear``), optionally scaled by a constant ``s`` (e.g. ``1/√L`` for a stack
of ``L`` blocks). Backward is::

    dE/dX = dE/dY + s · F.backward(dE/dY)          (the identity path + the branch)

so the gradient reaching the input always contains ``dE/dY`` itself, unchanged.

Parameters are exposed like ``Sequential`` does: ``params`` / ``grads`` are dicts of the
branch's arrays (views, not copies) with the branch's keys (``"0.W"``, ``"1.b"``, … for
a ``Sequential`` branch; ``"W"``, ``"b"`` for a single layer). A ``Sequential``
containing a ``Residual`` at index 3 therefore yields keys ``"3.0.W"``, …, which
:class:`bookcode.optim.SGD`, the gradient checks and
:func:`bookcode.diagnostics.gradient_norms` understand (the name after the last dot is
``"W"``).
"""

from __future__ import annotations

import numbers

import numpy as np

from ._validate import as_batch
from .layers import Layer

__all__ = ["Residual"]


def _branch_triples(branch):
    if callable(getattr(branch, "parameters", None)):
        return list(branch.parameters())
    return [(k, p, branch.grads.get(k)) for k, p in branch.params.items()]


class Residual(Layer):
    """Residual block ``Y = X + scale · F(X)`` with any branch ``F`` of the Layer
    protocol.

    Parameters
    ----------
    branch : Layer or Sequential
        The residual branch ``F``; its output must have the shape of its input.
    scale : float, default 1.0
        Constant ``s > 0`` multiplying the branch (``1/√L`` keeps a stack of ``L``
        un-normalised blocks from doubling the variance at every block).

    Notes
    -----
    Forward ``Y = X + s F(X)``; backward ``dE/dX = dE/dY + s (∂F/∂X)ᵀ dE/dY``, and the
    branch's parameter gradients are those of ``F`` for the upstream gradient ``s ·
    dE/dY``.

    Implements eqs. (res-block) and (res-block-backward) in chapters/09_residual.
    """

    def __init__(self, branch, scale=1.0):
        super().__init__()
        missing = [
            a
            for a in ("forward", "backward", "params", "grads")
            if not hasattr(branch, a)
        ]
        if missing:
            raise TypeError(
                f"Residual: the branch ({type(branch).__name__}) does not follow the "
                f"Layer protocol; missing {', '.join(missing)}"
            )
        if (
            isinstance(scale, bool)
            or not isinstance(scale, numbers.Real)
            or not np.isfinite(scale)
            or scale <= 0
        ):
            raise ValueError(
                f"Residual: scale must be a finite number > 0, got {scale!r}"
            )
        self.branch = branch
        self.scale = float(scale)

    # params/grads: the branch's arrays under the branch's keys (like Sequential's
    # flattened dicts)
    @property
    def params(self):
        return (
            {k: p for k, p, _ in _branch_triples(self.branch)}
            if hasattr(self, "branch")
            else {}
        )

    @params.setter
    def params(self, value):  # Layer.__init__ assigns an empty dict
        pass

    @property
    def grads(self):
        return (
            {k: g for k, _, g in _branch_triples(self.branch)}
            if hasattr(self, "branch")
            else {}
        )

    @grads.setter
    def grads(self, value):
        pass

    @property
    def training(self):
        return bool(getattr(getattr(self, "branch", None), "training", True))

    @training.setter
    def training(self, mode):
        if hasattr(self, "branch"):
            self.branch.training = bool(mode)

    def zero_grad(self):
        """Zero the branch's gradients."""
        self.branch.zero_grad()

    def forward(self, X):
        X = as_batch(X, None, where="Residual.forward", allow_nonfinite=True)
        F = np.asarray(self.branch.forward(X))
        if F.shape != X.shape:
            raise ValueError(
                "Residual.forward: the branch must keep the shape of its input "
                f"{X.shape} (Y = X + F(X)), but it returned shape {F.shape}"
            )
        self._cache = X.shape
        return X + self.scale * F

    def backward(self, dY):
        shape = self._need_cache()
        dY = self._check_dY(dY, shape)
        dX_branch = self.branch.backward(
            self.scale * dY
        )  # a new array: dY itself is never modified
        return dY + dX_branch

    def __repr__(self):
        inner = repr(self.branch).replace("\n", "\n  ")
        scale = "" if self.scale == 1.0 else f", scale={self.scale:.4g}"
        return f"Residual({inner}{scale})"
