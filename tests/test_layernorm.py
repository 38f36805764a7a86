import numpy as np
import pytest
from numpy.testing import assert_allclose

from bookcode.gradcheck import (
    TOLERANCE,
    check_layer,
    check_network,
    numerical_gradient,
    rel_error,
)
from bookcode.layernorm import (
    LayerNorm,
    RMSNorm,
    layernorm_backward,
    layernorm_forward,
    rmsnorm_backward,
    rmsnorm_forward,
)
from bookcode.layers import Activation, Linear
from bookcode.network import Sequential


def _layer(cls, n=5, seed=0):
    rng = np.random.default_rng(seed)
    layer = cls(n)
    for name, p in layer.params.items():
        p[:] = rng.uniform(0.5, 2.0, n) if name == "gamma" else rng.standard_normal(n)
    return layer, rng


def _reference_layernorm(X, gamma, beta, eps):
    # independent: one row at a time, plain Python sums
    out = []
    for x in X.tolist():
        mu = sum(x) / len(x)
        var = sum((xi - mu) ** 2 for xi in x) / len(x)
        out.append(
            [g * (xi - mu) / (var + eps) ** 0.5 + b for xi, g, b in zip(x, gamma, beta)]
        )
    return np.array(out)


def _reference_rmsnorm(X, gamma, eps):
    out = []
    for x in X.tolist():
        r = (sum(xi * xi for xi in x) / len(x) + eps) ** 0.5
        out.append([g * xi / r for xi, g in zip(x, gamma)])
    return np.array(out)


# --- forward against the definitions --------------------------------------------------


def test_layernorm_forward_matches_reference():
    rng = np.random.default_rng(1)
    X = 3.0 + 2.0 * rng.standard_normal((6, 5))
    gamma, beta = rng.uniform(0.5, 2.0, 5), rng.standard_normal(5)
    for eps in (1e-5, 0.3):
        Y, (X_hat, inv_std, g) = layernorm_forward(X, gamma, beta, eps)
        assert_allclose(Y, _reference_layernorm(X, gamma, beta, eps), rtol=1e-12)
        assert X_hat.shape == (6, 5) and inv_std.shape == (6, 1)
    layer = LayerNorm(5, eps=0.3)
    layer.params["gamma"][:], layer.params["beta"][:] = gamma, beta
    assert_allclose(layer.forward(X), _reference_layernorm(X, gamma, beta, 0.3))


def test_rmsnorm_forward_matches_reference():
    rng = np.random.default_rng(2)
    X = 1.0 + 2.0 * rng.standard_normal((6, 5))
    gamma = rng.uniform(0.5, 2.0, 5)
    for eps in (1e-6, 0.3):
        Y, (X_hat, inv_rms, g) = rmsnorm_forward(X, gamma, eps)
        assert_allclose(Y, _reference_rmsnorm(X, gamma, eps), rtol=1e-12)
        assert X_hat.shape == (6, 5) and inv_rms.shape == (6, 1)
    layer = RMSNorm(5)
    layer.params["gamma"][:] = gamma
    assert_allclose(layer.forward(X), _reference_rmsnorm(X, gamma, 1e-6), rtol=1e-12)


def test_rows_standardised_before_gamma_beta():
    X = np.random.default_rng(3).standard_normal((7, 6)) * 4.0 + 10.0
    Z = LayerNorm(6).forward(X)  # gamma = 1, beta = 0
    var = X.var(axis=1)
    assert_allclose(Z.mean(axis=1), 0.0, atol=1e-12)
    assert_allclose(Z.var(axis=1), var / (var + 1e-5), rtol=1e-12)  # ≈ 1
    R = RMSNorm(6).forward(X)
    ms = np.mean(X**2, axis=1)
    assert_allclose(np.mean(R**2, axis=1), ms / (ms + 1e-6), rtol=1e-12)  # ≈ 1


# --- invariances ----------------------------------------------------------------------


def test_layernorm_invariant_to_shift_and_positive_scale_of_a_row():
    layer, rng = _layer(LayerNorm, 6, seed=4)
    layer.eps = 1e-12  # exact invariance needs ε ≪ σ²
    X = rng.standard_normal((4, 6))
    Y = layer.forward(X)
    a = np.array([[0.1], [3.0], [1.0], [250.0]])  # one positive factor per row
    c = np.array([[5.0], [-2.0], [100.0], [0.0]])  # one shift per row
    assert_allclose(layer.forward(a * X + c), Y, rtol=1e-9, atol=1e-9)
    # a negative factor flips x̂ (Y − β changes sign)
    assert_allclose(layer.forward(-X) - layer.beta, -(Y - layer.beta), rtol=1e-9)


def test_rmsnorm_invariant_to_positive_scale_but_not_to_shift():
    layer, rng = _layer(RMSNorm, 6, seed=5)
    layer.eps = 1e-12
    X = rng.standard_normal((4, 6))
    Y = layer.forward(X)
    a = np.array([[0.1], [3.0], [1.0], [250.0]])
    assert_allclose(layer.forward(a * X), Y, rtol=1e-9)
    shifted = layer.forward(X + 2.0)
    assert np.min(np.max(np.abs(shifted - Y), axis=1)) > 0.1  # every row changes


def test_rows_are_independent_and_one_row_works():
    for cls in (LayerNorm, RMSNorm):
        layer, rng = _layer(cls, 5, seed=6)
        X = rng.standard_normal((8, 5))
        Y = layer.forward(X)
        for i in (0, 3, 7):
            assert_allclose(layer.forward(X[i : i + 1]), Y[i : i + 1], rtol=1e-12)
        report = check_layer(layer, X[2:3], rng=1)  # N = 1: BatchNorm refuses it
        assert report.max_error < TOLERANCE, report


def test_training_and_inference_are_the_same():
    rng = np.random.default_rng(7)
    X, R = rng.standard_normal((5, 4)), rng.standard_normal((5, 4))
    for cls in (LayerNorm, RMSNorm):
        layer, _ = _layer(cls, 4, seed=7)
        Y_train, dX_train = layer.forward(X), layer.backward(R)
        grads_train = {k: g.copy() for k, g in layer.grads.items()}
        layer.training = False
        assert_allclose(layer.forward(X), Y_train, rtol=0, atol=0)
        assert_allclose(layer.backward(R), dX_train, rtol=0, atol=0)
        for k, g in layer.grads.items():
            assert_allclose(g, grads_train[k], rtol=0, atol=0)
    net = Sequential([LayerNorm(4), Linear(4, 2, rng=0)])
    Y = net.forward(X)
    net.eval()
    assert_allclose(net.forward(X), Y, rtol=0, atol=0)


# --- gradients ------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [LayerNorm, RMSNorm])
@pytest.mark.parametrize("N, eps", [(1, 1e-5), (3, 1e-5), (8, 1e-5), (4, 0.5)])
def test_layer_gradcheck(cls, N, eps):
    layer, rng = _layer(cls, 5, seed=N)
    layer.eps = eps
    report = check_layer(layer, rng.standard_normal((N, 5)) * 1.5 + 0.3, rng=1)
    expected = {"dX", "gamma", "beta"} if cls is LayerNorm else {"dX", "gamma"}
    assert set(report.errors) == expected
    assert report.max_error < TOLERANCE, report


def test_functional_backward_matches_finite_differences():
    rng = np.random.default_rng(8)
    X = rng.standard_normal((4, 6))
    gamma, beta = rng.uniform(0.5, 2, 6), rng.standard_normal(6)
    R = rng.standard_normal((4, 6))
    dX, dgamma, dbeta = layernorm_backward(R, layernorm_forward(X, gamma, beta)[1])
    for arr, analytic in ((X, dX), (gamma, dgamma), (beta, dbeta)):
        numeric = numerical_gradient(
            lambda: np.sum(layernorm_forward(X, gamma, beta)[0] * R), arr
        )
        assert rel_error(analytic, numeric) < TOLERANCE
    dX, dgamma = rmsnorm_backward(R, rmsnorm_forward(X, gamma)[1])
    for arr, analytic in ((X, dX), (gamma, dgamma)):
        numeric = numerical_gradient(
            lambda: np.sum(rmsnorm_forward(X, gamma)[0] * R), arr
        )
        assert rel_error(analytic, numeric) < TOLERANCE


def test_backward_removes_the_invariant_directions():
    # the output cannot move along 1 (shift) or along x̂ (scale), so with ε → 0
    # dE/dX has no component along them, in every row
    rng = np.random.default_rng(9)
    X, R = rng.standard_normal((5, 7)), rng.standard_normal((5, 7))
    gamma = rng.uniform(0.5, 2, 7)
    _, cache = layernorm_forward(X, gamma, np.zeros(7), eps=1e-12)
    dX = layernorm_backward(R, cache)[0]
    assert_allclose(dX.sum(axis=1), 0.0, atol=1e-12)
    assert_allclose(np.sum(dX * X, axis=1), 0.0, atol=1e-11)
    _, cache = rmsnorm_forward(X, gamma, eps=1e-12)
    dX = rmsnorm_backward(R, cache)[0]
    assert_allclose(np.sum(dX * X, axis=1), 0.0, atol=1e-11)
    assert np.min(np.abs(dX.sum(axis=1))) > 1e-3  # but not along 1


@pytest.mark.parametrize(
    "norm, f", [(LayerNorm, "gelu"), (RMSNorm, "silu"), (LayerNorm, "tanh")]
)
def test_network_gradcheck(norm, f):
    rng = np.random.default_rng(10)
    net = Sequential(
        [Linear(3, 6, rng=rng), norm(6), Activation(f), Linear(6, 3, rng=rng)]
    )
    net[1].params["gamma"][:] = rng.uniform(0.5, 2.0, 6)
    X, T = rng.standard_normal((5, 3)), rng.integers(0, 3, 5)
    report = check_network(net, "softmax_cross_entropy", X, T)
    assert "1.gamma" in report.errors
    assert report.max_error < TOLERANCE, report
    one = check_network(net, "softmax_cross_entropy", X[:1], T[:1])
    assert one.max_error < TOLERANCE, one


def test_bias_gradient_before_layernorm_has_no_component_along_ones():
    # LayerNorm removes each row's mean, so adding c·1 to the bias changes nothing:
    # Σ_j dE/db_j = 0 (BatchNorm cancels the whole bias, LayerNorm only this part)
    rng = np.random.default_rng(11)
    lin, ln = Linear(3, 4, rng=rng), LayerNorm(4)
    X = rng.standard_normal((6, 3))
    ln.forward(lin.forward(X))
    lin.backward(ln.backward(rng.standard_normal((6, 4))))
    assert abs(lin.grads["b"].sum()) < 1e-12
    assert np.max(np.abs(lin.grads["b"])) > 1e-3


# --- metadata and errors --------------------------------------------------------------


def test_repr_params_and_dtype():
    ln, rms = LayerNorm(8), RMSNorm(8, eps=1e-8, dtype=np.float32)
    assert repr(ln) == "LayerNorm(8, eps=1e-05)"
    assert repr(rms) == "RMSNorm(8, eps=1e-08)"
    assert set(ln.params) == {"gamma", "beta"} and set(rms.params) == {"gamma"}
    assert_allclose(ln.gamma, 1.0) and assert_allclose(ln.beta, 0.0)
    assert rms.gamma.dtype == np.float32 and rms.grads["gamma"].dtype == np.float32
    X32 = np.ones((2, 8), dtype=np.float32)
    assert rms.forward(X32).dtype == np.float32
    assert rms.backward(X32).dtype == np.float32
    assert LayerNorm(8, dtype=np.float32).forward(X32).dtype == np.float32
    assert RMSNorm(3).eps == 1e-6 and LayerNorm(3).eps == 1e-5


def test_bad_input():
    ln = LayerNorm(8)
    with pytest.raises(
        ValueError, match=r"LayerNorm\(8\): expected X of shape \(N, 8\), got \(5, 7\)"
    ):
        ln.forward(np.ones((5, 7)))
    with pytest.raises(ValueError, match=r"got \(8,\) \(one example per row.*None"):
        ln.forward(np.ones(8))
    with pytest.raises(ValueError, match=r"got \(0, 8\) \(an empty batch"):
        ln.forward(np.ones((0, 8)))
    with pytest.raises(
        ValueError, match=r"RMSNorm\(4\): expected X of shape \(N, 4\), got \(2, 2, 4\)"
    ):
        RMSNorm(4).forward(np.ones((2, 2, 4)))
    with pytest.raises(TypeError, match=r"LayerNorm\(8\): X must be an array of real"):
        ln.forward([["a"] * 8])
    with pytest.raises(RuntimeError, match="LayerNorm.backward called before forward"):
        LayerNorm(3).backward(np.ones((2, 3)))
    ln.forward(np.ones((4, 8)))
    with pytest.raises(ValueError, match=r"LayerNorm.backward: expected dY of shape"):
        ln.backward(np.ones((3, 8)))
    for cls in (LayerNorm, RMSNorm):
        name = cls.__name__
        with pytest.raises(
            ValueError, match=f"{name}: n_features must be an integer >= 1, got 0"
        ):
            cls(0)
        with pytest.raises(TypeError, match=f"{name}: n_features must be an integer"):
            cls(4.0)
        with pytest.raises(
            ValueError, match=f"{name}: eps must be a finite number > 0"
        ):
            cls(3, eps=0.0)
        with pytest.raises(
            ValueError, match=f"{name}: eps must be a finite number > 0"
        ):
            cls(3, eps=-1e-5)
        with pytest.raises(TypeError, match=f"{name}: eps must be a real number"):
            cls(3, eps="1e-5")
        with pytest.raises(TypeError, match=f"{name}: expected a floating dtype"):
            cls(3, dtype=np.int64)
        with pytest.raises(TypeError):
            cls(3, 1e-5)  # eps is keyword-only, as in BatchNorm


def test_bad_input_functions():
    X = np.arange(6.0).reshape(2, 3)
    with pytest.raises(ValueError, match=r"layernorm_forward: expected X as a batch"):
        layernorm_forward(np.ones(3), np.ones(3), np.zeros(3))
    with pytest.raises(ValueError, match=r"rmsnorm_forward: .* got shape \(2, 0\)"):
        rmsnorm_forward(np.ones((2, 0)), np.ones(0))
    with pytest.raises(
        ValueError, match=r"layernorm_forward: expected gamma of shape \(3,\)"
    ):
        layernorm_forward(X, np.ones(2), np.zeros(3))
    with pytest.raises(
        ValueError, match=r"layernorm_forward: expected beta of shape \(3,\)"
    ):
        layernorm_forward(X, np.ones(3), np.zeros((1, 3)))
    with pytest.raises(ValueError, match=r"rmsnorm_forward: expected gamma of shape"):
        rmsnorm_forward(X, np.ones(4))
    with pytest.raises(ValueError, match="layernorm_forward: eps must be a finite"):
        layernorm_forward(X, np.ones(3), np.zeros(3), eps=0)
    with pytest.raises(ValueError, match="rmsnorm_forward: eps must be a finite"):
        rmsnorm_forward(X, np.ones(3), eps=float("inf"))
    with pytest.raises(TypeError, match="layernorm_backward: expected the cache"):
        layernorm_backward(np.ones((2, 3)), None)
    with pytest.raises(TypeError, match="rmsnorm_backward: expected the cache"):
        rmsnorm_backward(np.ones((2, 3)), (1, 2))
    _, cache = layernorm_forward(X, np.ones(3), np.zeros(3))
    with pytest.raises(
        ValueError, match=r"layernorm_backward: expected dY of shape \(2, 3\)"
    ):
        layernorm_backward(np.ones((3, 3)), cache)
    _, cache = rmsnorm_forward(X, np.ones(3))
    with pytest.raises(
        ValueError, match=r"rmsnorm_backward: expected dY of shape \(2, 3\), got"
    ):
        rmsnorm_backward(np.ones(3), cache)
