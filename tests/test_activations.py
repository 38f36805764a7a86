import math
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from bookcode import activations as A

# (name, params) pairs covering every activation and both parameter regimes
ELEMENTWISE = [
    ("identity", {}),
    ("sigmoid", {}),
    ("tanh", {}),
    ("relu", {}),
    ("leaky_relu", {}),
    ("leaky_relu", {"alpha": 0.2}),
    ("elu", {}),
    ("elu", {"alpha": 0.5}),
    ("softplus", {}),
    ("gelu", {}),
    ("gelu_tanh", {}),
    ("silu", {}),
]
EXTREME = np.array(
    [-1e4, -1e3, -745.0, -740.0, -40.0, -1e-310, 0.0, 1e-310, 40.0, 740.0, 1e3, 1e4]
)
with np.errstate(
    under="ignore"
):  # float32/16: the subnormal 1e-310 becomes 0, 1e4 stays representable
    EXTREMES = {dt: EXTREME.astype(dt) for dt in (np.float64, np.float32, np.float16)}


def naive_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def max_rel_err(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    denom = np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-300)
    return float(np.max(np.abs(a - b) / denom))


def central_diff(f, x, h=1e-5):
    return (f(x + h) - f(x - h)) / (2 * h)


@pytest.fixture
def strict():
    """Every floating-point exception and every warning is an error."""
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        yield


@pytest.fixture
def x_smooth():
    x = np.random.default_rng(0).uniform(-3, 3, size=(40, 5))
    return x[np.abs(x) > 1e-3]  # central differences need |x| > h at the kinks


# --- values against independent formulas ----------------------------------------------


def test_sigmoid_matches_naive_formula_and_symmetry():
    x = np.linspace(-30, 30, 241)
    assert_allclose(A.sigmoid(x), naive_sigmoid(x), rtol=1e-14, atol=0)
    assert_allclose(A.sigmoid(x) + A.sigmoid(-x), 1.0, rtol=1e-15)
    # σ(x)σ(-x), not σ(1 - σ): the naive 1 - σ(x) cancels catastrophically for large x
    assert_allclose(
        A.sigmoid_derivative(x), naive_sigmoid(x) * naive_sigmoid(-x), rtol=1e-13
    )
    assert A.sigmoid_derivative(0.0) == 0.25


def test_tanh_matches_exponential_formula_and_sech_squared():
    x = np.linspace(-15, 15, 121)
    naive = (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))
    assert_allclose(A.tanh(x), naive, rtol=1e-13, atol=1e-15)
    assert_allclose(A.tanh(x), 2 * naive_sigmoid(2 * x) - 1, rtol=1e-12, atol=1e-15)
    assert_allclose(A.tanh_derivative(x), 1 / np.cosh(x) ** 2, rtol=1e-6, atol=1e-15)
    assert A.tanh_derivative(0.0) == 1.0  # the folklore "tanh' < 1" fails exactly at 0


def test_piecewise_linear_and_elu_against_definitions():
    x = np.linspace(-5, 5, 101)
    assert_array_equal(A.identity(x), x)
    assert_array_equal(A.relu(x), x * (x > 0))
    assert_allclose(
        A.leaky_relu(x, alpha=0.3), np.array([v if v > 0 else 0.3 * v for v in x])
    )
    assert_allclose(
        A.elu(x, alpha=0.5),
        np.array([v if v > 0 else 0.5 * (np.exp(v) - 1) for v in x]),
        rtol=1e-14,
    )


def test_softplus_against_naive_formula_and_identities():
    x = np.linspace(-30, 30, 241)
    assert_allclose(A.softplus(x), np.log(1 + np.exp(x)), rtol=1e-12, atol=1e-13)
    assert_allclose(A.softplus(x) - A.softplus(-x), x, atol=1e-13)
    assert_array_equal(A.softplus_derivative(x), A.sigmoid(x))
    assert_allclose(
        A.softplus(-40.0), np.exp(-40.0), rtol=1e-15
    )  # naive log(1 + e^x) gives 0 here


def test_gelu_and_silu_known_values_and_definitions():
    assert_allclose(A.gelu(1.0), 0.8413447460685429, rtol=1e-15)
    assert_allclose(A.silu(1.0), 0.7310585786300049, rtol=1e-15)
    assert A.gelu(0.0) == 0.0 and A.silu(0.0) == 0.0 and A.gelu_tanh(0.0) == 0.0
    x = np.linspace(-6, 6, 121)
    Phi = np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in x])
    assert_allclose(A.gelu(x), x * Phi, rtol=1e-14, atol=1e-300)
    assert_allclose(A.silu(x), x * naive_sigmoid(x), rtol=1e-14)
    u = np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)
    assert_allclose(A.gelu_tanh(x), 0.5 * x * (1 + np.tanh(u)), rtol=1e-12, atol=1e-15)
    # GELU(x) - ReLU(x) = -|x| Φ(-|x|): GELU is a smooth ReLU
    assert_allclose(
        A.gelu(x) - A.relu(x),
        -np.abs(x) * np.array([0.5 * math.erfc(abs(v) / math.sqrt(2)) for v in x]),
        atol=1e-14,  # x Φ(x) - x cancels for x > 0
    )
    # the tanh form approximates GELU to within 5e-4 (Hendrycks & Gimpel 2016)
    xs = np.linspace(-10, 10, 20001)
    assert np.max(np.abs(A.gelu_tanh(xs) - A.gelu(xs))) < 5e-4


def test_gelu_and_silu_tails_keep_relative_accuracy():
    # x Φ(x) for x = -10 is -7.6e-23; (1 + erf(x/√2))/2 would round it to 0
    assert_allclose(A.gelu(-10.0), -10 * 0.5 * math.erfc(10 / math.sqrt(2)), rtol=1e-13)
    assert_allclose(A.silu(-700.0), -700.0 * math.exp(-700.0), rtol=1e-13)
    assert_allclose(A.silu_derivative(40.0), 1.0 + 40 * math.exp(-40.0), rtol=1e-15)
    assert_allclose(
        A.gelu_tanh(-10.0), -10.0 * naive_sigmoid(-2 * np.sqrt(2 / np.pi) * 54.715)
    )
    assert A.gelu_tanh(-10.0) < 0  # 0.5 x (1 + tanh u) rounds to 0 here


def test_derivative_closed_forms():
    x = np.linspace(-6, 6, 121)
    s = naive_sigmoid(x)
    assert_allclose(A.silu_derivative(x), s * (1 + x * (1 - s)), rtol=1e-12)
    phi = np.exp(-(x**2) / 2) / np.sqrt(2 * np.pi)
    Phi = np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in x])
    assert_allclose(A.gelu_derivative(x), Phi + x * phi, rtol=1e-13, atol=1e-15)
    # x Φ(x) and x σ(x) are x · (a CDF of a symmetric law): f'(x) + f'(-x) = 1
    for f in (A.gelu_derivative, A.silu_derivative):
        assert_allclose(f(x) + f(-x), 1.0, rtol=1e-14)
    # GELU'(√2) is the largest slope: Φ(√2) + √2 φ(√2) ≈ 1.1289
    r2 = math.sqrt(2)
    assert_allclose(
        A.gelu_derivative(r2),
        0.5 * math.erfc(-1) + r2 * math.exp(-1) / math.sqrt(2 * math.pi),
        rtol=1e-15,
    )


@pytest.mark.parametrize("name", ["gelu", "gelu_tanh", "silu"])
def test_minimum_is_the_range_and_the_derivative_vanishes_there(name):
    f = A.get(name)
    lo = f.range[0]
    x = np.linspace(-3, 0, 3_000_001)
    y = f(x)
    i = int(np.argmin(y))
    assert 0 <= y[i] - lo < 1e-11
    assert abs(f.derivative(x[i])) < 1e-5
    assert f.derivative(x[i] - 0.01) < 0 < f.derivative(x[i] + 0.01)
    if name == "silu":  # at the minimum 1 + x(1 - σ(x)) = 0, so silu(x) = x + 1
        assert_allclose(y[i], x[i] + 1, atol=1e-6)


def test_softmax_against_naive_formula_rows_sum_and_shift_invariance():
    x = np.random.default_rng(1).normal(scale=5, size=(6, 4))
    naive = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    assert_allclose(A.softmax(x), naive, rtol=1e-13)
    assert_allclose(A.softmax(x).sum(axis=-1), 1.0, rtol=1e-15)
    assert_allclose(A.softmax(x + 1e3), A.softmax(x), rtol=1e-11)
    assert_allclose(A.softmax(x[0]), naive[0], rtol=1e-13)  # a single vector works too


def test_logsumexp_against_naive_and_limits():
    x = np.random.default_rng(2).normal(scale=5, size=(3, 4, 5))
    for axis in (-1, 0, 1):
        assert_allclose(
            A.logsumexp(x, axis=axis), np.log(np.exp(x).sum(axis=axis)), rtol=1e-13
        )
    assert_allclose(A.logsumexp(x, axis=None), np.log(np.exp(x).sum()), rtol=1e-13)
    assert A.logsumexp(x, axis=1, keepdims=True).shape == (3, 1, 5)
    assert_allclose(A.logsumexp([1e4, 1e4]), 1e4 + np.log(2), rtol=1e-15)
    rows = A.logsumexp(
        [[np.inf, 1e4], [-np.inf, -np.inf], [np.nan, 1.0], [-np.inf, 0.0]]
    )
    assert (
        rows[0] == np.inf
        and rows[1] == -np.inf
        and np.isnan(rows[2])
        and rows[3] == 0.0
    )


# --- derivatives against central differences ------------------------------------------


@pytest.mark.parametrize("name,params", ELEMENTWISE)
def test_derivative_matches_central_differences(name, params, x_smooth):
    f = A.get(name, **params)
    assert max_rel_err(f.derivative(x_smooth), central_diff(f, x_smooth)) < 1e-7


@pytest.mark.parametrize("name,params", ELEMENTWISE)
def test_vjp_of_elementwise_is_dy_times_derivative(name, params, x_smooth):
    f = A.get(name, **params)
    dy = np.random.default_rng(3).normal(size=x_smooth.shape)
    assert (
        max_rel_err(f.vjp(x_smooth, f(x_smooth), dy), dy * central_diff(f, x_smooth))
        < 1e-7
    )


def test_kink_conventions():
    assert A.relu_derivative(0.0) == 0.0
    assert A.leaky_relu_derivative(0.0, alpha=0.2) == 0.2
    assert A.elu_derivative(0.0, alpha=0.5) == 0.5
    assert (
        A.elu_derivative(0.0) == 1.0
    )  # alpha = 1: ELU is differentiable at 0 with slope 1
    assert A.elu_derivative(1e-12) == 1.0 and A.relu_derivative(1e-300) == 1.0


def test_softmax_jacobian_matches_central_differences():
    x = np.random.default_rng(4).normal(size=5)
    h = 1e-5
    fd = np.column_stack(
        [(A.softmax(x + h * e) - A.softmax(x - h * e)) / (2 * h) for e in np.eye(5)]
    )
    assert max_rel_err(A.softmax_jacobian(x), fd) < 1e-7


def test_softmax_vjp_equals_dy_times_explicit_jacobian():
    rng = np.random.default_rng(5)
    x, dy = rng.normal(size=(4, 6)), rng.normal(size=(4, 6))
    f = A.get("softmax")
    expected = np.stack([dy[n] @ A.softmax_jacobian(x[n]) for n in range(4)])
    assert_allclose(f.vjp(x, f(x), dy), expected, rtol=1e-12, atol=1e-15)
    assert_allclose(f.vjp(x, None, dy), expected, rtol=1e-12, atol=1e-15)
    assert_allclose(A.softmax_vjp(A.softmax(x), dy), expected, rtol=1e-12, atol=1e-15)


def test_logsumexp_gradient_is_softmax():
    x = np.random.default_rng(6).normal(size=4)
    h = 1e-5
    fd = np.array(
        [(A.logsumexp(x + h * e) - A.logsumexp(x - h * e)) / (2 * h) for e in np.eye(4)]
    )
    assert max_rel_err(fd, A.softmax(x)) < 1e-7


# --- extreme inputs, non-finite inputs, dtypes ----------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
@pytest.mark.parametrize("name,params", ELEMENTWISE + [("softmax", {})])
def test_extreme_inputs_no_warnings_finite_and_dtype_kept(name, params, dtype, strict):
    x = EXTREMES[dtype]
    f = A.get(name, **params)
    y = f(x)
    dx = f.vjp(x, y, np.ones_like(x))
    assert y.dtype == dtype and dx.dtype == dtype
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(dx))
    if name != "softmax":
        assert f.derivative(x).dtype == dtype


def test_extreme_values_are_the_mathematical_limits(strict):
    x = np.array([-1e4, 1e4])
    assert_array_equal(A.sigmoid(x), [0.0, 1.0])
    assert_array_equal(A.sigmoid_derivative(x), [0.0, 0.0])
    assert_array_equal(A.softplus(x), [0.0, 1e4])
    assert_array_equal(A.elu(x, alpha=0.5), [-0.5, 1e4])
    assert_array_equal(A.tanh_derivative(x), [0.0, 0.0])
    assert_allclose(A.softmax([1e4, -1e4, 1e4]), [0.5, 0.0, 0.5])
    assert (
        0 < A.sigmoid(-740.0) < np.finfo(np.float64).tiny
    )  # a subnormal, not flushed to 0


def test_sigmoid_keeps_subnormal_results():
    with np.errstate(under="ignore"):
        expected = np.exp(-740.0)
    assert_allclose(A.sigmoid(-740.0), expected, rtol=1e-6)


@pytest.mark.parametrize("name,params", ELEMENTWISE)
def test_nan_propagates_through_value_and_derivative(name, params):
    f = A.get(name, **params)
    x = np.array([np.nan, 1.0, -1.0])
    assert np.isnan(f(x)[0]) and np.isnan(f.derivative(x)[0])
    assert np.all(np.isfinite(f.derivative(x)[1:]))


def test_infinite_inputs_give_limits():
    x = np.array([-np.inf, np.inf])
    assert_array_equal(A.sigmoid(x), [0.0, 1.0])
    assert_array_equal(A.softplus(x), [0.0, np.inf])
    assert_array_equal(A.relu(x), [0.0, np.inf])
    assert_array_equal(A.tanh_derivative(x), [0.0, 0.0])


@pytest.mark.parametrize("name", ["gelu", "gelu_tanh", "silu"])
def test_gelu_silu_infinite_inputs_give_limits_without_nan(name, strict):
    # x · s(x) with s(-inf) = 0 is -inf · 0 = NaN if computed naively
    f = A.get(name)
    x = np.array([-np.inf, np.inf])
    assert_array_equal(f(x), [0.0, np.inf])
    assert_array_equal(f.derivative(x), [0.0, 1.0])


def test_integers_become_float64():
    for name in A.available():
        assert A.get(name)(np.array([1, 2, 3])).dtype == np.float64


# --- metadata -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,params", ELEMENTWISE + [("leaky_relu", {"alpha": 0.0}), ("softmax", {})]
)
def test_range_contains_outputs_and_is_tight(name, params):
    f = A.get(name, **params)
    lo, hi = f.range
    # a coarse grid to the ends and a fine one (step 1e-5) where GELU and SiLU have
    # their minimum
    x = np.concatenate([np.linspace(-1e4, 1e4, 20001), np.linspace(-3, 3, 600_001)])
    y = f(x)
    assert lo <= y.min() and y.max() <= hi
    if name != "softmax":  # bounds are approached on the grid
        assert (y.min() - lo < 1e-6) if np.isfinite(lo) else y.min() < -50
        assert (hi - y.max() < 1e-6) if np.isfinite(hi) else y.max() > 50


@pytest.mark.parametrize("name,params", ELEMENTWISE)
def test_zero_centred_means_odd(name, params):
    f = A.get(name, **params)
    x = np.linspace(0.1, 5, 50)
    assert f.zero_centred == bool(np.allclose(f(-x), -f(x)))


def test_repr_and_params():
    assert repr(A.get("leaky_relu", alpha=0.1)) == "leaky_relu(alpha=0.1)"
    assert repr(A.get("sigmoid")) == "sigmoid()"
    assert A.get("elu").params == {"alpha": 1.0}
    assert A.get("relu").params == {}


# --- get / available ------------------------------------------------------------------


def test_get_names_aliases_and_objects():
    assert set(A.available()) == {
        "identity",
        "sigmoid",
        "tanh",
        "relu",
        "leaky_relu",
        "elu",
        "softplus",
        "gelu",
        "gelu_tanh",
        "silu",
        "softmax",
    }
    assert A.get("linear").name == "identity" and A.get("Logistic").name == "sigmoid"
    for spelling in ("leakyrelu", "leaky-relu", "Leaky_ReLU", "LEAKY RELU"):
        assert A.get(spelling).name == "leaky_relu"
    f = A.get("tanh")
    assert A.get(f) is f
    assert A.get("leaky_relu", alpha=0).range == (0.0, np.inf)


def test_get_errors():
    with pytest.raises(ValueError, match="unknown activation 'swish'.*sigmoid.*silu"):
        A.get("swish")
    with pytest.raises(TypeError, match="'sigmoid' takes no parameters; got alpha"):
        A.get("sigmoid", alpha=0.1)
    with pytest.raises(TypeError, match="'elu' accepts only alpha; got beta"):
        A.get("elu", beta=1.0)
    with pytest.raises(
        ValueError, match="leaky_relu: alpha must be a finite number >= 0, got -0.1"
    ):
        A.get("leaky_relu", alpha=-0.1)
    with pytest.raises(ValueError, match="elu: alpha .* got nan"):
        A.get("elu", alpha=float("nan"))
    with pytest.raises(TypeError, match="alpha must be a real number"):
        A.get("elu", alpha="1")
    with pytest.raises(TypeError, match="activation name"):
        A.get(3)
    with pytest.raises(TypeError, match="activation object"):
        A.get(A.get("relu"), alpha=1.0)


def test_bad_inputs():
    with pytest.raises(TypeError, match="sigmoid: x must be an array of real numbers"):
        A.sigmoid(["a", "b"])
    with pytest.raises(ValueError, match="leaky_relu_derivative: alpha"):
        A.leaky_relu_derivative([1.0], alpha=-1)
    with pytest.raises(
        NotImplementedError,
        match=r"not element-wise.*\.vjp\(x, y, dy\).*softmax_jacobian",
    ):
        A.get("softmax").derivative([1.0, 2.0])
    with pytest.raises(ValueError, match="softmax: expected x with at least one entry"):
        A.softmax(1.0)
    with pytest.raises(ValueError, match="softmax: expected x with at least one entry"):
        A.softmax(np.zeros((2, 0)))
    with pytest.raises(
        ValueError, match=r"softmax_jacobian: expected one non-empty vector .* \(2, 2\)"
    ):
        A.softmax_jacobian(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="logsumexp: expected a non-empty array"):
        A.logsumexp([])
    with pytest.raises(
        ValueError,
        match=r"relu.vjp: expected dy with the shape of x \(3,\), got \(2,\)",
    ):
        A.get("relu").vjp(np.ones(3), None, np.ones(2))
    with pytest.raises(
        ValueError,
        match=r"softmax_vjp: expected dy with the shape of y \(3,\), got \(2,\)",
    ):
        A.softmax_vjp(np.ones(3) / 3, np.ones(2))
