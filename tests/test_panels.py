"""Tests of bookcode.display.panels: the monitor panel on real, diverged and overflowing
runs."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from numpy.testing import assert_allclose  # noqa: E402

from bookcode import data, monitor, network, optim, train  # noqa: E402
from bookcode.diagnostics import find_nonfinite  # noqa: E402
from bookcode.display import panels  # noqa: E402
from bookcode.train import History  # noqa: E402


@pytest.fixture(scope="module")
def real_run():
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


def _hist(**kw):
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


def test_the_panel_shows_where_a_diverged_run_overflowed():
    X, y, _, _ = data.digits(standardize=False, rng=0)
    net = network.mlp(
        [64] + [32] * 10 + [10], activation="relu", init="normal", rng=0
    )  # the chapter's example
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
    report = find_nonfinite(net, X, y, "softmax_cross_entropy")
    fig = panels.monitor_panel(h, nonfinite=report)
    assert "first NaN/inf" in " ".join(t.get_text() for t in fig.axes[0].texts)
    plt.close(fig)


# ------------------------------------------------------------------------ monitor_panel
def test_panel_draws_every_monitor(real_run):
    fig = panels.monitor_panel(real_run, title="run")
    assert len(fig.axes) == 4 and fig._suptitle.get_text() == "run"
    ax_loss, ax_grad, ax_upd, ax_units = fig.axes
    assert_allclose(ax_loss.lines[0].get_ydata(), real_run.loss)
    assert_allclose(ax_grad.lines[0].get_ydata(), real_run.grad_norms[0])
    assert any(
        np.allclose(line.get_ydata(), monitor.RULE_OF_THUMB) for line in ax_upd.lines
    )
    assert ax_units.get_ylim()[1] > 1
    plt.close(fig)


def test_panel_subset_and_given_axes(real_run):
    fig, axes = plt.subplots(1, 2)
    out = panels.monitor_panel(real_run, monitors=("updates", "loss"), axes=axes)
    assert out is fig and axes[1].get_yscale() == "log"
    plt.close(fig)


def test_panel_rejects_bad_input(real_run):
    with pytest.raises(ValueError, match="distinct names"):
        panels.monitor_panel(real_run, monitors=("loss", "weights"))
    with pytest.raises(TypeError, match="non-empty sequence"):
        panels.monitor_panel(real_run, monitors="loss")
    fig, axes = plt.subplots(1, 2)
    with pytest.raises(ValueError, match="expected 4 Axes"):
        panels.monitor_panel(real_run, axes=axes)
    plt.close(fig)
    with pytest.raises(TypeError, match="History"):
        panels.monitor_panel([1.0, 2.0])


def test_panel_draws_an_overflowing_loss():
    for top in (
        2e273,
        3e292,
    ):  # finite but enormous losses: matplotlib's own ticks would reach inf
        h = _hist(loss=[1e8, top], val_loss=[1e8, top / 2])
        fig = panels.monitor_panel(h, monitors=("loss",))
        fig.canvas.draw()
        assert fig.axes[0].get_ylim()[1] < np.inf
        plt.close(fig)
