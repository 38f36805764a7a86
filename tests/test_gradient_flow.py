"""Tests of bookcode.experiments.gradient_flow against backprop, finite differences and
closed forms."""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from bookcode import losses
from bookcode.experiments import gradient_flow as gf
from bookcode.layers import Activation, Linear
from bookcode.network import Sequential, mlp


# ------------------------------------------------------------------------- gaussian_mlp
def test_gaussian_mlp_structure_and_scales():
    net = gf.gaussian_mlp(
        [400, 300, 300, 5], activation="tanh", weight_gain=2.0, bias_std=1.0, rng=0
    )
    assert [type(layer).__name__ for layer in net] == [
        "Linear",
        "Activation",
        "Linear",
        "Activation",
        "Linear",
    ]
    assert net[1].f.name == "tanh"
    assert_allclose(net[0].W.std(), 2.0 / math.sqrt(400), rtol=0.02)
    assert_allclose(net[2].W.std(), 2.0 / math.sqrt(300), rtol=0.02)
    assert_allclose(net[0].b.std(), 1.0, rtol=0.15)
    assert abs(net[0].W.mean()) < 0.01
    zero_b = gf.gaussian_mlp([3, 4, 2], rng=1)
    assert np.all(zero_b[0].b == 0) and np.all(zero_b[2].b == 0)


def test_gaussian_mlp_is_seeded():
    a = gf.gaussian_mlp([3, 4, 2], bias_std=1.0, rng=7)
    b = gf.gaussian_mlp([3, 4, 2], bias_std=1.0, rng=np.random.default_rng(7))
    for (_, p, _), (_, q, _) in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(sizes=[3]), ValueError, "at least two sizes"),
        (dict(sizes=[3, 0, 2]), ValueError, "sizes\\[1\\]"),
        (dict(sizes=[3, 2], weight_gain=0.0), ValueError, "weight_gain"),
        (dict(sizes=[3, 2], bias_std=-1.0), ValueError, "bias_std"),
        (dict(sizes=[3, 2], activation="nope"), ValueError, "unknown activation"),
        (dict(sizes=[3, 2], rng=None), TypeError, "pass rng"),
    ],
)
def test_gaussian_mlp_bad_input(kwargs, error, match):
    kwargs = {"rng": 0, **kwargs}
    with pytest.raises(error, match=match):
        gf.gaussian_mlp(**kwargs)


# --------------------------------------------------------------- SigmoidCrossEntropySum
def test_sigmoid_cross_entropy_sum_value_and_gradient():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(6, 4)) * 3
    T = (rng.random((6, 4)) > 0.5).astype(float)
    loss = gf.SigmoidCrossEntropySum()
    p = 1 / (1 + np.exp(-Z))
    direct = -np.sum(T * np.log(p) + (1 - T) * np.log(1 - p)) / 6
    assert_allclose(loss.value(Z, T), direct, rtol=1e-12)
    assert_allclose(loss.value(Z, T), 4 * losses.binary_cross_entropy(Z, T), rtol=1e-12)
    assert_allclose(loss.grad(Z, T), (p - T) / 6, rtol=1e-12)
    h, num = 1e-6, np.zeros_like(Z)  # central differences, float64
    for idx in np.ndindex(Z.shape):
        e = np.zeros_like(Z)
        e[idx] = h
        num[idx] = (loss.value(Z + e, T) - loss.value(Z - e, T)) / (2 * h)
    g = loss.grad(Z, T)
    assert np.linalg.norm(num - g) / np.linalg.norm(num + g) < 1e-7
    assert loss.grad(Z.astype(np.float32), T).dtype == np.float32


def test_sigmoid_cross_entropy_sum_bad_input():
    loss = gf.SigmoidCrossEntropySum()
    with pytest.raises(ValueError, match="shape \\(N, K\\)"):
        loss.value(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="shape \\(N, K\\)"):
        loss.grad(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        loss.grad(np.zeros((2, 2)), np.full((2, 2), 2.0))


# --------------------------------------------------------------- gradient_norms_at_init
def test_gradient_norms_at_init_matches_a_manual_pass():
    rng = np.random.default_rng(1)
    X, T = rng.normal(size=(20, 5)), (rng.random((20, 3)) > 0.5).astype(float)
    loss = gf.SigmoidCrossEntropySum()
    rows = gf.gradient_norms_at_init(
        [5, 4, 4, 3], X, T, loss, seeds=[3, 4], bias_std=1.0
    )
    assert rows.shape == (2, 3)
    net = gf.gaussian_mlp([5, 4, 4, 3], bias_std=1.0, rng=4)
    net.backward(loss.grad(net.forward(X), T))
    assert_allclose(
        rows[1], [np.linalg.norm(net[i].grads["b"]) for i in (0, 2, 4)], rtol=1e-12
    )
    w = gf.gradient_norms_at_init(
        [5, 4, 4, 3], X, T, loss, seeds=[4], which="W", bias_std=1.0
    )
    assert_allclose(
        w[0], [np.linalg.norm(net[i].grads["W"]) for i in (0, 2, 4)], rtol=1e-12
    )


def test_gradient_norms_at_init_bad_input():
    X, T = np.zeros((4, 3)), np.zeros((4, 2))
    with pytest.raises(ValueError, match="at least one seed"):
        gf.gradient_norms_at_init([3, 2], X, T, "mse", seeds=[])
    with pytest.raises(ValueError, match="3 columns"):
        gf.gradient_norms_at_init([3, 2], np.zeros((4, 5)), T, "mse", seeds=[0])


# -------------------------------------------------------------------- Jacobian products
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_deltas_from_jacobians_equal_backprop(activation):
    rng = np.random.default_rng(2)
    net = gf.gaussian_mlp([4, 6, 5, 6, 3], activation=activation, bias_std=0.5, rng=3)
    x = rng.normal(size=4)
    dout = rng.normal(size=3)
    net.forward(x[None, :])
    net.backward(dout[None, :])
    deltas = gf.deltas_from_jacobians(gf.backward_jacobians(net, x), dout)
    assert [d.shape for d in deltas] == [(6,), (5,), (6,), (3,)]
    for l, d in enumerate(
        deltas[:-1]
    ):  # δ^l = dE/dnet^l = gradient w.r.t. the input of activation l
        assert_allclose(d, net.deltas[2 * l + 1][0], rtol=1e-12, atol=1e-15)
        assert_allclose(d, net[2 * l].grads["b"], rtol=1e-12, atol=1e-15)


def test_backward_jacobians_are_the_jacobians_of_net_l_plus_1():
    net = gf.gaussian_mlp([3, 4, 5, 2], activation="tanh", bias_std=0.3, rng=5)
    x = np.array([0.3, -0.7, 1.1])
    J = gf.backward_jacobians(net, x)
    assert [j.shape for j in J] == [(5, 4), (2, 5)]
    lin, act = net[0::2], net[1::2]
    z1 = x @ lin[0].W + lin[0].b

    def net2(z):  # net^2 as a function of net^1
        return act[0].f(z) @ lin[1].W + lin[1].b

    h, num = 1e-6, np.zeros((5, 4))
    for i in range(4):
        e = np.zeros(4)
        e[i] = h
        num[:, i] = (net2(z1 + e) - net2(z1 - e)) / (2 * h)
    assert np.linalg.norm(num - J[0]) / np.linalg.norm(num + J[0]) < 1e-7


def test_jacobians_bad_input():
    net = gf.gaussian_mlp([3, 4, 2], rng=0)
    with pytest.raises(ValueError, match="one example"):
        gf.backward_jacobians(net, np.zeros((1, 3)))
    with pytest.raises(ValueError, match="3 entries"):
        gf.backward_jacobians(net, np.zeros(4))
    with pytest.raises(ValueError, match="element-wise"):
        gf.backward_jacobians(
            mlp([3, 4, 2], output_activation="softmax", rng=0), np.zeros(3)
        )
    with pytest.raises(ValueError, match="element-wise"):
        gf.backward_jacobians(
            Sequential([Activation("tanh"), Linear(3, 2, rng=0)]), np.zeros(3)
        )
    with pytest.raises(TypeError, match="Sequential"):
        gf.backward_jacobians(Linear(3, 2, rng=0), np.zeros(3))
    J = gf.backward_jacobians(net, np.zeros(3))
    with pytest.raises(ValueError, match="cannot multiply"):
        gf.deltas_from_jacobians(J, np.zeros(3))
    with pytest.raises(ValueError, match="shape \\(n_L,\\)"):
        gf.deltas_from_jacobians(J, np.zeros((1, 2)))


# --------------------------------------------------------------- random matrix products
def test_log_product_norms_matches_the_plain_product():
    out = gf.log_product_norms(3, 12, rng=4, std=1.5, n_runs=2)
    gen = np.random.default_rng(4)
    P = np.broadcast_to(np.eye(3), (2, 3, 3)).copy()
    want = [np.full(2, 0.5 * np.log(3))]
    for _ in range(12):
        P = gen.normal(0.0, 1.5, size=(2, 3, 3)) @ P
        want.append(np.log(np.linalg.norm(P, axis=(1, 2))))
    assert_allclose(out, np.array(want).T, rtol=1e-12)


def test_log_product_norms_never_overflows():
    out = gf.log_product_norms(4, 3000, rng=0)
    assert (
        np.all(np.isfinite(out)) and out[0, -1] > 1000
    )  # e^1000 is far beyond float64


def test_lyapunov_exponent_closed_form():
    from scipy.special import digamma

    for n in range(1, 12):
        assert_allclose(
            gf.gaussian_lyapunov_exponent(n),
            0.5 * (np.log(2) + digamma(n / 2)),
            rtol=1e-13,
        )
    assert_allclose(
        gf.gaussian_lyapunov_exponent(4, std=0.5),
        np.log(0.5) + gf.gaussian_lyapunov_exponent(4),
    )


def test_lyapunov_exponent_against_simulation():
    rng = np.random.default_rng(0)
    terms = 0.5 * np.log(
        np.sum(rng.normal(size=(400_000, 4)) ** 2, axis=1)
    )  # ½ ln χ²_4
    assert abs(
        terms.mean() - gf.gaussian_lyapunov_exponent(4)
    ) < 4 * terms.std() / np.sqrt(terms.size)
    logs = gf.log_product_norms(4, 200, rng=1, n_runs=400)
    slope = np.polyfit(np.arange(50, 201), logs[:, 50:].mean(axis=0), 1)[0]
    assert abs(slope - gf.gaussian_lyapunov_exponent(4)) < 0.01


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(n=0, n_factors=3, rng=0), ValueError, "n must be"),
        (dict(n=2, n_factors=-1, rng=0), ValueError, "n_factors"),
        (dict(n=2, n_factors=3, rng=0, std=0.0), ValueError, "std"),
        (dict(n=2, n_factors=3, rng=None), TypeError, "rng"),
        (dict(n=2, n_factors=3, rng=0, n_runs=0), ValueError, "n_runs"),
    ],
)
def test_log_product_norms_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        gf.log_product_norms(**kwargs)


def test_lyapunov_exponent_bad_input():
    with pytest.raises(ValueError, match="n must be"):
        gf.gaussian_lyapunov_exponent(0)
    with pytest.raises(ValueError, match="std"):
        gf.gaussian_lyapunov_exponent(3, std=-1.0)


# ---------------------------------------------------------------------- full_batch_runs
def test_full_batch_runs_equal_train():
    from bookcode import optim, train

    gen = np.random.default_rng(0)
    X = gen.normal(size=(40, 6))
    T = losses.one_hot(gen.integers(0, 3, size=40), 3)
    cost = gf.SigmoidCrossEntropySum()
    runs = gf.full_batch_runs(
        [6, 5, 5, 3], X, T, cost, seeds=[0, 3], lr=0.5, steps=12, l2=0.01, bias_std=1.0
    )
    assert runs.loss.shape == (2, 13) and runs.bias_grad_norms.shape == (2, 13, 3)
    for i, seed in enumerate([0, 3]):
        net = gf.gaussian_mlp([6, 5, 5, 3], bias_std=1.0, rng=seed)
        h = train.train(
            net,
            cost,
            X,
            T,
            optim.SGD(lr=0.5, l2=0.01),
            epochs=12,
            batch_size=len(X),
            progress=False,
        )
        assert_allclose(runs.loss[i], h.loss, rtol=1e-12)
        bg = h.array("bias_grad_norms")  # epoch e: the gradient before the e-th step
        assert_allclose(runs.bias_grad_norms[i, :-1], bg[1:], rtol=1e-10)
        assert_allclose(runs.net(i).forward(X), net.forward(X), rtol=1e-12)
    assert np.all(runs.diverged_at == -1)


def test_full_batch_runs_float32_and_divergence():
    gen = np.random.default_rng(1)
    X, T = gen.normal(size=(30, 4)).astype(np.float32), gen.normal(size=(30, 2))
    runs = gf.full_batch_runs(
        [4, 6, 2],
        X,
        T,
        "mse",
        range(3),
        lr=5.0,
        steps=300,
        activation="identity",
        dtype=np.float32,
    )
    assert runs.W[0].dtype == np.float32 and runs.net(0)[0].W.dtype == np.float32
    d = runs.diverged_at
    assert np.all(d > 1)  # η = 5 is far beyond 2/λ_max: the loss overflows float32
    for i in range(3):
        assert np.all(np.isfinite(runs.loss[i, : d[i]])) and np.all(
            np.isnan(runs.loss[i, d[i] :])
        )
    assert "3 diverged" in repr(runs)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(seeds=[]), ValueError, "at least one seed"),
        (dict(lr=0.0), ValueError, "lr"),
        (dict(steps=-1), ValueError, "steps"),
        (dict(dtype=np.float16), ValueError, "float64 or float32"),
        (dict(loss=3), TypeError, "loss"),
        (dict(T=np.zeros((5, 2))), ValueError, "one target per row"),
    ],
)
def test_full_batch_runs_bad_input(kwargs, error, match):
    args = dict(
        sizes=[3, 4, 2],
        X=np.zeros((4, 3)),
        T=np.zeros((4, 2)),
        loss="mse",
        seeds=[0],
        lr=0.1,
        steps=2,
    )
    args.update(kwargs)
    with pytest.raises(error, match=match):
        gf.full_batch_runs(**args)
