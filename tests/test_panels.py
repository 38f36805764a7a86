"""Tests of bookcode.display.panels: the monitor panel on real, diverged and overflowing
runs."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from _histories import diverged_run, healthy_history, small_run  # noqa: E402
from numpy.testing import assert_allclose  # noqa: E402

from bookcode import monitor  # noqa: E402
from bookcode.display import panels  # noqa: E402


@pytest.fixture(scope="module")
def real_run():
    return small_run()


def test_the_panel_shows_where_a_diverged_run_overflowed():
    h, report = diverged_run()
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
        h = healthy_history(loss=[1e8, top], val_loss=[1e8, top / 2])
        fig = panels.monitor_panel(h, monitors=("loss",))
        fig.canvas.draw()
        assert fig.axes[0].get_ylim()[1] < np.inf
        plt.close(fig)
