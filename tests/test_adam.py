"""Tests of bookcode.adam: Adam and AdamW against a reference written from the papers'
algorithms, the first step, the bias correction, decoupled decay, warm-up, bad input."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from bookcode import network, optim
from bookcode.adam import Adam, AdamW


def _reference(grads, w0, lr, b1=0.9, b2=0.999, eps=1e-8, l2=0.0, wd=0.0):
    """Algorithm 1 of Kingma & Ba (2015), one entry at a time; with ``wd``, AdamW
    (Loshchilov & Hutter 2019, Algorithm 2 with schedule multiplier 1)."""
    w = np.array(w0, dtype=float).ravel()
    m, v, out = np.zeros_like(w), np.zeros_like(w), []
    for t, g in enumerate(grads, start=1):
        g = np.asarray(g, dtype=float).ravel() + l2 * w
        lr_t = lr(t) if callable(lr) else lr
        for i in range(w.size):
            m[i] = b1 * m[i] + (1 - b1) * g[i]
            v[i] = b2 * v[i] + (1 - b2) * g[i] ** 2
            m_hat = m[i] / (1 - b1**t)
            v_hat = v[i] / (1 - b2**t)
            w[i] = w[i] - lr_t * (m_hat / (np.sqrt(v_hat) + eps) + wd * w[i])
        out.append(w.copy())
    return out


class _Param:
    """A one-parameter model whose gradient the test sets before each step."""

    def __init__(self, w, name="W"):
        self.params = {name: np.array(w, dtype=float)}
        self.grads = {name: np.zeros_like(self.params[name])}


def _run(opt, grads, w0, name="W"):
    model, out = _Param(w0, name), []
    for g in grads:
        model.grads[name][...] = g
        opt.step(model)
        out.append(model.params[name].ravel().copy())
    return out


GRADS = np.random.default_rng(0).normal(size=(25, 3, 2)) * np.array([1e-3, 1.0])
W0 = np.random.default_rng(1).normal(size=(3, 2))


@pytest.mark.parametrize(
    "make, ref",
    [
        (lambda: Adam(0.01), {}),
        (
            lambda: Adam(0.05, betas=(0.8, 0.99), eps=1e-6),
            dict(b1=0.8, b2=0.99, eps=1e-6),
        ),
        (lambda: Adam(0.01, l2=0.1), dict(l2=0.1)),
        (lambda: AdamW(0.01, weight_decay=0.1), dict(wd=0.1)),
        (lambda: AdamW(optim.LinearWarmup(0.01, 10)), dict(wd=0.01)),
    ],
)
def test_matches_the_reference_algorithm(make, ref):
    lr = make().lr
    got = _run(make(), GRADS, W0)
    want = _reference(GRADS, W0, lr, **ref)
    assert_allclose(np.array(got), np.array(want), rtol=1e-12, atol=1e-15)


def test_the_first_step_has_size_lr_whatever_the_gradient():
    # m̂₁ = g and v̂₁ = g²: every entry moves by lr (up to eps), even one with g = 1e-6
    g = np.array([[3.0, -1e-6], [1e4, 0.0]])
    (w1,) = _run(Adam(0.01), [g], np.zeros((2, 2)))
    assert_allclose(np.abs(w1[:3]), 0.01, rtol=1e-2)
    assert_allclose(np.sign(w1[:3]), -np.sign(g.ravel()[:3]))
    assert w1[3] == 0.0, "a zero gradient gives no step"


def test_without_bias_correction_the_first_steps_would_be_tiny():
    # the uncorrected ratio m/√v after one step is (1 − β₁)/√(1 − β₂) ≈ 3.2 times the
    # corrected one; Adam's step is the corrected value: |ΔW| = lr
    opt = Adam(0.01)
    (w1,) = _run(opt, [np.ones((1, 1))], np.zeros((1, 1)))
    m, v = opt.moments["W"]
    assert_allclose(m, 0.1)
    assert_allclose(v, 1e-3)
    assert_allclose(w1, -0.01, rtol=1e-6)
    assert_allclose(m / np.sqrt(v), (1 - 0.9) / np.sqrt(1 - 0.999))


def test_adamw_decays_only_the_named_parameters_and_not_through_the_moments():
    # a zero gradient: Adam's own step is 0, so AdamW only shrinks W by 1 − ηλ per step
    model = network.mlp([3, 2], rng=0)
    model.forward(np.zeros((1, 3)))
    model.backward(np.zeros((1, 2)))
    W, b = model[0].params["W"].copy(), model[0].params["b"].copy() + 1.0
    model[0].params["b"][...] = b
    opt = AdamW(0.1, weight_decay=0.5)
    for _ in range(3):
        opt.step(model)
    assert_allclose(model[0].params["W"], W * (1 - 0.1 * 0.5) ** 3, rtol=1e-12)
    assert_allclose(model[0].params["b"], b, rtol=0, atol=0)  # biases do not decay
    # coupled L2 in Adam is normalised away instead: the same zero-gradient run moves W
    # by about lr per step, whatever λ
    for lam in (0.5, 50.0):
        m2 = _Param(np.full((1, 1), 2.0))
        Adam(0.1, l2=lam).step(m2)
        assert_allclose(m2.params["W"], 2.0 - 0.1, rtol=1e-6)


def test_warmup_schedule_and_records():
    sched = optim.LinearWarmup(0.01, 4)
    assert [sched(t) for t in (1, 2, 4, 9)] == [0.0025, 0.005, 0.01, 0.01]
    opt = Adam(sched)
    lrs = []
    model = _Param(np.ones((2, 2)))
    for _ in range(5):
        model.grads["W"][...] = 1.0
        opt.step(model)
        lrs.append(opt.last_lr)
    assert lrs == [0.0025, 0.005, 0.0075, 0.01, 0.01] and opt.t == 5
    # a constant gradient: m̂ = v̂ = 1, every step is the scheduled lr (up to ε)
    w_before = 1.0 - sum(lrs[:-1])
    assert_allclose(opt.last_update_ratios["W"], 0.01 / w_before, rtol=1e-6)
    assert_allclose(model.params["W"], 1.0 - sum(lrs), rtol=1e-6)
    assert repr(opt) == "Adam(lr=LinearWarmup(lr=0.01, warmup_steps=4))"
    assert repr(AdamW(0.1, weight_decay=0.0)) == "AdamW(lr=0.1, weight_decay=0.0)"
    assert optim.Adam is Adam and optim.AdamW is AdamW


def test_nothing_changes_when_a_step_fails():
    opt = Adam(0.1)
    model = _Param(np.ones((2, 2)))
    model.grads["W"][...] = 1.0
    opt.step(model)
    before, m_before = model.params["W"].copy(), opt.moments["W"][0].copy()
    model.grads["W"][0, 0] = np.nan
    with pytest.raises(ValueError, match="Adam.step: gradient of 'W' contains NaN"):
        opt.step(model)
    assert np.array_equal(model.params["W"], before) and opt.t == 1
    assert np.array_equal(opt.moments["W"][0], m_before)
    with pytest.raises(ValueError, match="call reset"):
        opt.step(_Param(np.ones(3)))


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(betas=(0.9,)), TypeError, "pair of numbers"),
        (dict(betas=(0.9, 1.0)), ValueError, r"\[0, 1\)"),
        (dict(betas=(True, 0.9)), TypeError, "pair of numbers"),
        (dict(eps=0.0), ValueError, "eps"),
        (dict(lr=-1.0), ValueError, "lr"),
    ],
)
def test_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        Adam(**kwargs)


def test_bad_schedule_and_bad_decay():
    opt = Adam(lambda t: 0.0)
    model = _Param(np.ones(2))
    with pytest.raises(ValueError, match="gave lr=0.0 at step 1; expected a positive"):
        opt.step(model)
    with pytest.raises(ValueError, match="weight_decay"):
        AdamW(weight_decay=-1.0)
    with pytest.raises(ValueError, match="warmup_steps must be >= 1"):
        optim.LinearWarmup(0.1, 0)
    with pytest.raises(TypeError, match="warmup_steps must be a positive int"):
        optim.LinearWarmup(0.1, 2.5)
