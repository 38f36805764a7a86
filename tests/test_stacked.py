"""Tests of bookcode.experiments.stacked: train_seeds records what train.train records,
network by network."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from bookcode import data, monitor, network, optim, train
from bookcode.experiments import stacked
from bookcode.experiments.bn_study import bn_mlp

# -------------------------------------------------------------------------- train_seeds
_SERIES = (
    "loss",
    "accuracy",
    "val_loss",
    "val_accuracy",
    "grad_norms",
    "bias_grad_norms",
    "update_ratios",
    "act_mean",
    "act_std",
    "act_saturated",
    "act_dead",
)


def _same_history(a, b, rtol):
    assert a.epoch == b.epoch and a.diverged_at == b.diverged_at
    for name in _SERIES:
        A, B = (
            np.array(getattr(a, name), dtype=float),
            np.array(getattr(b, name), dtype=float),
        )
        assert A.shape == B.shape, name
        assert np.array_equal(np.isfinite(A), np.isfinite(B)), name
        ok = np.isfinite(A)
        assert_allclose(A[ok], B[ok], rtol=rtol, atol=1e-12, err_msg=name)


@pytest.mark.parametrize(
    "build, lr, momentum, raw",
    [
        (
            lambda s: network.mlp(
                [64, 12, 12, 10], activation="sigmoid", init="normal", rng=s
            ),
            0.5,
            0.0,
            False,
        ),
        (
            lambda s: network.mlp(
                [64, 12, 12, 10], activation="relu", init="he_normal", rng=s
            ),
            0.02,
            0.9,
            False,
        ),
        (
            lambda s: network.mlp([64, 12, 12, 10], activation="tanh", rng=s),
            0.1,
            0.0,
            False,
        ),
        (
            lambda s: bn_mlp([64, 12, 12, 10], "sigmoid", init="normal", rng=s),
            0.1,
            0.0,
            False,
        ),
        (
            lambda s: network.mlp(
                [64] + [32] * 4 + [10], activation="relu", init="normal", rng=s
            ),
            10.0,
            0.0,
            True,
        ),
    ],
)
def test_train_seeds_records_what_train_records(build, lr, momentum, raw):
    split = data.digits(
        rng=0, standardize=not raw
    )  # raw pixels: the last case diverges for seed 0 only
    X, T, Xv, Tv = (
        split.X_train[:300],
        split.y_train[:300],
        split.X_test[:100],
        split.y_test[:100],
    )
    hists = stacked.train_seeds(
        [build(s) for s in (0, 1)],
        X,
        T,
        lr,
        2,
        momentum=momentum,
        batch_size=32,
        rng=3,
        X_val=Xv,
        T_val=Tv,
    )
    for s, h in zip((0, 1), hists):
        with np.errstate(
            all="ignore"
        ):  # the reference warns about the overflow of the diverging run
            ref = train.train(
                build(s),
                "softmax_cross_entropy",
                X,
                T,
                optim.SGD(lr, momentum=momentum, allow_nonfinite=True),
                2,
                batch_size=32,
                rng=3,
                X_val=Xv,
                T_val=Tv,
                progress=False,
                warn_nonfinite=False,
            )
        _same_history(h, ref, rtol=1e-6)
    if raw:
        assert [h.diverged_at for h in hists] == [1, None], (
            "one network stops, the other trains on"
        )


def test_train_seeds_leaves_the_networks_alone_and_checks_input():
    nets = [network.mlp([64, 8, 10], rng=s) for s in (0, 1)]
    before = [p.copy() for n in nets for _, p, _ in n.parameters()]
    split = data.digits(rng=0)
    (h,) = stacked.train_seeds(nets[:1], split.X_train[:64], split.y_train[:64], 0.1, 1)
    assert len(h.epoch) == 2 and monitor.summarize(h)["accuracy"] >= 0
    assert all(
        np.array_equal(a, p)
        for a, (_, p, _) in zip(before, [t for n in nets for t in n.parameters()])
    )
    with pytest.raises(TypeError, match="list of Sequential"):
        stacked.train_seeds([], split.X_train, split.y_train, 0.1, 1)
    with pytest.raises(ValueError, match="same layers"):
        stacked.train_seeds(
            [nets[0], network.mlp([64, 9, 10], rng=0)],
            split.X_train,
            split.y_train,
            0.1,
            1,
        )
    with pytest.raises(ValueError, match="integer class labels"):
        stacked.train_seeds(nets, split.X_train, split.y_train.astype(float), 0.1, 1)
    with pytest.raises(ValueError, match="momentum"):
        stacked.train_seeds(nets, split.X_train, split.y_train, 0.1, 1, momentum=1.0)
    with pytest.raises(ValueError, match="both X_val and T_val"):
        stacked.train_seeds(
            nets, split.X_train, split.y_train, 0.1, 1, X_val=split.X_test
        )
