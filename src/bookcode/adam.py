"""Adam and AdamW: a step size per parameter from running moments of its gradient.

Adam (Kingma & Ba 2015) keeps, for every parameter entry, exponential averages of the
gradient and of its square, ``m ← β₁ m + (1 − β₁) g`` and ``v ← β₂ v + (1 − β₂) g²``
(both start at 0), corrects their bias towards 0, ``m̂ = m / (1 − β₁ᵗ)`` and
``v̂ = v / (1 − β₂ᵗ)``, and steps ``W ← W − η m̂ / (√v̂ + ε)``. Each entry's step is about
``η`` times the sign of its recent gradients, whatever their size: the normalisation
that makes the first layers of a deep sigmoid net move as fast as the last.

A penalty added to the gradient (``l2``: "Adam with L2") is normalised with it, so
weights with large gradients are barely decayed. AdamW (Loshchilov & Hutter 2019)
decouples the decay from the gradient: ``W ← W − η (m̂ / (√v̂ + ε) + λ W)``.

Both take :class:`bookcode.optim.Optimizer`'s options (clipping, ``l1``/``l2``,
``allow_nonfinite``, a schedule such as :class:`bookcode.optim.LinearWarmup` for ``lr``)
and record what ``SGD`` records.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._validate import check_positive_float
from .optim import WEIGHTS, Optimizer, _check_decay, _decayed

__all__ = ["Adam", "AdamW"]


def _check_betas(betas, where):
    if (
        not isinstance(betas, (tuple, list))
        or len(betas) != 2
        or any(isinstance(b, bool) or not isinstance(b, numbers.Real) for b in betas)
    ):
        raise TypeError(f"{where}: betas must be a pair of numbers, got {betas!r}")
    if not all(0.0 <= b < 1.0 for b in betas):
        raise ValueError(f"{where}: betas must lie in [0, 1), got {tuple(betas)}")
    return float(betas[0]), float(betas[1])


class Adam(Optimizer):
    """Adam: per-entry steps ``η m̂ / (√v̂ + ε)`` from bias-corrected moment estimates.

    Parameters
    ----------
    lr : float or schedule, default 1e-3
        ``η``, or a callable of the step count (e.g. ``optim.LinearWarmup``).
    betas : (float, float), default (0.9, 0.999)
        ``β₁``, ``β₂`` in [0, 1): the decay rates of the two moment estimates.
    eps : float, default 1e-8
        Added to ``√v̂``: bounds the step of an entry whose gradients are ~0.
    clip_value, clip_norm, l2, l1, decay, allow_nonfinite
        As for :class:`bookcode.optim.SGD`; penalties and clipping act on the gradient
        before the moments.

    Notes
    -----
    The state of a parameter is ``(m, v)``; ``moments`` returns it. With the defaults
    the first step of every entry with ``g ≠ 0`` has size ``η`` up to ``ε``:
    ``m̂₁ = g`` and ``v̂₁ = g²``. The defaults are those of Kingma & Ba (2015).

    Implements eqs. (adam-moments), (adam-bias) and (adam-step) in
    chapters/12_modern_training.
    """

    def __init__(
        self,
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        clip_value=None,
        clip_norm=None,
        l2=0.0,
        l1=0.0,
        decay=WEIGHTS,
        allow_nonfinite=False,
    ):
        self.betas = _check_betas(betas, type(self).__name__)
        self.eps = check_positive_float(eps, "eps")
        super().__init__(lr, clip_value, clip_norm, l2, l1, decay, allow_nonfinite)

    @property
    def moments(self):
        """The state ``{key: (m, v)}``: the running first and second moments."""
        return dict(self.state)

    def _direction(self, key, g, t):
        b1, b2 = self.betas
        state = self.state.get(key)
        m, v = (np.zeros_like(g), np.zeros_like(g)) if state is None else state
        m = b1 * m + (1.0 - b1) * g
        v = b2 * v + (1.0 - b2) * (g * g)
        m_hat = m / (1.0 - b1**t)  # the bias correction: both averages start at 0
        v_hat = v / (1.0 - b2**t)
        return m_hat / (np.sqrt(v_hat) + self.eps), (m, v)

    def _update(self, key, p, g, lr, t):
        d, state = self._direction(key, g, t)
        return lr * d, state


class AdamW(Adam):
    """Adam with decoupled weight decay: ``W ← W − η (m̂ / (√v̂ + ε) + λ W)``.

    The decay ``λ W`` is added to the step, not to the gradient, so it is not divided
    by ``√v̂``: every decayed weight shrinks by the factor ``1 − ηλ`` per step, as in
    plain gradient descent with an L2 penalty (Loshchilov & Hutter 2019; PyTorch's
    ``AdamW``).

    Parameters
    ----------
    lr, betas, eps
        As for :class:`Adam`.
    weight_decay : float, default 0.01
        ``λ >= 0`` (PyTorch's default), applied to the parameters named in ``decay``.
    decay : tuple of str, default WEIGHTS ("W", "W_x", "W_h")
        The names that decay (weights, not biases or normalisation parameters).
    clip_value, clip_norm, allow_nonfinite
        As for :class:`Adam`. ``l2`` and ``l1`` are not offered: AdamW's point is the
        decoupled decay.

    Implements eq. (adamw-step) in chapters/12_modern_training.
    """

    def __init__(
        self,
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0.01,
        decay=WEIGHTS,
        clip_value=None,
        clip_norm=None,
        allow_nonfinite=False,
    ):
        self.weight_decay = check_positive_float(
            weight_decay, "weight_decay", allow_zero=True
        )
        super().__init__(
            lr,
            betas,
            eps,
            clip_value=clip_value,
            clip_norm=clip_norm,
            decay=_check_decay(decay),
            allow_nonfinite=allow_nonfinite,
        )

    def _update(self, key, p, g, lr, t):
        d, state = self._direction(key, g, t)
        if self.weight_decay and _decayed(key, self.decay):
            d = d + self.weight_decay * p
        return lr * d, state
