"""Tests of bookcode.experiments.pretraining: greedy layer-wise autoencoder
pretraining."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from bookcode import gradcheck, losses
from bookcode.activations import sigmoid
from bookcode.experiments import pretraining
from bookcode.layers import Activation, Linear


def _data(n=60, d=6, seed=0):
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, 2))
    return (
        np.tanh(Z @ rng.normal(size=(2, d))) * 3 + 1 + 0.05 * rng.normal(size=(n, d))
    )  # rank-2 structure


def test_autoencoder_shape_and_gradient():
    ae = pretraining.autoencoder(6, 3, rng=0)
    assert [type(layer) for layer in ae.layers] == [Linear, Activation, Linear]
    assert ae.layers[0].W.shape == (6, 3) and ae.layers[2].W.shape == (3, 6)
    X = _data(5)
    report = gradcheck.check_network(ae, losses.MSE(), X, X)
    assert report.max_error < 1e-7, report


def test_train_autoencoder_reduces_the_reconstruction_error():
    X = _data()
    ae = pretraining.autoencoder(6, 3, rng=1)
    hist = pretraining.train_autoencoder(ae, X, epochs=30, lr=0.2, rng=0, batch_size=10)
    assert hist.shape == (31,)
    assert_allclose(
        hist[-1], np.mean((ae.forward(X) - X) ** 2), rtol=1e-12
    )  # recorded = recomputed
    assert hist[-1] < 0.5 * hist[0]
    assert pretraining.train_autoencoder(ae, X, epochs=0, lr=0.1, rng=0).shape == (1,)


def test_fold_standardization_computes_the_same_function():
    rng = np.random.default_rng(3)
    lin = Linear(4, 3, rng=rng)
    lin.params["b"][...] = rng.normal(size=3)
    mean, std = rng.normal(size=4), rng.uniform(0.1, 3, size=4)
    X = rng.normal(size=(7, 4))
    folded = pretraining.fold_standardization(lin, mean, std)
    assert_allclose(
        folded.forward(X), ((X - mean) / std) @ lin.W + lin.b, rtol=1e-12, atol=1e-12
    )
    assert folded is not lin and folded.W is not lin.W


def test_pretrain_autoencoders_standardised_codes():
    X = _data(80, 6)
    pre = pretraining.pretrain_autoencoders(
        [6, 4, 3], X, epochs=20, lr=0.2, rng=0, batch_size=16
    )
    assert [(e.n_in, e.n_out) for e in pre.encoders] == [(6, 4), (4, 3)]
    assert all(r[-1] < r[0] for r in pre.recon_loss)
    assert "Pretrained(sizes=[6, 4, 3]" in repr(pre)
    again = pretraining.pretrain_autoencoders(
        [6, 4, 3], X, epochs=20, lr=0.2, rng=0, batch_size=16
    )
    assert all(
        np.array_equal(a.W, b.W) for a, b in zip(pre.encoders, again.encoders)
    )  # seeded
    raw = pretraining.pretrain_autoencoders(
        [6, 4], X, epochs=2, lr=0.05, rng=0, standardize=False
    )
    assert len(raw.encoders) == 1


def test_standardised_layer_sees_zero_mean_unit_variance_inputs():
    # With standardize=True the kept encoder is W / s (eq. tg-fold): multiplying its
    # rows by the features' standard deviations recovers the weights the autoencoder
    # trained, which are on the xavier scale.
    X = _data(80, 6) * np.array([1, 10, 100, 1, 1, 0.1])
    pre = pretraining.pretrain_autoencoders([6, 4], X, epochs=1, lr=0.1, rng=0)
    enc = pre.encoders[0]
    W_std = enc.W * X.std(axis=0)[:, None]  # the weights the autoencoder itself trained
    assert np.abs(W_std).max() < 5, (
        "trained on standardised inputs: weights on the scale of xavier init"
    )
    assert np.abs(enc.W[2]).max() < np.abs(enc.W[5]).max(), (
        "feature scale 100 gets a 1000× smaller weight"
    )


def test_stack_encoders_copies_and_composes():
    X = _data(40, 6)
    pre = pretraining.pretrain_autoencoders([6, 4, 3], X, epochs=3, lr=0.1, rng=0)
    net = pretraining.stack_encoders(pre, 2, rng=0)
    assert len(net.layers) == 5 and net.layers[-1].W.shape == (3, 2)
    h = X
    for e in pre.encoders:
        h = sigmoid(h @ e.W + e.b)
    assert_allclose(net.forward(X), h @ net.layers[-1].W + net.layers[-1].b, rtol=1e-12)
    net.layers[0].W[...] = 0.0
    assert np.abs(pre.encoders[0].W).max() > 0, (
        "fine-tuning must not change the pretrained encoders"
    )


def test_bad_inputs():
    X = _data(10, 6)
    with pytest.raises(ValueError, match="at least 2 sizes"):
        pretraining.pretrain_autoencoders([6], X, epochs=1, lr=0.1, rng=0)
    with pytest.raises(ValueError, match="6 columns"):
        pretraining.pretrain_autoencoders([6, 3], X[:, :5], epochs=1, lr=0.1, rng=0)
    with pytest.raises(TypeError, match="standardize must be True or False"):
        pretraining.pretrain_autoencoders(
            [6, 3], X, epochs=1, lr=0.1, rng=0, standardize="yes"
        )
    with pytest.raises(TypeError, match="Generator or an int seed"):
        pretraining.pretrain_autoencoders([6, 3], X, epochs=1, lr=0.1, rng=None)
    with pytest.raises(ValueError, match="epochs must be an integer >= 0"):
        pretraining.train_autoencoder(
            pretraining.autoencoder(6, 3, rng=0), X, epochs=-1, lr=0.1, rng=0
        )
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        pretraining.train_autoencoder(
            pretraining.autoencoder(6, 3, rng=0), X, epochs=1, lr=0.0, rng=0
        )
    with pytest.raises(TypeError, match="expected a Sequential autoencoder"):
        pretraining.train_autoencoder(Linear(6, 3, rng=0), X, epochs=1, lr=0.1, rng=0)
    with pytest.raises(TypeError, match="Pretrained result"):
        pretraining.stack_encoders([Linear(6, 3, rng=0)], 2, rng=0)
    with pytest.raises(ValueError, match="n_out must be an integer"):
        pretraining.stack_encoders(
            pretraining.Pretrained([Linear(6, 3, rng=0)]), 0, rng=0
        )
    with pytest.raises(TypeError, match="expected a Linear layer"):
        pretraining.fold_standardization(Activation("sigmoid"), np.zeros(6), np.ones(6))
    with pytest.raises(ValueError, match=r"mean and std of shape \(6,\)"):
        pretraining.fold_standardization(Linear(6, 3, rng=0), np.zeros(5), np.ones(5))
    with pytest.raises(ValueError, match="std must be > 0"):
        pretraining.fold_standardization(Linear(6, 3, rng=0), np.zeros(6), np.zeros(6))
