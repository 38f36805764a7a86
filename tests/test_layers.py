import numpy as np
import pytest
from numpy.testing import assert_allclose

from bookcode.gradcheck import TOLERANCE, check_layer
from bookcode.layers import Activation, Linear


def test_linear_forward_matches_definition():
    W = np.array([[1.0, -2.0, 0.5], [3.0, 0.0, -1.0]])
    layer = Linear(2, 3, init=W)
    layer.params["b"][:] = [0.1, 0.2, 0.3]
    X = np.array([[1.0, 2.0], [-1.0, 0.5]])
    expected = np.array(
        [
            [1 + 6 + 0.1, -2 + 0 + 0.2, 0.5 - 2 + 0.3],
            [-1 + 1.5 + 0.1, 2 + 0.2, -0.5 - 0.5 + 0.3],
        ]
    )
    assert_allclose(layer.forward(X), expected)


def test_linear_backward_formulas():
    rng = np.random.default_rng(0)
    layer = Linear(4, 3, init="normal", rng=rng)
    X = rng.standard_normal((5, 4))
    layer.forward(X)
    delta = rng.standard_normal((5, 3))
    dX = layer.backward(delta)
    assert_allclose(layer.grads["W"], X.T @ delta)
    assert_allclose(layer.grads["b"], delta.sum(axis=0))
    assert_allclose(dX, delta @ layer.W.T)


@pytest.mark.parametrize("bias", [True, False])
def test_linear_gradcheck(bias):
    rng = np.random.default_rng(1)
    layer = Linear(3, 4, init="xavier_normal", rng=rng, bias=bias)
    report = check_layer(layer, rng.standard_normal((6, 3)), rng=2)
    assert set(report.errors) == ({"dX", "W", "b"} if bias else {"dX", "W"})
    assert report.max_error < TOLERANCE, report


@pytest.mark.parametrize(
    "name,kw",
    [
        ("sigmoid", {}),
        ("tanh", {}),
        ("relu", {}),
        ("leaky_relu", {"alpha": 0.1}),
        ("elu", {"alpha": 1.0}),
        ("softplus", {}),
        ("softmax", {}),
        ("identity", {}),
    ],
)
def test_activation_layer_gradcheck(name, kw):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((5, 4))
    if name in ("relu", "leaky_relu", "elu"):
        X = (
            X + np.sign(X) * 0.05
        )  # stay away from the kink, where the derivative is not defined
    report = check_layer(Activation(name, **kw), X, rng=4)
    assert report.errors.keys() == {"dX"}
    assert report.max_error < TOLERANCE, report


def test_linear_rejects_bad_input():
    layer = Linear(3, 2, init="zeros")
    with pytest.raises(ValueError, match=r"3 columns"):
        layer.forward(np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"2-D batch"):
        layer.forward(np.ones(3))
    nan_out = layer.forward(
        np.array([[1.0, np.nan, 0.0]])
    )  # layers propagate NaN (IEEE) by design
    assert np.isnan(nan_out).all()
    with pytest.raises(TypeError, match="real numbers"):
        layer.forward(np.array([["a", "b", "c"]]))
    with pytest.raises(RuntimeError, match="before forward"):
        Linear(3, 2, init="zeros").backward(np.ones((1, 2)))
    layer.forward(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"dY of shape \(4, 2\)"):
        layer.backward(np.ones((4, 3)))


def test_linear_rejects_bad_construction():
    with pytest.raises(ValueError, match="n_out must be an integer >= 1"):
        Linear(3, 0)
    with pytest.raises(TypeError, match="n_in must be an integer"):
        Linear(2.5, 3)
    with pytest.raises(ValueError, match=r"initial W of shape \(2, 3\)"):
        Linear(2, 3, init=np.ones((3, 2)))
    with pytest.raises(ValueError, match="unknown"):
        Linear(2, 3, init="no_such_init", rng=0)
    with pytest.raises(TypeError, match="floating dtype"):
        Linear(2, 3, init="zeros", dtype=np.int32)


def test_activation_layer_bad_input():
    with pytest.raises(ValueError, match="unknown"):
        Activation("swishy")
    with pytest.raises(TypeError, match="activation name"):
        Activation(42)
    act = Activation("tanh")
    act.forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"expected dY of shape \(2, 3\)"):
        act.backward(np.zeros((3, 2)))


def test_linear_keeps_float32():
    layer = Linear(2, 2, init="xavier_uniform", rng=0, dtype=np.float32)
    assert layer.forward(np.ones((1, 2), dtype=np.float32)).dtype == np.float32


def test_repr():
    assert repr(Linear(3, 2, init="zeros")) == "Linear(3, 2)"
    assert repr(Linear(3, 2, init="zeros", bias=False)) == "Linear(3, 2, bias=False)"
    assert "relu" in repr(Activation("relu"))


def test_linear_without_a_seed_names_linear():
    from bookcode.init import MissingSeed

    with pytest.raises(
        MissingSeed,
        match=r"^Linear\(3, 4, init='he_normal'\) draws random weights and needs a "
        "seed",
    ):
        Linear(3, 4, init="he_normal")
    with pytest.raises(TypeError, match="needs a seed"):  # MissingSeed is a TypeError
        Linear(3, 4)
