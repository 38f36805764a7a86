"""Tests of bookcode.monitor: the ratios against the optimizer's own records, the triage
rules on hand-made histories and on real and diverged runs."""

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from _histories import diverged_run, healthy_history, small_run  # noqa: E402
from numpy.testing import assert_allclose  # noqa: E402

from bookcode import monitor, network, optim  # noqa: E402
from bookcode.train import History  # noqa: E402


def _net_after_backward(seed=0):
    rng = np.random.default_rng(seed)
    net = network.mlp([4, 6, 5, 3], activation="tanh", rng=seed)
    X, T = rng.normal(size=(10, 4)), rng.normal(size=(10, 3))
    net.backward(net.forward(X) - T)
    return net


# ------------------------------------------------------------------------- update_ratio
def test_update_ratio_is_the_ratio_of_frobenius_norms():
    assert_allclose(
        monitor.update_ratio([[3.0, 0.0], [0.0, 4.0]], [[0.0, 10.0], [0.0, 0.0]]), 0.5
    )
    assert monitor.update_ratio(np.ones(3), np.zeros(3)) == np.inf
    assert monitor.update_ratio(np.zeros(3), np.zeros(3)) == 0.0


def test_update_ratio_matches_what_sgd_records():
    net = _net_after_backward()
    before = {k: p.copy() for k, p, _ in net.parameters()}
    opt = optim.SGD(0.05)
    opt.step(net)
    for k, p, _ in net.parameters():
        assert_allclose(
            monitor.update_ratio(p - before[k], before[k]),
            opt.last_update_ratios[k],
            rtol=1e-12,
        )


def test_update_ratio_rejects_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        monitor.update_ratio(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="finite"):
        monitor.update_ratio([np.nan], [1.0])
    with pytest.raises(TypeError, match="real numbers"):
        monitor.update_ratio(["a"], [1.0])


# ------------------------------------------------------------------------- lr_for_ratio
def test_lr_for_ratio_hits_the_target_with_plain_sgd():
    net = _net_after_backward(1)
    probe = optim.SGD(0.3)
    saved = {k: p.copy() for k, p, _ in net.parameters()}
    probe.step(net)
    r = np.array([probe.last_update_ratios[k] for k in ("0.W", "2.W", "4.W")])
    new_lr = monitor.lr_for_ratio(0.3, r[1], target=2e-3)
    for k, p, _ in net.parameters():  # undo the probe step; the gradients are unchanged
        p[...] = saved[k]
    opt = optim.SGD(new_lr)
    opt.step(net)
    assert_allclose(opt.last_update_ratios["2.W"], 2e-3, rtol=1e-10)
    per_layer = monitor.lr_for_ratio(0.3, r)
    assert per_layer.shape == (3,)
    assert_allclose(per_layer * r / 0.3, monitor.RULE_OF_THUMB)


def test_lr_for_ratio_rejects_bad_input():
    with pytest.raises(ValueError, match="> 0"):
        monitor.lr_for_ratio(0.1, [1e-3, 0.0])
    with pytest.raises(ValueError, match="lr"):
        monitor.lr_for_ratio(-0.1, 1e-3)
    with pytest.raises(ValueError, match="target"):
        monitor.lr_for_ratio(0.1, 1e-3, target=0.0)


# ---------------------------------------------------------------------- gradient_spread
def test_gradient_spread_counts_powers_of_ten():
    assert_allclose(monitor.gradient_spread([1.0, 100.0, 10.0]), 2.0)
    assert_allclose(monitor.gradient_spread([3.0]), 0.0)
    assert monitor.gradient_spread([1.0, 0.0]) == np.inf
    assert monitor.gradient_spread([1.0, np.nan]) == np.inf


def test_gradient_spread_rejects_bad_input():
    with pytest.raises(ValueError, match="1-D"):
        monitor.gradient_spread([[1.0, 2.0]])
    with pytest.raises(ValueError, match="non-empty"):
        monitor.gradient_spread([])
    with pytest.raises(ValueError, match=">= 0"):
        monitor.gradient_spread([1.0, -1.0])


# ------------------------------------------------------------------ summarize, diagnose
@pytest.fixture(scope="module")
def real_run():
    return small_run()


def test_summarize_reads_the_history(real_run):
    s = monitor.summarize(real_run)
    h = real_run
    assert (
        s["grad_first"] == h.grad_norms[0][0] and s["grad_last"] == h.grad_norms[0][-1]
    )
    assert_allclose(
        s["spread_init"], np.log10(max(h.grad_norms[0]) / min(h.grad_norms[0]))
    )
    assert s["ratio_max"] == max(h.update_ratios[-1]) and s["ratio_min"] == min(
        h.update_ratios[-1]
    )
    assert_allclose(s["gap"], h.accuracy[-1] - h.val_accuracy[-1])
    assert (
        s["loss_first"] == h.loss[0]
        and s["loss_best"] == min(h.loss)
        and s["diverged_at"] is None
    )


def test_a_healthy_history_has_no_findings():
    assert monitor.diagnose(healthy_history()) == []


@pytest.mark.parametrize(
    "kw, symptom",
    [
        (dict(loss=[2.3, 5.0]), "loss rises"),
        (dict(loss=[2.3, 2.25]), "loss flat"),
        (
            dict(grad_norms=[[1e-4, 0.1, 1.0], [1e-4, 0.1, 1.0]]),
            "first layers get the smallest gradient",
        ),
        (
            dict(grad_norms=[[10.0, 0.1, 0.5], [1.0, 1.0, 1.0]]),
            "last layers get the smallest gradient",
        ),
        (dict(update_ratios=[[np.nan] * 3, [1e-3, 0.2, 1e-3]]), "updates too large"),
        (
            dict(update_ratios=[[np.nan] * 3, [1e-7, 1e-3, 1e-3]]),
            "some layers barely move",
        ),
        (dict(act_saturated=[[0.0, 0.0], [0.9, 0.0]]), "saturated units"),
        (dict(act_dead=[[0.0, 0.0], [0.0, 0.7]]), "dead units"),
        (
            dict(accuracy=[0.1, 1.0], val_accuracy=[0.1, 0.7]),
            "validation much worse than training",
        ),
    ],
)
def test_each_rule_fires_alone(kw, symptom):
    found = monitor.diagnose(healthy_history(**kw))
    assert [f.symptom for f in found] == [symptom]
    assert "chapter" in found[0].chapter and symptom in str(found[0])


def test_thresholds_are_keywords():
    h = healthy_history(update_ratios=[[np.nan] * 3, [1e-3, 2e-2, 1e-3]])
    assert [f.symptom for f in monitor.diagnose(h)] == ["updates too large"]
    assert monitor.diagnose(h, ratio_high=0.05) == []


def test_a_diverged_run_is_reported_and_located():
    h, report = diverged_run()
    assert h.diverged_at is not None
    assert monitor.diagnose(h)[0].symptom == "loss is NaN/inf"
    assert report is not None


def test_summarize_and_diagnose_reject_bad_input():
    with pytest.raises(TypeError, match="History"):
        monitor.summarize({"loss": [1.0]})
    with pytest.raises(ValueError, match="empty"):
        monitor.diagnose(History())
    with pytest.raises(ValueError, match="flat"):
        monitor.diagnose(healthy_history(), flat=-1.0)
