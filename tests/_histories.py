"""Training histories for the tests of bookcode.monitor and bookcode.display.panels."""

import numpy as np

from bookcode import data, network, optim, train
from bookcode.train import History


def healthy_history(**kw):
    """A two-epoch History with healthy defaults; keywords override series."""
    h = History(
        epoch=[0, 1],
        loss=[2.3, 0.5],
        accuracy=[0.1, 0.95],
        val_loss=[2.3, 0.6],
        val_accuracy=[0.1, 0.9],
        grad_norms=[[0.5, 0.4, 0.3], [0.4, 0.3, 0.2]],
        update_ratios=[[np.nan] * 3, [1e-3, 2e-3, 1e-3]],
        act_saturated=[[0.0, 0.0], [0.01, 0.02]],
        act_dead=[[0.0, 0.0], [0.0, 0.0]],
    )
    for k, v in kw.items():
        setattr(h, k, v)
    return h


def small_run():
    """Two epochs of a 64-16-16-3 tanh MLP on three digit classes, with validation."""
    X, y, Xt, yt = data.digits(rng=0, classes=(0, 1, 2))
    net = network.mlp([64, 16, 16, 3], activation="tanh", rng=0)
    return train.train(
        net,
        "softmax_cross_entropy",
        X,
        y,
        optim.SGD(0.05),
        2,
        batch_size=64,
        X_val=Xt,
        T_val=yt,
        progress=False,
    )


def diverged_run():
    """Chapter 10's ReLU example (raw digits, N(0, 1) weights, η = 10) trained until
    it overflows: ``(history, the guard's report of the first NaN/inf)``."""
    from bookcode.diagnostics import find_nonfinite

    X, y, _, _ = data.digits(standardize=False, rng=0)
    net = network.mlp([64] + [32] * 10 + [10], activation="relu", init="normal", rng=0)
    h = train.train(
        net,
        "softmax_cross_entropy",
        X,
        y,
        optim.SGD(10.0, allow_nonfinite=True),
        3,
        progress=False,
        warn_nonfinite=False,
    )
    return h, find_nonfinite(net, X, y, "softmax_cross_entropy")
