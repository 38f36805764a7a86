"""Gradient checking by central finite differences.

Backprop is easy to get subtly wrong; a finite-difference check is how the book (and its
tests) knows that every analytic gradient is right. Use float64: with a step ``eps =
1e-6`` the central difference has truncation error O(eps²) and rounding error
O(machine-eps / eps), so a correct gradient agrees to a relative error well below 1e-7,
and a wrong one is off by far more.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._validate import as_float_array, as_rng, check_positive_float

__all__ = [
    "numerical_gradient",
    "rel_error",
    "check_gradient",
    "check_layer",
    "check_network",
    "GradCheckReport",
    "TOLERANCE",
]

#: Relative error below which a float64 gradient check passes (see the module
#: docstring).
TOLERANCE = 1e-7


def numerical_gradient(f, x, eps=1e-6):
    """Central-difference gradient of a scalar function ``f`` at ``x``.

    ``∂f/∂x_i ≈ (f(x + eps e_i) − f(x − eps e_i)) / (2 eps)``, one pair of evaluations
    per coordinate — the cost that makes finite differences useless for training and
    perfect for checking.

    Parameters
    ----------
    f : callable
        ``f()`` with no arguments if ``x`` is an array that ``f`` reads (the array is
        perturbed in place and restored), or ``f(x)`` — the function is called as
        ``f(x)`` when it accepts an argument. Must return a real scalar.
    x : numpy.ndarray
        A floating array. It is modified temporarily and restored exactly.
    eps : float
        Step size.

    Returns
    -------
    numpy.ndarray
        Same shape as ``x``.

    Implements eq. (central-difference) in chapters/01_gradient_descent.
    """
    if not callable(f):
        raise TypeError(
            f"numerical_gradient: f must be callable, got {type(f).__name__}"
        )
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        raise TypeError(
            "numerical_gradient: x must be a floating numpy array (it is perturbed in "
            f"place), got {type(x).__name__}"
            + ("" if not isinstance(x, np.ndarray) else f" of dtype {x.dtype}")
        )
    eps = check_positive_float(eps, "eps")
    call = _caller(f, x)
    grad = np.zeros_like(x, dtype=np.float64)
    flat_x = x.reshape(-1)  # a view when x is contiguous
    if not np.shares_memory(flat_x, x):
        raise ValueError(
            "numerical_gradient: x must be a contiguous array (perturbations must "
            "reach f)"
        )
    flat_g = grad.reshape(-1)
    for i in range(flat_x.size):
        old = flat_x[i]
        flat_x[i] = old + eps
        f_plus = _scalar(call())
        flat_x[i] = old - eps
        f_minus = _scalar(call())
        flat_x[i] = old
        flat_g[i] = (f_plus - f_minus) / (2.0 * eps)
    return grad


def _caller(f, x):
    import inspect

    try:
        sig = inspect.signature(f)
        takes_arg = any(
            p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
            for p in sig.parameters.values()
        )
    except (TypeError, ValueError):  # builtins without signature
        takes_arg = True
    return (lambda: f(x)) if takes_arg else f


def _scalar(value):
    v = np.asarray(value)
    if v.size != 1:
        raise ValueError(
            f"gradient check: f must return a scalar, got an array of shape {v.shape}"
        )
    v = float(v.reshape(()))
    if not np.isfinite(v):
        raise ValueError(
            "gradient check: f returned NaN/inf; check the function at this point"
        )
    return v


def rel_error(a, b):
    """Relative error ``‖a − b‖ / max(‖a‖ + ‖b‖, tiny)`` between two arrays of the same
    shape.

    Scale-free, so the same threshold works for large and small gradients; 0 when both
    are zero.

    Implements eq. (rel-error) in chapters/01_gradient_descent.
    """
    a = as_float_array(a, "a", where="rel_error").astype(np.float64)
    b = as_float_array(b, "b", where="rel_error").astype(np.float64)
    if a.shape != b.shape:
        raise ValueError(
            f"rel_error: a and b must have the same shape, got {a.shape} and {b.shape}"
        )
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    if denom == 0.0:
        return 0.0
    return float(np.linalg.norm(a - b) / max(denom, np.finfo(np.float64).tiny))


def check_gradient(f, grad, x, eps=1e-6):
    """Relative error between an analytic gradient ``grad(x)`` and the finite-difference
    one.

    Parameters
    ----------
    f, grad : callable
        The scalar function ``f(x)`` and its claimed gradient ``grad(x)``.
    x : array-like
        Point of evaluation (copied to float64).

    Returns
    -------
    float
        :func:`rel_error` of the two gradients; below :data:`TOLERANCE` means they
        agree.

    Implements eq. (central-difference) in chapters/01_gradient_descent.
    """
    if not callable(grad):
        raise TypeError(
            f"check_gradient: grad must be callable, got {type(grad).__name__}"
        )
    x = np.array(as_float_array(x, "x", where="check_gradient"), dtype=np.float64)
    analytic = np.asarray(grad(x.copy()), dtype=np.float64)
    if analytic.shape != x.shape:
        raise ValueError(
            f"check_gradient: grad(x) has shape {analytic.shape}, expected x's shape "
            f"{x.shape}"
        )
    numeric = numerical_gradient(f, x, eps)
    return rel_error(analytic, numeric)


@dataclass
class GradCheckReport:
    """Relative errors of a gradient check, one per checked array (``"dX"``, ``"0.W"``,
    …)."""

    errors: dict = field(default_factory=dict)
    tolerance: float = TOLERANCE

    @property
    def max_error(self):
        return max(self.errors.values()) if self.errors else 0.0

    @property
    def passed(self):
        return self.max_error < self.tolerance

    def __repr__(self):
        rows = ", ".join(f"{k}: {v:.1e}" for k, v in self.errors.items())
        return f"GradCheckReport({'passed' if self.passed else 'FAILED'}; {rows})"


def check_layer(layer, X, rng=0, eps=1e-6):
    """Gradient-check a layer (or a network) that follows the Layer protocol.

    The scalar test loss is ``E = Σ Y ∘ R`` with a fixed random ``R`` (so ``dE/dY =
    R``): it exercises every output with a different weight, which a plain sum would
    not.

    Parameters
    ----------
    layer : Layer or Sequential
        Anything with ``forward``/``backward`` and ``params``/``grads`` dicts, or
        ``parameters()``.
    X : array-like, shape (N, n_in)
        Input batch (copied to float64).
    rng : Generator or int
        Seed for ``R``.

    Returns
    -------
    GradCheckReport
        Errors for ``dX`` and for every parameter.

    Implements eq. (backprop-dW) in chapters/03_backprop.
    """
    _triples(layer)  # validates the protocol
    if not (hasattr(layer, "forward") and hasattr(layer, "backward")):
        raise TypeError(
            "check_layer: expected a Layer with forward/backward, got "
            f"{type(layer).__name__}"
        )
    X = np.array(as_float_array(X, "X", where="check_layer"), dtype=np.float64)
    rng = as_rng(rng, where="check_layer")
    Y = layer.forward(X)
    R = rng.standard_normal(Y.shape)

    def loss():
        return float(np.sum(layer.forward(X) * R))

    return _check(layer, X, loss, lambda: R, eps)


def check_network(net, loss, X, T, eps=1e-6):
    """Gradient-check a network together with a loss: ``E = loss.value(net.forward(X),
    T)``.

    Parameters
    ----------
    net : Sequential or Layer
    loss : loss object from :mod:`bookcode.losses` (``value`` and ``grad``) or its name.
    X, T : arrays
        Inputs and targets.

    Returns
    -------
    GradCheckReport

    Implements eq. (backprop-dW) in chapters/03_backprop.
    """
    from . import losses as _losses

    loss = _losses.get(loss) if isinstance(loss, str) else loss
    X = np.array(as_float_array(X, "X", where="check_network"), dtype=np.float64)

    def value():
        return float(loss.value(net.forward(X), T))

    def dY():
        return loss.grad(net.forward(X), T)

    return _check(net, X, value, dY, eps)


def _triples(model):
    if hasattr(model, "parameters"):
        return list(model.parameters())
    if hasattr(model, "params") and hasattr(model, "grads"):
        return [(k, model.params[k], model.grads.get(k)) for k in model.params]
    raise TypeError(
        "gradient check: expected a Layer (params/grads dicts) or a network with "
        f"parameters(), got {type(model).__name__}"
    )


def _check(model, X, value, dY_fn, eps):
    report = GradCheckReport()
    # analytic: one forward + backward
    dY = dY_fn()  # runs forward
    dX = model.backward(dY)
    analytic = {key: np.array(g, dtype=np.float64) for key, _, g in _triples(model)}
    report.errors["dX"] = rel_error(dX, numerical_gradient(value, X, eps))
    for key, p, _ in _triples(model):
        if p.dtype != np.float64:
            raise TypeError(
                f"gradient check: parameter {key!r} is {p.dtype}; gradient checks need "
                "float64"
            )
        report.errors[key] = rel_error(analytic[key], numerical_gradient(value, p, eps))
    return report
