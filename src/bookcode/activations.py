"""Activation functions and their derivatives, computed so that they cannot overflow.

Two ways to use them:

- plain functions to read and to teach with: ``sigmoid(x)``, ``sigmoid_derivative(x)``,
  ...;
- small objects from ``get(name, **params)`` for layers: ``f(x)``, ``f.derivative(x)``,
  ``f.vjp(x, y, dy)`` (what backprop needs), and ``f.range`` / ``f.zero_centred``
  metadata.

Conventions
-----------
- Input is anything array-like. Integers become float64; float16/32/64 stay as they are.
  NaN and inf are accepted and propagate (chapter 05 follows them); every derivative is
  NaN where ``x`` is NaN.
- Kinks: a piecewise function uses its ``x > 0`` branch for ``x > 0`` and its other
  branch for ``x <= 0``. So relu'(0) = 0, leaky_relu'(0) = alpha and elu'(0) = alpha
  (which is 1 for the default alpha = 1, the one value at which ELU is differentiable at
  0).
- GELU and SiLU (``x Φ(x)``, ``x σ(x)``) are smooth, not monotone, and have a
  finite minimum; GELU's ``Φ`` is ``scipy.special.ndtr`` (scipy comes with
  scikit-learn), imported on first use.
- Exponentials only ever see arguments <= 0, so they cannot overflow. When they
  underflow to 0 (``exp(-1e4)``), 0 is the correctly rounded answer, so underflow is
  silenced even under ``np.errstate(all="raise")``.
"""

from __future__ import annotations

import numpy as np

from ._validate import as_float_array, check_name, check_positive_float

__all__ = [
    "identity",
    "identity_derivative",
    "sigmoid",
    "sigmoid_derivative",
    "tanh",
    "tanh_derivative",
    "relu",
    "relu_derivative",
    "leaky_relu",
    "leaky_relu_derivative",
    "elu",
    "elu_derivative",
    "softplus",
    "softplus_derivative",
    "gelu",
    "gelu_derivative",
    "gelu_tanh",
    "gelu_tanh_derivative",
    "silu",
    "silu_derivative",
    "softmax",
    "softmax_vjp",
    "softmax_jacobian",
    "logsumexp",
    "ActivationFunction",
    "get",
    "available",
]


def _x(x, where):
    return as_float_array(x, "x", allow_nonfinite=True, where=where)


def _alpha(alpha, where):
    return check_positive_float(alpha, f"{where}: alpha", allow_zero=True)


def _keep_nan(d, x):
    """``d`` in the dtype of ``x``, with NaN wherever ``x`` is NaN."""
    return np.where(np.isnan(x), x, d).astype(x.dtype, copy=False)


def _check_vector_axis(x, where):
    if x.ndim == 0 or x.shape[-1] == 0:
        raise ValueError(
            f"{where}: expected x with at least one entry along the last axis, got "
            f"shape {x.shape}"
        )


def identity(x):
    """Identity ("linear") activation ``f(x) = x``; derivative 1; range (-inf, inf).

    The output activation for regression. Returns a copy of ``x``.

    Implements eq. (identity) in chapters/04_activations.
    """
    return _x(x, "identity").copy()


def identity_derivative(x):
    """Derivative of the identity: 1 everywhere (NaN where ``x`` is NaN).

    Implements eq. (identity) in chapters/04_activations.
    """
    x = _x(x, "identity_derivative")
    return _keep_nan(np.ones_like(x), x)


@np.errstate(under="ignore")
def sigmoid(x):
    r"""Logistic sigmoid :math:`\sigma(x) = 1 / (1 + e^{-x})`; range (0, 1), not
    zero-centred.

    Derivative :math:`\sigma(x)(1 - \sigma(x))`, see :func:`sigmoid_derivative`.
    Computed from ``e = exp(-|x|)`` <= 1: ``1 / (1 + e)`` for ``x >= 0`` and ``e / (1 +
    e)`` for ``x < 0``. The textbook form ``1 / (1 + exp(-x))`` overflows in ``exp`` for
    ``x < -709`` in float64 (``x < -11.1`` in float16).

    Implements eq. (sigmoid) in chapters/04_activations.
    """
    x = _x(x, "sigmoid")
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


@np.errstate(under="ignore")
def sigmoid_derivative(x):
    r"""Derivative of the sigmoid, :math:`\sigma'(x) = \sigma(x)\,(1 - \sigma(x))`.

    At most 1/4 (at x = 0) and tiny for large ``|x|`` (saturation). Computed as ``e / (1
    + e)**2`` with ``e = exp(-|x|)``: the same number, since :math:`\sigma'(x) =
    \sigma(x)\sigma(-x)` is even, but without the cancellation in ``1 - σ``.

    Implements eq. (sigmoid-derivative) in chapters/04_activations.
    """
    e = np.exp(-np.abs(_x(x, "sigmoid_derivative")))
    return e / (1 + e) ** 2


def tanh(x):
    r"""Hyperbolic tangent :math:`\tanh(x) = (e^x - e^{-x}) / (e^x + e^{-x}) =
    2\sigma(2x) - 1`.

    Range (-1, 1), zero-centred. Derivative ``1 - tanh(x)**2``, see
    :func:`tanh_derivative`.

    Implements eq. (tanh) in chapters/04_activations.
    """
    return np.tanh(_x(x, "tanh"))


@np.errstate(under="ignore")
def tanh_derivative(x):
    r"""Derivative of tanh, :math:`1 - \tanh^2(x)`.

    Equal to 1 at x = 0 (not "< 1" as folklore says), < 1 everywhere else, and tiny once
    tanh saturates.

    Implements eq. (tanh-derivative) in chapters/04_activations.
    """
    t = np.tanh(_x(x, "tanh_derivative"))
    return 1 - t * t


def relu(x):
    """Rectified linear unit ``max(x, 0)``; range [0, inf), not zero-centred.

    Implements eq. (relu) in chapters/04_activations.
    """
    return np.maximum(_x(x, "relu"), 0)


def relu_derivative(x):
    """Derivative of ReLU: 1 for ``x > 0``, 0 for ``x <= 0`` (convention: relu'(0) = 0).

    Implements eq. (relu-derivative) in chapters/04_activations.
    """
    x = _x(x, "relu_derivative")
    return _keep_nan(x > 0, x)


@np.errstate(under="ignore")
def leaky_relu(x, alpha=0.01):
    """Leaky ReLU: ``x`` for ``x > 0``, ``alpha * x`` for ``x <= 0``; range (-inf, inf)
    if alpha > 0.

    Parameters
    ----------
    x : array_like
    alpha : float, default 0.01
        Slope for ``x <= 0``; a finite number >= 0 (0 gives ReLU).

    Implements eq. (leaky-relu) in chapters/04_activations.
    """
    x, alpha = _x(x, "leaky_relu"), _alpha(alpha, "leaky_relu")
    return np.where(x > 0, x, alpha * x)


def leaky_relu_derivative(x, alpha=0.01):
    """Derivative of leaky ReLU: 1 for ``x > 0``, ``alpha`` for ``x <= 0`` (so its value
    at 0 is alpha).

    Implements eq. (leaky-relu-derivative) in chapters/04_activations.
    """
    x, alpha = _x(x, "leaky_relu_derivative"), _alpha(alpha, "leaky_relu_derivative")
    return _keep_nan(np.where(x > 0, 1, alpha), x)


@np.errstate(under="ignore")
def elu(x, alpha=1.0):
    r"""Exponential linear unit: ``x`` for ``x > 0``, :math:`\alpha(e^x - 1)` for ``x <=
    0``.

    Range (-alpha, inf): smooth for alpha = 1 and, unlike ReLU, negative outputs push
    the mean activation towards 0. ``expm1`` only sees ``min(x, 0)``, so it cannot
    overflow.

    Parameters
    ----------
    x : array_like
    alpha : float, default 1.0
        Saturation value for ``x -> -inf`` is ``-alpha``; a finite number >= 0.

    Implements eq. (elu) in chapters/04_activations.
    """
    x, alpha = _x(x, "elu"), _alpha(alpha, "elu")
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


@np.errstate(under="ignore")
def elu_derivative(x, alpha=1.0):
    r"""Derivative of ELU: 1 for ``x > 0``, :math:`\alpha e^x` for ``x <= 0`` (so
    elu'(0) = alpha).

    Implements eq. (elu-derivative) in chapters/04_activations.
    """
    x, alpha = _x(x, "elu_derivative"), _alpha(alpha, "elu_derivative")
    return np.where(x > 0, 1, alpha * np.exp(np.minimum(x, 0))).astype(
        x.dtype, copy=False
    )


@np.errstate(under="ignore")
def softplus(x):
    r"""Softplus :math:`\log(1 + e^x)`, a smooth ReLU; range (0, inf); derivative
    :math:`\sigma(x)`.

    Computed as ``log1p(exp(-|x|)) + max(x, 0)`` (equal, since :math:`\log(1 + e^x) = x
    + \log(1 + e^{-x})`): the naive form gives inf for x > 709 and rounds to 0 for x <
    -37, where ``1 + e^x == 1`` in float64.

    Implements eq. (softplus) in chapters/04_activations.
    """
    x = _x(x, "softplus")
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0)


def softplus_derivative(x):
    r"""Derivative of softplus: the sigmoid :math:`\sigma(x)`.

    Implements eq. (softplus-derivative) in chapters/04_activations.
    """
    return sigmoid(_x(x, "softplus_derivative"))


def _no_neg_inf(x):
    """``x`` with -inf replaced by the most negative finite number of its dtype.

    ``x · s(x)`` with ``s(-inf) = 0`` (GELU, SiLU) would give ``-inf · 0 = NaN``; with
    the most negative finite number it gives ``-0``, the limit.
    """
    return np.maximum(x, np.finfo(x.dtype).min)


def _normal_cdf(x):
    """Standard normal CDF ``Φ(x)``, accurate in both tails, in the dtype of ``x``."""
    from scipy.special import ndtr  # scipy comes with scikit-learn

    return ndtr(x).astype(x.dtype, copy=False)


_SQRT_2PI = float(np.sqrt(2.0 * np.pi))
_GELU_TANH_C = float(np.sqrt(2.0 / np.pi))  # √(2/π) of the tanh approximation


@np.errstate(under="ignore")
def gelu(x):
    r"""Gaussian error linear unit :math:`x\,\Phi(x)`, with :math:`\Phi` the standard
    normal CDF (the exact form; :func:`gelu_tanh` is the tanh approximation).

    Range about [-0.17, inf), minimum -0.16997 at x ≈ -0.7518; not monotone and not
    zero-centred. A smooth ReLU: it weights the input by the probability that a
    standard normal variable is below it. ``Φ`` is ``scipy.special.ndtr``, accurate
    in the left tail, where ``(1 + erf(x/√2)) / 2`` cancels to 0.

    Implements eq. (gelu) in chapters/04_activations.
    """
    x = _x(x, "gelu")
    return _no_neg_inf(x) * _normal_cdf(x)


@np.errstate(under="ignore")
def gelu_derivative(x):
    r"""Derivative of GELU, :math:`\Phi(x) + x\,\varphi(x)` with :math:`\varphi(x) =
    e^{-x^2/2}/\sqrt{2\pi}` the standard normal density.

    Negative left of the minimum x ≈ -0.7518 and, since ``gelu'(x) + gelu'(-x) = 1``,
    above 1 right of x ≈ +0.7518, largest (about 1.129) at x = √2. ``x φ(x)`` is
    computed at ``x`` clipped to [-40, 40]: beyond, it is 0 in float64, and ``x²``
    could overflow.

    Implements eq. (gelu-derivative) in chapters/04_activations.
    """
    x = _x(x, "gelu_derivative")
    xc = np.clip(x, -40, 40)
    return (_normal_cdf(x) + xc * np.exp(-0.5 * xc * xc) / _SQRT_2PI).astype(
        x.dtype, copy=False
    )


def _gelu_tanh_gate(x):
    """``(x_c, 2u, u')`` of the tanh approximation at ``x_c``, x clipped to [-30, 30].

    ``u = √(2/π) (x + 0.044715 x³)``; beyond |x| = 30, ``σ(2u)`` is exactly 0 or 1 in
    float64 (|2u| > 1900) and the clip keeps ``x³`` finite in float16.
    """
    xc = np.clip(x, -30, 30)
    x2 = xc * xc
    two_u = 2.0 * _GELU_TANH_C * xc * (1.0 + 0.044715 * x2)
    du = _GELU_TANH_C * (1.0 + 3 * 0.044715 * x2)
    return xc, two_u.astype(x.dtype, copy=False), du


@np.errstate(under="ignore")
def gelu_tanh(x):
    r"""Tanh approximation of GELU (Hendrycks & Gimpel 2016),
    :math:`\tfrac12 x\,(1 + \tanh u)`, :math:`u = \sqrt{2/\pi}\,(x + 0.044715\,x^3)`.

    Within 5e-4 of :func:`gelu` everywhere. Computed as ``x σ(2u)`` (the same number,
    since ``(1 + tanh u)/2 = σ(2u)``) with the stable sigmoid, which keeps the small
    outputs that ``1 + tanh u`` rounds to 0 (for x < -7.19 in float64).

    Implements eq. (gelu-tanh) in chapters/04_activations.
    """
    x = _x(x, "gelu_tanh")
    _, two_u, _ = _gelu_tanh_gate(x)
    return _no_neg_inf(x) * sigmoid(two_u)


@np.errstate(under="ignore")
def gelu_tanh_derivative(x):
    r"""Derivative of :func:`gelu_tanh`: :math:`\sigma(2u) + 2x\,u'\,\sigma'(2u)`,
    :math:`u' = \sqrt{2/\pi}\,(1 + 3 \cdot 0.044715\,x^2)`.

    Implements eq. (gelu-tanh) in chapters/04_activations.
    """
    x = _x(x, "gelu_tanh_derivative")
    xc, two_u, du = _gelu_tanh_gate(x)
    d = sigmoid(two_u) + 2.0 * xc * du * sigmoid_derivative(two_u)
    return d.astype(x.dtype, copy=False)


@np.errstate(under="ignore")
def silu(x):
    r"""Sigmoid-weighted linear unit (SiLU, "swish" with β = 1) :math:`x\,\sigma(x)`.

    Range about [-0.278, inf), minimum at x ≈ -1.2785 where ``silu(x) = x + 1``; not
    monotone and not zero-centred. Uses the stable :func:`sigmoid`, so no ``exp``
    overflows for large ``|x|``.

    Implements eq. (silu) in chapters/04_activations.
    """
    x = _x(x, "silu")
    return _no_neg_inf(x) * sigmoid(x)


@np.errstate(under="ignore")
def silu_derivative(x):
    r"""Derivative of SiLU, :math:`\sigma(x)\,(1 + x(1 - \sigma(x)))`.

    Computed as ``σ(x) + x σ'(x)`` (the same number) with the stable
    :func:`sigmoid_derivative`, which has no cancellation in ``1 - σ(x)`` for large x;
    ``x σ'(x)`` is 0, not NaN, at ``x = ±inf``. As for GELU, ``silu'(x) + silu'(-x) =
    1``: negative left of x ≈ -1.2785, above 1 right of +1.2785, largest (about 1.0998)
    at x ≈ 2.3994.

    Implements eq. (silu-derivative) in chapters/04_activations.
    """
    x = _x(x, "silu_derivative")
    big = np.finfo(x.dtype).max
    xc = np.clip(x, -big, big)
    return (sigmoid(x) + xc * sigmoid_derivative(xc)).astype(x.dtype, copy=False)


@np.errstate(under="ignore")
def softmax(x):
    r"""Softmax along the last axis, :math:`s_k = e^{x_k} / \sum_j e^{x_j}` (each row of
    a batch).

    Entries in (0, 1), each row sums to 1. Not element-wise: its Jacobian is ``diag(s) -
    s sᵀ`` (:func:`softmax_jacobian`); backprop uses :func:`softmax_vjp`. Subtracting
    the row maximum ``m`` first changes nothing (numerator and denominator both gain the
    factor :math:`e^{-m}`) but makes every exponent <= 0. A row containing +inf gives
    NaN (inf - inf).

    Implements eq. (softmax) in chapters/04_activations.
    """
    x = _x(x, "softmax")
    _check_vector_axis(x, "softmax")
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


@np.errstate(under="ignore")
def softmax_vjp(y, dy):
    r"""Vector-Jacobian product of softmax: ``dE/dx = y ∘ (dy - Σ_k dy_k y_k)`` row by
    row.

    Parameters
    ----------
    y : array_like
        The softmax output ``softmax(x)``.
    dy : array_like
        ``dE/dy``, same shape as ``y``.

    Equal to ``dy @ softmax_jacobian(x)`` for one row, in O(K) instead of O(K²).

    Implements eq. (softmax-vjp) in chapters/04_activations.
    """
    y = _x(y, "softmax_vjp")
    dy = as_float_array(dy, "dy", allow_nonfinite=True, where="softmax_vjp")
    if y.shape != dy.shape:
        raise ValueError(
            f"softmax_vjp: expected dy with the shape of y {y.shape}, got {dy.shape}"
        )
    return y * (dy - np.sum(dy * y, axis=-1, keepdims=True))


def softmax_jacobian(x):
    r"""Jacobian of softmax for one vector: :math:`J_{ij} = \partial s_i/\partial x_j =
    s_i(\delta_{ij} - s_j)`.

    Returns ``diag(s) - outer(s, s)``, shape (K, K) for ``x`` of shape (K,).

    Implements eq. (softmax-jacobian) in chapters/04_activations.
    """
    x = _x(x, "softmax_jacobian")
    if x.ndim != 1 or x.size == 0:
        raise ValueError(
            "softmax_jacobian: expected one non-empty vector x of shape (K,), got "
            f"shape {x.shape}"
        )
    s = softmax(x)
    return np.diag(s) - np.outer(s, s)


@np.errstate(under="ignore")
def logsumexp(x, axis=-1, keepdims=False):
    r"""Stable :math:`\log \sum_k e^{x_k}`, computed as :math:`m + \log \sum_k e^{x_k -
    m}`, m = max.

    Its gradient is ``softmax(x)``. Rows whose maximum is +inf or -inf give that value;
    NaN propagates.

    Parameters
    ----------
    x : array_like
    axis : int or None, default -1
        Axis to reduce (None: all entries).
    keepdims : bool, default False

    Implements eq. (logsumexp) in chapters/04_activations.
    """
    x = _x(x, "logsumexp")
    if x.ndim == 0 or x.size == 0:
        raise ValueError(
            "logsumexp: expected a non-empty array with at least one axis, got shape "
            f"{x.shape}"
        )
    m = np.max(x, axis=axis, keepdims=True)
    finite = np.isfinite(m)
    m0 = np.where(finite, m, 0)
    z = np.where(
        finite, x - m0, 0
    )  # <= 0 in finite rows; the others are settled by m below
    out = np.where(finite, np.log(np.sum(np.exp(z), axis=axis, keepdims=True)) + m0, m)
    return out if keepdims else np.squeeze(out, axis=axis)


# name: (f, f' or None if not element-wise, parameters with defaults, range(**params),
# odd?)
_REGISTRY = {
    "identity": (identity, identity_derivative, {}, lambda: (-np.inf, np.inf), True),
    "sigmoid": (sigmoid, sigmoid_derivative, {}, lambda: (0.0, 1.0), False),
    "tanh": (tanh, tanh_derivative, {}, lambda: (-1.0, 1.0), True),
    "relu": (relu, relu_derivative, {}, lambda: (0.0, np.inf), False),
    "leaky_relu": (
        leaky_relu,
        leaky_relu_derivative,
        {"alpha": 0.01},
        lambda alpha: (-np.inf if alpha > 0 else 0.0, np.inf),
        False,
    ),
    "elu": (elu, elu_derivative, {"alpha": 1.0}, lambda alpha: (-alpha, np.inf), False),
    "softplus": (softplus, softplus_derivative, {}, lambda: (0.0, np.inf), False),
    # minima attained at x ≈ -0.75 (GELU) and -1.28 (SiLU), rounded down at 12 digits
    "gelu": (gelu, gelu_derivative, {}, lambda: (-0.169971207480, np.inf), False),
    "gelu_tanh": (
        gelu_tanh,
        gelu_tanh_derivative,
        {},
        lambda: (-0.170040750572, np.inf),
        False,
    ),
    "silu": (silu, silu_derivative, {}, lambda: (-0.278464542762, np.inf), False),
    "softmax": (softmax, None, {}, lambda: (0.0, 1.0), False),
}
_ALIASES = {"linear": "identity", "logistic": "sigmoid", "leakyrelu": "leaky_relu"}


class ActivationFunction:
    """An activation as an object, made by :func:`get`.

    Attributes
    ----------
    name : str
    params : dict
        Parameters with their values, e.g. ``{"alpha": 0.1}`` (empty for most).
    range : tuple of float
        ``(lo, hi)``: infimum and supremum of the outputs (the minima of GELU and SiLU,
        attained at a finite x, rounded down at 12 digits).
    zero_centred : bool
        True if f is odd, ``f(-x) = -f(x)``, so zero-mean symmetric input gives
        zero-mean output (identity, tanh). ELU and leaky ReLU are closer to zero mean
        than ReLU, but not odd.

    Implements eq. (backprop-delta) in chapters/03_backprop.
    """

    def __init__(self, name, **params):
        self._f, self._df, defaults, range_, self.zero_centred = _REGISTRY[name]
        unknown = sorted(set(params) - set(defaults))
        if unknown:
            accepted = (
                f"accepts only {', '.join(defaults)}"
                if defaults
                else "takes no parameters"
            )
            raise TypeError(f"activation {name!r} {accepted}; got {', '.join(unknown)}")
        self.name = name
        self.params = {k: _alpha(params.get(k, v), name) for k, v in defaults.items()}
        self.range = range_(**self.params)

    def __call__(self, x):
        """``f(x)``."""
        return self._f(x, **self.params)

    def derivative(self, x):
        """Element-wise derivative ``f'(x)``; softmax has none (use ``vjp`` or
        ``softmax_jacobian``)."""
        if self._df is None:
            raise NotImplementedError(
                f"{self.name} is not element-wise, so it has no element-wise "
                "derivative: use .vjp(x, y, dy) for backprop, or softmax_jacobian(x) "
                "for the full Jacobian of one vector"
            )
        return self._df(x, **self.params)

    @np.errstate(under="ignore")
    def vjp(self, x, y, dy):
        """``dE/dx`` from ``x``, ``y = f(x)`` and ``dy = dE/dy``: ``dy ∘ f'(x)`` if
        element-wise.

        For softmax, ``softmax_vjp(y, dy)`` (``y`` may be None, then it is recomputed
        from ``x``).
        """
        where = f"{self.name}.vjp"
        x = _x(x, where)
        dy = as_float_array(dy, "dy", allow_nonfinite=True, where=where)
        if dy.shape != x.shape:
            raise ValueError(
                f"{where}: expected dy with the shape of x {x.shape}, got {dy.shape}"
            )
        if self._df is None:
            return softmax_vjp(self(x) if y is None else y, dy)
        return dy * self.derivative(x)

    def __repr__(self):
        return f"{self.name}({', '.join(f'{k}={v!r}' for k, v in self.params.items())})"


def get(name, **params):
    """Return the activation object called ``name`` (case-insensitive; "linear",
    "leaky-relu", … work).

    Parameters
    ----------
    name : str or ActivationFunction
        One of :func:`available` or an alias; an activation object is returned as it is.
    **params
        Parameters of the activation, e.g. ``alpha=0.1`` for leaky_relu and elu.

    Raises ``ValueError`` for an unknown name or an invalid alpha (negative or not
    finite) and ``TypeError`` for a parameter the activation does not take.

    Implements the catalogue table in chapters/04_activations.
    """
    if isinstance(name, ActivationFunction):
        if params:
            raise TypeError(
                f"get: got an activation object {name!r} and parameters {params}; pass "
                "a name instead"
            )
        return name
    return ActivationFunction(
        check_name(name, tuple(_REGISTRY), "activation", _ALIASES), **params
    )


def available():
    """Names of the activations known to :func:`get`.

    Implements the catalogue table in chapters/04_activations.
    """
    return list(_REGISTRY)
