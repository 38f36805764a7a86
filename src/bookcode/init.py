"""Weight initializers: constant, normal, uniform, Xavier/Glorot and He/Kaiming.

Every initializer returns a float64 array of shape ``(n_in, n_out)`` -- the book's ``W ∈
R^{n_in × n_out}`` for ``net = X W + b`` -- and takes ``rng`` (a
``numpy.random.Generator`` or an int seed) as a keyword, so ``Linear`` can call
``get(name)(n_in, n_out, rng=rng)`` for any of them. Random initializers refuse
``rng=None``: bookcode never uses unseeded randomness.

The variance rules (chapters/07_initialization):

- Xavier/Glorot: ``Var W = gain² · 2 / (n_in + n_out)`` (eq. init-xavier-variance); a
  uniform ``U(-a, a)`` has variance ``a²/3``, hence ``a = gain · √(6 / (n_in + n_out))``
  (eq. init-xavier-uniform).
- He/Kaiming: ``Var W = gain² / fan`` with ``gain = √2`` for ReLU (eq.
  init-he-variance), so that the second moment of the pre-activations is preserved from
  layer to layer.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ._validate import as_rng, check_choice, check_positive_float, check_positive_int

__all__ = [
    "constant",
    "zeros",
    "normal",
    "uniform",
    "gain",
    "xavier_normal",
    "xavier_uniform",
    "he_normal",
    "he_uniform",
    "get",
]

_GAINS = {
    "linear": 1.0,
    "identity": 1.0,
    "sigmoid": 1.0,
    "tanh": 5.0 / 3.0,
    "relu": math.sqrt(2.0),
    "leaky_relu": None,
    "selu": 0.75,
}


def _shape(n_in, n_out):
    return check_positive_int(n_in, "n_in"), check_positive_int(n_out, "n_out")


class MissingSeed(TypeError):
    """A random initializer was called without ``rng``; callers (``Linear``, ``mlp``)
    re-raise it in their name."""


def _need_rng(rng, where):
    if rng is None:
        raise MissingSeed(
            f"{where}: this initializer is random and needs a seed; "
            "pass rng=<an int seed> or rng=bookcode.rng(seed)"
        )
    return as_rng(rng, where=where)


def constant(n_in, n_out, value=0.0, rng=None):
    """Return a ``(n_in, n_out)`` matrix with every entry equal to ``value``.

    Parameters
    ----------
    n_in, n_out : int
        Fan-in and fan-out (rows and columns of ``W``).
    value : float, default 0.0
    rng : ignored
        Accepted so that every initializer has the same call signature.

    Notes
    -----
    A constant start makes every unit of a layer compute the same function and receive
    the same gradient, so they never become different (the symmetry problem). Implements
    the symmetric start, eq. (init-symmetry) in chapters/07_initialization.
    """
    n_in, n_out = _shape(n_in, n_out)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"constant: value must be a real number, got {value!r} "
            f"({type(value).__name__})"
        )
    if not math.isfinite(value):
        raise ValueError(f"constant: value must be finite, got {value!r}")
    return np.full((n_in, n_out), float(value))


def zeros(n_in, n_out, rng=None):
    """Return a ``(n_in, n_out)`` matrix of zeros (``constant`` with ``value=0``).

    Implements the symmetric start, eq. (init-symmetry) in chapters/07_initialization.
    """
    return constant(n_in, n_out, 0.0)


def normal(n_in, n_out, std=1.0, rng=None):
    """Return ``W`` with i.i.d. entries ``N(0, std²)``.

    Parameters
    ----------
    n_in, n_out : int
    std : float, default 1.0
        Standard deviation, > 0.
    rng : numpy.random.Generator or int
        Required.

    Notes
    -----
    The building block of eqs. (init-xavier-variance) and (init-he-variance) in
    chapters/07_initialization.
    """
    n_in, n_out = _shape(n_in, n_out)
    std = check_positive_float(std, "std")
    return _need_rng(rng, "normal").normal(0.0, std, size=(n_in, n_out))


def uniform(n_in, n_out, a=1.0, rng=None):
    """Return ``W`` with i.i.d. entries ``U(-a, a)`` (variance ``a²/3``).

    Parameters
    ----------
    n_in, n_out : int
    a : float, default 1.0
        Half-width of the interval, > 0.
    rng : numpy.random.Generator or int
        Required.

    Notes
    -----
    The building block of eq. (init-xavier-uniform) in chapters/07_initialization.
    """
    n_in, n_out = _shape(n_in, n_out)
    a = check_positive_float(a, "a")
    return _need_rng(rng, "uniform").uniform(-a, a, size=(n_in, n_out))


def gain(nonlinearity, param=None):
    """Return the recommended gain for a non-linearity (the values of PyTorch's
    ``calculate_gain``).

    ======================  ===========================
    ``nonlinearity``        gain
    ======================  ===========================
    linear, identity,       1
    sigmoid
    tanh                    5/3
    relu                    √2
    leaky_relu              √(2 / (1 + α²)), α = ``param`` (default 0.01)
    selu                    3/4
    ======================  ===========================

    Parameters
    ----------
    nonlinearity : str
    param : float, optional
        Negative slope α of ``leaky_relu``; not accepted for the other non-linearities.

    Raises
    ------
    ValueError
        For an unknown name, and for ``"elu"``: ELU has no closed-form gain (PyTorch
        defines none either), so none is invented here. Pass ``nonlinearity="relu"`` (a
        common approximation) deliberately if you want one.

    Notes
    -----
    For ReLU, ``E[relu(z)²] = 1/2`` for ``z ~ N(0, 1)``, so ``gain² · E[f(z)²] = 1``;
    the leaky ReLU gain follows the same way from ``E[f(z)²] = (1 + α²)/2``. Implements
    eq. (init-leaky-gain) in chapters/07_initialization.
    """
    if not isinstance(nonlinearity, str):
        raise TypeError(
            "gain: nonlinearity must be a name (str), got "
            f"{type(nonlinearity).__name__}"
        )
    if nonlinearity == "elu":
        raise ValueError(
            "gain: ELU has no closed-form gain (PyTorch defines none); "
            "use nonlinearity='relu' as an approximation if you mean it"
        )
    check_choice(nonlinearity, tuple(_GAINS), "nonlinearity")
    if nonlinearity != "leaky_relu":
        if param is not None:
            raise ValueError(
                f"gain: param is only used by 'leaky_relu', got param={param!r} for "
                f"{nonlinearity!r}"
            )
        return _GAINS[nonlinearity]
    alpha = 0.01 if param is None else param
    if (
        isinstance(alpha, bool)
        or not isinstance(alpha, numbers.Real)
        or not math.isfinite(alpha)
    ):
        raise ValueError(
            "gain: the leaky_relu slope param must be a finite real number, got "
            f"{param!r}"
        )
    return math.sqrt(2.0 / (1.0 + float(alpha) ** 2))


def xavier_normal(n_in, n_out, rng=None, gain=1.0):
    """Xavier/Glorot normal: ``W ~ N(0, σ²)`` with ``σ = gain · √(2 / (n_in + n_out))``.

    Parameters
    ----------
    n_in, n_out : int
    rng : numpy.random.Generator or int
        Required.
    gain : float, default 1.0
        Multiplier, e.g. ``bookcode.init.gain("tanh")``.

    Notes
    -----
    Implements eq. (init-xavier-variance) in chapters/07_initialization.
    """
    n_in, n_out = _shape(n_in, n_out)
    g = check_positive_float(gain, "gain")
    std = g * math.sqrt(2.0 / (n_in + n_out))
    return _need_rng(rng, "xavier_normal").normal(0.0, std, size=(n_in, n_out))


def xavier_uniform(n_in, n_out, rng=None, gain=1.0):
    """Xavier/Glorot uniform: ``W ~ U(-a, a)`` with ``a = gain · √(6 / (n_in +
    n_out))``.

    Same variance as :func:`xavier_normal`, since ``Var U(-a, a) = a²/3``.

    Notes
    -----
    Implements eq. (init-xavier-uniform) in chapters/07_initialization.
    """
    n_in, n_out = _shape(n_in, n_out)
    g = check_positive_float(gain, "gain")
    a = g * math.sqrt(6.0 / (n_in + n_out))
    return _need_rng(rng, "xavier_uniform").uniform(-a, a, size=(n_in, n_out))


def _he_scale(n_in, n_out, nonlinearity, param, mode):
    check_choice(mode, ("fan_in", "fan_out"), "mode")
    fan = n_in if mode == "fan_in" else n_out
    return gain(nonlinearity, param), fan


def he_normal(n_in, n_out, rng=None, nonlinearity="relu", param=None, mode="fan_in"):
    """He/Kaiming normal: ``W ~ N(0, σ²)`` with ``σ = gain / √fan``.

    Parameters
    ----------
    n_in, n_out : int
    rng : numpy.random.Generator or int
        Required.
    nonlinearity, param
        Passed to :func:`gain` (default ReLU: gain √2, so ``Var W = 2 / fan``).
    mode : {"fan_in", "fan_out"}, default "fan_in"
        ``fan_in`` (= ``n_in``) preserves the forward second moment, ``fan_out`` (=
        ``n_out``) the backward one.

    Notes
    -----
    Implements eq. (init-he-variance) in chapters/07_initialization.
    """
    n_in, n_out = _shape(n_in, n_out)
    g, fan = _he_scale(n_in, n_out, nonlinearity, param, mode)
    return _need_rng(rng, "he_normal").normal(
        0.0, g / math.sqrt(fan), size=(n_in, n_out)
    )


def he_uniform(n_in, n_out, rng=None, nonlinearity="relu", param=None, mode="fan_in"):
    """He/Kaiming uniform: ``W ~ U(-a, a)`` with ``a = gain · √(3 / fan)`` (same
    variance as :func:`he_normal`). Parameters as in :func:`he_normal`.

    Notes
    -----
    Implements eq. (init-he-variance) with ``Var U(-a, a) = a²/3`` in
    chapters/07_initialization.
    """
    n_in, n_out = _shape(n_in, n_out)
    g, fan = _he_scale(n_in, n_out, nonlinearity, param, mode)
    a = g * math.sqrt(3.0 / fan)
    return _need_rng(rng, "he_uniform").uniform(-a, a, size=(n_in, n_out))


_REGISTRY = {
    "constant": constant,
    "zeros": zeros,
    "normal": normal,
    "uniform": uniform,
    "xavier_normal": xavier_normal,
    "xavier_uniform": xavier_uniform,
    "glorot_normal": xavier_normal,
    "glorot_uniform": xavier_uniform,
    "he_normal": he_normal,
    "he_uniform": he_uniform,
    "kaiming_normal": he_normal,
    "kaiming_uniform": he_uniform,
}


def get(name):
    """Return the initializer called ``name`` (``glorot_*`` and ``kaiming_*`` are
    aliases).

    The returned function is called as ``f(n_in, n_out, rng=rng)`` by
    :class:`bookcode.layers.Linear`; bind other arguments with ``functools.partial``.

    Notes
    -----
    Registry of the initializers of chapters/07_initialization, eqs.
    (init-xavier-variance), (init-xavier-uniform), (init-he-variance).
    """
    if not isinstance(name, str):
        raise TypeError(
            f"init.get: expected an initializer name (str), got {type(name).__name__}"
        )
    return _REGISTRY[check_choice(name, tuple(_REGISTRY), "initializer")]
