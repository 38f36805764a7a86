"""Tests for bookcode.experiments.init_study: closed forms, independent
re-implementations, and bad inputs."""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from bookcode import init, losses, optim, train
from bookcode.experiments import init_study
from bookcode.network import mlp

FINE_Z = np.linspace(
    -14.0, 14.0, 400_001
)  # an independent reference: a fine trapezoid rule
FINE_PHI = np.exp(-0.5 * FINE_Z**2) / math.sqrt(2 * math.pi)


def herm(h, var):
    """E[h(√var z)] by the trapezoid rule with step 7e-5 (error ~1e-10 for the smooth h
    used here)."""
    return float(np.trapezoid(h(math.sqrt(var) * FINE_Z) * FINE_PHI, FINE_Z))


# ------------------------------------------------------------------ weight scales
def test_weight_std_closed_forms():
    assert init_study.weight_std("zeros", 4, 9) == 0.0
    assert init_study.weight_std("small", 4, 9) == 0.01
    assert init_study.weight_std("normal", 4, 9) == 1.0
    assert_allclose(init_study.weight_std("lecun", 4, 9), 0.5)
    assert_allclose(init_study.weight_std("xavier", 4, 12), math.sqrt(2 / 16))
    assert_allclose(init_study.weight_std("he", 8, 3), 0.5)
    assert_allclose(init_study.weight_std(3.0, 9, 1), 1.0)  # a number is a gain g/√n_in


def test_draw_weights_uses_bookcode_init():
    assert_array_equal(
        init_study.draw_weights("xavier", 30, 20, 5), init.xavier_normal(30, 20, rng=5)
    )
    assert_array_equal(
        init_study.draw_weights("he", 30, 20, 5), init.he_normal(30, 20, rng=5)
    )
    assert_array_equal(init_study.draw_weights("zeros", 3, 2, 5), np.zeros((3, 2)))
    W = init_study.draw_weights("lecun", 400, 300, 1)
    se = (1 / 20) / math.sqrt(2 * W.size)  # standard error of a normal sample's std
    assert abs(W.std() - 1 / 20) < 5 * se


@pytest.mark.parametrize(
    "bad, err, match",
    [
        ("orthogonal", ValueError, "unknown scheme"),
        (True, TypeError, "scheme"),
        (-1.0, ValueError, "gain"),
        (None, TypeError, "scheme"),
    ],
)
def test_weight_std_bad_scheme(bad, err, match):
    with pytest.raises(err, match=match):
        init_study.weight_std(bad, 3, 3)


def test_weight_std_bad_sizes():
    with pytest.raises(ValueError, match="n_in"):
        init_study.weight_std("he", 0, 3)
    with pytest.raises(TypeError, match="n_out"):
        init_study.weight_std("he", 3, 2.5)


# ----------------------------------------------------------- Gaussian moments and gains
@pytest.mark.parametrize("var", [0.3, 1.0, 7.0])
def test_gauss_expectation_closed_forms(var):
    relu = lambda x: np.maximum(x, 0.0)  # noqa: E731
    assert_allclose(init_study.gauss_expectation(lambda x: x**2, var), var, rtol=1e-9)
    assert_allclose(
        init_study.gauss_expectation(lambda x: relu(x) ** 2, var), var / 2, rtol=1e-9
    )
    assert_allclose(
        init_study.gauss_expectation(relu, var),
        math.sqrt(var / (2 * math.pi)),
        rtol=1e-9,
    )
    assert_allclose(
        init_study.gauss_expectation(lambda x: np.tanh(x) ** 2, var),
        herm(lambda x: np.tanh(x) ** 2, var),
        rtol=1e-7,
    )
    assert_allclose(
        init_study.gauss_expectation(lambda x: 1 / (1 + np.exp(-x)), var),
        0.5,
        atol=1e-12,
    )
    assert init_study.gauss_expectation(lambda x: x**2, 0.0) == 0.0


def test_gauss_expectation_bad_var():
    with pytest.raises(ValueError, match="var"):
        init_study.gauss_expectation(np.abs, -1.0)


def test_moment_gain_matches_init_gain_and_the_mistake():
    assert_allclose(init_study.moment_gain("relu"), init.gain("relu"), rtol=1e-6)
    assert_allclose(
        init_study.moment_gain("leaky_relu", alpha=0.2),
        init.gain("leaky_relu", 0.2),
        rtol=1e-6,
    )
    assert_allclose(
        init_study.moment_gain("relu", var=5.0), math.sqrt(2), rtol=1e-6
    )  # ReLU is scale-free
    # the variance-instead-of-second-moment mistake: Var relu(z) = 1/2 − 1/(2π)
    assert_allclose(
        init_study.moment_gain("relu", "variance"),
        1 / math.sqrt(0.5 - 0.5 / math.pi),
        rtol=1e-6,
    )
    t2 = herm(lambda x: np.tanh(x) ** 2, 1.0)
    assert_allclose(init_study.moment_gain("tanh"), 1 / math.sqrt(t2), rtol=1e-7)
    assert_allclose(
        init_study.moment_gain("tanh", "variance"),
        init_study.moment_gain("tanh"),
        rtol=1e-9,
    )  # odd f
    with pytest.raises(ValueError, match="moment"):
        init_study.moment_gain("relu", "mean")
    with pytest.raises(ValueError, match="softmax"):
        init_study.moment_gain("softmax")


def test_fixed_point_variance():
    assert_allclose(init_study.fixed_point_variance("identity", 1.0, var0=2.5), 2.5)
    assert_allclose(
        init_study.fixed_point_variance("relu", math.sqrt(2), var0=3.0), 3.0, rtol=1e-6
    )
    assert init_study.fixed_point_variance("tanh", 1.0) == 0.0  # slow 1/l decay
    g = 5 / 3
    q = init_study.fixed_point_variance("tanh", g)
    assert q > 1 and abs(g**2 * herm(lambda x: np.tanh(x) ** 2, q) - q) < 1e-6 * q
    with pytest.raises(ValueError, match="without bound"):
        init_study.fixed_point_variance("relu", 2.0)
    with pytest.raises(ValueError, match="gain"):
        init_study.fixed_point_variance("tanh", 0.0)


# ---------------------------------------------------- deep nets: measured and predicted
def manual_stats(scheme, activation, depth, width, n, seed):
    """An independent forward/backward pass (numpy's tanh, explicit derivatives),
    drawing in the same order."""
    f = {
        "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
        "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(float)),
    }[activation]
    gen = np.random.default_rng(seed)
    X = gen.standard_normal((n, width))
    G = gen.standard_normal((n, width))
    Ws = [init_study.draw_weights(scheme, width, width, gen) for _ in range(depth)]
    nets, Y = [], X
    for W in Ws:
        nets.append(Y @ W)
        Y = f[0](nets[-1])
    deltas = [None] * depth
    for l in range(depth - 1, -1, -1):
        deltas[l] = G * f[1](nets[l])
        G = deltas[l] @ Ws[l].T
    return (
        [np.std(z) for z in nets],
        [np.std(f[0](z)) for z in nets],
        [np.std(d) for d in deltas],
    )


@pytest.mark.parametrize(
    "scheme, activation", [("xavier", "tanh"), ("he", "relu"), ("normal", "tanh")]
)
def test_deep_stats_equals_an_independent_implementation(scheme, activation):
    got = init_study.deep_stats(
        scheme, activation, depth=6, width=7, n_examples=5, rng=3
    )
    net_std, act_std, grad_std = manual_stats(scheme, activation, 6, 7, 5, 3)
    assert_allclose(got["net_std"], net_std, rtol=1e-12)
    assert_allclose(got["act_std"], act_std, rtol=1e-12)
    assert_allclose(got["grad_std"], grad_std, rtol=1e-12)


def test_predicted_closed_forms():
    p = init_study.predicted_stats(
        "he", "identity", depth=4, width=50
    )  # n Var W = 2, f = identity
    assert_allclose(p["net_std"], np.sqrt(2.0) ** np.arange(1, 5))
    assert_allclose(p["grad_std"], np.sqrt(2.0) ** np.arange(3, -1, -1))
    p = init_study.predicted_stats("he", "relu", depth=5, width=50)
    assert_allclose(p["net_std"], math.sqrt(2), rtol=1e-6)  # He: level
    assert_allclose(
        p["act_std"], math.sqrt(1 - 1 / math.pi), rtol=1e-6
    )  # 2 (1/2 − 1/(2π))
    assert_allclose(p["grad_std"], math.sqrt(0.5), rtol=1e-6)
    p = init_study.predicted_stats(
        "xavier", "relu", depth=5, width=50
    )  # n Var W = 1: halves each layer
    assert_allclose(p["net_std"] ** 2, 0.5 ** np.arange(5), rtol=1e-6)


@pytest.mark.parametrize(
    "scheme, activation", [("xavier", "tanh"), ("he", "relu"), ("xavier", "sigmoid")]
)
def test_prediction_matches_a_wide_net(scheme, activation):
    """At width 400 the finite-width fluctuations are a few per cent over 5 layers."""
    got = init_study.deep_stats(
        scheme, activation, depth=5, width=400, n_examples=400, rng=0
    )
    pred = init_study.predicted_stats(scheme, activation, depth=5, width=400)
    for key in got:
        assert_allclose(got[key], pred[key], rtol=0.1, err_msg=key)


def test_deep_stats_overflow_is_reported_not_raised():
    got = init_study.deep_stats(
        "normal", "relu", depth=700, width=20, n_examples=4, rng=0
    )
    assert not np.all(np.isfinite(got["net_std"]))


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        (dict(depth=0), ValueError, "depth"),
        (dict(width=2.0), TypeError, "width"),
        (dict(rng=None), TypeError, "rng"),
        (dict(n_examples=-1), ValueError, "n_examples"),
    ],
)
def test_deep_stats_bad_inputs(kwargs, err, match):
    with pytest.raises(err, match=match):
        init_study.deep_stats("he", "relu", **kwargs)


def test_predicted_bad_inputs():
    with pytest.raises(ValueError, match="activation"):
        init_study.predicted_stats("he", "swish")
    with pytest.raises(ValueError, match="input_var"):
        init_study.predicted_stats("he", "relu", input_var=0.0)


# ------------------------------------------------------------- the matrix-product check
def test_matmul_chain():
    big = init_study.matmul_chain_std(1.0, n_layers=50, width=100)
    assert np.isnan(big[-1]) and np.all(np.isfinite(big[:20]))
    assert np.all(init_study.matmul_chain_std(0.01)[-5:] == 0.0)
    ok = init_study.matmul_chain_std(0.1)
    assert np.all((ok > 0.05) & (ok < 20))
    f64 = init_study.matmul_chain_std(
        1.0, dtype=np.float64
    )  # fits in float64: about 10 per layer
    assert abs(np.log10(f64[-1]) - 50) < 3
    with pytest.raises(TypeError, match="floating"):
        init_study.matmul_chain_std(1.0, dtype=int)
    with pytest.raises(ValueError, match="scale"):
        init_study.matmul_chain_std(0.0)


# ------------------------------------------------------------------ symmetry
def test_hidden_unit_spread():
    assert_array_equal(
        init_study.hidden_unit_spread(mlp([3, 4, 5, 2], init="zeros")), [0.0, 0.0]
    )
    net = mlp([3, 4, 2], init="he_normal", rng=0)
    assert_allclose(
        init_study.hidden_unit_spread(net), [np.max(np.abs(net[0].W - net[0].W[:, :1]))]
    )
    with pytest.raises(TypeError, match="Sequential"):
        init_study.hidden_unit_spread(np.zeros(3))
    with pytest.raises(ValueError, match="hidden layer"):
        init_study.hidden_unit_spread(mlp([3, 2], rng=0))


# ------------------------------------------------------------------ stacked training
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_train_deep_mlps_equals_bookcode_sgd(momentum):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((20, 6)), rng.integers(0, 3, 20)
    out = init_study.train_deep_mlps(
        ["xavier_normal", "he_normal"],
        [1, 2],
        X,
        y,
        depth=4,
        width=5,
        lr=0.3,
        momentum=momentum,
        epochs=2,
        batch_size=20,
    )
    ce = losses.get("softmax_cross_entropy")
    assert out["loss"].shape == (4, 3) and out["runs"][1] == ("xavier_normal", 2)
    for r, (name, seed) in enumerate(out["runs"]):
        net = mlp([6, 5, 5, 5, 3], "relu", init=name, rng=seed)
        sgd = optim.SGD(lr=0.3, momentum=momentum)
        expected = [train.evaluate(net, ce, X, y)]
        for _ in range(2):
            net.backward(ce.grad(net.forward(X), y))
            sgd.step(net)
            expected.append(train.evaluate(net, ce, X, y))
        assert_allclose(out["loss"][r], [e[0] for e in expected], rtol=1e-10)
        assert_allclose(out["accuracy"][r], [e[1] for e in expected])


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        (dict(depth=1), ValueError, "depth"),
        (dict(lr=0.0), ValueError, "lr"),
        (dict(momentum=1.0), ValueError, "momentum"),
        (dict(y=np.zeros(5)), ValueError, "integer labels"),
    ],
)
def test_train_deep_mlps_bad_inputs(kwargs, err, match):
    args = dict(X=np.zeros((5, 3)), y=np.zeros(5, dtype=int))
    args.update(kwargs)
    with pytest.raises(err, match=match):
        init_study.train_deep_mlps(["he_normal"], [0], **args)
    with pytest.raises(ValueError, match="at least one"):
        init_study.train_deep_mlps([], [0], np.zeros((5, 3)), np.zeros(5, dtype=int))
