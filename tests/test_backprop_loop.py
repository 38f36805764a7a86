"""The per-example loop form of two-layer backprop: against finite differences and the
matrix form."""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from bookcode import losses, network
from bookcode.experiments.backprop_loop import (
    SCALAR_ACTIVATIONS,
    forward_loop,
    gradients_loop,
)
from bookcode.gradcheck import TOLERANCE, numerical_gradient, rel_error


def _params(rng, n=3, m=4, l=2):
    return (
        rng.standard_normal((n, m)),
        0.3 * rng.standard_normal(m),
        rng.standard_normal((m, l)),
        0.3 * rng.standard_normal(l),
    )


def test_scalar_activations_match_their_derivatives():
    for name, (f, df) in SCALAR_ACTIVATIONS.items():
        for x in (-30.0, -1.3, 0.0, 0.7, 25.0):
            h = 1e-6
            numeric = (f(x + h) - f(x - h)) / (2 * h)
            assert math.isclose(df(f(x)), numeric, rel_tol=1e-6, abs_tol=1e-9), (
                name,
                x,
            )
    assert (
        SCALAR_ACTIVATIONS["sigmoid"][0](-800.0) == 0.0
    )  # no overflow warning for large |x|


def test_forward_loop_matches_the_formula():
    rng = np.random.default_rng(0)
    W1, b1, W2, b2 = _params(rng)
    x = rng.standard_normal(3)
    net1, y1, net2, y2 = forward_loop(
        x, W1, b1, W2, b2, hidden="tanh", output="identity"
    )
    assert_allclose(net1, x @ W1 + b1, rtol=1e-13)
    assert_allclose(y1, np.tanh(x @ W1 + b1), rtol=1e-13)
    assert_allclose(net2, np.tanh(x @ W1 + b1) @ W2 + b2, rtol=1e-13)
    assert_allclose(y2, net2, rtol=0)


@pytest.mark.parametrize(
    "hidden, output",
    [("sigmoid", "sigmoid"), ("tanh", "identity"), ("tanh", "sigmoid")],
)
@pytest.mark.parametrize("average", [False, True])
def test_gradients_loop_passes_a_finite_difference_check(hidden, output, average):
    rng = np.random.default_rng(1)
    params = list(_params(rng))
    X, T = rng.standard_normal((5, 3)), rng.uniform(0, 1, (5, 2))
    E, grads = gradients_loop(
        X, T, *params, hidden=hidden, output=output, average=average
    )
    for name, p in zip(("W1", "b1", "W2", "b2"), params):
        numeric = numerical_gradient(
            lambda: gradients_loop(
                X, T, *params, hidden=hidden, output=output, average=average
            )[0],
            p,
        )
        assert grads[name].shape == p.shape
        assert rel_error(grads[name], numeric) < TOLERANCE, name
    y = network.mlp(
        [3, 4, 2],
        hidden,
        output_activation=None if output == "identity" else output,
        rng=0,
    )
    for (_, p, _), q in zip(y.parameters(), params):
        p[...] = q
    Y = y.forward(X)
    expected = 0.5 * np.sum((T - Y) ** 2) / (len(X) if average else 1)
    assert math.isclose(E, expected, rel_tol=1e-12)


def test_gradients_loop_equals_the_matrix_form():
    rng = np.random.default_rng(2)
    net = network.mlp([6, 5, 3], "sigmoid", output_activation="sigmoid", rng=3)
    for _, p, _ in net.parameters():
        p[...] += 0.1 * rng.standard_normal(p.shape)  # non-zero biases
    X, T = rng.standard_normal((7, 6)), rng.uniform(0, 1, (7, 3))
    loss = losses.get("half_sse")
    Y = net.forward(X)
    net.backward(loss.grad(Y, T))
    E, grads = gradients_loop(X, T, *[p for _, p, _ in net.parameters()])
    assert math.isclose(E, loss.value(Y, T), rel_tol=1e-12)
    for name, (_, _, g) in zip(("W1", "b1", "W2", "b2"), net.parameters()):
        assert_allclose(grads[name], g, rtol=1e-11, atol=1e-14)


def test_average_divides_loss_and_gradients_by_n():
    rng = np.random.default_rng(4)
    params = _params(rng)
    X, T = rng.standard_normal((4, 3)), rng.uniform(0, 1, (4, 2))
    E_sum, g_sum = gradients_loop(X, T, *params)
    E_mean, g_mean = gradients_loop(X, T, *params, average=True)
    assert math.isclose(E_mean, E_sum / 4, rel_tol=1e-13)
    for k in g_sum:
        assert_allclose(g_mean[k], g_sum[k] / 4, rtol=1e-13)


def test_bad_input_is_rejected():
    rng = np.random.default_rng(5)
    W1, b1, W2, b2 = _params(rng)
    X, T = rng.standard_normal((4, 3)), np.zeros((4, 2))
    with pytest.raises(
        ValueError, match=r"W1 of shape \(2, n_hidden\) for X with 2 columns"
    ):
        gradients_loop(X[:, :2], T, W1, b1, W2, b2)
    with pytest.raises(ValueError, match=r"W2 of shape \(4, n_out\)"):
        gradients_loop(X, T, W1, b1, W2[:3], b2)
    with pytest.raises(ValueError, match=r"b1 of shape \(4,\)"):
        gradients_loop(X, T, W1, b1[:2], W2, b2)
    with pytest.raises(ValueError, match=r"T of shape \(4, 2\)"):
        gradients_loop(X, T[:, :1], W1, b1, W2, b2)
    with pytest.raises(ValueError, match="unknown activation"):
        gradients_loop(X, T, W1, b1, W2, b2, output="softmax")
    with pytest.raises(TypeError, match="average must be True or False"):
        gradients_loop(X, T, W1, b1, W2, b2, average=1)
    with pytest.raises(ValueError, match="must be finite"):
        gradients_loop(np.full((4, 3), np.nan), T, W1, b1, W2, b2)
    with pytest.raises(ValueError, match="one example x of shape"):
        forward_loop(X, W1, b1, W2, b2)
    with pytest.raises(ValueError, match="2-D batch"):
        gradients_loop(np.ones(3), T, W1, b1, W2, b2)
