"""Tests of bookcode.experiments.adaptive_study (chapter 12's SGD vs Adam runs)."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from bookcode.experiments import adaptive_study as a


def test_shapes_and_the_first_step_of_sgd_scales_with_lr():
    runs = [
        a.update_ratios_by_layer("sgd", [0, 1], lr=lr, depth=3, steps=2, progress=False)
        for lr in (0.1, 0.2)
    ]
    assert runs[0].ratios.shape == (2, 2, 4) and runs[0].loss.shape == (2, 2)
    # step 1 starts from the same weights and batch: twice the rate, twice the move
    assert_allclose(runs[1].ratios[:, 0], 2 * runs[0].ratios[:, 0], rtol=1e-12)
    assert_allclose(runs[1].loss[:, 0], runs[0].loss[:, 0])


def test_adam_first_step_moves_every_entry_by_lr():
    r = a.update_ratios_by_layer("adam", [0], lr=1e-3, depth=2, steps=1, progress=False)
    # ‖ΔW‖ = lr · sqrt(#entries with a non-zero gradient) (up to eps), W as drawn
    from bookcode.network import mlp

    net = mlp([64, 32, 32, 10], "sigmoid", rng=0)
    sizes = [net.layers[2 * l].params["W"] for l in range(3)]
    expected = [1e-3 * np.sqrt(W.size) / np.linalg.norm(W) for W in sizes]
    # hidden layers: every entry has a gradient; the first layer's rows for the
    # constant (standardised to 0) pixels of the digits have none, and do not move
    assert_allclose(r.ratios[0, 0, 1:], expected[1:], rtol=1e-3)
    assert r.ratios[0, 0, 0] < expected[0]


def test_spread_and_bad_input():
    r = a.update_ratios_by_layer("sgd", [0], lr=0.5, depth=4, steps=3, progress=False)
    assert r.spread().shape == (1,) and r.spread()[0] > 1
    with pytest.raises(ValueError, match="optimizer"):
        a.update_ratios_by_layer("rmsprop", [0], lr=0.1)
    with pytest.raises(ValueError, match="seed"):
        a.update_ratios_by_layer("sgd", [], lr=0.1)
    with pytest.raises(ValueError, match="lr"):
        a.update_ratios_by_layer("sgd", [0], lr=-1.0)


def test_adam_step_trace_matches_the_optimizer():
    from bookcode.adam import Adam
    from bookcode.layers import Linear

    g = np.random.default_rng(0).normal(size=(30, 3)) * np.array([1e-3, 1.0, 10.0])
    trace = a.adam_step_trace(g, beta1=0.8, beta2=0.99)
    lin = Linear(1, 3, init=np.zeros((1, 3)))
    opt = Adam(lr=1.0, betas=(0.8, 0.99))
    for t in range(30):
        before = lin.params["W"].copy()
        lin.grads["W"][...] = g[t]
        lin.grads["b"][...] = 0.0
        opt.step(lin)
        assert_allclose(before - lin.params["W"], trace[t : t + 1], rtol=1e-12)
    raw = a.adam_step_trace(g, correct=False, eps=0.0)
    assert_allclose(raw[0], 0.1 / np.sqrt(0.001) * np.sign(g[0]), rtol=1e-12)
    with pytest.raises(ValueError, match="beta2"):
        a.adam_step_trace(g, beta2=1.0)
    with pytest.raises(ValueError, match="shape"):
        a.adam_step_trace(np.zeros((0,)))
