"""Tests of bookcode.residual: the residual block y = x + s F(x) of
chapters/09_residual."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from bookcode import losses
from bookcode.batchnorm import BatchNorm
from bookcode.diagnostics import gradient_norms
from bookcode.gradcheck import TOLERANCE, check_layer, check_network
from bookcode.layers import Activation, Linear
from bookcode.network import Sequential
from bookcode.optim import SGD
from bookcode.residual import Residual


def _branch(n, rng, act="tanh"):
    return Sequential([Activation(act), Linear(n, n, rng=rng)])


def test_forward_is_x_plus_scaled_branch():
    rng = np.random.default_rng(0)
    branch = _branch(3, rng)
    X = rng.standard_normal((5, 3))
    lin = branch[1]
    expected = X + 0.3 * (np.tanh(X) @ lin.W + lin.b)  # eq. (res-block), written out
    assert_allclose(Residual(branch, scale=0.3).forward(X), expected, rtol=1e-14)


@pytest.mark.parametrize("scale", [1.0, 0.25])
def test_gradcheck_block(scale):
    rng = np.random.default_rng(1)
    report = check_layer(
        Residual(_branch(4, rng), scale=scale), rng.standard_normal((6, 4)), rng=2
    )
    assert report.max_error < TOLERANCE, report
    assert set(report.errors) == {"dX", "1.W", "1.b"}


def test_gradcheck_single_layer_branch_and_stack_with_loss():
    rng = np.random.default_rng(3)
    inner = Residual(
        Sequential(
            [
                Activation("tanh"),
                Linear(3, 3, rng=rng),
                Activation("sigmoid"),
                Linear(3, 3, rng=rng),
            ]
        ),
        scale=0.7,
    )
    net = Sequential(
        [
            Linear(2, 3, rng=rng),
            Residual(Linear(3, 3, rng=rng)),
            inner,
            Residual(
                Sequential([Residual(Linear(3, 3, rng=rng)), Linear(3, 3, rng=rng)])
            ),
            Linear(3, 4, rng=rng),
        ]
    )  # nested blocks; every layer instance used once
    X, labels = rng.standard_normal((7, 2)), rng.integers(0, 4, 7)
    report = check_network(net, losses.get("softmax_cross_entropy"), X, labels)
    assert report.max_error < TOLERANCE, report


def test_gradcheck_with_batchnorm_branch():
    rng = np.random.default_rng(4)
    block = Residual(
        Sequential(
            [BatchNorm(3), Activation("tanh"), Linear(3, 3, rng=rng, bias=False)]
        )
    )
    report = check_layer(block, rng.standard_normal((8, 3)), rng=5)
    assert report.max_error < TOLERANCE, report


def test_identity_path_carries_the_gradient_unchanged():
    # with zero branch weights every block is the identity: dE/dx_0 equals dE/dx_L
    # exactly (eq. res-grad-identity)
    rng = np.random.default_rng(6)
    blocks = [
        Residual(Sequential([Activation("relu"), Linear(4, 4, init=np.zeros((4, 4)))]))
        for _ in range(5)
    ]
    net = Sequential(blocks)
    net.forward(rng.standard_normal((3, 4)))
    dY = rng.standard_normal((3, 4))
    assert_allclose(net.backward(dY), dY, rtol=0, atol=0)


def test_gradient_is_identity_plus_branch_jacobian():
    # one linear branch: dX = dY (I + s Wᵀ) -- computed from the math, not from the code
    rng = np.random.default_rng(7)
    W = rng.standard_normal((3, 3))
    block = Residual(Linear(3, 3, init=W.copy()), scale=0.5)
    block.forward(rng.standard_normal((2, 3)))
    dY = rng.standard_normal((2, 3))
    assert_allclose(block.backward(dY), dY @ (np.eye(3) + 0.5 * W.T), rtol=1e-13)


def test_backward_does_not_modify_dY():
    rng = np.random.default_rng(8)
    block = Residual(_branch(3, rng), scale=2.0)
    block.forward(rng.standard_normal((4, 3)))
    dY = rng.standard_normal((4, 3))
    keep = dY.copy()
    dX = block.backward(dY)
    assert_allclose(dY, keep, rtol=0, atol=0)
    assert dX is not dY


def test_parameters_keys_are_views_and_sgd_updates_the_branch():
    rng = np.random.default_rng(9)
    block = Residual(Sequential([Activation("tanh"), Linear(3, 3, rng=rng)]))
    net = Sequential([Linear(2, 3, rng=rng), block, Linear(3, 1, rng=rng)])
    keys = [k for k, _, _ in net.parameters()]
    assert keys == ["0.W", "0.b", "1.1.W", "1.1.b", "2.W", "2.b"]
    assert net.params["1.1.W"] is block.branch[1].params["W"]
    assert len(gradient_norms(net)) == 3
    X = rng.standard_normal((5, 2))
    net.backward(net.forward(X) - 1.0)
    W_before = block.branch[1].W.copy()
    g = block.branch[1].grads["W"].copy()
    SGD(0.1).step(net)
    assert_allclose(block.branch[1].W, W_before - 0.1 * g, rtol=1e-14)
    single = Residual(Linear(3, 3, rng=rng))
    assert (
        list(single.params) == ["W", "b"]
        and single.params["W"] is single.branch.params["W"]
    )


def test_training_flag_and_zero_grad_reach_the_branch():
    bn = BatchNorm(3)
    block = Residual(Sequential([bn, Linear(3, 3, rng=0)]))
    net = Sequential([block])
    net.eval()
    assert bn.training is False and block.training is False
    net.train()
    assert bn.training is True
    block.forward(np.random.default_rng(0).standard_normal((4, 3)))
    block.backward(np.ones((4, 3)))
    block.zero_grad()
    assert all(np.all(g == 0) for g in block.grads.values())
    assert "Residual(" in repr(
        Residual(Linear(2, 2, rng=0), scale=0.5)
    ) and "scale=0.5" in repr(Residual(Linear(2, 2, rng=0), scale=0.5))


def test_bad_inputs():
    with pytest.raises(TypeError, match="Layer protocol"):
        Residual(object())
    for bad in (0.0, -1.0, float("nan"), True, "1"):
        with pytest.raises(ValueError, match="scale must be a finite number > 0"):
            Residual(Linear(2, 2, rng=0), scale=bad)
    block = Residual(Linear(2, 3, rng=0))
    with pytest.raises(ValueError, match="keep the shape"):
        block.forward(np.ones((4, 2)))
    block = Residual(Linear(2, 2, rng=0))
    with pytest.raises(RuntimeError, match="before forward"):
        block.backward(np.ones((4, 2)))
    block.forward(np.ones((4, 2)))
    with pytest.raises(ValueError, match="expected dY of shape"):
        block.backward(np.ones((3, 2)))
    with pytest.raises(ValueError, match="2-D batch"):
        block.forward(np.ones(2))
