"""Small loss surfaces to study gradient descent on (chapter 1).

A *surface* is a loss ``E(w)`` with ``value``, ``gradient`` and ``hessian``; ``value``
and ``gradient`` accept one point of shape ``(d,)`` or a grid of points of shape ``(...,
d)``, so the same object draws its contours and drives the descent.

- :class:`QuadraticBowl`: ``E(w) = ½ wᵀ A w``, the model of every loss near a minimum;
- :class:`FourWells`: a non-convex 2-D surface with four minima, four saddles and a
  maximum;
- :class:`LeastSquares`: ``E(w) = ‖X w − t‖² / (2N)``, whose gradient can be estimated
  on a mini-batch.

:func:`critical_points` finds where ``∇E = 0`` and classifies each point by its Hessian
eigenvalues.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from .._validate import (
    as_batch,
    as_float_array,
    check_positive_float,
    check_positive_int,
)

__all__ = [
    "QuadraticBowl",
    "FourWells",
    "LeastSquares",
    "critical_points",
    "classify",
    "CriticalPoint",
]


class _Surface:
    """Shared by the surfaces. ``value``, ``gradient`` and ``hessian`` check ``w``
    (shape ``(d,)`` or a grid ``(..., d)``) and call the subclass's ``_value``,
    ``_gradient``, ``_hessian``.

    NaN and inf propagate without warnings (IEEE arithmetic), so a diverging run can be
    followed to its end; ``surface(w)`` is ``surface.value(w)`` and ``on_grid(X, Y)``
    evaluates a 2-D surface on coordinate grids (the ``f(X, Y)`` of
    :func:`bookcode.display.plotting.plot_contours`).
    """

    def _points(self, w, what):
        where = f"{type(self).__name__}.{what}"
        w = as_float_array(w, "w", where=where, allow_nonfinite=True)
        if w.ndim == 0 or w.shape[-1] != self.dim:
            raise ValueError(
                f"{where}: expected w of shape ({self.dim},) or (..., {self.dim}), got "
                f"shape {w.shape}"
            )
        return w

    def value(self, w):
        """``E(w)``; shape ``w.shape[:-1]``."""
        w = self._points(w, "value")
        with np.errstate(over="ignore", invalid="ignore"):
            return self._value(w)

    def gradient(self, w, *args):
        """``∇E(w)``; same shape as ``w`` (``LeastSquares`` also takes the indices of a
        mini-batch)."""
        w = self._points(w, "gradient")
        with np.errstate(over="ignore", invalid="ignore"):
            return self._gradient(w, *args)

    def hessian(self, w):
        """The Hessian ``∂²E/∂w_i∂w_j``; shape ``w.shape + (d,)``."""
        w = self._points(w, "hessian")
        with np.errstate(over="ignore", invalid="ignore"):
            return self._hessian(w)

    def __call__(self, w):
        return self.value(w)

    def on_grid(self, X, Y):
        """``E`` on coordinate grids ``X``, ``Y`` of equal shape (e.g. from
        ``np.meshgrid``); 2-D only."""
        if self.dim != 2:
            raise ValueError(
                f"{type(self).__name__}.on_grid: only 2-D surfaces can be drawn on a "
                f"grid, this one has d={self.dim}"
            )
        return self.value(
            np.stack(
                [np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)],
                axis=-1,
            )
        )


class QuadraticBowl(_Surface):
    """The quadratic bowl ``E(w) = ½ wᵀ A w`` with ``A`` symmetric positive definite.

    Its gradient is ``A w``, its Hessian ``A``, its minimum ``E = 0`` at ``w = 0``.
    Gradient descent on it multiplies the i-th eigen-coordinate by ``1 − η λ_i`` per
    step, which gives the stability bound ``η < 2/λ_max``.

    Parameters
    ----------
    A : array-like, shape (d, d)
        Symmetric positive definite matrix.

    Implements eq. (quadratic-bowl) in chapters/01_gradient_descent.
    """

    def __init__(self, A):
        A = as_float_array(A, "A", where="QuadraticBowl").astype(np.float64)
        if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] == 0:
            raise ValueError(
                "QuadraticBowl: expected a square matrix A of shape (d, d), got shape "
                f"{A.shape}"
            )
        if not np.allclose(A, A.T, rtol=1e-12, atol=1e-12 * np.abs(A).max()):
            raise ValueError("QuadraticBowl: A must be symmetric (A == A.T)")
        lam, Q = np.linalg.eigh(A)
        if lam[0] <= 0:
            raise ValueError(
                "QuadraticBowl: A must be positive definite, got smallest eigenvalue "
                f"{lam[0]:.3g}"
            )
        self.A, self.eigenvalues, self.eigenvectors = A, lam, Q
        self.dim = A.shape[0]

    @classmethod
    def from_eigenvalues(cls, eigenvalues, angle=0.0):
        """A bowl with given curvatures; in 2-D its axes are rotated by ``angle``
        (radians).

        ``A = Q diag(eigenvalues) Qᵀ`` with ``Q`` the rotation by ``angle`` (2-D) or the
        identity.

        Implements eq. (quadratic-bowl) in chapters/01_gradient_descent.
        """
        if (
            isinstance(angle, bool)
            or not isinstance(angle, numbers.Real)
            or not np.isfinite(angle)
        ):
            raise TypeError(
                "QuadraticBowl.from_eigenvalues: angle must be a finite number "
                f"(radians), got {angle!r}"
            )
        lam = as_float_array(
            eigenvalues, "eigenvalues", where="QuadraticBowl.from_eigenvalues"
        )
        if lam.ndim != 1 or lam.size == 0 or np.any(lam <= 0):
            raise ValueError(
                "QuadraticBowl.from_eigenvalues: expected a 1-D array of positive "
                f"numbers, got {lam}"
            )
        if angle != 0.0 and lam.size != 2:
            raise ValueError(
                "QuadraticBowl.from_eigenvalues: angle is only defined in 2-D, got "
                f"{lam.size} eigenvalues"
            )
        c, s = np.cos(angle), np.sin(angle)
        Q = np.array([[c, -s], [s, c]]) if lam.size == 2 else np.eye(lam.size)
        return cls((Q * lam) @ Q.T)

    def _value(self, w):
        return 0.5 * np.einsum("...i,ij,...j->...", w, self.A, w)

    def _gradient(self, w):
        return (
            w @ self.A
        )  # A symmetric: (A w)ᵀ = wᵀ A, and this form works on grids of points

    def _hessian(self, w):
        return np.broadcast_to(self.A, w.shape + (self.dim,)).copy()

    @property
    def condition_number(self):
        """``κ = λ_max / λ_min``, as in eq. (optimal-lr) in
        chapters/01_gradient_descent."""
        return float(self.eigenvalues[-1] / self.eigenvalues[0])

    @property
    def max_stable_lr(self):
        """``2 / λ_max``: gradient descent converges from every start iff ``0 < η`` is
        below this.

        Implements eq. (stability-bound) in chapters/01_gradient_descent.
        """
        return float(2.0 / self.eigenvalues[-1])

    @property
    def optimal_lr(self):
        """``2 / (λ_min + λ_max)``, the fixed learning rate with the smallest
        convergence factor.

        Implements eq. (optimal-lr) in chapters/01_gradient_descent.
        """
        return float(2.0 / (self.eigenvalues[0] + self.eigenvalues[-1]))

    def convergence_factor(self, lr):
        """``max_i |1 − η λ_i|``: the worst-case factor by which ``‖w‖`` shrinks per
        step.

        Implements eq. (convergence-factor) in chapters/01_gradient_descent.
        """
        lr = check_positive_float(lr, "lr")
        return float(np.max(np.abs(1.0 - lr * self.eigenvalues)))

    def momentum_matrix(self, lr, momentum, eigenvalue, *, nesterov=False):
        """The 2×2 matrix ``M`` of ``(z, s)_{k+1} = M (z, s)_k`` in one eigen-direction.

        ``z`` is the coordinate of ``w`` along the eigenvector of ``eigenvalue`` (λ),
        ``s`` that of the momentum buffer ``v``. Heavy ball: ``M = [[1 − ηλ, −ημ],
        [λ, μ]]``; Nesterov (the form of :func:`~bookcode.experiments.descent.
        momentum_descent`): ``M = [[1 − ηλ(1 + μ), −ημ²], [λ, μ]]``.

        Implements eq. (momentum-matrix) in chapters/01_gradient_descent.
        """
        lr = check_positive_float(lr, "lr")
        mu = check_positive_float(momentum, "momentum", allow_zero=True)
        lam = check_positive_float(eigenvalue, "eigenvalue")
        if nesterov:
            return np.array([[1 - lr * lam * (1 + mu), -lr * mu * mu], [lam, mu]])
        return np.array([[1 - lr * lam, -lr * mu], [lam, mu]])

    def momentum_factor(self, lr, momentum, *, nesterov=False):
        """The asymptotic factor per step of momentum descent: ``max_λ ρ(M_λ)``.

        ``ρ`` is the spectral radius of :meth:`momentum_matrix`, the largest ``|r|`` of
        the roots of ``r² − (1 + μ − ηλ) r + μ = 0`` for the heavy ball.

        Implements eq. (momentum-roots) in chapters/01_gradient_descent.
        """
        return float(
            max(
                np.abs(
                    np.linalg.eigvals(
                        self.momentum_matrix(lr, momentum, lam, nesterov=nesterov)
                    )
                ).max()
                for lam in self.eigenvalues
            )
        )

    @property
    def heavy_ball_optimum(self):
        """Polyak's ``(η, μ)``: ``4/(√λ_max + √λ_min)²`` and ``((√κ − 1)/(√κ + 1))²``.

        With them the heavy ball's factor per step is ``√μ = (√κ − 1)/(√κ + 1)``.

        Implements eq. (momentum-optimal) in chapters/01_gradient_descent.
        """
        a, b = np.sqrt(self.eigenvalues[0]), np.sqrt(self.eigenvalues[-1])
        return float(4.0 / (a + b) ** 2), float(((b - a) / (b + a)) ** 2)

    def __repr__(self):
        lam = ", ".join(f"{v:.4g}" for v in self.eigenvalues)
        kappa = self.condition_number
        return f"QuadraticBowl(d={self.dim}, eigenvalues=[{lam}], κ={kappa:.4g})"


class FourWells(_Surface):
    """A non-convex 2-D surface: two tilted double wells, coupled.

    ``E(w) = (w₁² − 1)² + (w₂² − 1)² + a w₁ + b w₂ + c w₁ w₂``. Without tilt and
    coupling it has minima at ``(±1, ±1)``, saddles at ``(0, ±1)`` and ``(±1, 0)`` and a
    maximum at the origin; the tilt ``(a, b)`` makes the four minima differ in depth and
    the coupling ``c`` rotates the Hessians off the axes.

    Implements eq. (four-wells) in chapters/01_gradient_descent.
    """

    dim = 2

    def __init__(self, tilt=(0.3, 0.15), coupling=0.5):
        tilt = as_float_array(tilt, "tilt", where="FourWells")
        if tilt.shape != (2,):
            raise ValueError(
                "FourWells: expected tilt as two numbers (a, b), got shape "
                f"{tilt.shape}"
            )
        if (
            isinstance(coupling, bool)
            or not isinstance(coupling, numbers.Real)
            or not np.isfinite(coupling)
        ):
            raise TypeError(
                f"FourWells: coupling must be a finite real number, got {coupling!r}"
            )
        self.a, self.b = float(tilt[0]), float(tilt[1])
        self.c = float(coupling)

    def _value(self, w):
        x, y = w[..., 0], w[..., 1]
        return (
            (x**2 - 1) ** 2 + (y**2 - 1) ** 2 + self.a * x + self.b * y + self.c * x * y
        )

    def _gradient(self, w):
        x, y = w[..., 0], w[..., 1]
        dE_dx = 4 * x * (x**2 - 1) + self.a + self.c * y
        dE_dy = 4 * y * (y**2 - 1) + self.b + self.c * x
        return np.stack([dE_dx, dE_dy], axis=-1)

    def _hessian(self, w):
        x, y = w[..., 0], w[..., 1]
        off = np.full_like(x, self.c)
        return np.stack(
            [np.stack([12 * x**2 - 4, off], -1), np.stack([off, 12 * y**2 - 4], -1)], -2
        )

    def __repr__(self):
        return f"FourWells(tilt=({self.a:g}, {self.b:g}), coupling={self.c:g})"


class LeastSquares(_Surface):
    """Linear least squares ``E(w) = ‖X w − t‖² / (2N)`` on a data set of N examples
    (rows of X).

    ``gradient(w, idx)`` averages over the examples ``idx`` only: the mini-batch
    estimate of the full gradient ``Xᵀ(X w − t)/N``.

    Implements eq. (minibatch-gradient) in chapters/01_gradient_descent.
    """

    def __init__(self, X, t):
        X = as_batch(X, where="LeastSquares").astype(np.float64)
        t = as_float_array(t, "t", where="LeastSquares").astype(np.float64)
        if t.shape != (X.shape[0],):
            raise ValueError(
                f"LeastSquares: expected t of shape ({X.shape[0]},) (one target per "
                f"row of X), got {t.shape}"
            )
        self.X, self.t = X, t
        self.n_examples, self.dim = X.shape
        self.H = X.T @ X / self.n_examples
        self.w_star = np.linalg.lstsq(X, t, rcond=None)[0]
        self.min_value = float(
            np.sum((X @ self.w_star - t) ** 2) / (2 * self.n_examples)
        )

    def _value(self, w):
        # exact for a quadratic: E(w) = E(w*) + ½ (w − w*)ᵀ H (w − w*); cheap on a grid,
        # accurate near w*
        v = w - self.w_star
        return self.min_value + 0.5 * np.einsum("...i,ij,...j->...", v, self.H, v)

    def _gradient(self, w, idx=None):
        X, t = (self.X, self.t) if idx is None else (self.X[idx], self.t[idx])
        if X.ndim != 2 or X.shape[0] == 0:
            raise ValueError(
                "LeastSquares.gradient: idx must select at least one example, got "
                f"{idx!r}"
            )
        return ((w @ X.T - t) @ X) / X.shape[0]

    def _hessian(self, w):
        return np.broadcast_to(self.H, w.shape + (self.dim,)).copy()

    def __repr__(self):
        return f"LeastSquares(N={self.n_examples}, d={self.dim})"


@dataclass(frozen=True)
class CriticalPoint:
    """A point where ``∇E = 0``, with its value, Hessian eigenvalues and kind."""

    w: np.ndarray
    value: float
    eigenvalues: np.ndarray
    kind: str  # "minimum", "maximum", "saddle" or "degenerate"

    def __repr__(self):
        w = ", ".join(f"{v:.4f}" for v in self.w)
        lam = ", ".join(f"{v:.3f}" for v in self.eigenvalues)
        return f"CriticalPoint({self.kind} at ({w}), E={self.value:.4f}, λ=[{lam}])"


def classify(eigenvalues, tol=1e-8):
    """Kind of a critical point from its Hessian eigenvalues: all > 0 minimum, all < 0
    maximum, both signs saddle, any ``|λ| ≤ tol`` degenerate (the second-order test
    cannot tell).

    Implements eq. (second-order) in chapters/01_gradient_descent.
    """
    lam = as_float_array(eigenvalues, "eigenvalues", where="classify")
    if np.any(np.abs(lam) <= tol):
        return "degenerate"
    if np.all(lam > 0):
        return "minimum"
    return "maximum" if np.all(lam < 0) else "saddle"


def critical_points(surface, starts, *, tol=1e-10, max_iter=50):
    """Find critical points of ``surface`` by Newton's method on ``∇E = 0`` from many
    starts.

    Parameters
    ----------
    surface : object with ``value``, ``gradient`` and ``hessian``
    starts : array-like, shape (n, d)
        Start points (e.g. a grid); Newton converges to nearby critical points of every
        kind.
    tol : float
        A point counts as critical when ``‖∇E‖ < tol``; points closer than ``1e-6`` are
        merged.

    Returns
    -------
    list of CriticalPoint, sorted by value.

    Implements eq. (second-order) in chapters/01_gradient_descent.
    """
    starts = as_batch(starts, where="critical_points").astype(np.float64)
    tol = check_positive_float(tol, "tol")
    max_iter = check_positive_int(max_iter, "max_iter")
    found = []
    with np.errstate(over="ignore", invalid="ignore"):
        for w in starts:
            for _ in range(max_iter):
                g = surface.gradient(w)
                if np.linalg.norm(g) < tol:
                    break
                try:
                    w = w - np.linalg.solve(surface.hessian(w), g)
                except np.linalg.LinAlgError:
                    break
                if not np.all(np.isfinite(w)) or np.linalg.norm(w) > 1e6:
                    break
            if np.all(np.isfinite(w)) and np.linalg.norm(surface.gradient(w)) < tol:
                if not any(np.linalg.norm(w - p.w) < 1e-6 for p in found):
                    lam = np.linalg.eigvalsh(surface.hessian(w))
                    found.append(
                        CriticalPoint(
                            w.copy(), float(surface.value(w)), lam, classify(lam)
                        )
                    )
    return sorted(found, key=lambda p: p.value)
