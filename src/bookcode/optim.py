"""Gradient descent and its helpers: momentum, gradient clipping, L2/L1 penalties.

``SGD`` here, ``Adam`` and ``AdamW`` in :mod:`bookcode.adam` (also importable from
here: ``optim.Adam``); all three share :class:`Optimizer`'s ``step``: read the
gradients, add the penalties, clip, then each takes its own step. Any of them accepts a
learning-rate schedule such as :class:`LinearWarmup` in place of a number.

An optimizer works on anything that exposes its parameters with their gradients:

- a model with ``parameters()`` yielding ``(key, param, grad)`` triples (``Sequential``:
  keys like ``"0.W"``, ``"2.b"``), or
- a single layer with ``params`` / ``grads`` dicts (keys ``"W"``, ``"b"``, ...).

The helpers (``global_norm``, ``clip_by_value``, ``clip_by_global_norm``, the penalties)
are pure: they never modify their inputs and return new arrays. Only an optimizer's
``step`` writes, and it writes the parameters in place (``param[...] = ...``) so that
layers see the change.

Penalties apply to parameters whose *name* (the part of the key after the last ``"."``)
is in ``decay`` -- by default only the weight matrices (:data:`WEIGHTS`: ``"W"`` of a
linear layer, ``"W_x"`` and ``"W_h"`` of a recurrent one), not biases ``"b"`` nor
BatchNorm's ``gamma``/``beta``.
"""

from __future__ import annotations

import inspect
import math
import numbers

import numpy as np

from ._validate import as_float_array, check_positive_float

__all__ = [
    "WEIGHTS",
    "global_norm",
    "clip_by_value",
    "clip_by_global_norm",
    "l2_penalty",
    "l2_penalty_grad",
    "l1_penalty",
    "l1_penalty_grad",
    "Optimizer",
    "SGD",
    "LinearWarmup",
]


#: The parameter names that penalties and weight decay act on by default: the weight
#: matrices of linear (``W``) and recurrent (``W_x``, ``W_h``) layers.
WEIGHTS = ("W", "W_x", "W_h")


# ----------------------------------------------------------- adapters and small helpers
def _param_triples(model):
    """Return ``[(key, param, grad), ...]`` from a model with ``parameters()`` or a
    layer."""
    if callable(getattr(model, "parameters", None)):
        triples = list(model.parameters())
        for t in triples:
            if not (isinstance(t, tuple) and len(t) == 3 and isinstance(t[0], str)):
                raise TypeError(
                    "parameters() must yield (key, param, grad) triples with a str "
                    f"key, got {t!r:.80}"
                )
        return triples
    params, grads = getattr(model, "params", None), getattr(model, "grads", None)
    if isinstance(params, dict) and isinstance(grads, dict):
        return [(k, p, grads.get(k)) for k, p in params.items()]
    raise TypeError(
        "expected a model with parameters() yielding (key, param, grad) triples or a "
        f"layer with params/grads dicts, got {type(model).__name__}"
    )


def _named_params(params, where):
    """``[(key, array)]`` from a dict ``{key: array}``, a model or a layer."""
    if isinstance(params, dict):
        items = list(params.items())
    else:
        items = [(k, p) for k, p, _ in _param_triples(params)]
    return [(k, as_float_array(p, f"parameter {k!r}", where=where)) for k, p in items]


def _as_list(grads, where, allow_nonfinite=False):
    if isinstance(grads, np.ndarray):
        raise TypeError(
            f"{where}: expected a list of gradient arrays, got a single array; wrap it "
            "as [g]"
        )
    if isinstance(grads, dict):
        grads = grads.values()
    try:
        grads = list(grads)
    except TypeError:
        raise TypeError(
            f"{where}: expected a list of gradient arrays, got {type(grads).__name__}"
        ) from None
    return [
        as_float_array(g, f"grads[{i}]", where=where, allow_nonfinite=allow_nonfinite)
        for i, g in enumerate(grads)
    ]


def _check_decay(decay):
    if isinstance(decay, str):
        decay = (decay,)
    try:
        decay = tuple(decay)
    except TypeError:
        raise TypeError(
            f"decay must be a parameter name or a tuple of names, got {decay!r}"
        ) from None
    if not all(isinstance(d, str) for d in decay):
        raise TypeError(
            f"decay must contain parameter names (str) such as 'W', got {decay!r}"
        )
    return decay


def _decayed(key, decay):
    return key.rsplit(".", 1)[-1] in decay


def _penalty_items(params, lam, decay, where):
    """Validate; return ``lam`` and ``[(key, array, is_decayed)]``."""
    lam, decay = check_positive_float(lam, "lam", allow_zero=True), _check_decay(decay)
    return lam, [(k, p, _decayed(k, decay)) for k, p in _named_params(params, where)]


def _norm(arrays):
    """√(Σ‖a‖²) over all arrays, without overflow or underflow.

    The fast path sums squares in float64; only if that sum is not a normal positive
    number (NaN/inf entries, or squares that overflow or underflow float64) is it
    recomputed scaled by the largest |entry|.
    """
    total = 0.0
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        for a in arrays:
            flat = (
                a.reshape(-1)
                if a.dtype == np.float64
                else a.reshape(-1).astype(np.float64)
            )
            total += float(np.dot(flat, flat))
    if 1e-280 < total < 1e300:
        return math.sqrt(total)
    maxima = [np.max(np.abs(a)) for a in arrays if a.size]
    m = float(np.max(maxima)) if maxima else 0.0
    if m == 0.0 or not math.isfinite(m):
        return m  # 0, inf or nan
    return m * math.sqrt(
        sum(float(np.sum((np.asarray(a, dtype=np.float64) / m) ** 2)) for a in arrays)
    )


def _scale_to_norm(arrays, max_norm):
    norm = _norm(arrays)
    if math.isfinite(norm) and norm > max_norm:
        s = max_norm / norm
        return [a * a.dtype.type(s) for a in arrays], norm, True
    return [a.copy() for a in arrays], norm, False


# ---------------------------------------------------------------- pure functions
def global_norm(grads):
    """Return ``√(Σ_k ‖g_k‖²)``, the Euclidean norm of all gradients stacked into one
    vector.

    ``grads`` is a list (or dict) of arrays. Computed without overflow; NaN/inf in the
    input give NaN/inf (useful for monitors).

    Implements the norm of eq. (tg-clip-norm) in chapters/06_taming_gradients.
    """
    return _norm(_as_list(grads, "global_norm", allow_nonfinite=True))


def clip_by_value(grads, clip):
    """Return new arrays with every entry clipped to ``[-clip, clip]`` (changes the
    direction).

    Implements eq. (tg-clip-value) in chapters/06_taming_gradients.
    """
    clip = check_positive_float(clip, "clip")
    return [np.clip(g, -clip, clip) for g in _as_list(grads, "clip_by_value")]


def clip_by_global_norm(grads, max_norm):
    """Rescale all gradients by one factor so that their global norm is at most
    ``max_norm``.

    ``g_k ← g_k · max_norm / ‖g‖`` for every ``k`` when ``‖g‖ > max_norm`` (``‖g‖`` =
    global norm), unchanged otherwise: the direction of the full gradient is kept.
    Returns ``(list_of_new_arrays, norm_before)``.

    Implements eq. (tg-clip-norm) in chapters/06_taming_gradients.
    """
    max_norm = check_positive_float(max_norm, "max_norm")
    clipped, norm, _ = _scale_to_norm(_as_list(grads, "clip_by_global_norm"), max_norm)
    return clipped, norm


def l2_penalty(params, lam, decay=WEIGHTS):
    """Return ``½ λ Σ ‖W‖²`` over the parameters named in ``decay``.

    ``params`` is a dict ``{key: array}``, a model with ``parameters()`` or a layer.

    Implements eq. (tg-l2-penalty) in chapters/06_taming_gradients.
    """
    lam, items = _penalty_items(params, lam, decay, "l2_penalty")
    return (
        0.5
        * lam
        * sum(float(np.sum(np.square(p, dtype=np.float64))) for _, p, d in items if d)
    )


def l2_penalty_grad(params, lam, decay=WEIGHTS):
    """Return ``{key: λW}`` (zeros for parameters not in ``decay``), the gradient of
    :func:`l2_penalty`.

    Implements eq. (tg-weight-decay) in chapters/06_taming_gradients.
    """
    lam, items = _penalty_items(params, lam, decay, "l2_penalty_grad")
    return {k: lam * p if d else np.zeros_like(p) for k, p, d in items}


def l1_penalty(params, lam, decay=WEIGHTS):
    """Return ``λ Σ |W|`` over the parameters named in ``decay``.

    Implements eq. (tg-l1-update) in chapters/06_taming_gradients.
    """
    lam, items = _penalty_items(params, lam, decay, "l1_penalty")
    return lam * sum(
        float(np.sum(np.abs(p), dtype=np.float64)) for _, p, d in items if d
    )


def l1_penalty_grad(params, lam, decay=WEIGHTS):
    """Return the subgradient ``{key: λ·sign(W)}`` of :func:`l1_penalty` (``0`` where
    ``W = 0``).

    Implements eq. (tg-l1-update) in chapters/06_taming_gradients.
    """
    lam, items = _penalty_items(params, lam, decay, "l1_penalty_grad")
    return {k: lam * np.sign(p) if d else np.zeros_like(p) for k, p, d in items}


# ---------------------------------------------------------------- the optimizer
def _ratio(delta, p):
    d, w = _norm([delta]), _norm([p])
    if w == 0.0:
        return math.inf if d > 0 else (0.0 if d == 0 else math.nan)
    return d / w


class LinearWarmup:
    """A learning-rate schedule: ``η_t = η · min(1, t / warmup_steps)`` at step ``t``.

    The rate grows linearly from ``η / warmup_steps`` at the first step to ``lr`` at
    step ``warmup_steps`` and stays there. Pass it as ``lr`` to any optimizer of this
    module (``Adam(LinearWarmup(1e-3, 100))``); it is called with the step count
    ``t = 1, 2, …``.

    Parameters
    ----------
    lr : float
        The rate after the warm-up, ``> 0``.
    warmup_steps : int
        Steps to reach it, ``>= 1`` (1: no warm-up).

    Implements eq. (warmup) in chapters/12_modern_training.
    """

    def __init__(self, lr, warmup_steps):
        self.lr = check_positive_float(lr, "LinearWarmup: lr")
        if isinstance(warmup_steps, bool) or not isinstance(
            warmup_steps, numbers.Integral
        ):
            raise TypeError(
                "LinearWarmup: warmup_steps must be a positive int, got "
                f"{warmup_steps!r}"
            )
        if warmup_steps < 1:
            raise ValueError(
                f"LinearWarmup: warmup_steps must be >= 1, got {warmup_steps}"
            )
        self.warmup_steps = int(warmup_steps)

    def __call__(self, t):
        if isinstance(t, bool) or not isinstance(t, numbers.Integral) or t < 1:
            raise ValueError(f"LinearWarmup: steps count from 1, got {t!r}")
        return self.lr * min(1.0, t / self.warmup_steps)

    def __repr__(self):
        return f"LinearWarmup(lr={self.lr!r}, warmup_steps={self.warmup_steps})"


class Optimizer:
    """What every optimizer of the book shares: the gradients, penalties, clipping.

    ``step(model)``: (1) read the gradients, (2) add the penalties (``l2``: ``λ W``,
    ``l1``: ``λ sign(W)`` for each parameter whose name is in ``decay``), (3) clip (by
    value, then by global norm), (4) ask the subclass for each parameter's update
    ``ΔW`` (:meth:`_update`), (5) check, then write ``W ← W − ΔW`` in place. Nothing is
    written (no parameter, no optimizer state) unless every update is finite or
    ``allow_nonfinite`` is set. After each step: ``t`` (steps taken), ``last_lr``,
    ``last_grad_norm`` (global norm of the penalised gradient before clipping),
    ``last_clipped`` and ``last_update_ratios`` (``{key: ‖ΔW‖/‖W‖}`` with ``W`` before
    the step; ``inf`` when ``‖W‖ = 0``).

    ``lr`` is a positive number or a schedule: a callable of the step count ``t = 1, 2,
    …`` (e.g. :class:`LinearWarmup`).

    Implements eq. (gd-update) in chapters/01_gradient_descent.
    """

    def __init__(
        self,
        lr,
        clip_value=None,
        clip_norm=None,
        l2=0.0,
        l1=0.0,
        decay=WEIGHTS,
        allow_nonfinite=False,
    ):
        self.lr = lr
        if not isinstance(allow_nonfinite, bool):
            raise TypeError(
                f"{self._name}: allow_nonfinite must be bool, got {allow_nonfinite!r}"
            )
        self.allow_nonfinite = allow_nonfinite
        self.clip_value = (
            None
            if clip_value is None
            else check_positive_float(clip_value, "clip_value")
        )
        self.clip_norm = (
            None if clip_norm is None else check_positive_float(clip_norm, "clip_norm")
        )
        self.l2 = check_positive_float(l2, "l2", allow_zero=True)
        self.l1 = check_positive_float(l1, "l1", allow_zero=True)
        self.decay = _check_decay(decay)
        self.reset()

    @property
    def _name(self):
        return type(self).__name__

    @property
    def lr(self):
        return self._lr

    @lr.setter
    def lr(self, value):
        if callable(value):
            self._lr = value
        else:
            self._lr = check_positive_float(value, "lr")

    def lr_at(self, t):
        """The learning rate of step ``t`` (``lr`` itself, or the schedule's value)."""
        if not callable(self._lr):
            return self._lr
        value = self._lr(t)
        if (
            isinstance(value, bool)
            or not isinstance(value, numbers.Real)
            or not (math.isfinite(value) and value > 0)
        ):
            raise ValueError(
                f"{self._name}: the schedule {self._lr!r} gave lr={value!r} at step "
                f"{t}; expected a positive number"
            )
        return float(value)

    def reset(self):
        """Forget the optimizer's state and the last-step records (for a new model)."""
        self.t = 0
        self.state: dict[str, tuple] = {}
        self.last_lr, self.last_grad_norm, self.last_clipped = None, None, False
        self.last_update_ratios = {}

    def _gradients(self, model):
        where = f"{self._name}.step"
        keys, params, grads = [], [], []
        for key, p, g in _param_triples(model):
            if not isinstance(p, np.ndarray) or p.dtype.kind != "f":
                raise TypeError(
                    f"{where}: parameter {key!r} must be a float numpy array (updated "
                    f"in place), got {type(p).__name__}"
                )
            if g is None:
                raise ValueError(
                    f"{where}: no gradient for {key!r}; call backward() before step()"
                )
            g = as_float_array(
                g, f"gradient of {key!r}", where=where, allow_nonfinite=True
            )
            if g.shape != p.shape:
                raise ValueError(
                    f"{where}: gradient of {key!r} has shape {g.shape}, parameter has "
                    f"{p.shape}"
                )
            if not self.allow_nonfinite and not np.all(np.isfinite(g)):
                raise ValueError(
                    f"{where}: gradient of '{key}' contains NaN/inf — see "
                    "bookcode.diagnostics (or pass allow_nonfinite=True to watch the "
                    "divergence)"
                )
            if key in keys:
                raise ValueError(
                    f"{where}: duplicate parameter key {key!r}; the optimizer's state "
                    "needs unique keys"
                )
            state = self.state.get(key)
            if state is not None and state[0].shape != p.shape:
                raise ValueError(
                    f"{where}: the state of {key!r} has shape {state[0].shape} but the "
                    f"parameter has {p.shape}; call reset() for a new model"
                )
            keys.append(key)
            params.append(p)
            grads.append(g)
        return keys, params, grads

    def _update(self, key, p, g, lr, t):
        """``(ΔW, new state)`` for one parameter; the step writes ``W ← W − ΔW``."""
        raise NotImplementedError

    def step(self, model):
        """Do one update of every parameter of ``model`` in place; see the class
        docstring.

        Implements eq. (gd-update) in chapters/01_gradient_descent.
        """
        keys, params, grads = self._gradients(model)  # (1)
        t = self.t + 1
        lr = self.lr_at(t)
        # non-finite results are checked below
        with np.errstate(over="ignore", invalid="ignore"):
            for i, (key, p) in enumerate(zip(keys, params)):  # (2) penalties
                if _decayed(key, self.decay):
                    if self.l2:
                        grads[i] = grads[i] + self.l2 * p
                    if self.l1:
                        grads[i] = grads[i] + self.l1 * np.sign(p)
            norm, clipped = _norm(grads), False  # (3) clipping
            if self.clip_value is not None:
                c = self.clip_value
                clipped = any(bool(np.any(np.abs(g) > c)) for g in grads)
                grads = [np.clip(g, -c, c) for g in grads]
            if self.clip_norm is not None:
                grads, _, did = _scale_to_norm(grads, self.clip_norm)
                clipped = clipped or did
            new_params, state, ratios = [], {}, {}
            for key, p, g in zip(keys, params, grads):  # (4) each parameter's update
                delta, state[key] = self._update(key, p, g, lr, t)
                delta = np.asarray(delta, dtype=p.dtype)
                new = p - delta
                if not self.allow_nonfinite and not np.all(np.isfinite(new)):
                    raise ValueError(
                        f"{self._name}.step: the update of '{key}' overflowed to "
                        f"NaN/inf (lr={lr:g}, gradient norm {norm:.3g}); lower lr or "
                        "clip — see bookcode.diagnostics"
                    )
                new_params.append(new)
                ratios[key] = _ratio(delta, p)
        # (5) in place, only after every check has passed
        for p, new in zip(params, new_params):
            p[...] = new
        self.state.update({k: v for k, v in state.items() if v is not None})
        self.t, self.last_lr = t, lr
        self.last_grad_norm, self.last_clipped = norm, clipped
        self.last_update_ratios = ratios

    def __repr__(self):
        # every constructor argument after lr that differs from its default, the
        # defaults read from the subclass's own signature
        params = list(inspect.signature(type(self).__init__).parameters.values())[2:]
        extra = "".join(
            f", {q.name}={getattr(self, q.name)!r}"
            for q in params
            if getattr(self, q.name) != q.default
        )
        return f"{self._name}(lr={self.lr!r}{extra})"


class SGD(Optimizer):
    """Stochastic gradient descent ``W ← W − η g`` with momentum, penalties and
    clipping.

    Parameters
    ----------
    lr : float or schedule
        Learning rate ``η > 0``, or a callable of the step count (:class:`Optimizer`).
    momentum : float in [0, 1), default 0
        ``μ``. Classic (heavy-ball) convention, the same as PyTorch's ``SGD`` with
        ``dampening=0``: ``v ← μ v + g``, ``W ← W − η v`` (buffers start at 0, so
        ``v₁ = g₁``). The "Sutskever" form ``v ← μ v − η g``, ``W ← W + v`` gives the
        same iterates while ``η`` is constant but differs when ``η`` changes between
        steps.
    nesterov : bool, default False
        Nesterov momentum in PyTorch's form: ``W ← W − η (g + μ v)`` with ``v`` updated
        first.
    clip_value, clip_norm : float, optional
        Clip every entry to ``[-clip_value, clip_value]``, then rescale so that the
        global norm over *all* parameters is at most ``clip_norm``.
    l2, l1 : float, default 0
        Penalty strengths; add ``λ W`` (weight decay) and ``λ sign(W)`` to the gradient
        of each parameter whose name is in ``decay``.
    decay : tuple of str, default WEIGHTS ("W", "W_x", "W_h")
    allow_nonfinite : bool, default False
        By default a NaN/inf gradient or update raises (naming the parameter) and
        nothing is changed; set True to let a diverging run reach NaN (chapter 05).

    Notes
    -----
    The steps of :meth:`Optimizer.step`; penalties are added *before* clipping (PyTorch
    adds ``weight_decay`` inside ``step``, i.e. after a user's ``clip_grad_norm_``).
    The momentum buffers are ``velocity``.

    Implements eq. (gd-update) in chapters/01_gradient_descent, with eqs.
    (tg-clip-value), (tg-clip-norm), (tg-weight-decay) and (tg-l1-update) in
    chapters/06_taming_gradients.
    """

    def __init__(
        self,
        lr,
        momentum=0.0,
        nesterov=False,
        clip_value=None,
        clip_norm=None,
        l2=0.0,
        l1=0.0,
        decay=WEIGHTS,
        allow_nonfinite=False,
    ):
        if isinstance(momentum, bool) or not isinstance(momentum, numbers.Real):
            raise TypeError(
                f"SGD: momentum must be a real number in [0, 1), got {momentum!r}"
            )
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"SGD: momentum must be in [0, 1), got {momentum}")
        if not isinstance(nesterov, bool):
            raise TypeError(f"SGD: nesterov must be bool, got {nesterov!r}")
        if nesterov and momentum == 0:
            raise ValueError("SGD: nesterov=True needs momentum > 0")
        self.momentum, self.nesterov = float(momentum), nesterov
        super().__init__(lr, clip_value, clip_norm, l2, l1, decay, allow_nonfinite)

    @property
    def velocity(self):
        """The momentum buffers ``{key: v}``."""
        return {k: s[0] for k, s in self.state.items()}

    def _update(self, key, p, g, lr, t):
        if not self.momentum:
            return lr * g, None
        state = self.state.get(key)
        v = g.copy() if state is None else self.momentum * state[0] + g
        d = g + self.momentum * v if self.nesterov else v
        return lr * d, (v,)


def __getattr__(name):
    """``optim.Adam`` and ``optim.AdamW`` live in :mod:`bookcode.adam`."""
    if name in ("Adam", "AdamW"):
        from . import adam

        return getattr(adam, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
