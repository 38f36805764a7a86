import numpy as np
import pytest
from numpy.testing import assert_allclose

from bookcode import losses
from bookcode.gradcheck import TOLERANCE, check_layer, check_network
from bookcode.layers import Activation, Linear
from bookcode.network import Sequential, mlp


def test_forward_is_composition():
    rng = np.random.default_rng(0)
    net = mlp([3, 5, 2], activation="tanh", rng=rng)
    X = rng.standard_normal((4, 3))
    l0, l2 = net[0], net[2]
    expected = np.tanh(X @ l0.W + l0.b) @ l2.W + l2.b
    assert_allclose(net.forward(X), expected)
    assert len(net.outputs) == len(net) + 1
    assert_allclose(net.outputs[0], X)


def test_parameters_keys_and_views():
    net = mlp([3, 4, 2], rng=0)
    keys = [k for k, _, _ in net.parameters()]
    assert keys == ["0.W", "0.b", "2.W", "2.b"]
    assert (
        net.params["0.W"] is net[0].params["W"]
    )  # views, so optimizers update the layers
    assert net.n_params() == 3 * 4 + 4 + 4 * 2 + 2


@pytest.mark.parametrize("act", ["sigmoid", "tanh", "softplus", "elu"])
def test_network_gradcheck_with_losses(act):
    rng = np.random.default_rng(5)
    net = mlp([4, 6, 5, 3], activation=act, rng=rng)
    X = rng.standard_normal((7, 4))
    labels = rng.integers(0, 3, size=7)
    report = check_network(net, losses.get("softmax_cross_entropy"), X, labels)
    assert report.max_error < TOLERANCE, report
    T = rng.standard_normal((7, 3))
    report = check_network(net, "half_sse", X, T)
    assert report.max_error < TOLERANCE, report


def test_nested_sequential_gradcheck_and_keys():
    rng = np.random.default_rng(6)
    inner = Sequential([Linear(3, 3, rng=rng), Activation("tanh")])
    net = Sequential([Linear(2, 3, rng=rng), inner, Linear(3, 1, rng=rng)])
    assert [k for k, _, _ in net.parameters()] == [
        "0.W",
        "0.b",
        "1.0.W",
        "1.0.b",
        "2.W",
        "2.b",
    ]
    report = check_layer(net, rng.standard_normal((4, 2)), rng=7)
    assert report.max_error < TOLERANCE, report


def test_backward_records_deltas():
    rng = np.random.default_rng(8)
    net = mlp([2, 3, 1], activation="sigmoid", rng=rng)
    net.forward(rng.standard_normal((5, 2)))
    dX = net.backward(np.ones((5, 1)))
    assert len(net.deltas) == 3
    assert_allclose(net.deltas[0], dX)
    assert_allclose(net.deltas[2], np.ones((5, 1)) @ net[2].W.T)


def test_train_eval_modes():
    net = mlp([2, 2, 1], rng=0)
    assert net.training
    net.eval()
    assert not net.training and not any(layer.training for layer in net)
    net.train()
    assert all(layer.training for layer in net)


def test_bad_input():
    with pytest.raises(ValueError, match="at least one layer"):
        Sequential([])
    with pytest.raises(TypeError, match="Layer protocol"):
        Sequential([Linear(2, 2, rng=0), object()])
    with pytest.raises(ValueError, match="at least two sizes"):
        mlp([3])
    with pytest.raises(ValueError, match=r"sizes\[1\]"):
        mlp([3, 0, 2], rng=0)
    net = mlp([3, 2], rng=0)
    with pytest.raises(RuntimeError, match="before forward"):
        net.backward(np.ones((1, 2)))
    with pytest.raises(ValueError, match="3 columns"):
        net.forward(np.ones((2, 4)))


def test_repr_lists_layers():
    r = repr(mlp([3, 4, 2], activation="relu", rng=0))
    assert r.startswith("Sequential(") and "Linear(3, 4)" in r and "relu" in r


def test_mlp_without_a_seed_names_mlp():
    from bookcode.init import MissingSeed

    with pytest.raises(
        MissingSeed,
        match=r"^mlp\(\[64, 32, 10\], init='xavier_normal'\) draws random weights and "
        r"needs a seed: pass rng=",
    ):
        mlp([64, 32, 10])
    assert isinstance(
        mlp([2, 3, 1], init="zeros"), Sequential
    )  # a deterministic initializer needs none
