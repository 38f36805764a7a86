import numpy as np
import pytest
from numpy.testing import assert_allclose

from bookcode.experiments import activation_study as S
from bookcode.layers import Activation, Linear
from bookcode.network import Sequential, mlp


def _linear_net(rng):
    layers = []
    for n_in, n_out in [(5, 7), (7, 4), (4, 3)]:
        lin = Linear(n_in, n_out, rng=rng)
        lin.params["b"][...] = rng.normal(
            size=n_out
        )  # non-zero biases: they must fold too
        layers += [lin, Activation("identity")]
    return Sequential(layers[:-1])


def test_collapse_linear_reproduces_the_network_and_folds_the_biases():
    rng = np.random.default_rng(0)
    net = _linear_net(rng)
    W, b = S.collapse_linear(net)
    X = rng.normal(size=(20, 5))
    assert W.shape == (5, 3) and b.shape == (3,)
    assert_allclose(X @ W + b, net.forward(X), rtol=1e-12, atol=1e-12)
    # independent formula: b = b1 W2 W3 + b2 W3 + b3
    (W1, b1), (W2, b2), (W3, b3) = [
        (lay.W, lay.b) for lay in net.layers if isinstance(lay, Linear)
    ]
    assert_allclose(W, W1 @ W2 @ W3, rtol=1e-13)
    assert_allclose(b, b1 @ W2 @ W3 + b2 @ W3 + b3, rtol=1e-13)


def test_collapse_linear_without_bias_and_single_layer():
    rng = np.random.default_rng(1)
    net = Sequential([Linear(3, 2, rng=rng, bias=False), Linear(2, 4, rng=rng)])
    W, b = S.collapse_linear(net)
    X = rng.normal(size=(6, 3))
    assert_allclose(X @ W + b, net.forward(X), rtol=1e-12, atol=1e-14)
    one = Sequential([Linear(3, 2, rng=rng)])
    W1, _ = S.collapse_linear(one)
    W1[0, 0] += 1.0
    assert W1[0, 0] != one.layers[0].W[0, 0], "returns a copy, not the layer's array"


def test_collapse_linear_bad_input():
    with pytest.raises(TypeError, match="only Linear layers and identity"):
        S.collapse_linear(mlp([3, 4, 2], activation="relu", rng=0))
    with pytest.raises(TypeError, match="expected a network"):
        S.collapse_linear([Linear(2, 2, rng=0)])
    with pytest.raises(ValueError, match="no Linear layer"):
        S.collapse_linear(Sequential([Activation("identity")]))


def test_forward_activations_matches_a_hand_built_stack_and_relu_variance_halves():
    X = np.random.default_rng(2).normal(size=(4000, 200))
    outs = S.forward_activations("relu", 3, X, rng=5)
    assert len(outs) == 3 and all(o.shape == (4000, 200) for o in outs)
    gen = np.random.default_rng(5)
    Y = X
    for out in outs:
        lin = Linear(200, 200, rng=gen)
        Y = np.maximum(Y @ lin.W, 0)
        assert_allclose(out, Y, rtol=1e-12)
    # Xavier (Var W = 1/n for n_in = n_out = n) with ReLU: E[y²] halves per layer in
    # expectation over the weights (E[relu(z)²] = Var z / 2). One draw fluctuates by
    # ~0.04 at this width (mostly through the non-zero mean of ReLU outputs), so average
    # the ratio over 10 draws: standard error ~0.013.
    ratios = []
    for seed in range(10):
        m2 = [
            np.mean(o**2) for o in S.forward_activations("relu", 3, X[:1000], rng=seed)
        ]
        ratios += [m2[1] / m2[0], m2[2] / m2[1]]
    assert abs(np.mean(ratios) - 0.5) < 0.05


def test_forward_activations_width_and_kwargs():
    X = np.ones((3, 4))
    outs = S.forward_activations("leaky_relu", 2, X, width=6, rng=0, alpha=0.2)
    assert [o.shape for o in outs] == [(3, 6), (3, 6)]
    gen = np.random.default_rng(0)
    net1 = X @ Linear(4, 6, rng=gen).W
    assert_allclose(outs[0], np.where(net1 > 0, net1, 0.2 * net1), rtol=1e-12)


def test_forward_activations_bad_input():
    with pytest.raises(ValueError, match="depth must be an integer >= 1"):
        S.forward_activations("tanh", 0, np.ones((2, 2)))
    with pytest.raises(ValueError, match="2-D batch"):
        S.forward_activations("tanh", 2, np.ones(3))
    with pytest.raises(ValueError, match="unknown activation"):
        S.forward_activations("swish", 2, np.ones((2, 2)))
    with pytest.raises(TypeError, match="rng"):
        S.forward_activations("tanh", 2, np.ones((2, 2)), rng=None)


def test_dead_unit_masks():
    W1 = np.array([[1.0, -1.0, 1.0], [1.0, -1.0, -1.0]])
    W2 = np.ones((3, 1))
    net = Sequential(
        [
            Linear(2, 3, init=W1),
            Activation("relu"),
            Linear(3, 1, init=W2),
            Activation("sigmoid"),
        ]
    )
    X = np.array(
        [[1.0, 1.0], [2.0, 0.5]]
    )  # unit 1 has net = -(x1 + x2) < 0 on both rows
    masks = S.dead_unit_masks(net, X)
    assert [m.tolist() for m in masks] == [[False, True, False], [False]]
    soft = Sequential([Linear(2, 3, init=W1), Activation("softmax")])
    assert S.dead_unit_masks(soft, X)[0].tolist() == [False, False, False]
    leaky = Sequential([Linear(2, 3, init=W1), Activation("leaky_relu")])
    assert not S.dead_unit_masks(leaky, X)[0].any()
    with pytest.raises(TypeError, match="expected a network"):
        S.dead_unit_masks(Linear(2, 2, rng=0), X)


def test_time_activation():
    x = np.linspace(-3, 3, 1000)
    t = S.time_activation("tanh", x, repeats=3)
    assert 0 < t < 1
    assert S.time_activation("relu", x, repeats=1, derivative=False) > 0
    with pytest.raises(TypeError, match="derivative"):
        S.time_activation(np.tanh, x)
    with pytest.raises(ValueError, match="repeats must be an integer >= 1"):
        S.time_activation("relu", x, repeats=0)
    with pytest.raises(ValueError, match="finite"):
        S.time_activation("relu", [np.nan])


def test_markdown_table():
    t = S.markdown_table(
        ["f", "zero-centred", "cost"],
        [["$a \\| b$", True, 1.23456], ["x|y", False, 7]],
        align="lcr",
    )
    md = t._repr_markdown_()
    assert md.splitlines() == [
        "| f | zero-centred | cost |",
        "|:--|:-:|--:|",
        "| $a \\\\| b$ | yes | 1.23 |",
        "| x\\|y | no | 7 |",
    ]
    assert repr(t) == md


def test_markdown_table_bad_input():
    with pytest.raises(ValueError, match="row 0 has 1 cells, expected 2"):
        S.markdown_table(["a", "b"], [["x"]])
    with pytest.raises(ValueError, match="align must be 2 letters"):
        S.markdown_table(["a", "b"], [], align="lx")
    with pytest.raises(TypeError, match="cells must be"):
        S.markdown_table(["a"], [[None]])
    with pytest.raises(ValueError, match="at least one column"):
        S.markdown_table([], [])
