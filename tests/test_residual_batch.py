"""Tests of bookcode.experiments.residual_batch: the batched sweeps agree with the
Layer-protocol path of residual_study."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from bookcode import losses
from bookcode.diagnostics import gradient_norms
from bookcode.experiments.residual_batch import batched_runs
from bookcode.experiments.residual_study import block_grad_norms, deep_mlp, train_steps

CONFIGS = [(False, 1.0), (True, 0.5), (True, 1.0)]


def _data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((90, 6))
    y = (X[:, :3].sum(axis=1) > 0).astype(int) + (X[:, 3] > 0.5)
    return X, y


@pytest.mark.parametrize("norm", [None, "bn"])
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_batched_equals_layer_path(norm, activation):
    X, y = _data()
    init = "he_normal" if activation == "relu" else "xavier_normal"

    def build(i):
        r, s = CONFIGS[i]
        return deep_mlp(
            6,
            5,
            3,
            4,
            residual=r,
            norm=norm,
            branch_scale=s,
            activation=activation,
            init=init,
            rng=i,
        )

    for monitor in (None, 40):
        res = batched_runs(
            [build(i) for i in range(3)],
            X,
            y,
            9,
            0.05,
            batch_size=16,
            rng=3,
            record_every=3,
            monitor=monitor,
        )
        ce = losses.get("softmax_cross_entropy")
        rows = slice(None) if monitor is None else slice(0, monitor)
        for i in range(3):
            net = build(i)
            net.train()
            net.backward(ce.grad(net.forward(X[rows]), y[rows]))
            assert_allclose(res.grad_x[i], block_grad_norms(net)[:4], rtol=1e-12)
            assert_allclose(res.grad_W[i], gradient_norms(net)[1:-1], rtol=1e-12)
            steps, values = train_steps(
                build(i),
                X,
                y,
                9,
                0.05,
                batch_size=16,
                rng=3 + i,
                record_every=3,
                monitor=monitor,
            )
            assert_allclose(res.steps, steps)
            assert_allclose(res.loss[i], values, rtol=1e-11)


def test_networks_are_not_modified_and_divergence_is_inf():
    X, y = _data()
    nets = [
        deep_mlp(6, 5, 3, 6, residual=True, rng=1),
        deep_mlp(6, 5, 3, 6, residual=False, rng=2),
    ]
    before = [p.copy() for n in nets for _, p, _ in n.parameters()]
    res = batched_runs(nets, X * 1e150, y, 6, 1.0, batch_size=16, rng=0)
    assert all(
        np.array_equal(a, p)
        for a, p in zip(before, [p for n in nets for _, p, _ in n.parameters()])
    )
    assert res.loss[0, -1] == np.inf
    assert "2 networks, 6 steps" in repr(res)


def test_bad_inputs():
    X, y = _data()
    net = deep_mlp(6, 5, 3, 2, rng=0)
    with pytest.raises(TypeError, match="non-empty list"):
        batched_runs([], X, y, 2, 0.1)
    with pytest.raises(ValueError, match="one shape"):
        batched_runs([net, deep_mlp(6, 5, 3, 3, rng=0)], X, y, 2, 0.1)
    with pytest.raises(ValueError, match="integer class labels"):
        batched_runs([net], X, y.astype(float), 2, 0.1)
    with pytest.raises(ValueError, match="with 6 columns"):
        batched_runs([net], X[:, :4], y, 2, 0.1)
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        batched_runs([net], X, y, 2, 0.0)
    with pytest.raises(TypeError, match="non-negative int seed"):
        batched_runs([net], X, y, 2, 0.1, rng=None)
    with pytest.raises(ValueError, match="monitor must be an integer >= 1"):
        batched_runs([net], X, y, 2, 0.1, monitor=0)


@pytest.mark.slow
def test_plain_is_worse_than_residual_at_every_learning_rate():
    # the degradation of chapters/09_residual is not a learning-rate artefact (its
    # exercise ex-res-lr)
    from bookcode import data

    Xtr, ytr, _, _ = data.digits()
    for lr in (0.005, 0.01, 0.02, 0.05):
        nets = [
            deep_mlp(
                64,
                32,
                10,
                16,
                residual=r,
                branch_scale="1/sqrt(L)" if r else 1.0,
                rng=100 * s + 16,
            )
            for r in (False, True)
            for s in range(3)
        ]
        final = batched_runs(nets, Xtr, ytr, 40, lr, batch_size=64, rng=0).loss[:, -1]
        assert final[:3].min() > final[3:].max(), (lr, final)
