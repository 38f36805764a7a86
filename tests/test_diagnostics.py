import numpy as np
import pytest
from numpy.testing import assert_allclose

from bookcode import diagnostics
from bookcode.layers import Activation, Linear
from bookcode.network import Sequential, mlp


def test_weight_keys_and_gradient_norms():
    rng = np.random.default_rng(0)
    net = mlp([3, 4, 4, 2], activation="tanh", rng=rng)
    assert diagnostics.weight_keys(net) == ["0.W", "2.W", "4.W"]
    X = rng.standard_normal((5, 3))
    net.forward(X)
    net.backward(np.ones((5, 2)))
    norms = diagnostics.gradient_norms(net)
    assert_allclose(norms, [np.linalg.norm(net[i].grads["W"]) for i in (0, 2, 4)])
    assert_allclose(
        diagnostics.gradient_norms(net, "b"),
        [np.linalg.norm(net[i].grads["b"]) for i in (0, 2, 4)],
    )
    with pytest.raises(ValueError, match="no parameter named 'gamma'"):
        diagnostics.gradient_norms(net, "gamma")


def test_activation_stats_saturation_and_dead_units():
    # Layer 1: sigmoid with huge pre-activations (saturated); layer 2: ReLU whose first
    # unit is always off.
    W1 = np.array([[100.0, -100.0]])
    W2 = np.array([[-1.0, 1.0], [-1.0, 1.0]])
    net = Sequential(
        [
            Linear(1, 2, init=W1),
            Activation("sigmoid"),
            Linear(2, 2, init=W2),
            Activation("relu"),
        ]
    )
    X = np.linspace(0.5, 1.0, 6).reshape(-1, 1)
    stats = diagnostics.activation_stats(net, X)
    assert stats["saturated"][0] == 1.0  # every sigmoid output within 2 % of 0 or 1
    assert np.isnan(
        stats["saturated"][1]
    )  # ReLU is unbounded above: saturation does not apply
    assert (
        stats["dead"][1] == 0.5
    )  # unit 0 of the ReLU layer never activates: net = -(y1 + y2) < 0
    assert stats["dead"][0] == 0.0
    y = 1 / (1 + np.exp(-100 * X))
    sig_out = np.hstack([y, 1 - y])
    assert_allclose(stats["mean"][0], sig_out.mean())
    assert_allclose(stats["std"][0], sig_out.std())
    assert stats["values"][1].shape == (6, 2)


def test_find_nonfinite_forward_overflow():
    net = Sequential(
        [
            Linear(2, 2, init=np.full((2, 2), 1e308)),
            Activation("relu"),
            Linear(2, 1, init=np.full((2, 1), 1e300)),
        ]
    )
    report = diagnostics.find_nonfinite(net, np.ones((1, 2)))
    assert report.phase == "forward" and report.layer_index == 0
    assert "overflowed to inf" in report.message
    assert "layer 0" in str(report)


def test_find_nonfinite_nan_from_inf_minus_inf():
    # inf - inf = NaN inside the second Linear: weights of opposite sign on an infinite
    # activation
    net = Sequential(
        [
            Linear(1, 2, init=np.array([[1e308, 1e308]])),
            Activation("identity"),
            Linear(2, 1, init=np.array([[10.0], [-10.0]])),
        ]
    )
    report = diagnostics.find_nonfinite(net, np.array([[1.0]]))
    assert report.layer_index == 2 and report.phase == "forward"


def test_find_nonfinite_parameter_and_clean_network():
    net = mlp([2, 3, 1], rng=0)
    assert (
        diagnostics.find_nonfinite(net, np.ones((4, 2)), np.zeros((4, 1)), "half_sse")
        is None
    )
    net[2].params["W"][0, 0] = np.nan
    report = diagnostics.find_nonfinite(net, np.ones((4, 2)))
    assert report.layer_index == 2 and "parameter W" in report.message


def test_find_nonfinite_backward():
    # Forward is finite but the gradient overflows: huge weights in the last layer, huge
    # target error.
    net = Sequential(
        [
            Linear(1, 1, init=np.array([[1e200]])),
            Activation("identity"),
            Linear(1, 1, init=np.array([[1e200]])),
        ]
    )
    X = np.array([[1e-250]])
    report = diagnostics.find_nonfinite(net, X, np.array([[-1e150]]), "half_sse")
    # loss = ½ (2e150)² is finite, dE/dY = 2e150 is finite, dE/dX = 2e150 · 1e200
    # overflows in layer 2
    assert report is not None and report.phase == "backward" and report.layer_index == 2
    assert "input" in report.message


def test_bad_input():
    with pytest.raises(TypeError, match="Sequential"):
        diagnostics.activation_stats(Linear(2, 2, rng=0), np.ones((1, 2)))
    with pytest.raises(TypeError, match="parameters"):
        diagnostics.gradient_norms(object())
    with pytest.raises(ValueError, match="2-D batch"):
        diagnostics.find_nonfinite(mlp([2, 1], rng=0), np.ones(2))


def test_activation_stats_leaves_batchnorm_running_averages_alone():
    from bookcode.batchnorm import BatchNorm
    from bookcode.layers import Activation, Linear
    from bookcode.network import Sequential
    from bookcode.residual import Residual

    rng = np.random.default_rng(0)
    inner = BatchNorm(4)
    net = Sequential(
        [
            Linear(3, 4, rng=1, bias=False),
            BatchNorm(4),
            Activation("relu"),
            Residual(
                Sequential([Linear(4, 4, rng=2, bias=False), inner, Activation("tanh")])
            ),
        ]
    )
    X = rng.standard_normal((16, 3)) * 5 + 2
    before = [(bn.running_mean.copy(), bn.running_var.copy()) for bn in (net[1], inner)]
    stats = diagnostics.activation_stats(net, X)
    assert (
        len(stats["mean"]) == 1
    )  # the top-level activation; the branch's is inside the block
    for bn, (m, v) in zip((net[1], inner), before):
        np.testing.assert_array_equal(bn.running_mean, m)
        np.testing.assert_array_equal(bn.running_var, v)
    net.forward(
        X
    )  # an ordinary training-mode forward pass does move them (the control)
    assert not np.allclose(net[1].running_mean, before[0][0])
