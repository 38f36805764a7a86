import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import bookcode
from bookcode import data
from bookcode.gradcheck import (
    TOLERANCE,
    check_layer,
    check_network,
    numerical_gradient,
    rel_error,
)
from bookcode.init import MissingSeed
from bookcode.layers import Linear
from bookcode.lstm import GATES, LSTM
from bookcode.network import Sequential
from bookcode.recurrent import RNN, LastStep, random_orthogonal


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _make(kind, n_in=2, n=4, seed=0):
    """A layer with random biases and initial states, so every term is exercised."""
    rng = np.random.default_rng(seed)
    if kind == "lstm":
        layer = LSTM(n_in, n, rng=seed, h0=0.5 * rng.standard_normal(n))
        layer.c0 = rng.standard_normal(n)
    else:
        layer = RNN(n_in, n, kind, rng=seed, h0=0.5 * rng.standard_normal(n))
    layer.params["b"][:] += 0.3 * rng.standard_normal(layer.params["b"].shape)
    return layer


def _reference_rnn(layer, X):
    # independent: one sequence at a time, one step at a time
    W_x, W_h, b = (layer.params[k] for k in ("W_x", "W_h", "b"))
    out = np.empty((X.shape[0], X.shape[1], layer.n_hidden))
    for n in range(X.shape[0]):
        h = np.zeros(layer.n_hidden) if layer.h0 is None else layer.h0
        for t in range(X.shape[1]):
            h = layer.f(X[n, t] @ W_x + h @ W_h + b)
            out[n, t] = h
    return out


def _reference_lstm(layer, X):
    W_x, W_h, b = (layer.params[k] for k in ("W_x", "W_h", "b"))
    k = layer.n_hidden
    out = np.empty((X.shape[0], X.shape[1], k))
    for n in range(X.shape[0]):
        h, c = layer.h0, layer.c0
        for t in range(X.shape[1]):
            z = X[n, t] @ W_x + h @ W_h + b
            i, f = _sigmoid(z[:k]), _sigmoid(z[k : 2 * k])
            g, o = np.tanh(z[2 * k : 3 * k]), _sigmoid(z[3 * k :])
            c = f * c + i * g
            h = o * np.tanh(c)
            out[n, t] = h
    return out


def _gradcheck(layer, X, R):
    """Relative errors of dX and of every parameter for the loss E = Σ H ∘ R."""
    layer.forward(X)
    errors = {"dX": layer.backward(R)}
    analytic = {k: g.copy() for k, g in layer.grads.items()}

    def loss():
        return float(np.sum(layer.forward(X) * R))

    errors["dX"] = rel_error(errors["dX"], numerical_gradient(loss, X))
    for k, p in layer.params.items():
        errors[k] = rel_error(analytic[k], numerical_gradient(loss, p))
    return errors


# --- gradient checks ------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["tanh", "relu", "identity", "lstm"])
@pytest.mark.parametrize("N", [1, 3])
@pytest.mark.parametrize("T", [1, 5])
@pytest.mark.parametrize("where", ["all steps", "last step"])
def test_gradients_match_finite_differences(kind, N, T, where):
    layer = _make(kind, seed=T + N)
    rng = np.random.default_rng(10 * N + T)
    X = rng.standard_normal((N, T, 2))
    R = rng.standard_normal((N, T, 4))
    if where == "last step":
        R[:, :-1] = 0.0
    errors = _gradcheck(layer, X, R)
    assert set(errors) == {"dX", "W_x", "W_h", "b"}
    assert max(errors.values()) < TOLERANCE, errors


@pytest.mark.parametrize("kind", ["tanh", "lstm"])
def test_check_layer_and_initial_state_gradients(kind):
    layer = _make(kind, seed=5)
    rng = np.random.default_rng(6)
    X = rng.standard_normal((3, 4, 2))
    report = check_layer(layer, X, rng=7)
    assert report.max_error < TOLERANCE, report
    # ∂E/∂h_0 (and ∂E/∂c_0): perturb the stored initial states in place
    layer.h0 = rng.standard_normal((3, 4))
    states = ["h0"] + (["c0"] if kind == "lstm" else [])
    if kind == "lstm":
        layer.c0 = rng.standard_normal((3, 4))
    R = rng.standard_normal((3, 4, 4))
    layer.forward(X)
    layer.backward(R)
    analytic = {s: getattr(layer, "d" + s).copy() for s in states}
    for s in states:
        numeric = numerical_gradient(
            lambda: float(np.sum(layer.forward(X) * R)), getattr(layer, s)
        )
        assert rel_error(analytic[s], numeric) < TOLERANCE


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_last_step_in_a_sequential_with_check_network(cell):
    X, y = data.adding_problem(4, 6, rng=0)
    first = RNN(2, 5, rng=1) if cell == "rnn" else LSTM(2, 5, rng=1)
    net = Sequential([first, LastStep(), Linear(5, 1, rng=2)])
    report = check_network(net, "mse", X, y)
    assert set(report.errors) == {"dX", "0.W_x", "0.W_h", "0.b", "2.W", "2.b"}
    assert report.max_error < TOLERANCE, report
    assert net.forward(X).shape == (4, 1)


def test_last_step_forward_and_backward():
    X = np.arange(24.0).reshape(2, 3, 4)
    layer = LastStep()
    assert_array_equal(layer.forward(X), X[:, -1])
    dY = np.ones((2, 4))
    dX = layer.backward(dY)
    assert dX.shape == (2, 3, 4)
    assert_array_equal(dX[:, -1], dY)
    assert not dX[:, :-1].any()
    assert layer.params == {} and repr(layer) == "LastStep()"


# --- forward against the definitions --------------------------------------------------


@pytest.mark.parametrize("kind", ["tanh", "relu", "identity"])
def test_rnn_forward_matches_a_per_step_loop(kind):
    layer = _make(kind, seed=3)
    X = np.random.default_rng(4).standard_normal((3, 6, 2))
    assert_allclose(layer.forward(X), _reference_rnn(layer, X), rtol=1e-12, atol=1e-14)
    layer.h0 = None  # h_0 = 0
    assert_allclose(layer.forward(X), _reference_rnn(layer, X), rtol=1e-12, atol=1e-14)


def test_lstm_forward_matches_a_per_step_loop():
    layer = _make("lstm", seed=3)
    X = np.random.default_rng(4).standard_normal((3, 6, 2))
    H = layer.forward(X)
    assert_allclose(H, _reference_lstm(layer, X), rtol=1e-12, atol=1e-14)
    assert set(layer.gates) == set(GATES) == {"i", "f", "g", "o"}
    for k in GATES:
        assert layer.gates[k].shape == (3, 6, 4)
    assert layer.cell_states.shape == (3, 6, 4)
    # h_t = o_t ∘ tanh(c_t) from the exposed gates and cell states
    assert_allclose(H, layer.gates["o"] * np.tanh(layer.cell_states), rtol=1e-12)


def test_linear_rnn_with_a_times_identity_has_a_closed_form():
    a, n, T = 0.9, 3, 7
    rng = np.random.default_rng(8)
    W_x, h0 = rng.standard_normal((2, n)), rng.standard_normal(n)
    layer = RNN(2, n, "identity", W_x=W_x, W_h=a * np.eye(n), h0=h0)
    layer.params["b"][:] = rng.standard_normal(n)
    X = rng.standard_normal((2, T, 2))
    H = layer.forward(X)
    U = X @ W_x + layer.params["b"]  # u_k = x_k W_x + b
    for t in range(1, T + 1):  # h_t = a^t h_0 + Σ_{k=1..t} a^(t−k) u_k
        expected = a**t * h0 + sum(a ** (t - k) * U[:, k - 1] for k in range(1, t + 1))
        assert_allclose(H[:, t - 1], expected, rtol=1e-12)


# --- the vanishing/exploding law and the LSTM's cell path -----------------------------


@pytest.mark.parametrize("s", [0.5, 1.0, 1.3])
def test_linear_rnn_gradient_norms_follow_s_to_the_time_lag(s):
    T, n = 20, 6
    layer = RNN(3, n, "identity", rng=0, recurrent_scale=s)
    assert_allclose(np.linalg.svd(layer.params["W_h"], compute_uv=False), s)
    rng = np.random.default_rng(1)
    X = rng.standard_normal((4, T, 3))
    layer.forward(X)
    dH = np.zeros((4, T, n))
    dH[:, -1] = rng.standard_normal((4, n))
    layer.backward(dH)
    lag = T - 1 - np.arange(T)  # steps between h_t and h_T
    expected = np.linalg.norm(dH[:, -1]) * s**lag
    assert layer.grad_norms_per_step.shape == (T,)
    assert_allclose(layer.grad_norms_per_step, expected, rtol=1e-12)


def test_lstm_with_forget_gate_one_carries_the_cell_gradient_unchanged():
    n, T = 3, 12
    rng = np.random.default_rng(2)
    c0 = rng.standard_normal(n)
    layer = LSTM(
        2, n, W_x=np.zeros((2, 4 * n)), W_h=np.zeros((n, 4 * n)), forget_bias=50.0
    )
    layer.c0 = c0
    X = rng.standard_normal((2, T, 2))
    layer.forward(X)
    assert np.all(layer.gates["f"] == 1.0)  # σ(50) rounds to 1 in float64
    dH = np.zeros((2, T, n))
    dH[:, -1] = rng.standard_normal((2, n))
    layer.backward(dH)
    o, c = layer.gates["o"][:, -1], layer.cell_states[:, -1]
    dc_T = dH[:, -1] * o * (1 - np.tanh(c) ** 2)
    assert_array_equal(layer.dc0, dc_T)  # ∂E/∂c_0 = ∂E/∂c_T, bit for bit
    assert_array_equal(layer.cell_grad_norms_per_step, np.linalg.norm(dc_T))
    assert layer.grad_norms_per_step[-1] == np.linalg.norm(dH[:, -1])
    assert np.all(layer.grad_norms_per_step[:-1] == 0)  # W_h = 0: no path through h


def test_lstm_cell_gradient_is_scaled_by_the_forget_gates():
    # with W_h = 0 the only path from c_T back to c_0 is ∂c_t/∂c_{t-1} = diag(f_t)
    n, T = 4, 6
    layer = LSTM(3, n, rng=0, W_h=np.zeros((n, 4 * n)))
    rng = np.random.default_rng(3)
    X = rng.standard_normal((5, T, 3))
    layer.forward(X)
    dH = np.zeros((5, T, n))
    dH[:, -1] = rng.standard_normal((5, n))
    layer.backward(dH)
    o, c = layer.gates["o"][:, -1], layer.cell_states[:, -1]
    dc_T = dH[:, -1] * o * (1 - np.tanh(c) ** 2)
    assert_allclose(layer.dc0, dc_T * layer.gates["f"].prod(axis=1), rtol=1e-12)
    norms = [
        np.linalg.norm(dc_T * layer.gates["f"][:, t + 1 :].prod(axis=1))
        for t in range(T)
    ]
    assert_allclose(layer.cell_grad_norms_per_step, norms, rtol=1e-12)


# --- initialisation -------------------------------------------------------------------


def test_rnn_initialisation():
    layer = RNN(400, 50, rng=0, recurrent_scale=0.7)
    assert layer.params["W_x"].shape == (400, 50)
    assert_allclose(layer.params["W_x"].std(), 1 / np.sqrt(400), rtol=0.03)
    W_h = layer.params["W_h"]
    assert_allclose(W_h.T @ W_h, 0.49 * np.eye(50), atol=1e-12)
    assert_array_equal(layer.params["b"], 0.0)
    again = RNN(400, 50, rng=0, recurrent_scale=0.7)
    by_generator = RNN(400, 50, rng=bookcode.rng(0), recurrent_scale=0.7)
    for k in ("W_x", "W_h"):
        assert_array_equal(again.params[k], layer.params[k])
        assert_array_equal(by_generator.params[k], layer.params[k])
    assert not np.array_equal(RNN(400, 50, rng=1).params["W_x"], layer.params["W_x"])


def test_lstm_initialisation():
    n = 5
    layer = LSTM(3, n, rng=0, forget_bias=2.0)
    b = layer.params["b"]
    assert layer.params["W_x"].shape == (3, 4 * n) and b.shape == (4 * n,)
    assert_array_equal(b[n : 2 * n], 2.0)  # block f of i, f, g, o
    assert_array_equal(np.delete(b, np.s_[n : 2 * n]), 0.0)
    W_h = layer.params["W_h"]
    assert W_h.shape == (n, 4 * n)
    for j in range(4):
        block = W_h[:, j * n : (j + 1) * n]
        assert_allclose(block.T @ block, np.eye(n), atol=1e-12)


def test_random_orthogonal():
    Q = random_orthogonal(7, rng=0)
    assert_allclose(Q.T @ Q, np.eye(7), atol=1e-12)
    assert_array_equal(Q, random_orthogonal(7, rng=bookcode.rng(0)))
    # Haar: the average of many draws is close to 0 (without the sign fix it is not)
    mean = np.mean([random_orthogonal(3, rng=s) for s in range(2000)], axis=0)
    assert np.abs(mean).max() < 0.06


def test_explicit_weights_and_h0_shapes():
    W_x, W_h = np.ones((2, 3)), np.eye(3)
    layer = RNN(2, 3, W_x=W_x, W_h=W_h)  # no random draw: no seed needed
    W_x[:] = 5.0
    assert_array_equal(layer.params["W_x"], 1.0)  # copied
    X = np.random.default_rng(0).standard_normal((2, 4, 2))
    layer.h0 = np.array([0.1, 0.2, 0.3])
    H1 = layer.forward(X)
    layer.h0 = np.tile([0.1, 0.2, 0.3], (2, 1))
    assert_array_equal(layer.forward(X), H1)


def test_repr():
    assert repr(RNN(3, 8, rng=0)) == "RNN(3, 8, activation='tanh')"
    assert repr(RNN(3, 8, "relu", rng=0)) == "RNN(3, 8, activation='relu')"
    assert repr(LSTM(3, 8, rng=0)) == "LSTM(3, 8)"


# --- errors ---------------------------------------------------------------------------


def test_rnn_rejects_bad_input():
    layer = RNN(3, 8, rng=0)
    with pytest.raises(
        ValueError,
        match=r"^RNN\(3, 8\): expected X of shape \(N, T, 3\), got \(5, 3\): a batch "
        r"of sequences; one sequence x is x\[None\]$",
    ):
        layer.forward(np.ones((5, 3)))
    with pytest.raises(ValueError, match=r"got \(3,\): a batch of sequences"):
        layer.forward(np.ones(3))
    with pytest.raises(
        ValueError,
        match=r"^RNN\(3, 8\): expected X of shape \(N, T, 3\), got \(5, 4, 2\)$",
    ):
        layer.forward(np.ones((5, 4, 2)))
    with pytest.raises(ValueError, match=r"T >= 1 steps, got \(5, 0, 3\)"):
        layer.forward(np.ones((5, 0, 3)))
    with pytest.raises(ValueError, match=r"N >= 1 sequences .*got \(0, 4, 3\)"):
        layer.forward(np.ones((0, 4, 3)))
    with pytest.raises(ValueError, match=r"got \(1, 2, 4, 3\)"):
        layer.forward(np.ones((1, 2, 4, 3)))
    with pytest.raises(TypeError, match="real numbers"):
        layer.forward(np.full((1, 2, 3), "a"))
    with pytest.raises(RuntimeError, match="RNN.backward called before forward"):
        RNN(3, 8, rng=0).backward(np.ones((1, 2, 8)))
    layer.forward(np.ones((5, 4, 3)))
    with pytest.raises(ValueError, match=r"expected dY of shape \(5, 4, 8\)"):
        layer.backward(np.ones((5, 8)))
    layer.h0 = np.zeros((2, 8))
    with pytest.raises(
        ValueError, match=r"expected h0 of shape \(8,\) or \(N, 8\) with N = 5"
    ):
        layer.forward(np.ones((5, 4, 3)))


def test_rnn_rejects_bad_construction():
    with pytest.raises(
        MissingSeed, match=r"^RNN\(3, 8\) draws random weights and needs a seed"
    ):
        RNN(3, 8)
    with pytest.raises(TypeError, match="needs a seed"):  # MissingSeed is a TypeError
        RNN(3, 8, W_x=np.zeros((3, 8)))
    with pytest.raises(ValueError, match="RNN: n_hidden must be an integer >= 1"):
        RNN(3, 0, rng=0)
    with pytest.raises(TypeError, match="RNN: n_in must be an integer"):
        RNN(2.5, 3, rng=0)
    with pytest.raises(ValueError, match="unknown activation 'swishy'"):
        RNN(3, 8, "swishy", rng=0)
    with pytest.raises(ValueError, match=r"RNN\(3, 8\): recurrent_scale must be"):
        RNN(3, 8, rng=0, recurrent_scale=-1.0)
    with pytest.raises(ValueError, match=r"got both W_h and recurrent_scale=2.0"):
        RNN(3, 8, rng=0, W_h=np.eye(8), recurrent_scale=2.0)
    with pytest.raises(
        ValueError, match=r"expected W_h of shape \(8, 8\), got \(8, 3\)"
    ):
        RNN(3, 8, rng=0, W_h=np.ones((8, 3)))
    with pytest.raises(ValueError, match=r"W_x must be finite"):
        RNN(3, 8, rng=0, W_x=np.full((3, 8), np.nan))
    with pytest.raises(
        ValueError, match=r"expected h0 of shape \(8,\) or \(N, 8\), got \(3,\)"
    ):
        RNN(3, 8, rng=0, h0=np.zeros(3))
    with pytest.raises(TypeError, match="expected rng as a numpy.random.Generator"):
        RNN(3, 8, rng="seed")


def test_lstm_rejects_bad_input_and_construction():
    with pytest.raises(
        MissingSeed, match=r"^LSTM\(3, 8\) draws random weights and needs a seed"
    ):
        LSTM(3, 8)
    with pytest.raises(ValueError, match=r"LSTM\(3, 8\): forget_bias must be finite"):
        LSTM(3, 8, rng=0, forget_bias=np.inf)
    with pytest.raises(TypeError, match=r"forget_bias must be a real number"):
        LSTM(3, 8, rng=0, forget_bias="1")
    with pytest.raises(ValueError, match=r"expected W_x of shape \(3, 32\)"):
        LSTM(3, 8, rng=0, W_x=np.ones((3, 8)))
    with pytest.raises(ValueError, match=r"expected c0 of shape \(8,\)"):
        LSTM(3, 8, rng=0, c0=np.ones(3))
    with pytest.raises(ValueError, match="LSTM: n_in must be an integer >= 1"):
        LSTM(0, 8, rng=0)
    layer = LSTM(3, 8, rng=0)
    with pytest.raises(
        ValueError,
        match=r"^LSTM\(3, 8\): expected X of shape \(N, T, 3\), got \(5, 3\): a batch",
    ):
        layer.forward(np.ones((5, 3)))
    with pytest.raises(ValueError, match=r"T >= 1 steps, got \(2, 0, 3\)"):
        layer.forward(np.ones((2, 0, 3)))
    with pytest.raises(ValueError, match=r"got \(2, 4, 5\)$"):
        layer.forward(np.ones((2, 4, 5)))
    with pytest.raises(RuntimeError, match="LSTM.backward called before forward"):
        layer.backward(np.ones((2, 4, 8)))
    layer.forward(np.ones((2, 4, 3)))
    with pytest.raises(ValueError, match=r"expected dY of shape \(2, 4, 8\)"):
        layer.backward(np.ones((2, 4, 3)))


def test_last_step_and_random_orthogonal_reject_bad_input():
    with pytest.raises(
        ValueError,
        match=r"^LastStep\(\): expected X of shape \(N, T, n\), got \(4, 2\)",
    ):
        LastStep().forward(np.ones((4, 2)))
    layer = LastStep()
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.ones((2, 3)))
    layer.forward(np.ones((2, 5, 3)))
    with pytest.raises(ValueError, match=r"expected dY of shape \(2, 3\)"):
        layer.backward(np.ones((2, 5, 3)))
    with pytest.raises(MissingSeed, match="^random_orthogonal draws a random matrix"):
        random_orthogonal(3)
    with pytest.raises(ValueError, match="random_orthogonal: n must be"):
        random_orthogonal(0, rng=0)


# --- the adding problem ---------------------------------------------------------------


@pytest.mark.parametrize("n, T", [(50, 2), (200, 7), (30, 100)])
def test_adding_problem_markers_and_targets(n, T):
    X, y = data.adding_problem(n, T, rng=3)
    assert X.shape == (n, T, 2) and y.shape == (n, 1)
    assert X.dtype == np.float64 and y.dtype == np.float64
    values, markers = X[..., 0], X[..., 1]
    assert np.all((values >= 0) & (values < 1))
    assert set(np.unique(markers)) <= {0.0, 1.0}
    assert_array_equal(markers[:, : T // 2].sum(axis=1), 1)  # one in the first half
    assert_array_equal(markers[:, T // 2 :].sum(axis=1), 1)  # one in the second half
    marked = [values[k][markers[k] == 1] for k in range(n)]
    assert_allclose(y[:, 0], [m.sum() for m in marked], rtol=1e-15)


def test_adding_problem_is_seeded_through_bookcode_rng(monkeypatch):
    a = data.adding_problem(20, 9, rng=7)
    b = data.adding_problem(20, 9, rng=bookcode.rng(7))
    c = data.adding_problem(20, 9, rng=8)
    for u, v in zip(a, b):
        assert_array_equal(u, v)
    assert not np.array_equal(a[0], c[0])
    monkeypatch.setenv("BOOKCODE_SEED_OFFSET", "1")
    for u, v in zip(data.adding_problem(20, 9, rng=7), c):  # seed 7 + offset 1
        assert_array_equal(u, v)


def test_adding_problem_bad_input():
    with pytest.raises(ValueError, match="adding_problem: T must be an integer >= 2"):
        data.adding_problem(5, 1, rng=0)
    with pytest.raises(ValueError, match="adding_problem: n must be an integer >= 1"):
        data.adding_problem(0, 5, rng=0)
    with pytest.raises(TypeError, match="adding_problem: T must be an integer"):
        data.adding_problem(5, 5.0, rng=0)
    with pytest.raises(TypeError, match="adding_problem: expected rng"):
        data.adding_problem(5, 5)
