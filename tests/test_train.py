import numpy as np
import pytest
from numpy.testing import assert_allclose

from bookcode import data, losses
from bookcode.network import mlp
from bookcode.optim import SGD
from bookcode.train import History, accuracy, evaluate, train


def _moons():
    return data.two_moons(n=200, noise=0.1, rng=0)


def test_training_reduces_loss_and_records_everything():
    X, y = _moons()
    net = mlp([2, 16, 16, 2], activation="tanh", rng=1)
    hist = train(
        net,
        "softmax_cross_entropy",
        X,
        y,
        SGD(0.5),
        epochs=30,
        batch_size=32,
        rng=2,
        X_val=X[:50],
        T_val=y[:50],
    )
    assert hist.epoch == list(range(31))
    assert hist.loss[-1] < 0.5 * hist.loss[0]
    assert hist.accuracy[-1] > 0.85
    assert len(hist.val_loss) == 31
    assert hist.array("grad_norms").shape == (31, 3)
    assert hist.array("act_mean").shape == (31, 2)
    assert np.all(np.isnan(hist.array("update_ratios")[0]))
    assert np.all(hist.array("update_ratios")[1:] > 0)
    assert hist.diverged_at is None and "30 epochs" in repr(hist)


def test_epoch0_is_the_initial_state():
    X, y = _moons()
    net = mlp([2, 8, 2], activation="tanh", rng=3)
    loss = losses.get("softmax_cross_entropy")
    initial_loss, initial_acc = evaluate(net, loss, X, y)
    net.forward(X)
    net.backward(loss.grad(net.outputs[-1], y))
    g0 = [np.linalg.norm(net[i].grads["W"]) for i in (0, 2)]
    hist = train(net, loss, X, y, SGD(0.1), epochs=1, rng=0)
    assert hist.loss[0] == pytest.approx(initial_loss)
    assert hist.accuracy[0] == pytest.approx(initial_acc)
    assert_allclose(hist.grad_norms[0], g0)


def test_same_seed_same_history_and_full_batch_is_plain_gd():
    X, y = _moons()
    h1 = train(
        mlp([2, 8, 2], rng=5),
        "softmax_cross_entropy",
        X,
        y,
        SGD(0.3),
        epochs=3,
        batch_size=16,
        rng=9,
    )
    h2 = train(
        mlp([2, 8, 2], rng=5),
        "softmax_cross_entropy",
        X,
        y,
        SGD(0.3),
        epochs=3,
        batch_size=16,
        rng=9,
    )
    assert h1.loss == h2.loss
    # full batch: one step per epoch equal to W - lr * full gradient
    net = mlp([2, 3, 2], rng=0)
    loss = losses.get("softmax_cross_entropy")
    net.forward(X)
    net.backward(loss.grad(net.outputs[-1], y))
    expected = net[0].W - 0.1 * net[0].grads["W"]
    train(net, loss, X, y, SGD(0.1), epochs=1, batch_size=len(X), rng=0)
    assert_allclose(net[0].W, expected)


def test_divergence_is_detected_not_raised():
    X, _ = _moons()
    T = (X[:, :1] * 10.0) ** 2
    net = mlp([2, 32, 1], activation="relu", init="normal", rng=0)
    with pytest.warns(
        UserWarning,
        match="the loss or a gradient became NaN or inf: first non-finite value in the "
        "loss pass",
    ):
        hist = train(
            net,
            "half_sse",
            X,
            T,
            SGD(1.0, allow_nonfinite=True),
            epochs=20,
            batch_size=len(X),
            rng=0,
        )
    assert hist.diverged_at is not None
    assert len(hist.loss) == hist.diverged_at + 1
    assert not np.isfinite(hist.loss[-1])


def test_accuracy_helper():
    loss = losses.get("softmax_cross_entropy")
    Y = np.array([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]])
    assert accuracy(loss, Y, np.array([0, 1, 1])) == pytest.approx(2 / 3)
    assert (
        accuracy(
            losses.get("binary_cross_entropy"),
            np.array([[1.0], [-1.0]]),
            np.array([[1.0], [1.0]]),
        )
        == 0.5
    )
    assert np.isnan(accuracy(losses.get("mse"), Y, Y))


def test_bad_input():
    X, y = _moons()
    net = mlp([2, 4, 2], rng=0)
    with pytest.raises(TypeError, match="step"):
        train(net, "softmax_cross_entropy", X, y, 0.1, epochs=1)
    with pytest.raises(ValueError, match="one target per example"):
        train(net, "softmax_cross_entropy", X, y[:-1], SGD(0.1), epochs=1)
    with pytest.raises(ValueError, match="finite"):
        train(
            net, "softmax_cross_entropy", np.full_like(X, np.nan), y, SGD(0.1), epochs=1
        )
    with pytest.raises(ValueError, match="epochs must be an integer >= 1"):
        train(net, "softmax_cross_entropy", X, y, SGD(0.1), epochs=0)
    with pytest.raises(ValueError, match="both X_val and T_val"):
        train(net, "softmax_cross_entropy", X, y, SGD(0.1), epochs=1, X_val=X)
    with pytest.raises(ValueError, match="unknown series"):
        History().array("nope")


def test_a_diverging_run_stops_and_names_the_layer():
    from bookcode import data, network, optim
    from bookcode.train import DivergenceWarning, train

    X, y, *_ = data.digits(rng=0)
    net = network.mlp([64, 32, 10], activation="relu", rng=0)
    with pytest.warns(
        DivergenceWarning,
        match=r"train stopped in epoch 1: .* first non-finite value in the forward "
        r"pass at layer \d \(Linear",
    ):
        hist = train(
            net,
            "softmax_cross_entropy",
            X,
            y,
            optim.SGD(lr=1e6),
            epochs=3,
            progress=False,
        )
    assert hist.diverged_at == 1 and len(hist.epoch) == 2
    assert hist.nonfinite.phase == "forward" and hist.nonfinite.layer.startswith(
        "Linear"
    )
    assert "diverged at epoch 1 (first non-finite value" in repr(hist)


def test_a_deliberate_divergence_can_be_quiet():
    import warnings

    from bookcode import data, network, optim
    from bookcode.train import train

    X, y, *_ = data.digits(rng=0)
    net = network.mlp([64, 32, 10], activation="relu", rng=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hist = train(
            net,
            "softmax_cross_entropy",
            X,
            y,
            optim.SGD(lr=1e6),
            epochs=3,
            progress=False,
            warn_nonfinite=False,
        )
    assert hist.diverged_at == 1 and hist.nonfinite is not None
