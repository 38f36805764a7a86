"""Tests of bookcode.experiments.norm_study: pre-norm and post-norm residual MLPs, their
gradients at initialisation, and the stacked warm-up runs against the layer path."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from bookcode import losses
from bookcode.adam import Adam
from bookcode.data import digits, sgd_batches
from bookcode.experiments.norm_study import (
    WarmupRuns,
    _cross_entropy,
    _Stack,
    init_grad_norms,
    norm_mlp,
    warmup_runs,
)
from bookcode.gradcheck import TOLERANCE, check_network
from bookcode.layernorm import LayerNorm, RMSNorm
from bookcode.optim import LinearWarmup
from bookcode.residual import Residual
from bookcode.seeding import rng as seeded

CE = losses.get("softmax_cross_entropy")


def _ln(x):
    return (x - x.mean(1, keepdims=True)) / np.sqrt(x.var(1, keepdims=True) + 1e-5)


@pytest.mark.parametrize("order", ["pre", "post"])
def test_blocks_compute_the_equations(order):
    # x ← x + F(LN(x)) with a final LN (pre); x ← LN(x + F(x)) (post); γ = 1, β = 0
    net = norm_mlp(5, 4, 3, 2, order=order, rng=1)
    X = np.random.default_rng(2).standard_normal((6, 5))
    h = X @ net[0].W + net[0].b
    for block in net.layers[1:3]:
        res = block if order == "pre" else block[0]
        lin1, lin2 = res.branch[-3], res.branch[-1]

        def F(z):
            return np.maximum(z @ lin1.W + lin1.b, 0) @ lin2.W + lin2.b

        h = h + F(_ln(h)) if order == "pre" else _ln(h + F(h))
    h = _ln(h) if order == "pre" else h
    assert_allclose(net.forward(X), h @ net[-1].W + net[-1].b, rtol=1e-12)
    assert len(net) == (2 + 3 if order == "pre" else 2 + 2)
    assert isinstance(net[1], Residual) == (order == "pre")


@pytest.mark.parametrize("order", ["pre", "post"])
@pytest.mark.parametrize("norm", ["layernorm", "rmsnorm"])
def test_gradcheck(order, norm):
    net = norm_mlp(4, 5, 3, 2, order=order, norm=norm, activation="gelu", rng=3)
    assert isinstance(net[-2] if order == "pre" else net[1][1], (LayerNorm, RMSNorm))
    rng = np.random.default_rng(4)
    report = check_network(net, CE, rng.standard_normal((7, 4)), rng.integers(0, 3, 7))
    assert report.max_error < TOLERANCE, report


@pytest.mark.parametrize("order", ["pre", "post"])
@pytest.mark.parametrize("norm", ["layernorm", "rmsnorm"])
def test_stack_equals_the_layers_through_adam_steps(order, norm):
    nets = [norm_mlp(5, 6, 4, 3, order=order, norm=norm, rng=s) for s in range(3)]
    twins = [norm_mlp(5, 6, 4, 3, order=order, norm=norm, rng=s) for s in range(3)]
    stack = _Stack(twins, order)
    rng = np.random.default_rng(5)
    X, T = rng.standard_normal((3, 12, 5)), rng.integers(0, 4, (3, 12))
    opt, opts = Adam(LinearWarmup(0.05, 3)), [Adam(LinearWarmup(0.05, 3)) for _ in nets]
    for _ in range(4):
        values, dY = _cross_entropy(stack.forward(X), T)
        stack.backward(dY)
        for m, net in enumerate(nets):
            Y = net.forward(X[m])
            assert_allclose(values[m], CE.value(Y, T[m]), rtol=1e-12)
            net.backward(CE.grad(Y, T[m]))
            # the same gradients, parameter by parameter (the stack's own order)
            ours = np.concatenate([G[m].ravel() for G in stack.G.values()])
            theirs = np.concatenate([g.ravel() for _, _, g in net.parameters()])
            assert ours.size == theirs.size
            assert_allclose(np.sort(ours), np.sort(theirs), rtol=1e-9, atol=1e-13)
            opts[m].step(net)
        opt.step(stack.view(slice(None)))
    # after the steps, every parameter of every net in its place: stack the layers anew
    for key, P in _Stack(nets, order).P.items():
        assert_allclose(stack.P[key], P, rtol=1e-10, atol=1e-14, err_msg=key)


def test_stack_refuses_other_networks():
    post = [norm_mlp(5, 6, 4, 2, order="post", rng=s) for s in range(2)]
    with pytest.raises(ValueError, match="pre-norm nets of one shape"):
        _Stack(post, "pre")
    mixed = [norm_mlp(5, 6, 4, 2, order="post"), norm_mlp(5, 7, 4, 2, order="post")]
    with pytest.raises(ValueError, match="one shape"):
        _Stack(mixed, "post")


def test_warmup_runs_equal_the_layer_path():
    # seed 1, post-norm, with warm-up: the stacked run is the framework's run
    kw = dict(orders=("post",), depth=2, width=8, steps=5, batch_size=16)
    runs = warmup_runs([0, 1], lr=0.03, warmup_steps=3, progress=False, **kw)
    assert set(runs.loss) == {("post", False), ("post", True)}
    assert runs.loss["post", True].shape == (2, 5)
    X, T, X_test, T_test = digits()
    gen = seeded(1)
    net = norm_mlp(64, 8, 10, 2, order="post", rng=gen)
    opt, losses_ = Adam(LinearWarmup(0.03, 3)), []
    for idx in sgd_batches(len(X), 16, 5, gen):
        Y = net.forward(X[idx])
        losses_.append(CE.value(Y, T[idx]))
        net.backward(CE.grad(Y, T[idx]))
        opt.step(net)
    assert_allclose(runs.loss["post", True][1], losses_, rtol=1e-10)
    acc = np.mean(np.argmax(net.forward(X_test), axis=1) == T_test)
    assert runs.accuracy["post", True][1] == pytest.approx(acc)
    # the same network and batches without warm-up: equal before the first step only
    none, warm = runs.loss["post", False], runs.loss["post", True]
    assert_allclose(none[:, 0], warm[:, 0], rtol=1e-12)
    assert np.all(none[:, 1] != warm[:, 1])


def test_init_grad_norms():
    grad_W, grad_x = init_grad_norms("pre", [0, 1], depth=6, width=16, rows=64)
    assert grad_W.shape == grad_x.shape == (2, 6)
    assert np.all(grad_W > 0) and np.all(np.isfinite(grad_W))
    # pre-norm: the identity paths add up, so ∂E/∂x grows towards the input
    assert np.all(grad_x[:, 0] > 1.5 * grad_x[:, -1])
    # grad_W is the norm of the two branch weight gradients of each block
    net = norm_mlp(64, 16, 10, 6, order="pre", rng=1)
    X, T, _, _ = digits()
    net.backward(CE.grad(net.forward(X[:64]), T[:64]))
    lin1, lin2 = net[3].branch[1], net[3].branch[3]
    expected = np.hypot(
        np.linalg.norm(lin1.grads["W"]), np.linalg.norm(lin2.grads["W"])
    )
    assert_allclose(grad_W[1, 2], expected, rtol=1e-12)


def test_best_is_the_lowest_moving_average():
    loss = {("pre", False): np.array([[4.0, 2.0, 0.0, 6.0, 1.0]])}
    runs = WarmupRuns(loss, {}, 0.1, 2, (0,))
    assert_allclose(runs.best(2)[("pre", False)], [1.0])
    assert_allclose(runs.best(1)[("pre", False)], [0.0])


def test_inputs_are_checked():
    with pytest.raises(ValueError, match="order"):
        norm_mlp(4, 4, 2, 2, order="sandwich")
    with pytest.raises(ValueError, match="norm"):
        norm_mlp(4, 4, 2, 2, norm="batchnorm")
    with pytest.raises(ValueError, match="depth"):
        norm_mlp(4, 4, 2, 0)
    with pytest.raises(ValueError, match="seeds"):
        init_grad_norms("pre", [])
    with pytest.raises(ValueError, match="seeds"):
        warmup_runs([-1], lr=0.1, warmup_steps=3)
    with pytest.raises(ValueError, match="warmup_steps"):
        warmup_runs([0], lr=0.1, warmup_steps=1)
    with pytest.raises(ValueError, match="lr"):
        warmup_runs([0], lr=0.0, warmup_steps=3)
    with pytest.raises(ValueError, match="order"):
        warmup_runs([0], lr=0.1, warmup_steps=3, orders=("middle",))
