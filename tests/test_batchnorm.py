import numpy as np
import pytest
from numpy.testing import assert_allclose

from bookcode.batchnorm import BatchNorm, batchnorm_backward, batchnorm_forward
from bookcode.gradcheck import (
    TOLERANCE,
    check_layer,
    check_network,
    numerical_gradient,
    rel_error,
)
from bookcode.layers import Activation, Linear
from bookcode.network import Sequential


def _layer(n=4, seed=0):
    rng = np.random.default_rng(seed)
    bn = BatchNorm(n)
    bn.params["gamma"][:] = rng.uniform(0.5, 2.0, n)
    bn.params["beta"][:] = rng.standard_normal(n)
    return bn, rng


def test_forward_matches_definition():
    bn, rng = _layer()
    X = 3.0 + 2.0 * rng.standard_normal((7, 4))
    Y = bn.forward(X)
    # independent reference: per-column loops with the textbook formulas
    for j in range(4):
        x = X[:, j]
        mu = sum(x) / len(x)
        var = sum((xi - mu) ** 2 for xi in x) / len(x)
        expected = bn.gamma[j] * (x - mu) / np.sqrt(var + bn.eps) + bn.beta[j]
        assert_allclose(Y[:, j], expected, rtol=1e-12)
    # with gamma = 1, beta = 0 the output has zero mean and (almost) unit biased
    # variance per column
    Z = BatchNorm(4).forward(X)
    assert_allclose(Z.mean(axis=0), 0.0, atol=1e-12)
    assert_allclose(Z.var(axis=0), X.var(axis=0) / (X.var(axis=0) + 1e-5), rtol=1e-12)


@pytest.mark.parametrize("N, eps", [(3, 1e-5), (8, 1e-5), (2, 0.5)])
def test_training_gradcheck(N, eps):
    # with N = 2, dE/dX is O(eps) (chapter 8, exercise ex-bn-two): a larger eps keeps
    # the relative check meaningful
    bn, rng = _layer(seed=N)
    bn.eps = eps
    report = check_layer(bn, rng.standard_normal((N, 4)) * 1.5 + 0.3, rng=1)
    assert set(report.errors) == {"dX", "gamma", "beta"}
    assert report.max_error < TOLERANCE, report


def test_eval_gradcheck_and_formula():
    bn, rng = _layer(seed=5)
    bn.running_mean = rng.standard_normal(4)
    bn.running_var = rng.uniform(0.5, 3.0, 4)
    bn.training = False
    X = rng.standard_normal((5, 4))
    Y = bn.forward(X)
    assert_allclose(
        Y,
        bn.gamma * (X - bn.running_mean) / np.sqrt(bn.running_var + bn.eps) + bn.beta,
        rtol=1e-12,
    )
    report = check_layer(bn, X, rng=2)
    assert report.max_error < TOLERANCE, report
    # in eval mode each row is processed on its own: one example gives the same answer
    # as inside the batch
    assert_allclose(bn.forward(X[2:3]), Y[2:3], rtol=1e-12)


def test_functional_backward_matches_finite_differences():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((6, 3))
    gamma, beta = rng.uniform(0.5, 2, 3), rng.standard_normal(3)
    R = rng.standard_normal((6, 3))
    _, cache = batchnorm_forward(X, gamma, beta)
    dX, dgamma, dbeta = batchnorm_backward(R, cache)
    for arr, analytic in ((X, dX), (gamma, dgamma), (beta, dbeta)):
        numeric = numerical_gradient(
            lambda: np.sum(batchnorm_forward(X, gamma, beta)[0] * R), arr
        )
        assert rel_error(analytic, numeric) < TOLERANCE


def test_one_row_function_returns_beta_with_zero_gradient():
    gamma, beta = np.array([2.0, 3.0]), np.array([0.5, -1.0])
    Y, cache = batchnorm_forward(np.array([[10.0, -4.0]]), gamma, beta)
    assert_allclose(Y, beta[None, :])
    dX, _, _ = batchnorm_backward(np.array([[1.0, 1.0]]), cache)
    assert_allclose(dX, 0.0, atol=1e-15)


def test_running_averages_use_unbiased_variance():
    bn = BatchNorm(3, momentum=0.2)
    rng = np.random.default_rng(3)
    rm, rv = np.zeros(3), np.ones(3)
    for _ in range(4):
        X = rng.standard_normal((5, 3)) * [1.0, 2.0, 0.5] + [0.0, 1.0, -2.0]
        bn.forward(X)
        rm = 0.8 * rm + 0.2 * X.mean(axis=0)
        rv = 0.8 * rv + 0.2 * np.sum((X - X.mean(axis=0)) ** 2, axis=0) / (5 - 1)
    assert_allclose(bn.running_mean, rm, rtol=1e-12)
    assert_allclose(bn.running_var, rv, rtol=1e-12)
    # eval mode does not touch the running statistics
    bn.training = False
    bn.forward(rng.standard_normal((5, 3)) + 100.0)
    assert_allclose(bn.running_mean, rm, rtol=1e-12)


def test_sequential_train_eval_switches_mode():
    rng = np.random.default_rng(4)
    net = Sequential(
        [
            Linear(3, 4, rng=rng, bias=False),
            BatchNorm(4),
            Activation("sigmoid"),
            Linear(4, 2, rng=rng),
        ]
    )
    X = rng.standard_normal((10, 3))
    net.forward(X)
    net.eval()
    assert net[1].training is False
    out_single = net.forward(X[:1])  # N = 1 is fine in eval mode
    assert out_single.shape == (1, 2)
    net.train()
    assert net[1].training is True
    report = check_network(net, "softmax_cross_entropy", X, rng.integers(0, 2, 10))
    assert report.max_error < TOLERANCE, report


def test_bias_before_batchnorm_gets_zero_gradient():
    # BN subtracts the batch mean, so a bias added before it cancels: its gradient is
    # exactly 0 in exact arithmetic
    rng = np.random.default_rng(8)
    lin, bn = Linear(3, 4, rng=rng), BatchNorm(4)
    X = rng.standard_normal((6, 3))
    bn.forward(lin.forward(X))
    R = rng.standard_normal((6, 4))
    lin.backward(bn.backward(R))
    assert np.max(np.abs(lin.grads["b"])) < 1e-13 * np.max(np.abs(R)) * 6
    assert np.max(np.abs(lin.grads["W"])) > 1e-3


def test_scale_invariance_of_preceding_weights():
    rng = np.random.default_rng(6)
    X = rng.standard_normal((8, 3))
    W = rng.standard_normal((3, 4))
    bn = BatchNorm(4, eps=1e-12)
    Y1 = bn.forward(X @ W)
    R = rng.standard_normal(Y1.shape)
    g1 = X.T @ bn.backward(R)
    Y5 = bn.forward(X @ (5.0 * W))
    g5 = X.T @ bn.backward(R)
    assert_allclose(Y5, Y1, rtol=1e-9)
    assert_allclose(g5, g1 / 5.0, rtol=1e-8)


def test_repr_and_dtype():
    bn = BatchNorm(5, eps=1e-3, momentum=0.5, dtype=np.float32)
    assert repr(bn) == "BatchNorm(5, eps=0.001, momentum=0.5)"
    assert bn.gamma.dtype == np.float32 and bn.running_var.dtype == np.float32
    assert_allclose(bn.gamma, 1.0) and assert_allclose(bn.beta, 0.0)


def test_bad_input():
    bn = BatchNorm(3)
    with pytest.raises(ValueError, match="at least 2 rows"):
        bn.forward(np.ones((1, 3)))
    with pytest.raises(ValueError, match="3 columns"):
        bn.forward(np.ones((4, 2)))
    with pytest.raises(ValueError, match="2-D batch"):
        bn.forward(np.ones(3))
    with pytest.raises(RuntimeError, match="before forward"):
        BatchNorm(3).backward(np.ones((2, 3)))
    bn.forward(np.arange(12.0).reshape(4, 3))
    with pytest.raises(ValueError, match=r"dY of shape \(4, 3\)"):
        bn.backward(np.ones((3, 3)))
    with pytest.raises(ValueError, match="n_features must be an integer >= 1"):
        BatchNorm(0)
    with pytest.raises(ValueError, match="eps must be a finite number > 0"):
        BatchNorm(3, eps=0.0)
    with pytest.raises(ValueError, match=r"momentum must be a number in \(0, 1\]"):
        BatchNorm(3, momentum=1.5)
    with pytest.raises(TypeError, match="floating dtype"):
        BatchNorm(3, dtype=np.int64)
    with pytest.raises(TypeError):
        BatchNorm(3, 1e-5)  # eps is keyword-only
    with pytest.raises(ValueError, match=r"gamma of shape \(3,\)"):
        batchnorm_forward(np.ones((2, 3)), np.ones(2), np.zeros(3))
    with pytest.raises(TypeError, match="cache"):
        batchnorm_backward(np.ones((2, 3)), None)
    _, cache = batchnorm_forward(np.arange(6.0).reshape(2, 3), np.ones(3), np.zeros(3))
    with pytest.raises(ValueError, match=r"dY of shape \(2, 3\)"):
        batchnorm_backward(np.ones((3, 3)), cache)
