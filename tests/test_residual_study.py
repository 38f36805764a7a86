"""Tests of bookcode.experiments.residual_study (deep plain/residual MLPs, fixed-budget
training, per-unit monitors)."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from bookcode import losses
from bookcode.batchnorm import BatchNorm
from bookcode.experiments.residual_study import (
    block_grad_norms,
    block_variances,
    deep_mlp,
    train_steps,
)
from bookcode.gradcheck import TOLERANCE, check_network
from bookcode.network import Sequential
from bookcode.residual import Residual


def test_plain_and_residual_have_the_same_parameters():
    plain = deep_mlp(5, 4, 3, 6, residual=False, rng=1)
    res = deep_mlp(5, 4, 3, 6, residual=True, branch_scale="1/sqrt(L)", rng=1)
    assert len(plain) == len(res) == 6 + 3
    for (k1, p1, _), (k2, p2, _) in zip(plain.parameters(), res.parameters()):
        assert k1 == k2
        assert_allclose(p1, p2, rtol=0, atol=0)
    assert all(
        isinstance(u, Residual) and u.scale == pytest.approx(1 / np.sqrt(6))
        for u in res.layers[1:-2]
    )
    assert not any(isinstance(u, Residual) for u in plain.layers)


def test_units_compute_the_equations():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((3, 5))
    for residual in (False, True):
        net = deep_mlp(5, 4, 2, 2, residual=residual, branch_scale=0.5, rng=3)
        h = X @ net[0].W + net[0].b
        for unit in net.layers[1:3]:
            lin = (unit.branch if residual else unit)[1]
            u = np.maximum(h, 0) @ lin.W + lin.b
            h = h + 0.5 * u if residual else u
        assert_allclose(
            net.forward(X), np.maximum(h, 0) @ net[-1].W + net[-1].b, rtol=1e-13
        )


def test_bn_units_and_gradcheck():
    net = deep_mlp(3, 4, 2, 2, residual=True, norm="bn", rng=4)
    unit = net[1].branch
    assert isinstance(unit[0], BatchNorm) and "b" not in unit[2].params
    rng = np.random.default_rng(5)
    net_t = deep_mlp(
        3,
        4,
        2,
        3,
        residual=True,
        activation="tanh",
        init="xavier_normal",
        branch_scale=0.7,
        rng=6,
    )
    report = check_network(
        net_t,
        losses.get("softmax_cross_entropy"),
        rng.standard_normal((6, 3)),
        rng.integers(0, 2, 6),
    )
    assert report.max_error < TOLERANCE, report


def test_variance_doubles_per_unnormalised_block():
    # eq. (res-variance): with He-initialised ReLU branches and s = 1 the second moment
    # doubles per block
    rng = np.random.default_rng(7)
    X = rng.standard_normal((2000, 64))
    net = deep_mlp(64, 192, 2, 6, residual=True, rng=8)
    v = block_variances(net, X)
    ratios = v[1:6] / v[:5]
    assert_allclose(ratios, 2.0, rtol=0.15)
    net_s = deep_mlp(64, 192, 2, 6, residual=True, branch_scale=0.5, rng=8)
    assert_allclose(
        block_variances(net_s, X)[1:6] / block_variances(net_s, X)[:5], 1.25, rtol=0.1
    )


def test_block_grad_norms_match_deltas():
    rng = np.random.default_rng(9)
    net = deep_mlp(4, 5, 3, 3, residual=True, rng=10)
    X = rng.standard_normal((6, 4))
    net.backward(
        losses.get("softmax_cross_entropy").grad(net.forward(X), rng.integers(0, 3, 6))
    )
    g = block_grad_norms(net)
    assert g.shape == (3 + 2,)
    assert_allclose(g[0], np.linalg.norm(net.deltas[1]))


def test_train_steps_lowers_the_loss_and_records():
    rng = np.random.default_rng(11)
    X = rng.standard_normal((60, 4))
    y = (X[:, 0] > 0).astype(int)
    net = deep_mlp(4, 8, 2, 2, residual=True, rng=12)
    steps, values = train_steps(
        net, X, y, 30, 0.05, batch_size=16, rng=0, record_every=10
    )
    assert list(steps) == [0, 10, 20, 30]
    assert values[-1] < 0.5 * values[0]


def test_train_steps_reports_divergence_as_inf():
    rng = np.random.default_rng(13)
    X = rng.standard_normal((40, 4)) * 1e150
    y = rng.integers(0, 2, 40)
    net = deep_mlp(4, 8, 2, 8, residual=True, rng=14)
    _, values = train_steps(net, X, y, 20, 1.0, batch_size=8, rng=0)
    assert values[-1] == np.inf


def test_bad_inputs():
    with pytest.raises(ValueError, match="depth must be an integer >= 1"):
        deep_mlp(3, 4, 2, 0)
    with pytest.raises(ValueError, match="unknown deep_mlp norm"):
        deep_mlp(3, 4, 2, 2, norm="layer")
    with pytest.raises(TypeError, match="residual must be True or False"):
        deep_mlp(3, 4, 2, 2, residual=1)
    with pytest.raises(ValueError, match="branch_scale must be a finite number > 0"):
        deep_mlp(3, 4, 2, 2, branch_scale=0.0)
    with pytest.raises(TypeError, match="branch_scale must be a real number"):
        deep_mlp(3, 4, 2, 2, branch_scale="1/L")
    net = deep_mlp(3, 4, 2, 2, rng=0)
    with pytest.raises(ValueError, match="one target per row"):
        train_steps(net, np.ones((5, 3)), np.zeros(4, int), 2, 0.1)
    with pytest.raises(ValueError, match="steps must be an integer >= 1"):
        train_steps(net, np.ones((5, 3)), np.zeros(5, int), 0, 0.1)
    with pytest.raises(ValueError, match="forward and backward"):
        block_grad_norms(deep_mlp(3, 4, 2, 2, rng=0))
    with pytest.raises(TypeError, match="expected a Sequential"):
        block_variances(object(), np.ones((2, 3)))
    assert isinstance(net, Sequential)
