import numpy as np
import pytest
from numpy.testing import assert_allclose

from bookcode import losses
from bookcode.batchnorm import BatchNorm
from bookcode.experiments.bn_study import bn_mlp, train_stack
from bookcode.layers import Activation, Linear


def _data(seed=0, n=90, n_test=40, d=6, k=3):
    rng = np.random.default_rng(seed)
    centres = 2.0 * rng.standard_normal((k, d))
    y, y_test = rng.integers(0, k, n), rng.integers(0, k, n_test)
    return (
        centres[y] + rng.standard_normal((n, d)),
        y,
        centres[y_test] + rng.standard_normal((n_test, d)),
        y_test,
    )


def test_bn_mlp_structure_and_shared_init():
    plain = bn_mlp([6, 5, 4, 3], rng=7)
    bn = bn_mlp([6, 5, 4, 3], batchnorm=True, rng=7)
    assert [type(l) for l in plain] == [Linear, Activation, Linear, Activation, Linear]
    assert [type(l) for l in bn] == [
        Linear,
        BatchNorm,
        Activation,
        Linear,
        BatchNorm,
        Activation,
        Linear,
    ]
    assert (
        "b" not in bn[0].params and "b" not in bn[3].params and "b" in bn[6].params
    )  # β replaces the bias
    for a, b in zip((plain[0], plain[2], plain[4]), (bn[0], bn[3], bn[6])):
        assert_allclose(a.W, b.W)  # same seed, same weights


def _reference_sgd(net, lr, X, y, steps, batch_size, seed):
    """Sequential + BatchNorm layers + plain SGD, with the batches train_stack draws."""
    loss = losses.get("softmax_cross_entropy")
    gen = np.random.default_rng(seed)
    order, pos = gen.permutation(len(X)), 0
    for _ in range(steps):
        if pos + batch_size > len(X):
            order, pos = gen.permutation(len(X)), 0
        idx = order[pos : pos + batch_size]
        pos += batch_size
        net.backward(loss.grad(net.forward(X[idx]), y[idx]))
        for _, p, g in net.parameters():
            p -= lr * g
    return net


@pytest.mark.parametrize("batchnorm", [False, True])
def test_train_stack_matches_layer_by_layer_sgd(batchnorm):
    X, y, Xt, yt = _data()
    lrs = [0.05, 0.5, 2.0]
    nets = [bn_mlp([6, 8, 8, 3], batchnorm=batchnorm, rng=1) for _ in lrs]
    refs = [
        _reference_sgd(
            bn_mlp([6, 8, 8, 3], batchnorm=batchnorm, rng=1), lr, X, y, 30, 20, 4
        )
        for lr in lrs
    ]
    probe = (len(nets[0].layers) - 2, 1)  # the last hidden activation
    run = train_stack(
        nets,
        lrs,
        X,
        y,
        Xt,
        yt,
        steps=30,
        batch_size=20,
        rng=4,
        record_every=10,
        probe=probe,
    )
    loss = losses.get("softmax_cross_entropy")
    for net, ref, k in zip(nets, refs, range(3)):
        for (key, p, _), (_, q, _) in zip(net.parameters(), ref.parameters()):
            assert_allclose(p, q, rtol=1e-9, atol=1e-12, err_msg=key)
        if batchnorm:
            assert_allclose(net[1].running_var, ref[1].running_var, rtol=1e-9)
        ref.eval()
        Z = ref.forward(Xt)
        assert_allclose(run.test_loss[k, -1], loss.value(Z, yt), rtol=1e-9)
        assert_allclose(run.test_accuracy[k, -1], np.mean(Z.argmax(axis=1) == yt))
    assert run.step.tolist() == [0, 10, 20, 30]
    assert run.test_loss.shape == run.train_loss.shape == (
        3,
        4,
    ) and run.percentiles.shape == (3, 4, 3)
    assert np.all(np.diff(run.percentiles, axis=-1) >= 0)  # 15th <= 50th <= 85th
    assert np.all(run.diverged_at == -1)


@pytest.mark.parametrize("batchnorm", [False, True])
def test_one_rng_per_network_equals_separate_runs(batchnorm):
    X, y, Xt, yt = _data(3)
    seeds = [5, 6, 7]
    nets = [bn_mlp([6, 8, 3], batchnorm=batchnorm, rng=1) for _ in seeds]
    run = train_stack(
        nets,
        [0.3] * 3,
        X,
        y,
        Xt,
        yt,
        steps=12,
        batch_size=20,
        rng=seeds,
        record_every=6,
    )
    for k, seed in enumerate(seeds):
        alone = bn_mlp([6, 8, 3], batchnorm=batchnorm, rng=1)
        ref = train_stack(
            [alone],
            [0.3],
            X,
            y,
            Xt,
            yt,
            steps=12,
            batch_size=20,
            rng=seed,
            record_every=6,
        )
        assert_allclose(run.test_loss[k], ref.test_loss[0], rtol=1e-10)
        assert_allclose(run.train_loss[k], ref.train_loss[0], rtol=1e-10)
        for (key, p, _), (_, q, _) in zip(nets[k].parameters(), alone.parameters()):
            assert_allclose(p, q, rtol=1e-10, atol=1e-13, err_msg=key)
    assert not np.allclose(
        run.train_loss[0], run.train_loss[1]
    )  # other mini-batches, another run


def test_test_every_skips_test_records_only():
    X, y, Xt, yt = _data(4)
    kw = dict(steps=30, batch_size=20, rng=2, record_every=5, probe=(2, 0))
    full = train_stack(
        [bn_mlp([6, 8, 3], batchnorm=True, rng=1)], [0.5], X, y, Xt, yt, **kw
    )
    some = train_stack(
        [bn_mlp([6, 8, 3], batchnorm=True, rng=1)],
        [0.5],
        X,
        y,
        Xt,
        yt,
        test_every=20,
        **kw,
    )
    tested = np.isin(some.step, [0, 20, 30])  # multiples of 20, and the last record
    assert np.all(np.isfinite(some.test_loss[0, tested])) and np.all(
        np.isnan(some.test_loss[0, ~tested])
    )
    assert np.all(np.isnan(some.percentiles[0, ~tested]))
    assert_allclose(some.test_accuracy[0, tested], full.test_accuracy[0, tested])
    assert_allclose(
        some.percentiles[0, tested], full.percentiles[0, tested], rtol=1e-12
    )
    assert_allclose(some.train_loss[0, 1:], full.train_loss[0, 1:], rtol=1e-12)


def test_probe_percentiles_are_those_of_the_activation_input():
    X, y, Xt, yt = _data(1)
    net = bn_mlp([6, 8, 3], rng=2)
    run = train_stack(
        [net], [0.1], X, y, Xt, yt, steps=5, record_every=5, batch_size=30, probe=(1, 3)
    )
    net.forward(Xt)
    assert_allclose(
        run.percentiles[0, -1],
        np.percentile(net.outputs[1][:, 3], [15, 50, 85]),
        rtol=1e-9,
    )


def test_a_diverging_network_is_frozen_and_reported():
    X, y, Xt, yt = _data(2)
    nets = [bn_mlp([6, 8, 3], rng=3) for _ in range(2)]
    nets[1][2].params["W"][0, 0] = 1e308  # its logits overflow at the first step
    run = train_stack(
        nets, [0.1, 0.1], X, y, Xt, yt, steps=10, record_every=5, batch_size=30
    )
    assert run.diverged_at.tolist() == [-1, 1]
    assert np.all(np.isnan(run.test_loss[1, 1:])) and np.all(
        np.isfinite(run.test_loss[0])
    )
    assert "2 networks" in repr(run)


def test_bad_input():
    X, y, Xt, yt = _data()
    nets = [bn_mlp([6, 4, 3], rng=0)]
    with pytest.raises(ValueError, match="one positive learning rate per network"):
        train_stack(nets, [0.1, 0.2], X, y, Xt, yt, steps=2)
    with pytest.raises(ValueError, match="at least one network"):
        train_stack([], [], X, y, Xt, yt, steps=2)
    with pytest.raises(ValueError, match="batch_size must be an integer >= 2"):
        train_stack(nets, [0.1], X, y, Xt, yt, steps=2, batch_size=1)
    with pytest.raises(ValueError, match="one integer label per row"):
        train_stack(nets, [0.1], X, y[:-1], Xt, yt, steps=2)
    with pytest.raises(ValueError, match="6 columns"):
        train_stack(nets, [0.1], X, y, Xt[:, :3], yt, steps=2)
    with pytest.raises(ValueError, match="not an activation layer"):
        train_stack(nets, [0.1], X, y, Xt, yt, steps=2, probe=(0, 0))
    with pytest.raises(ValueError, match="same layers"):
        train_stack(
            [bn_mlp([6, 4, 3], rng=0), bn_mlp([6, 5, 3], rng=0)],
            [0.1, 0.1],
            X,
            y,
            Xt,
            yt,
            steps=2,
        )
    with pytest.raises(ValueError, match="same layers"):
        train_stack(
            [bn_mlp([6, 4, 3], rng=0), bn_mlp([6, 4, 3], batchnorm=True, rng=0)],
            [0.1, 0.1],
            X,
            y,
            Xt,
            yt,
            steps=2,
        )
    with pytest.raises(ValueError, match="test_every"):
        train_stack(nets, [0.1], X, y, Xt, yt, steps=2, test_every=0)
    with pytest.raises(ValueError, match="one rng per network"):
        train_stack(nets, [0.1], X, y, Xt, yt, steps=2, rng=[1, 2])
    with pytest.raises(ValueError, match="exceeds the training set"):
        train_stack(nets, [0.1], X, y, Xt, yt, steps=2, batch_size=1000)
    with pytest.raises(ValueError, match="at least two sizes"):
        bn_mlp([5])
    with pytest.raises(TypeError, match="batchnorm must be True or False"):
        bn_mlp([5, 3], batchnorm=1)
