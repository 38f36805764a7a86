"""Tests for bookcode.optim: SGD against the update equations, clipping, penalties,
validation."""

import math
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from bookcode import optim
from bookcode.layers import Linear
from bookcode.network import mlp


class FakeLayer:
    """The smallest thing with the Layer protocol's params/grads dicts."""

    def __init__(self, **params):
        self.params = {k: np.array(v, dtype=float) for k, v in params.items()}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}


class FakeModel:
    """Sequential-like: parameters() yields (key, param, grad) with keys "i.name"."""

    def __init__(self, *layers):
        self.layers = layers

    def parameters(self):
        for i, layer in enumerate(self.layers):
            for name, p in layer.params.items():
                yield f"{i}.{name}", p, layer.grads.get(name)


def layer(seed=0, n_in=3, n_out=2):
    rng = np.random.default_rng(seed)
    lay = FakeLayer(W=rng.standard_normal((n_in, n_out)), b=rng.standard_normal(n_out))
    lay.grads = {
        "W": rng.standard_normal((n_in, n_out)),
        "b": rng.standard_normal(n_out),
    }
    return lay


# ----------------------------------------------------------- plain, momentum, penalties
def test_one_step_is_w_minus_lr_g_in_place():
    lay = layer()
    W, b = lay.params["W"], lay.params["b"]
    W0, b0 = W.copy(), b.copy()
    g_W, g_b = lay.grads["W"].copy(), lay.grads["b"].copy()
    opt = optim.SGD(lr=0.1)
    opt.step(lay)
    assert (
        lay.params["W"] is W and lay.params["b"] is b
    )  # in place: layers see the change
    assert_array_equal(W, W0 - 0.1 * g_W)
    assert_array_equal(b, b0 - 0.1 * g_b)
    assert_array_equal(lay.grads["W"], g_W)  # gradients untouched
    assert_allclose(
        opt.last_grad_norm, math.sqrt(np.sum(g_W**2) + np.sum(g_b**2)), rtol=1e-14
    )
    assert opt.last_clipped is False
    assert_allclose(
        opt.last_update_ratios["W"],
        0.1 * np.linalg.norm(g_W) / np.linalg.norm(W0),
        rtol=1e-14,
    )


def test_model_with_parameters_triples_and_zero_bias_ratio():
    a, c = layer(1), layer(2)
    c.params["b"][...] = 0.0
    W1 = c.params["W"].copy()
    opt = optim.SGD(lr=0.5)
    opt.step(FakeModel(a, c))
    assert_array_equal(c.params["W"], W1 - 0.5 * c.grads["W"])
    assert set(opt.last_update_ratios) == {"0.W", "0.b", "1.W", "1.b"}
    assert opt.last_update_ratios["1.b"] == math.inf  # ‖W‖ = 0: documented as inf


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_matches_hand_unrolled_recursion(nesterov):
    lr, mu = 0.1, 0.9
    lay = FakeLayer(W=[[1.0, -2.0]])
    W0 = lay.params["W"].copy()
    gs = [np.array([[0.5, 1.0]]), np.array([[-1.0, 2.0]]), np.array([[3.0, 0.25]])]
    opt = optim.SGD(lr, momentum=mu, nesterov=nesterov)
    for g in gs:
        lay.grads["W"] = g
        opt.step(lay)
    v1 = gs[0]
    v2 = mu * gs[0] + gs[1]
    v3 = mu**2 * gs[0] + mu * gs[1] + gs[2]
    if nesterov:
        d = [gs[0] + mu * v1, gs[1] + mu * v2, gs[2] + mu * v3]
    else:
        d = [v1, v2, v3]
    assert_allclose(lay.params["W"], W0 - lr * (d[0] + d[1] + d[2]), rtol=1e-14)
    assert_allclose(opt.velocity["W"], v3, rtol=1e-14)


def test_l2_step_is_weight_decay_and_skips_bias():
    lr, lam = 0.1, 0.01
    lay = layer(3)
    W0, b0 = lay.params["W"].copy(), lay.params["b"].copy()
    optim.SGD(lr, l2=lam).step(lay)
    assert_allclose(
        lay.params["W"], (1 - lr * lam) * W0 - lr * lay.grads["W"], rtol=1e-14
    )
    assert_array_equal(lay.params["b"], b0 - lr * lay.grads["b"])


def test_l1_step_uses_subgradient_zero_at_zero():
    lr, lam = 0.1, 0.5
    lay = FakeLayer(W=[[2.0, -3.0, 0.0]], gamma=[1.0])
    lay.grads = {"W": np.array([[0.1, 0.2, 0.3]]), "gamma": np.array([0.4])}
    optim.SGD(lr, l1=lam).step(lay)
    assert_allclose(
        lay.params["W"],
        [[2.0 - lr * (0.1 + lam), -3.0 - lr * (0.2 - lam), -lr * 0.3]],
        rtol=1e-14,
    )
    assert_allclose(
        lay.params["gamma"], [1.0 - lr * 0.4], rtol=1e-14
    )  # not in decay=("W",)


def test_decay_parameter_selects_names():
    lay = FakeLayer(W=[1.0], b=[1.0])
    lay.grads = {"W": np.array([0.0]), "b": np.array([0.0])}
    optim.SGD(1.0, l2=0.5, decay="b").step(lay)
    assert_allclose(lay.params["W"], [1.0])
    assert_allclose(lay.params["b"], [0.5])


def test_sgd_converges_on_convex_quadratic_and_diverges_above_2_over_L():
    """E(w) = ½ wᵀAw − bᵀw, ∇E = Aw − b, L = λ_max(A): monotone decrease iff η < 2/L."""
    rng = np.random.default_rng(4)
    Q = np.linalg.qr(rng.standard_normal((4, 4)))[0]
    A = Q @ np.diag([0.5, 1.0, 2.0, 4.0]) @ Q.T
    b = rng.standard_normal(4)
    w_star = np.linalg.solve(A, b)
    L = 4.0

    def run(lr, steps):
        lay = FakeLayer(w=np.zeros(4))
        w, losses, opt = lay.params["w"], [], optim.SGD(lr)
        for _ in range(steps):
            losses.append(0.5 * w @ A @ w - b @ w)
            lay.grads["w"] = A @ w - b
            opt.step(lay)
        return w, np.array(losses)

    w, losses = run(1.9 / L, 400)
    assert np.all(
        np.diff(losses[:100]) < 0
    )  # later steps sit at the round-off floor of E*
    assert_allclose(losses[-1], -0.5 * b @ w_star, rtol=1e-12)
    assert_allclose(w, w_star, rtol=1e-8)
    _, losses = run(2.1 / L, 60)
    assert losses[-1] > losses[0]


def test_step_on_real_linear_layer_and_sequential():
    rng = np.random.default_rng(10)
    lin = Linear(3, 2, init="he_normal", rng=0)
    X, dY = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    W0, b0 = lin.W.copy(), lin.b.copy()
    lin.forward(X)
    lin.backward(dY)
    optim.SGD(0.05).step(lin)
    assert_allclose(lin.W, W0 - 0.05 * X.T @ dY, rtol=1e-14)
    assert_allclose(lin.b, b0 - 0.05 * dY.sum(axis=0), rtol=1e-14)

    net = mlp([3, 4, 2], activation="tanh", init="xavier_uniform", rng=1)
    net.forward(X)
    net.backward(dY)
    expected = {k: p - 0.05 * g for k, p, g in net.parameters()}
    opt = optim.SGD(0.05)
    opt.step(net)
    assert set(opt.last_update_ratios) == {"0.W", "0.b", "2.W", "2.b"}
    for k, p, _ in net.parameters():
        assert_allclose(p, expected[k], rtol=1e-14)
    assert_allclose(
        net.layers[2].W, expected["2.W"], rtol=1e-14
    )  # the layer sees the in-place update


# ------------------------------------------------------------------ clipping
def test_clip_by_global_norm_uses_global_norm_and_keeps_direction():
    g1, g2 = np.array([3.0, 4.0]), np.array([[0.0, 12.0]])  # norms 5 and 12, global 13
    originals = [g1.copy(), g2.copy()]
    clipped, norm = optim.clip_by_global_norm([g1, g2], 6.5)
    assert_allclose(norm, 13.0, rtol=1e-15)
    # one common factor 6.5/13 = 1/2; per-tensor clipping would leave g1 (norm 5 < 6.5)
    # alone
    assert_allclose(clipped[0], [1.5, 2.0], rtol=1e-15)
    assert_allclose(clipped[1], [[0.0, 6.0]], rtol=1e-15)
    flat_before, flat_after = (
        np.concatenate([g1, g2.ravel()]),
        np.concatenate([c.ravel() for c in clipped]),
    )
    cosine = (
        flat_before
        @ flat_after
        / (np.linalg.norm(flat_before) * np.linalg.norm(flat_after))
    )
    assert_allclose(cosine, 1.0, rtol=1e-15)
    assert_allclose(np.linalg.norm(flat_after), 6.5, rtol=1e-15)
    assert_array_equal(g1, originals[0])
    assert_array_equal(g2, originals[1])
    assert clipped[0] is not g1


def test_clip_by_global_norm_identity_below_threshold_returns_copies():
    g = [np.array([0.3, -0.4])]
    clipped, norm = optim.clip_by_global_norm(g, 1.0)
    assert_allclose(norm, 0.5, rtol=1e-15)
    assert_array_equal(clipped[0], g[0])
    assert clipped[0] is not g[0]


def test_global_norm_does_not_overflow():
    big = [np.full(4, 1e300), np.array([1e300])]
    assert_allclose(optim.global_norm(big), 1e300 * math.sqrt(5.0), rtol=1e-14)
    assert optim.global_norm([]) == 0.0
    assert math.isnan(optim.global_norm([np.array([np.nan, 1.0])]))


def test_clip_by_value_bounds_and_no_mutation():
    g = np.array([[-5.0, 0.2], [3.0, -0.1]])
    g0 = g.copy()
    (c,) = optim.clip_by_value([g], 1.0)
    assert_array_equal(c, np.minimum(np.maximum(g0, -1.0), 1.0))
    assert np.all(np.abs(c) <= 1.0)
    assert_array_equal(g, g0)
    (c32,) = optim.clip_by_value([g.astype(np.float32)], 1.0)
    assert c32.dtype == np.float32


def test_sgd_clip_norm_over_all_parameters():
    a, c = layer(5), layer(6)
    g_all = [a.grads["W"], a.grads["b"], c.grads["W"], c.grads["b"]]
    norm = math.sqrt(sum(np.sum(g**2) for g in g_all))
    W0 = a.params["W"].copy()
    opt = optim.SGD(0.1, clip_norm=norm / 4)
    opt.step(FakeModel(a, c))
    assert opt.last_clipped is True
    assert_allclose(opt.last_grad_norm, norm, rtol=1e-14)
    assert_allclose(a.params["W"], W0 - 0.1 * a.grads["W"] / 4, rtol=1e-14)


def test_sgd_clip_value():
    lay = FakeLayer(W=[0.0, 0.0])
    lay.grads["W"] = np.array([10.0, -0.5])
    opt = optim.SGD(1.0, clip_value=1.0)
    opt.step(lay)
    assert_allclose(lay.params["W"], [-1.0, 0.5])
    assert opt.last_clipped is True


# ------------------------------------------------------------------ penalties
def finite_diff(f, params, key, eps=1e-6):
    out = np.zeros_like(params[key])
    for idx in np.ndindex(params[key].shape):
        plus = {k: v.copy() for k, v in params.items()}
        minus = {k: v.copy() for k, v in params.items()}
        plus[key][idx] += eps
        minus[key][idx] -= eps
        out[idx] = (f(plus) - f(minus)) / (2 * eps)
    return out


@pytest.mark.parametrize(
    "value, grad",
    [
        (optim.l2_penalty, optim.l2_penalty_grad),
        (optim.l1_penalty, optim.l1_penalty_grad),
    ],
)
def test_penalty_gradients_match_finite_differences(value, grad):
    rng = np.random.default_rng(7)
    params = {
        "0.W": rng.uniform(0.1, 1, (3, 2)) * rng.choice([-1, 1], (3, 2)),
        "0.b": rng.standard_normal(2),
        "1.W": rng.uniform(0.1, 1, (2, 2)) * rng.choice([-1, 1], (2, 2)),
    }  # |W| ≥ 0.1 > eps for L1
    lam = 0.3
    analytic = grad(params, lam)
    for key in params:
        numeric = finite_diff(lambda p: value(p, lam), params, key)
        if key.endswith(".b"):
            assert_array_equal(analytic[key], 0.0)
            assert_allclose(numeric, 0.0, atol=1e-12)
        else:
            rel = np.abs(analytic[key] - numeric) / np.maximum(
                np.abs(analytic[key]) + np.abs(numeric), 1e-12
            )
            assert np.max(rel) < 1e-7


def test_penalty_values_against_definitions_and_a_layer():
    lay = FakeLayer(W=[[1.0, -2.0], [0.0, 3.0]], b=[5.0, 5.0])
    assert_allclose(optim.l2_penalty(lay, 0.2), 0.5 * 0.2 * 14.0)
    assert_allclose(optim.l1_penalty(lay, 0.2), 0.2 * 6.0)
    assert_allclose(optim.l2_penalty(lay, 0.2, decay=("W", "b")), 0.5 * 0.2 * 64.0)
    assert_array_equal(optim.l1_penalty_grad(lay, 2.0)["W"], [[2.0, -2.0], [0.0, 2.0]])


# ------------------------------------------------------------ non-finite and bad inputs
def test_nonfinite_gradient_raises_naming_key_and_changes_nothing():
    a, c = layer(8), layer(9)
    c.grads["W"][0, 0] = np.nan
    before = [a.params["W"].copy(), c.params["W"].copy()]
    with pytest.raises(
        ValueError,
        match=r"gradient of '1\.W' contains NaN/inf — see bookcode\.diagnostics",
    ):
        optim.SGD(0.1).step(FakeModel(a, c))
    assert_array_equal(a.params["W"], before[0])
    assert_array_equal(c.params["W"], before[1])


def test_allow_nonfinite_lets_divergence_reach_nan_without_warnings():
    lay = FakeLayer(W=[1.0, 2.0])
    lay.grads["W"] = np.array([np.inf, 1.0])
    opt = optim.SGD(0.1, momentum=0.5, clip_norm=1.0, allow_nonfinite=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow/invalid RuntimeWarnings either
        opt.step(lay)
        assert lay.params["W"][0] == -np.inf
        lay.grads["W"] = np.array(
            [-np.inf, 1.0]
        )  # μ·inf + (−inf) in the momentum buffer → NaN
        opt.step(lay)
    assert (
        math.isinf(opt.last_grad_norm) and not opt.last_clipped
    )  # clipping cannot rescue inf
    assert np.isnan(lay.params["W"][0]) and np.isnan(opt.velocity["W"][0])
    assert_allclose(lay.params["W"][1], 2.0 - 0.1 * 1.0 - 0.1 * (0.5 * 1.0 + 1.0))


def test_overflowing_update_raises_and_changes_nothing():
    lay = FakeLayer(W=[1.0])
    lay.grads["W"] = np.array([1e300])
    with pytest.raises(ValueError, match=r"update of 'W' overflowed to NaN/inf"):
        optim.SGD(1e10).step(lay)
    assert_array_equal(lay.params["W"], [1.0])


def test_float32_parameters_keep_dtype():
    lay = FakeLayer(W=[1.0, 2.0])
    lay.params["W"] = lay.params["W"].astype(np.float32)
    lay.grads["W"] = np.array([0.5, 0.5], dtype=np.float32)
    optim.SGD(0.5, momentum=0.9).step(lay)
    assert lay.params["W"].dtype == np.float32
    assert_allclose(lay.params["W"], [0.75, 1.75])


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(lr=0.0), ValueError, "lr must be a finite number > 0"),
        (dict(lr=float("nan")), ValueError, "lr must be a finite number > 0"),
        (dict(lr="0.1"), TypeError, "lr must be a real number"),
        (dict(lr=0.1, momentum=1.0), ValueError, r"momentum must be in \[0, 1\)"),
        (dict(lr=0.1, momentum=-0.1), ValueError, r"momentum must be in \[0, 1\)"),
        (dict(lr=0.1, momentum=True), TypeError, "momentum must be a real number"),
        (dict(lr=0.1, nesterov=True), ValueError, "nesterov=True needs momentum > 0"),
        (
            dict(lr=0.1, clip_value=0.0),
            ValueError,
            "clip_value must be a finite number > 0",
        ),
        (
            dict(lr=0.1, clip_norm=-1.0),
            ValueError,
            "clip_norm must be a finite number > 0",
        ),
        (dict(lr=0.1, l2=-1e-4), ValueError, "l2 must be a finite number >= 0"),
        (dict(lr=0.1, l1=float("inf")), ValueError, "l1 must be a finite number >= 0"),
        (dict(lr=0.1, decay=("W", 1)), TypeError, "decay must contain parameter names"),
        (dict(lr=0.1, allow_nonfinite=1), TypeError, "must be bool"),
    ],
)
def test_sgd_constructor_validation(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        optim.SGD(**kwargs)


def test_lr_setter_validates_and_repr():
    opt = optim.SGD(0.1, momentum=0.9, nesterov=True, clip_norm=1.0)
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        opt.lr = -1.0
    assert repr(opt) == "SGD(lr=0.1, momentum=0.9, nesterov=True, clip_norm=1.0)"
    assert repr(optim.SGD(0.01)) == "SGD(lr=0.01)"


def test_step_bad_models_and_gradients():
    opt = optim.SGD(0.1)
    with pytest.raises(TypeError, match="expected a model with parameters"):
        opt.step(object())
    lay = FakeLayer(W=[1.0, 2.0])
    del lay.grads["W"]
    with pytest.raises(ValueError, match="no gradient for 'W'; call backward"):
        opt.step(lay)
    lay.grads["W"] = np.zeros(3)
    with pytest.raises(
        ValueError, match=r"gradient of 'W' has shape \(3,\), parameter has \(2,\)"
    ):
        opt.step(lay)
    lay.params["W"] = [1.0, 2.0]
    with pytest.raises(TypeError, match="parameter 'W' must be a float numpy array"):
        opt.step(lay)
    dup = FakeModel(layer(), layer())
    dup.parameters = lambda: iter([("W", np.zeros(1), np.zeros(1))] * 2)
    with pytest.raises(ValueError, match="duplicate parameter key 'W'"):
        opt.step(dup)
    mom = optim.SGD(0.1, momentum=0.5)
    mom.step(FakeLayer(W=[1.0]))
    with pytest.raises(ValueError, match="call reset"):
        mom.step(FakeLayer(W=[1.0, 2.0]))


def test_pure_function_bad_inputs():
    with pytest.raises(TypeError, match="single array; wrap it"):
        optim.global_norm(np.ones(3))
    with pytest.raises(TypeError, match="expected a list of gradient arrays"):
        optim.clip_by_value(3.0, 1.0)
    with pytest.raises(ValueError, match="clip must be a finite number > 0"):
        optim.clip_by_value([np.ones(2)], 0.0)
    with pytest.raises(ValueError, match="max_norm must be a finite number > 0"):
        optim.clip_by_global_norm([np.ones(2)], -1.0)
    with pytest.raises(ValueError, match=r"grads\[1\] must be finite"):
        optim.clip_by_global_norm([np.ones(2), np.array([np.nan])], 1.0)
    with pytest.raises(TypeError, match="array of real numbers"):
        optim.clip_by_value([np.array(["a"])], 1.0)
    with pytest.raises(ValueError, match="lam must be a finite number >= 0"):
        optim.l2_penalty({"W": np.ones(2)}, -0.1)
    with pytest.raises(TypeError, match="expected a model with parameters"):
        optim.l1_penalty([np.ones(2)], 0.1)
    with pytest.raises(TypeError, match="decay must be a parameter name"):
        optim.l1_penalty_grad({"W": np.ones(2)}, 0.1, decay=3)


def test_a_schedule_is_the_same_as_setting_lr_before_each_step():
    from bookcode import network

    def run(opt, lrs=None):
        net = network.mlp([4, 5, 3], activation="tanh", rng=0)
        X = np.random.default_rng(0).normal(size=(6, 4))
        for t in range(1, 7):
            if lrs is not None:
                opt.lr = lrs(t)
            net.backward(net.forward(X) - 1.0)
            opt.step(net)
        return [p.copy() for _, p, _ in net.parameters()]

    sched = optim.LinearWarmup(0.1, 4)
    a = run(optim.SGD(sched, momentum=0.9))
    b = run(optim.SGD(0.1, momentum=0.9), lrs=sched)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    opt = optim.SGD(sched)
    assert opt.lr_at(2) == 0.05 and repr(opt).startswith("SGD(lr=LinearWarmup(")


def test_recurrent_weights_decay_by_default():
    """W_x and W_h of a recurrent layer are weights: L2 and AdamW decay them, not b."""
    from bookcode.adam import AdamW
    from bookcode.optim import WEIGHTS, l2_penalty_grad
    from bookcode.recurrent import RNN

    rnn = RNN(2, 3, rng=0)
    grads = l2_penalty_grad(rnn.params, 0.5)
    assert set(WEIGHTS) >= {"W_x", "W_h"}
    for key in ("W_x", "W_h"):
        np.testing.assert_allclose(grads[key], 0.5 * rnn.params[key])
    assert "b" not in grads or not np.any(grads["b"])
    W_h = rnn.params["W_h"].copy()
    rnn.zero_grad()
    AdamW(lr=0.1, weight_decay=0.5).step(rnn)  # zero gradient: only the decay acts
    np.testing.assert_allclose(rnn.params["W_h"], W_h * (1 - 0.1 * 0.5))
