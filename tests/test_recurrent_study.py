"""Tests of bookcode.experiments.recurrent_study (chapter 11's experiments)."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from bookcode.experiments import recurrent_study as rs


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_block_diagonal_training_equals_separate_runs(cell):
    together = rs.train_adding(
        cell, 6, [0, 1, 2], steps=12, eval_every=4, progress=False
    )
    alone = [
        rs.train_adding(cell, 6, [s], steps=12, eval_every=4, progress=False)
        for s in (0, 1, 2)
    ]
    assert together.val_mse.shape == (3, 3) and together.grad_norms.shape == (12, 3)
    assert_allclose(together.val_mse, np.hstack([r.val_mse for r in alone]), rtol=1e-9)
    assert_allclose(
        together.grad_norms, np.hstack([r.grad_norms for r in alone]), rtol=1e-9
    )
    assert_allclose(together.steps, [4, 8, 12])


def test_clipping_is_per_network_and_bounds_each_step():
    kw = dict(steps=8, eval_every=4, optimizer="sgd", lr=0.1, progress=False)
    clipped = rs.train_adding(
        "rnn", 8, [0, 1], clip_norm=1e-3, recurrent_scale=2.0, **kw
    )
    alone = rs.train_adding("rnn", 8, [1], clip_norm=1e-3, recurrent_scale=2.0, **kw)
    assert_allclose(clipped.grad_norms[:, 1], alone.grad_norms[:, 0], rtol=1e-9)
    free = rs.train_adding("rnn", 8, [1], recurrent_scale=2.0, **kw)
    assert not np.allclose(free.val_mse, alone.val_mse)


def test_a_diverging_single_run_stops_and_records_nan():
    r = rs.train_adding(
        "rnn",
        30,
        [0],
        steps=60,
        optimizer="sgd",
        lr=1e3,
        recurrent_scale=3.0,
        eval_every=5,
        progress=False,
    )
    assert len(r.steps) == len(r.val_mse) == 12
    assert np.isnan(r.val_mse[-1, 0]) or r.val_mse[-1, 0] > 1e3


def test_gradient_by_lag_linear_is_exactly_s_to_the_lag():
    g = rs.gradient_by_lag([0.5, 1.0, 1.2], activation="identity", T=20)
    assert_allclose(g, np.array([0.5, 1.0, 1.2])[:, None] ** np.arange(20), rtol=1e-9)
    t = rs.gradient_by_lag([0.5, 1.0, 1.2], T=20)
    assert np.all(t <= g * (1 + 1e-9))  # tanh: below the bound


def test_cell_gradient_by_lag_grows_with_the_forget_bias():
    total, path, mean_f = rs.cell_gradient_by_lag([-2.0, 0.0, 3.0], T=20)
    assert total.shape == path.shape == (3, 20)
    assert_allclose(total[:, 0], 1.0)
    assert_allclose(path[:, 0], 1.0)
    assert np.all(np.diff(total[:, -1]) > 0) and np.all(np.diff(mean_f) > 0)
    assert np.all(np.diff(path, axis=1) <= 1e-15)  # gates below 1: it only shrinks
    assert np.all(path[:, 1] <= 1)


def test_cell_path_is_the_product_of_forget_gates():
    """With W_h = 0 the gates do not depend on h: the cell path is all there is
    between c_T and c_{T-1} through c, so for T = 2 the whole gradient at c_1 is the
    path plus the h route, and the path is exactly f_2 ∘ dc_2."""
    from bookcode.lstm import LSTM

    X = np.random.default_rng(0).random((4, 2, 2))
    layer = LSTM(
        2, 3, W_x=np.random.default_rng(1).normal(size=(2, 12)), W_h=np.zeros((3, 12))
    )
    H = layer.forward(X)
    dH = np.zeros_like(H)
    dH[:, -1] = 1.0
    layer.backward(dH)
    # h_1 feeds nothing (W_h = 0, no loss on h_1): the cell gradient at c_1 is f_2 dc_2
    o, c = layer.gates["o"][:, -1], layer.cell_states[:, -1]
    dc2 = o * (1 - np.tanh(c) ** 2)
    assert_allclose(
        layer.cell_grad_norms_per_step[0],
        np.linalg.norm(dc2 * layer.gates["f"][:, -1]),
        rtol=1e-12,
    )


def test_bad_input():
    with pytest.raises(ValueError, match="cell"):
        rs.train_adding("gru", 10, [0])
    with pytest.raises(ValueError, match="empty"):
        rs.train_adding("rnn", 10, [])
    with pytest.raises(TypeError, match="non-negative ints"):
        rs.train_adding("rnn", 10, [0.5])
    with pytest.raises(ValueError, match="T"):
        rs.train_adding("rnn", 1, [0])
    with pytest.raises(ValueError, match="optimizer"):
        rs.train_adding("rnn", 10, [0], optimizer="rmsprop")
    with pytest.raises(ValueError, match="empty"):
        rs.gradient_by_lag([])
    with pytest.raises(TypeError):
        rs.cell_gradient_by_lag(["a"])
