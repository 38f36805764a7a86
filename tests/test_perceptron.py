"""Tests of bookcode.experiments.perceptron against the math: hand-computed updates,
finite differences, the Layer protocol, least squares and Novikoff's theorem."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from bookcode import data, gradcheck
from bookcode.experiments import perceptron as P


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


# --------------------------------------------------------------------------- perceptron
def test_step_is_heaviside_with_step0_equal_0_and_keeps_nan_and_dtype():
    x = np.array([-2.0, -1e-300, 0.0, 1e-300, 3.0, np.nan])
    out = P.step(x)
    assert_array_equal(out[:5], [0, 0, 0, 1, 1])
    assert np.isnan(out[5])
    assert P.step(np.float32([1, -1])).dtype == np.float32
    assert P.step([1, 0]).dtype == np.float64


def test_perceptron_first_updates_by_hand():
    X = np.array([[1.0, 2.0], [-1.0, 0.5], [2.0, -1.0]])
    y = np.array([1, 0, 0])
    run = P.perceptron_fit(X, y, lr=0.5, epochs=1, trace=True)
    # example 0: net 0 -> y 0, t 1: w = 0.5 (1, 2), b = 0.5
    # example 1: net = -0.5 + 0.5 + 0.5 = 0.5 > 0 -> y 1, t 0: w -= 0.5 (-1, 0.5) -> (1,
    # 0.75), b = 0 example 2: net = 2 - 0.75 + 0 = 1.25 > 0 -> y 1, t 0: w -= 0.5 (2,
    # -1) -> (0, 1.25), b = -0.5
    assert_allclose(run.trace_W, [[0, 0], [0.5, 1.0], [1.0, 0.75], [0.0, 1.25]])
    assert_allclose(run.trace_b, [0, 0.5, 0.0, -0.5])
    assert_array_equal(run.mistakes, [3])
    assert_allclose(run.W[-1], [0.0, 1.25])
    # errors of the final weights, computed independently
    assert run.errors[-1] == np.sum((X @ np.array([0.0, 1.25]) - 0.5 > 0) != y)
    assert (
        run.errors[0] == 1
    )  # w = 0, b = 0 predicts 0 everywhere: only the class-1 point is wrong


def test_perceptron_converges_within_novikoff_bound_for_any_order_and_lr():
    X, y, w, b = data.linearly_separable(60, margin=0.3, rng=2, return_hyperplane=True)
    nb = P.novikoff_bound(X, y, w, b)
    Xa = np.column_stack([np.ones(len(X)), X])
    u = np.r_[b, w] / np.linalg.norm(np.r_[b, w])
    assert_allclose(nb.gamma, np.min((2 * y - 1) * (Xa @ u)))
    assert_allclose(nb.R, np.max(np.linalg.norm(Xa, axis=1)))
    for seed in range(5):
        run = P.perceptron_fit(X, y, lr=1.0, epochs=500, rng=seed)
        assert run.converged and run.errors[-1] == 0 and run.mistakes[-1] == 0
        assert run.total_mistakes <= nb.bound
        assert_array_equal(run.predict(X), y)
        slow = P.perceptron_fit(
            X, y, lr=0.01, epochs=500, rng=seed
        )  # w0 = 0: lr only scales w
        assert_array_equal(slow.mistakes, run.mistakes)
        assert_allclose(slow.W, 0.01 * run.W, rtol=1e-9, atol=1e-12)


def test_perceptron_never_converges_on_xor_and_cycles():
    X, y = data.xor()
    run = P.perceptron_fit(X, y, epochs=50, trace=True)
    assert not run.converged and run.mistakes.min() >= 1 and run.errors.min() >= 1
    states = np.column_stack([run.trace_W, run.trace_b])
    assert_array_equal(
        states[9:], states[5:-4]
    )  # period: one epoch (4 examples), from the 5th update on
    assert not np.array_equal(states[8], states[4])
    shuffled = P.perceptron_fit(X, y, epochs=300, rng=0)
    assert shuffled.mistakes.min() >= 1 and np.abs(shuffled.W).max() <= 3


def test_bias_as_augmented_input_gives_the_same_run():
    X, y = data.linearly_separable(40, margin=0.2, rng=4)
    run = P.perceptron_fit(X, y, epochs=100, rng=1)
    aug = P.perceptron_fit(
        np.column_stack([np.ones(40), X]), y, epochs=100, rng=1, bias=False
    )
    assert_array_equal(aug.mistakes, run.mistakes)
    assert_allclose(aug.W, np.column_stack([run.b, run.W]), rtol=1e-12, atol=1e-12)
    assert np.all(aug.b == 0)


def test_perceptron_criterion_and_its_gradient_is_the_update():
    X = np.array([[1.0, 2.0], [0.5, -1.0], [-2.0, 0.5]])
    y = np.array([1, 0, 1])
    w, b = np.array([0.3, -0.4]), 0.1
    net = (
        X @ w + b
    )  # -0.4, 0.65, -0.7: first and third wrong for class 1, second wrong for class 0
    assert_allclose(P.perceptron_criterion(w, b, X, y), 0.4 + 0.65 + 0.7)
    # on a single misclassified example the perceptron update is minus lr times the
    # criterion's gradient
    for n in range(3):
        g = gradcheck.numerical_gradient(
            lambda v: P.perceptron_criterion(v[1:], v[0], X[n : n + 1], y[n : n + 1]),
            np.r_[b, w],
        )
        run = P.perceptron_fit(X[n : n + 1], y[n : n + 1], lr=0.7, epochs=1, w0=w, b0=b)
        assert_allclose(np.r_[run.b[1], run.W[1]] - np.r_[b, w], -0.7 * g, atol=1e-8)
    assert net[0] < 0 < net[1]


def test_novikoff_bound_without_bias_and_rejects_non_separating():
    X = np.array([[1.0, 1.0], [-1.0, -2.0]])
    y = np.array([1, 0])
    nb = P.novikoff_bound(X, y, [1.0, 0.0], bias=False)
    assert_allclose(nb, (np.sqrt(5), 1.0, 5.0))
    with pytest.raises(ValueError, match="does not separate"):
        P.novikoff_bound(X, y, [-1.0, 0.0])
    with pytest.raises(ValueError, match="b must be 0"):
        P.novikoff_bound(X, y, [1.0, 0.0], 0.5, bias=False)
    with pytest.raises(ValueError, match="must not be zero"):
        P.novikoff_bound(X, y, [0.0, 0.0], 0.0)


# --------------------------------------------------------------------------- Delta rule
def _setup(n_out=2, seed=0, N=6):
    rng = np.random.default_rng(seed)
    return (
        rng.standard_normal((3, n_out)),
        rng.standard_normal(n_out),
        rng.standard_normal((N, 3)),
        rng.uniform(0, 1, (N, n_out)),
    )


@pytest.mark.parametrize("f", ["identity", "sigmoid", "tanh", "softplus"])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_delta_rule_gradient_matches_finite_differences(f, reduction):
    W, b, X, T = _setup()
    dW, db, E = P.delta_rule_gradient(W, b, X, T, f, reduction)

    def loss(W_, b_):
        return P.delta_rule_gradient(W_, b_, X, T, f, reduction)[2]

    assert (
        gradcheck.rel_error(
            dW, gradcheck.numerical_gradient(lambda v: loss(v, b), W.copy())
        )
        < 1e-7
    )
    assert (
        gradcheck.rel_error(
            db, gradcheck.numerical_gradient(lambda v: loss(W, v), b.copy())
        )
        < 1e-7
    )


def test_delta_rule_gradient_formula_and_loss_value():
    W, b, X, T = _setup()
    net = X @ W + b
    Y = sigmoid(net)
    dW, db, E = P.delta_rule_gradient(W, b, X, T, "sigmoid")
    note_delta = (T - Y) * Y * (1 - Y)  # the textbook learning signal, sign folded in
    assert_allclose(dW, -X.T @ note_delta / 6, rtol=1e-12)
    assert_allclose(db, -note_delta.sum(axis=0) / 6, rtol=1e-12)
    assert_allclose(E, 0.5 * np.sum((T - Y) ** 2) / 6, rtol=1e-12)


def test_delta_rule_gradient_agrees_with_the_layer_protocol():
    W, b, X, T = _setup(seed=3)
    net = P.as_network(W, b, "tanh")
    report = gradcheck.check_network(
        net, "half_sse", X, T
    )  # half_sse sums, like reduction="sum"
    assert report.passed, report
    dW, db, _ = P.delta_rule_gradient(W, b, X, T, "tanh", "sum")
    assert_allclose(net.grads["0.W"], dW, rtol=1e-12)
    assert_allclose(net.grads["0.b"], db, rtol=1e-12)
    assert repr(net.layers[0]) == "Linear(3, 2)"
    assert "bias=False" in repr(P.as_network(W, None).layers[0])


def test_vector_weights_scalar_bias_and_no_bias():
    W, b, X, T = _setup(n_out=1)
    dW, db, E = P.delta_rule_gradient(W, b, X, T, "sigmoid")
    dw, dbs, e = P.delta_rule_gradient(W[:, 0], float(b[0]), X, T[:, 0], "sigmoid")
    assert dw.shape == (3,) and isinstance(dbs, float)
    assert_allclose(dw, dW[:, 0])
    assert_allclose(dbs, db[0])
    assert_allclose(e, E)
    dW0, db0, _ = P.delta_rule_gradient(W, None, X, T, "sigmoid")
    assert db0 is None
    assert_allclose(dW0, P.delta_rule_gradient(W, np.zeros(1), X, T, "sigmoid")[0])


def test_delta_rule_step_is_pure_and_descends():
    W, b, X, T = _setup()
    W_before, b_before = W.copy(), b.copy()
    W1, b1 = P.delta_rule_step(W, b, X, T, 0.1, "sigmoid")
    assert_array_equal(W, W_before)
    assert_array_equal(b, b_before)
    dW, db, E = P.delta_rule_gradient(W, b, X, T, "sigmoid")
    assert_allclose(W1, W - 0.1 * dW)
    assert_allclose(b1, b - 0.1 * db)
    assert P.delta_rule_gradient(W1, b1, X, T, "sigmoid")[2] < E


def test_lms_converges_to_least_squares_below_the_bound_and_diverges_above():
    X, y = data.linearly_separable(80, margin=0.5, rng=1)
    T = 2.0 * y - 1
    Xa = np.column_stack([np.ones(80), X])
    H = Xa.T @ Xa / 80
    bound = P.lms_stable_lr(X)
    assert_allclose(bound, 2 / np.linalg.eigvalsh(H).max())
    assert_allclose(P.lms_stable_lr(X, reduction="sum"), bound / 80)
    assert_allclose(
        P.lms_stable_lr(X, bias=False), 2 / np.linalg.eigvalsh(X.T @ X / 80).max()
    )
    sol = np.linalg.lstsq(Xa, T, rcond=None)[0]
    ok = P.delta_rule_fit(X, T, "identity", 0.95 * bound, 2000, classify_at=0.0)
    assert not ok.diverged and np.all(np.diff(ok.loss) <= 1e-15)
    assert_allclose(np.r_[ok.b[-1], ok.W[-1]], sol, atol=1e-8)
    assert ok.errors[-1] == np.sum((Xa @ sol > 0) != y)
    bad = P.delta_rule_fit(X, T, "identity", 1.05 * bound, 2000)
    assert bad.diverged and bad.epochs_run < 2000 and np.all(np.isfinite(bad.loss))
    assert "diverged" in repr(bad) and "loss" in repr(ok)


def test_delta_rule_fit_history_mean_vs_sum_and_minibatches():
    X, y = data.linearly_separable(50, margin=0.5, rng=0)
    run = P.delta_rule_fit(X, y, "sigmoid", lr=0.5, epochs=3)
    W, b = np.zeros(2), 0.0
    for e in range(3):
        W, b = P.delta_rule_step(W, b, X, y, 0.5, "sigmoid")
        assert_allclose(run.W[e + 1], W)
        assert_allclose(run.b[e + 1], b)
    assert_allclose(run.loss[0], 0.5 * 0.25)  # y = 1/2 everywhere at w = 0
    assert_allclose(run.predict(X), sigmoid(X @ W + b))
    # the summed loss with lr / N takes exactly the same steps
    summed = P.delta_rule_fit(X, y, "sigmoid", lr=0.5 / 50, epochs=3, reduction="sum")
    assert_allclose(summed.W, run.W, rtol=1e-12)
    assert_allclose(summed.loss, 50 * run.loss, rtol=1e-12)
    online = P.delta_rule_fit(X, y, "sigmoid", lr=0.1, epochs=2, batch_size=1, rng=0)
    W, b = np.zeros(2), 0.0
    for idx in data.minibatches(50, 1, np.random.default_rng(0)):
        W, b = P.delta_rule_step(W, b, X[idx], y[idx], 0.1, "sigmoid")
    assert_allclose(online.W[1], W)
    nobias = P.delta_rule_fit(X, y, "sigmoid", epochs=2, bias=False)
    assert nobias.b is None and nobias.W.shape == (3, 2)


def test_delta_rule_on_xor_gives_one_half_everywhere():
    X, y = data.xor()
    run = P.delta_rule_fit(X, y, "identity", lr=0.5, epochs=300)
    assert_allclose(run.W[-1], [0, 0], atol=1e-10)
    assert_allclose(run.b[-1], 0.5, atol=1e-10)
    assert_allclose(run.loss[-1], 0.125, atol=1e-12)


# ----------------------- the fast loops give exactly the straightforward loops' numbers
def reference_perceptron(
    X, y, lr, epochs, rng=None, w0=None, b0=0.0, bias=True, stop_when_converged=True
):
    """perceptron_fit as first written: NumPy per example (the fast version must match
    it bit for bit)."""
    X, t = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    gen = None if rng is None else np.random.default_rng(rng)
    w = np.zeros(X.shape[1]) if w0 is None else np.array(w0, dtype=float)
    b = float(b0) if bias else 0.0
    Ws, bs, mistakes, errors, tW = (
        [w.copy()],
        [b],
        [],
        [int(np.sum((X @ w + b > 0) != t))],
        [w.copy()],
    )
    for _ in range(epochs):
        m = 0
        for n in range(len(X)) if gen is None else gen.permutation(len(X)):
            err = t[n] - (1.0 if X[n] @ w + b > 0 else 0.0)
            if err != 0.0:
                w = w + (lr * err) * X[n]
                b = b + lr * err if bias else b
                m += 1
            tW.append(w)
        (
            Ws.append(w),
            bs.append(b),
            mistakes.append(m),
            errors.append(int(np.sum((X @ w + b > 0) != t))),
        )
        if m == 0 and stop_when_converged:
            break
    return (
        np.array(Ws),
        np.array(bs),
        np.array(mistakes),
        np.array(errors),
        np.array(tW),
    )


def reference_delta_rule(X, T, f, lr, epochs, max_norm=1e6, reduction="mean"):
    """delta_rule_fit (full batch) as first written: delta_rule_step, then the loss and
    errors of the new weights."""
    f = P._f(f, "test")
    W, b, Ws, losses = np.zeros(X.shape[1:]), 0.0, [], []
    for e in range(epochs + 1):
        if e:
            W, b = P.delta_rule_step(W, b, X, T, lr, f, reduction)
            if not np.linalg.norm(W) <= max_norm:
                break
        Y = f(X @ W + b)
        (
            Ws.append(W),
            losses.append(
                0.5 * np.sum((T - Y) ** 2) / (len(X) if reduction == "mean" else 1)
            ),
        )
    return np.array(Ws), np.array(losses)


@pytest.mark.parametrize("case", range(40))
def test_perceptron_fit_is_bit_identical_to_the_numpy_loop(case):
    g = np.random.default_rng(case)
    N, d = int(g.integers(1, 30)), int(g.integers(1, 6))
    if (
        case % 4 == 0
        # small integers and lr = 1: many net inputs exactly 0, decided by the NumPy
        # fallback
    ):
        X, lr = g.integers(-2, 3, (N, d)).astype(float), 1.0
    else:
        X, lr = (
            g.standard_normal((N, d)) * 10.0 ** float(g.integers(-100, 100)),
            float(g.choice([1e-3, 0.37, 1.0])),
        )
    y = g.integers(0, 2, N)
    kw = dict(
        rng=None if case % 3 == 0 else case,
        bias=bool(case % 5),
        stop_when_converged=bool(case % 2),
        w0=g.standard_normal(d) if case % 6 == 1 else None,
    )
    run = P.perceptron_fit(X, y, lr, 30, trace=True, **kw)
    W, b, mistakes, errors, tW = reference_perceptron(X, y, lr, 30, **kw)
    for got, want in (
        (run.W, W),
        (run.b, b),
        (run.mistakes, mistakes),
        (run.errors, errors),
        (run.trace_W, tW),
    ):
        assert (
            got.shape == want.shape
            and got.tobytes() == want.astype(got.dtype).tobytes()
        )


def test_perceptron_and_delta_rule_are_bit_identical_on_the_chapter_noisy_set():
    X, y = data.linearly_separable(100, margin=0.3, rng=3)
    y[np.random.default_rng(11).choice(100, size=10, replace=False)] ^= (
        1  # as in chapters/02_perceptron_delta
    )
    for lr in (0.01, 0.1, 4.0):
        run = P.perceptron_fit(X, y, lr=lr, epochs=60, rng=0, stop_when_converged=False)
        W, b, mistakes, errors, _ = reference_perceptron(
            X, y, lr, 60, rng=0, stop_when_converged=False
        )
        assert (
            np.array_equal(run.W, W)
            and np.array_equal(run.b, b)
            and np.array_equal(run.errors, errors)
        )
        for f, T in (("sigmoid", y.astype(float)), ("identity", 2.0 * y - 1)):
            fit = P.delta_rule_fit(
                X, T, f, lr, 60, classify_at=0.5 if f == "sigmoid" else 0.0
            )
            W, loss = reference_delta_rule(X, T, f, lr, 60)
            assert np.array_equal(fit.W, W) and np.array_equal(fit.loss, loss)


# ---------------------------------------------------------------------------- bad input
def test_bad_inputs():
    X, y = data.xor()
    with pytest.raises(ValueError, match="0/1 labels"):
        P.perceptron_fit(X, 2 * y - 1)
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        P.perceptron_fit(X, y[:3])
    with pytest.raises(ValueError, match="lr must be"):
        P.perceptron_fit(X, y, lr=0)
    with pytest.raises(TypeError, match="epochs must be an integer"):
        P.perceptron_fit(X, y, epochs=2.5)
    with pytest.raises(TypeError, match="bias must be True or False"):
        P.perceptron_fit(X, y, bias=1)
    with pytest.raises(ValueError, match="expected w of shape"):
        P.perceptron_fit(X, y, w0=[1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="seed"):
        P.perceptron_fit(X, y, rng="0")
    with pytest.raises(ValueError, match="2-D batch"):
        P.perceptron_predict([1.0, 2.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="finite"):
        P.perceptron_criterion([np.nan, 1.0], 0.0, X, y)
    W, b, Xd, T = _setup()
    with pytest.raises(ValueError, match="expected T of shape"):
        P.delta_rule_gradient(W, b, Xd, T[:, 0])
    with pytest.raises(ValueError, match="expected W of shape"):
        P.delta_rule_gradient(W.T, b, Xd, T)
    with pytest.raises(ValueError, match="one per output"):
        P.delta_rule_gradient(W, np.zeros(3), Xd, T)
    with pytest.raises(ValueError, match="unknown reduction"):
        P.delta_rule_gradient(W, b, Xd, T, reduction="avg")
    with pytest.raises(TypeError, match="element-wise activation"):
        P.delta_rule_gradient(W, b, Xd, T, f="softmax")
    with pytest.raises(TypeError, match="element-wise activation"):
        P.delta_rule_gradient(W, b, Xd, T, f=np.tanh)
    with pytest.raises(ValueError, match="unknown activation"):
        P.delta_rule_fit(Xd, T, f="step")
    with pytest.raises(TypeError, match="batch_size given"):
        P.delta_rule_fit(Xd, T, batch_size=2)
    with pytest.raises(ValueError, match="max_norm must be"):
        P.delta_rule_fit(Xd, T, max_norm=-1.0)
    with pytest.raises(ValueError, match=r"shape \(N,\) or \(N, n_out\)"):
        P.delta_rule_fit(Xd, T[None])
    with pytest.raises(ValueError, match="lr must be"):
        P.delta_rule_step(W, b, Xd, T, -0.1)
    with pytest.raises(ValueError, match="unknown reduction"):
        P.lms_stable_lr(Xd, reduction="avg")
    with pytest.raises(ValueError, match="expected W of shape"):
        P.as_network(np.zeros((2, 2, 2)), None)


# --------------------------------------------------------------- many data sets at once
def test_delta_rule_fit_many_matches_delta_rule_fit_on_each_set():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3, 20, 2)) + [[[1.0, -2.0]], [[0.0, 0.0]], [[3.0, 1.0]]]
    T = (rng.random((3, 20)) > 0.5).astype(float)
    for f, lr in (("sigmoid", 2.0), ("identity", 0.05)):
        runs = P.delta_rule_fit_many(X, T, f, lr, 60)
        assert len(runs) == 3
        for s, run in enumerate(runs):
            ref = P.delta_rule_fit(X[s], T[s], f, lr, 60)
            assert not run.diverged and run.epochs_run == 60
            assert_allclose(run.W, ref.W, rtol=1e-10, atol=1e-13)
            assert_allclose(run.b, ref.b, rtol=1e-10, atol=1e-13)
            assert_allclose(run.loss, ref.loss, rtol=1e-10, atol=1e-15)
            assert_array_equal(run.errors, ref.errors)


def test_delta_rule_fit_many_stops_each_diverging_set_where_delta_rule_fit_does():
    rng = np.random.default_rng(1)
    X = np.stack(
        [3 * rng.normal(size=(30, 2)), 0.1 * rng.normal(size=(30, 2))]
    )  # LMS bounds ~0.2 and ~2
    T = rng.normal(size=(2, 30))
    runs = P.delta_rule_fit_many(X, T, "identity", 1.5, 200)
    for s, run in enumerate(runs):
        ref = P.delta_rule_fit(X[s], T[s], "identity", 1.5, 200)
        assert run.diverged == ref.diverged and run.epochs_run == ref.epochs_run
        assert_allclose(run.W, ref.W, rtol=1e-9)
    assert [r.diverged for r in runs] == [True, False]


def test_delta_rule_fit_many_checks_its_input():
    X, T = np.zeros((2, 5, 3)), np.zeros((2, 5))
    with pytest.raises(ValueError, match=r"shape \(S, N, n_in\)"):
        P.delta_rule_fit_many(X[0], T)
    with pytest.raises(ValueError, match="expected T of shape"):
        P.delta_rule_fit_many(X, T[:, :4])
    with pytest.raises(TypeError, match="element-wise activation"):
        P.delta_rule_fit_many(X, T, "softmax")
    with pytest.raises(ValueError):
        P.delta_rule_fit_many(X, T, lr=-1.0)
