"""Tests of bookcode.experiments.regularization_study: the step logger, weight
statistics, the L1 proximal step."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from bookcode import losses, optim
from bookcode.experiments import regularization_study as rs
from bookcode.layers import Activation, Linear
from bookcode.network import Sequential


def _problem(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(20, 3))
    T = X @ rng.normal(size=(3, 2))
    net = Sequential([Linear(3, 4, rng=rng), Activation("tanh"), Linear(4, 2, rng=rng)])
    return net, X, T


def test_run_steps_records_loss_and_norms_before_the_step():
    net, X, T = _problem()
    mse = losses.MSE()
    Y = net.forward(X)
    net.backward(mse.grad(Y, T))
    g = np.concatenate([gr.ravel() for _, _, gr in net.parameters()])
    W = [p.copy() for k, p, _ in net.parameters()]
    log = rs.run_steps(
        net, mse, X, T, optim.SGD(lr=0.1, clip_norm=1e-3), 3, batch_size=20, rng=0
    )
    assert_allclose(log.loss[0], mse.value(Y, T), rtol=1e-12)
    assert_allclose(log.grad_norm[0], np.linalg.norm(g), rtol=1e-12)
    assert_allclose(log.grad_max[0], np.abs(g).max(), rtol=1e-12)
    assert log.clipped.all() and log.diverged_at is None
    moved = np.sqrt(
        sum(np.sum((p - w) ** 2) for (_, p, _), w in zip(net.parameters(), W))
    )
    assert moved <= 3 * 0.1 * 1e-3 * (1 + 1e-9), (
        "each clipped step moves at most lr · max_norm"
    )
    Ws = [p for k, p, _ in net.parameters() if k.endswith("W")]
    assert_allclose(
        log.weight_norm[-1], np.sqrt(sum(np.sum(w**2) for w in Ws)), rtol=1e-12
    )
    assert "final loss" in repr(log)


def test_run_steps_stops_at_divergence():
    net, X, T = _problem(1)
    T = T * 100
    opt = optim.SGD(lr=50.0, allow_nonfinite=True)
    log = rs.run_steps(net, losses.MSE(), X, T, opt, 200, batch_size=5, rng=0)
    k = log.diverged_at
    assert k is not None and 0 < k < 200
    assert np.all(np.isfinite(log.loss[:k])) and np.all(np.isnan(log.loss[k:]))
    assert "diverged at step" in repr(log)
    net, X, T = _problem(
        1
    )  # the default SGD refuses the overflowing update: also recorded as divergence
    log = rs.run_steps(
        net, losses.MSE(), X, T * 100, optim.SGD(lr=50.0), 200, batch_size=5, rng=0
    )
    assert log.diverged_at is not None


def test_weights_and_fraction_near_zero():
    net, _, _ = _problem()
    w = rs.weights_of(net)
    assert w.size == 3 * 4 + 4 * 2
    assert rs.weights_of(net, "b").size == 6
    assert rs.fraction_near_zero(np.array([0.0, 1e-4, -2e-3, 0.5]), 1e-3) == 0.5
    assert rs.fraction_near_zero(net, 10.0) == 1.0


def test_soft_threshold_is_the_l1_proximal_step():
    v = np.array([-2.0, -0.3, 0.0, 0.1, 0.7])
    t = 0.5
    grid = np.linspace(-3, 3, 600001)  # brute force: argmin_w t|w| + (w - v)² / 2
    brute = np.array(
        [grid[np.argmin(t * np.abs(grid) + 0.5 * (grid - vi) ** 2)] for vi in v]
    )
    assert_allclose(rs.soft_threshold(v, t), brute, atol=2e-5)
    assert np.array_equal(rs.soft_threshold(v, t) == 0, np.abs(v) <= t)


def test_proximal_l1_step():
    net, X, T = _problem(2)
    twin, _, _ = _problem(2)
    mse = losses.MSE()
    for model in (net, twin):
        model.backward(mse.grad(model.forward(X), T))
    prox = rs.ProximalL1(optim.SGD(lr=0.1), lam=0.5)
    prox.step(net)
    optim.SGD(lr=0.1).step(twin)
    for (k, p, _), (_, q, _) in zip(net.parameters(), twin.parameters()):
        want = np.sign(q) * np.maximum(np.abs(q) - 0.05, 0) if k.endswith("W") else q
        assert_allclose(p, want, rtol=1e-12, atol=0)
    assert "ProximalL1" in repr(prox)


def test_bad_inputs():
    net, X, T = _problem()
    with pytest.raises(TypeError, match="step"):
        rs.run_steps(net, "mse", X, T, object(), 2, batch_size=4, rng=0)
    with pytest.raises(ValueError, match="one target per row"):
        rs.run_steps(net, "mse", X, T[:5], optim.SGD(lr=0.1), 2, batch_size=4, rng=0)
    with pytest.raises(ValueError, match="steps must be an integer >= 1"):
        rs.run_steps(net, "mse", X, T, optim.SGD(lr=0.1), 0, batch_size=4, rng=0)
    with pytest.raises(TypeError, match="Generator or an int seed"):
        rs.run_steps(net, "mse", X, T, optim.SGD(lr=0.1), 2, batch_size=4, rng=None)
    with pytest.raises(TypeError, match="parameters"):
        rs.weights_of(np.zeros(3))
    with pytest.raises(ValueError, match="no parameters named"):
        rs.weights_of(net, "gamma")
    with pytest.raises(ValueError, match="empty"):
        rs.fraction_near_zero(np.array([]), 0.1)
    with pytest.raises(ValueError, match="tol must be a finite number >= 0"):
        rs.fraction_near_zero(np.ones(3), -1.0)
    with pytest.raises(ValueError, match="t must be a finite number >= 0"):
        rs.soft_threshold(np.ones(3), -0.1)
    with pytest.raises(TypeError, match="optimizer with lr and step"):
        rs.ProximalL1(object(), 0.1)
    with pytest.raises(ValueError, match="already adds an L1"):
        rs.ProximalL1(optim.SGD(lr=0.1, l1=0.01), 0.1)


# ----------------------------------------------------------------------- run_steps_many
def _one_run(sizes, X, y, cfg, steps, batch_size, gain):
    from bookcode.experiments.gradient_flow import gaussian_mlp

    net = gaussian_mlp(sizes, "relu", gain, rng=cfg["seed"])
    opt = optim.SGD(
        cfg["lr"],
        clip_norm=cfg.get("clip_norm"),
        clip_value=cfg.get("clip_value"),
        l2=cfg.get("l2", 0.0),
    )
    return rs.run_steps(
        net,
        "softmax_cross_entropy",
        X,
        y,
        opt,
        steps,
        batch_size=batch_size,
        rng=cfg["batch_seed"],
    )


def test_run_steps_many_equals_run_steps():
    gen = np.random.default_rng(0)
    X, y = gen.normal(size=(50, 5)), gen.integers(0, 3, size=50)
    sizes = [5, 8, 8, 3]
    configs = [
        dict(seed=0, batch_seed=1, lr=0.2),
        dict(seed=1, batch_seed=2, lr=0.5, clip_norm=0.3),
        dict(seed=2, batch_seed=3, lr=0.5, clip_value=0.05, l2=0.1),
        dict(seed=0, batch_seed=1, lr=40.0),
    ]
    many = rs.run_steps_many(sizes, X, y, configs, 30, batch_size=16, weight_gain=2.0)
    for cfg, log in zip(configs, many):
        one = _one_run(sizes, X, y, cfg, 30, 16, 2.0)
        assert log.diverged_at == one.diverged_at
        for name in ("loss", "grad_norm", "grad_max", "weight_norm"):
            assert_allclose(
                getattr(log, name), getattr(one, name), rtol=1e-10, equal_nan=True
            )
        np.testing.assert_array_equal(log.clipped, one.clipped)
    huge = rs.run_steps_many(
        sizes, X, y, configs[:2], 5, batch_size=16, weight_gain=1e200
    )  # logits overflow
    assert [log.diverged_at for log in huge] == [0, 0] and np.all(
        np.isnan(huge[0].loss)
    )


@pytest.mark.parametrize(
    "configs, y, error, match",
    [
        ([], None, ValueError, "non-empty"),
        ([dict(seed=0, lr=0.1)], None, ValueError, "batch_seed"),
        (
            [dict(seed=0, batch_seed=0, lr=0.1, momentum=0.9)],
            None,
            ValueError,
            "may have",
        ),
        ([dict(seed=0, batch_seed=0, lr=-0.1)], None, ValueError, "lr"),
        (
            [dict(seed=0, batch_seed=0, lr=0.1)],
            np.zeros(10),
            ValueError,
            "integer labels",
        ),
        (
            [dict(seed=0, batch_seed=0, lr=0.1)],
            np.full(10, 7),
            ValueError,
            "do not fit",
        ),
    ],
)
def test_run_steps_many_bad_input(configs, y, error, match):
    X = np.zeros((10, 4))
    y = np.zeros(10, dtype=int) if y is None else y
    with pytest.raises(error, match=match):
        rs.run_steps_many([4, 3], X, y, configs, 2, batch_size=5)
