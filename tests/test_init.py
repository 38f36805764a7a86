"""Tests for bookcode.init: sample statistics against the variance formulas, gains,
registry.

Statistical tolerances: a sample of n i.i.d. values with std σ and kurtosis κ = μ₄/σ⁴
has a sample std with standard error ≈ σ·√((κ − 1)/(4n)) (κ = 3 for a normal: σ/√(2n); κ
= 9/5 for a uniform). We accept |s − σ| < 5 standard errors (two-sided probability of a
false failure ≈ 6e-7) and use fixed seeds, so the tests are deterministic anyway.
"""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from bookcode import init
from bookcode.layers import Linear

N_IN, N_OUT = 600, 300  # 180 000 samples; N_IN != N_OUT so fan_in and fan_out differ
KURTOSIS = {"normal": 3.0, "uniform": 9.0 / 5.0}


def assert_std(W, sigma, dist):
    n = W.size
    se = sigma * math.sqrt((KURTOSIS[dist] - 1.0) / (4.0 * n))
    assert abs(W.std() - sigma) < 5 * se, (W.std(), sigma, se)
    assert abs(W.mean()) < 5 * sigma / math.sqrt(n)


def assert_uniform_bounds(W, a):
    assert np.all(np.abs(W) <= a)
    assert (
        np.abs(W).max() > 0.999 * a
    )  # the bound is reached, not a smaller one (P(fail) ≈ e^-180)


# -------------------------------------------------------- shapes and plain initializers
@pytest.mark.parametrize("name", sorted(init._REGISTRY))
def test_every_initializer_returns_n_in_by_n_out_float64(name):
    W = init.get(name)(3, 5, rng=0)
    assert W.shape == (3, 5) and W.dtype == np.float64


def test_constant_and_zeros():
    assert_array_equal(init.constant(2, 3, value=0.5), np.full((2, 3), 0.5))
    assert_array_equal(init.zeros(4, 2), np.zeros((4, 2)))
    assert_array_equal(init.get("zeros")(4, 2, rng=None), np.zeros((4, 2)))


def test_normal_std():
    assert_std(init.normal(N_IN, N_OUT, std=0.3, rng=1), 0.3, "normal")


def test_uniform_bounds_and_std():
    W = init.uniform(N_IN, N_OUT, a=0.7, rng=2)
    assert_uniform_bounds(W, 0.7)
    assert_std(W, 0.7 / math.sqrt(3.0), "uniform")


# ------------------------------------------------------------------ Xavier / He
@pytest.mark.parametrize("g", [1.0, 5.0 / 3.0])
def test_xavier_normal_std(g):
    W = init.xavier_normal(N_IN, N_OUT, rng=3, gain=g)
    assert_std(W, g * math.sqrt(2.0 / (N_IN + N_OUT)), "normal")


def test_xavier_uniform_bounds_and_same_variance_as_normal():
    a = math.sqrt(6.0 / (N_IN + N_OUT))
    W = init.xavier_uniform(N_IN, N_OUT, rng=4)
    assert_uniform_bounds(W, a)
    assert_std(W, math.sqrt(2.0 / (N_IN + N_OUT)), "uniform")


@pytest.mark.parametrize("mode, fan", [("fan_in", N_IN), ("fan_out", N_OUT)])
def test_he_normal_std(mode, fan):
    assert_std(
        init.he_normal(N_IN, N_OUT, rng=5, mode=mode), math.sqrt(2.0 / fan), "normal"
    )


@pytest.mark.parametrize("mode, fan", [("fan_in", N_IN), ("fan_out", N_OUT)])
def test_he_uniform_bounds_and_std(mode, fan):
    W = init.he_uniform(N_IN, N_OUT, rng=6, mode=mode)
    assert_uniform_bounds(W, math.sqrt(6.0 / fan))
    assert_std(W, math.sqrt(2.0 / fan), "uniform")


def test_he_with_leaky_relu_and_tanh_gain():
    alpha = 0.2
    W = init.he_normal(N_IN, N_OUT, rng=7, nonlinearity="leaky_relu", param=alpha)
    assert_std(W, math.sqrt(2.0 / (1.0 + alpha**2)) / math.sqrt(N_IN), "normal")
    W = init.he_normal(N_IN, N_OUT, rng=7, nonlinearity="tanh")
    assert_std(W, (5.0 / 3.0) / math.sqrt(N_IN), "normal")


def test_he_preserves_second_moment_through_relu_layer():
    """The point of eq. (he-variance): E[(net^l)²] = n·Var W·E[relu(net^{l-1})²] =
    E[(net^{l-1})²]."""
    rng = np.random.default_rng(8)
    net1 = rng.standard_normal((2000, 500))
    net2 = np.maximum(net1, 0.0) @ init.he_normal(500, 500, rng=rng)
    net3 = np.maximum(net2, 0.0) @ init.he_normal(500, 500, rng=rng)
    assert_allclose(np.mean(net2**2), np.mean(net1**2), rtol=0.05)
    assert_allclose(np.mean(net3**2), np.mean(net1**2), rtol=0.05)
    # Xavier (gain 1) halves it at every ReLU layer instead
    net2x = np.maximum(net1, 0.0) @ init.xavier_normal(500, 500, rng=rng)
    assert_allclose(np.mean(net2x**2), 0.5 * np.mean(net1**2), rtol=0.05)


# ------------------------------------------------------------------ determinism
@pytest.mark.parametrize(
    "name",
    ["normal", "uniform", "xavier_normal", "xavier_uniform", "he_normal", "he_uniform"],
)
def test_determinism_by_seed(name):
    f = init.get(name)
    assert_array_equal(f(4, 3, rng=42), f(4, 3, rng=42))
    assert_array_equal(f(4, 3, rng=42), f(4, 3, rng=np.random.default_rng(42)))
    assert not np.array_equal(f(4, 3, rng=42), f(4, 3, rng=43))


# ------------------------------------------------------------------ gains
def test_gain_closed_forms():
    assert init.gain("linear") == init.gain("identity") == init.gain("sigmoid") == 1.0
    assert_allclose(init.gain("tanh"), 5.0 / 3.0)
    assert_allclose(init.gain("relu"), math.sqrt(2.0))
    assert_allclose(init.gain("selu"), 0.75)
    assert_allclose(init.gain("leaky_relu"), math.sqrt(2.0 / (1.0 + 0.01**2)))
    assert_allclose(init.gain("leaky_relu", 0.3), math.sqrt(2.0 / 1.09))
    assert_allclose(init.gain("leaky_relu", 1.0), 1.0)  # slope 1 is the identity


@pytest.mark.parametrize(
    "nonlinearity, alpha", [("relu", None), ("leaky_relu", 0.2), ("leaky_relu", -0.5)]
)
def test_gain_restores_unit_second_moment_monte_carlo(nonlinearity, alpha):
    """gain² · E[f(z)²] = 1 for z ~ N(0, 1); tolerance 5 standard errors of the sample
    mean."""
    z = np.random.default_rng(9).standard_normal(400_000)
    slope = 0.0 if alpha is None else alpha
    f2 = np.where(z > 0, z, slope * z) ** 2
    g2 = init.gain(nonlinearity, alpha) ** 2
    se = g2 * f2.std() / math.sqrt(z.size)
    assert abs(g2 * f2.mean() - 1.0) < 5 * se


# ------------------------------------------------------------------ registry and Linear
def test_get_names_and_aliases():
    assert init.get("glorot_normal") is init.get("xavier_normal") is init.xavier_normal
    assert init.get("glorot_uniform") is init.xavier_uniform
    assert init.get("kaiming_normal") is init.he_normal
    assert init.get("kaiming_uniform") is init.he_uniform
    assert init.get("constant") is init.constant


def test_linear_uses_init_by_name():
    lin = Linear(N_IN, N_OUT, init="kaiming_uniform", rng=10)
    assert_array_equal(lin.W, init.he_uniform(N_IN, N_OUT, rng=10))
    assert_std(
        Linear(N_IN, N_OUT, init="he_normal", rng=11).W, math.sqrt(2.0 / N_IN), "normal"
    )
    assert_array_equal(Linear(3, 2, init="zeros").W, np.zeros((3, 2)))
    with pytest.raises(
        TypeError,
        match=r"Linear\(3, 2, init=.xavier_normal.\) draws random weights and needs a "
        r"seed",
    ):
        Linear(3, 2, init="xavier_normal")


# ------------------------------------------------------------------ bad inputs
@pytest.mark.parametrize(
    "name",
    ["normal", "uniform", "xavier_normal", "xavier_uniform", "he_normal", "he_uniform"],
)
def test_random_initializers_refuse_missing_rng(name):
    expected = (
        rf"^{name}: this initializer is random and needs a seed; "
        r"pass rng=<an int seed> or rng=bookcode.rng\(seed\)$"
    )
    with pytest.raises(init.MissingSeed, match=expected):
        init.get(name)(3, 2)
    with pytest.raises(TypeError, match="Generator or an int seed"):
        init.get(name)(3, 2, rng="seed")
    with pytest.raises(ValueError, match="non-negative"):
        init.get(name)(3, 2, rng=-1)


@pytest.mark.parametrize("name", sorted(init._REGISTRY))
def test_bad_shapes(name):
    with pytest.raises(ValueError, match="n_in must be an integer >= 1"):
        init.get(name)(0, 2, rng=0)
    with pytest.raises(TypeError, match="n_out must be an integer"):
        init.get(name)(2, 2.5, rng=0)


def test_bad_scales():
    with pytest.raises(ValueError, match="std must be a finite number > 0"):
        init.normal(2, 2, std=-1.0, rng=0)
    with pytest.raises(ValueError, match="a must be a finite number > 0"):
        init.uniform(2, 2, a=0.0, rng=0)
    with pytest.raises(ValueError, match="gain must be a finite number > 0"):
        init.xavier_normal(2, 2, rng=0, gain=float("inf"))
    with pytest.raises(TypeError, match="gain must be a real number"):
        init.xavier_uniform(2, 2, rng=0, gain="relu")
    with pytest.raises(ValueError, match="value must be finite"):
        init.constant(2, 2, value=float("nan"))
    with pytest.raises(TypeError, match="value must be a real number"):
        init.constant(2, 2, value="1")
    with pytest.raises(ValueError, match="unknown mode 'fan_avg'"):
        init.he_normal(2, 2, rng=0, mode="fan_avg")


def test_bad_gain_inputs():
    with pytest.raises(
        ValueError, match="unknown nonlinearity 'swish'.*'relu'.*'selu'"
    ):
        init.gain("swish")
    with pytest.raises(ValueError, match="ELU has no closed-form gain"):
        init.gain("elu")
    with pytest.raises(ValueError, match="only used by 'leaky_relu'"):
        init.gain("relu", 0.1)
    with pytest.raises(ValueError, match="slope param must be a finite real"):
        init.gain("leaky_relu", float("nan"))
    with pytest.raises(TypeError, match="must be a name"):
        init.gain(None)
    with pytest.raises(ValueError, match="ELU"):
        init.he_normal(2, 2, rng=0, nonlinearity="elu")


def test_get_bad_names():
    with pytest.raises(
        ValueError,
        match="unknown initializer 'lecun'.*'xavier_normal'.*'kaiming_uniform'",
    ):
        init.get("lecun")
    with pytest.raises(TypeError, match="expected an initializer name"):
        init.get(init.he_normal)
