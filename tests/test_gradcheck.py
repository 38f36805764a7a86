import numpy as np
import pytest
from numpy.testing import assert_allclose

from bookcode.gradcheck import (
    TOLERANCE,
    GradCheckReport,
    check_gradient,
    check_layer,
    numerical_gradient,
    rel_error,
)
from bookcode.layers import Layer


def test_numerical_gradient_of_quadratic():
    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    x = np.array([0.3, -0.7])
    g = numerical_gradient(lambda v: 0.5 * v @ A @ v, x)
    assert_allclose(g, A @ x, rtol=1e-9)


def test_numerical_gradient_restores_x_and_supports_closures():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    before = x.copy()
    g = numerical_gradient(
        lambda: float(np.sum(x**3)), x
    )  # f reads x through the closure
    assert_allclose(g, 3 * before**2, rtol=1e-8)
    assert np.array_equal(x, before)


def test_rel_error_properties():
    a = np.array([1.0, 2.0, 3.0])
    assert rel_error(a, a) == 0.0
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert rel_error(a, -a) == pytest.approx(1.0)
    assert rel_error(1e-9 * a, 1e-9 * (a + 1e-3)) == pytest.approx(
        rel_error(a, a + 1e-3)
    )  # scale-free


def test_check_gradient_detects_wrong_gradient():
    f = lambda v: np.sum(np.sin(v))
    x = np.linspace(-1, 1, 5)
    assert check_gradient(f, np.cos, x) < TOLERANCE
    assert check_gradient(f, lambda v: -np.cos(v), x) > 0.5  # sign error
    assert check_gradient(f, lambda v: np.cos(v) * 1.01, x) > 1e-3  # 1 % too large


class _BrokenLinear(Layer):
    """A layer with a deliberately wrong weight gradient (transposed product)."""

    def __init__(self):
        super().__init__()
        self.params["W"] = np.arange(4.0).reshape(2, 2) / 3 + 0.1
        self.zero_grad()

    def forward(self, X):
        self._cache = X
        return X @ self.params["W"]

    def backward(self, dY):
        X = self._cache
        self.grads["W"] = (X.T @ dY).T
        return dY @ self.params["W"].T


def test_check_layer_catches_transposed_gradient():
    report = check_layer(
        _BrokenLinear(), np.random.default_rng(0).standard_normal((3, 2)), rng=1
    )
    assert report.errors["dX"] < TOLERANCE
    assert report.errors["W"] > 1e-3
    assert not report.passed and "FAILED" in repr(report)


def test_report():
    r = GradCheckReport({"dX": 1e-10, "0.W": 3e-9})
    assert r.passed and r.max_error == 3e-9


def test_bad_input():
    with pytest.raises(TypeError, match="callable"):
        numerical_gradient(3, np.zeros(2))
    with pytest.raises(TypeError, match="floating numpy array"):
        numerical_gradient(lambda v: 0.0, [1.0, 2.0])
    with pytest.raises(ValueError, match="scalar"):
        numerical_gradient(lambda v: v, np.zeros(2))
    with pytest.raises(ValueError, match="NaN/inf"):
        numerical_gradient(lambda v: np.inf if v[0] > 1.0 else 0.0, np.array([1.0]))
    with pytest.raises(ValueError, match="eps must be a finite number > 0"):
        numerical_gradient(lambda v: 0.0, np.zeros(2), eps=0)
    with pytest.raises(ValueError, match="same shape"):
        rel_error(np.zeros(2), np.zeros(3))
    with pytest.raises(ValueError, match="expected x's shape"):
        check_gradient(lambda v: 0.0, lambda v: np.zeros(3), np.zeros(2))
    with pytest.raises(TypeError, match="Layer"):
        check_layer(object(), np.zeros((1, 1)))
