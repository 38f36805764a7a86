"""The exercise checks of chapter 11: the references pass, each typical mistake gets its
own hint, and the checkers' own reference values agree with finite differences and with
bookcode.recurrent and bookcode.lstm."""

import numpy as np
import pytest
from _checkers import assert_rejected_with_hint

from bookcode.exercises import ch11
from bookcode.exercises.ch11 import check_lstm_step, check_rnn_bptt
from bookcode.gradcheck import numerical_gradient
from bookcode.lstm import LSTM
from bookcode.recurrent import RNN


def stub(*args):
    raise NotImplementedError


# ------------------------------------------------------------- rnn_bptt: the solutions
def _prev(H, h0):
    return np.concatenate([h0[:, None], H[:, :-1]], axis=1)


def bptt_reference(X, H, h0, W_x, W_h, dH):
    T = X.shape[1]
    D = np.empty_like(H)
    dh = np.zeros_like(h0)
    for t in reversed(range(T)):
        D[:, t] = (dH[:, t] + dh) * (1 - H[:, t] ** 2)
        dh = D[:, t] @ W_h.T
    dW_x = np.einsum("nti,ntj->ij", X, D)
    dW_h = np.einsum("nti,ntj->ij", _prev(H, h0), D)
    return D @ W_x.T, dW_x, dW_h, D.sum(axis=(0, 1))


def bptt_accumulating(X, H, h0, W_x, W_h, dH):  # also right: sums inside the loop
    N, T, n_in = X.shape
    dX = np.zeros_like(X)
    dW_x, dW_h, db = np.zeros_like(W_x), np.zeros_like(W_h), np.zeros(W_h.shape[0])
    dh_next = np.zeros_like(h0)
    for t in range(T - 1, -1, -1):
        h_prev = H[:, t - 1] if t > 0 else h0
        delta = (dH[:, t] + dh_next) * (1 - H[:, t] ** 2)
        dX[:, t] = delta @ W_x.T
        dW_x += X[:, t].T @ delta
        dW_h += h_prev.T @ delta
        db += delta.sum(axis=0)
        dh_next = delta @ W_h.T
    return dX, dW_x, dW_h, db


def bptt_via_bookcode(X, H, h0, W_x, W_h, dH):  # the package's RNN must pass too
    b = np.arctanh(H[0, 0]) - X[0, 0] @ W_x - h0[0] @ W_h  # recovered from step 1
    layer = RNN(X.shape[2], H.shape[2], W_x=W_x, W_h=W_h, h0=h0)
    layer.params["b"][...] = b
    layer.forward(X)
    dX = layer.backward(dH)
    return dX, layer.grads["W_x"], layer.grads["W_h"], layer.grads["b"]


def bptt_lists(X, H, h0, W_x, W_h, dH):
    return [a.tolist() for a in bptt_reference(X, H, h0, W_x, W_h, dH)]


# -------------------------------------------------------------- rnn_bptt: the mutants
def _loop(X, H, h0, W_x, W_h, dH, delta_of, *, carry_of=None, P=None):
    """BPTT with a pluggable δ_t and carry; P: the states dW_h pairs with δ_t."""
    T = X.shape[1]
    D = np.empty_like(H)
    up = np.zeros_like(h0)
    for t in reversed(range(T)):
        D[:, t] = delta_of(t, dH[:, t], up)
        up = (carry_of or (lambda t, d: d @ W_h.T))(t, D[:, t])
    P = _prev(H, h0) if P is None else P
    return (
        D @ W_x.T,
        np.einsum("nti,ntj->ij", X, D),
        np.einsum("nti,ntj->ij", P, D),
        D.sum(axis=(0, 1)),
    )


def bptt_no_carry(X, H, h0, W_x, W_h, dH):
    return _loop(X, H, h0, W_x, W_h, dH, lambda t, g, up: g * (1 - H[:, t] ** 2))


def bptt_last_dH_only(X, H, h0, W_x, W_h, dH):
    G = np.zeros_like(dH)
    G[:, -1] = dH[:, -1]
    return bptt_reference(X, H, h0, W_x, W_h, G)


def bptt_W_h_not_transposed(X, H, h0, W_x, W_h, dH):
    return _loop(
        X,
        H,
        h0,
        W_x,
        W_h,
        dH,
        lambda t, g, up: (g + up) * (1 - H[:, t] ** 2),
        carry_of=lambda t, d: d @ W_h,
    )


def bptt_carries_dh(X, H, h0, W_x, W_h, dH):  # ∂E/∂h_{t+1} crosses W_h, not δ_{t+1}
    T = X.shape[1]
    D = np.empty_like(H)
    dh_next = np.zeros_like(h0)
    for t in reversed(range(T)):
        dh = dH[:, t] + dh_next
        D[:, t] = dh * (1 - H[:, t] ** 2)
        dh_next = dh @ W_h.T
    return _loop(X, H, h0, W_x, W_h, dH, lambda t, g, up: D[:, t])


def bptt_slope_on_dH_only(X, H, h0, W_x, W_h, dH):
    return _loop(X, H, h0, W_x, W_h, dH, lambda t, g, up: g * (1 - H[:, t] ** 2) + up)


def bptt_slope_of_previous_step(X, H, h0, W_x, W_h, dH):
    P = _prev(H, h0)
    return _loop(X, H, h0, W_x, W_h, dH, lambda t, g, up: (g + up) * (1 - P[:, t] ** 2))


def bptt_tanh_derivative_of_h(X, H, h0, W_x, W_h, dH):
    return _loop(
        X, H, h0, W_x, W_h, dH, lambda t, g, up: (g + up) * (1 - np.tanh(H[:, t]) ** 2)
    )


def bptt_no_slope(X, H, h0, W_x, W_h, dH):
    return _loop(X, H, h0, W_x, W_h, dH, lambda t, g, up: g + up)


def bptt_dW_h_with_h_t(X, H, h0, W_x, W_h, dH):
    dX, dW_x, _, db = bptt_reference(X, H, h0, W_x, W_h, dH)
    D = _delta(X, H, h0, W_h, dH)
    return dX, dW_x, np.einsum("nti,ntj->ij", H, D), db


def _delta(X, H, h0, W_h, dH):
    D = np.empty_like(H)
    dh = np.zeros_like(h0)
    for t in reversed(range(X.shape[1])):
        D[:, t] = (dH[:, t] + dh) * (1 - H[:, t] ** 2)
        dh = D[:, t] @ W_h.T
    return D


def bptt_negative_index(X, H, h0, W_x, W_h, dH):  # h_prev = H[:, t - 1], also at t = 0
    dX, dW_x, _, db = bptt_reference(X, H, h0, W_x, W_h, dH)
    D = _delta(X, H, h0, W_h, dH)
    dW_h = sum(H[:, t - 1].T @ D[:, t] for t in range(X.shape[1]))
    return dX, dW_x, dW_h, db


def bptt_ignores_h0(X, H, h0, W_x, W_h, dH):  # dW_h summed from the second step on
    dX, dW_x, _, db = bptt_reference(X, H, h0, W_x, W_h, dH)
    D = _delta(X, H, h0, W_h, dH)
    dW_h = sum(
        (H[:, t - 1].T @ D[:, t] for t in range(1, X.shape[1])), np.zeros_like(W_h)
    )
    return dX, dW_x, dW_h, db


def bptt_db_over_batch_only(X, H, h0, W_x, W_h, dH):
    dX, dW_x, dW_h, _ = bptt_reference(X, H, h0, W_x, W_h, dH)
    return dX, dW_x, dW_h, _delta(X, H, h0, W_h, dH).sum(axis=0)


def bptt_db_over_steps_only(X, H, h0, W_x, W_h, dH):
    dX, dW_x, dW_h, _ = bptt_reference(X, H, h0, W_x, W_h, dH)
    return dX, dW_x, dW_h, _delta(X, H, h0, W_h, dH).sum(axis=1)


def bptt_db_total(X, H, h0, W_x, W_h, dH):
    dX, dW_x, dW_h, _ = bptt_reference(X, H, h0, W_x, W_h, dH)
    return dX, dW_x, dW_h, _delta(X, H, h0, W_h, dH).sum()


def bptt_db_mean_over_steps(X, H, h0, W_x, W_h, dH):
    dX, dW_x, dW_h, db = bptt_reference(X, H, h0, W_x, W_h, dH)
    return dX, dW_x, dW_h, db / X.shape[1]


def bptt_dW_x_mean_over_batch(X, H, h0, W_x, W_h, dH):
    dX, dW_x, dW_h, db = bptt_reference(X, H, h0, W_x, W_h, dH)
    return dX, dW_x / X.shape[0], dW_h, db


def bptt_dW_x_last_step(X, H, h0, W_x, W_h, dH):
    dX, _, dW_h, db = bptt_reference(X, H, h0, W_x, W_h, dH)
    D = _delta(X, H, h0, W_h, dH)
    return dX, X[:, -1].T @ D[:, -1], dW_h, db


def bptt_dW_h_per_step(X, H, h0, W_x, W_h, dH):
    dX, dW_x, _, db = bptt_reference(X, H, h0, W_x, W_h, dH)
    D = _delta(X, H, h0, W_h, dH)
    return dX, dW_x, np.einsum("nti,ntj->tij", _prev(H, h0), D), db


def bptt_dW_x_transposed(X, H, h0, W_x, W_h, dH):
    dX, dW_x, dW_h, db = bptt_reference(X, H, h0, W_x, W_h, dH)
    return dX, dW_x.T, dW_h, db


def bptt_returns_delta_as_dX(X, H, h0, W_x, W_h, dH):
    _, dW_x, dW_h, db = bptt_reference(X, H, h0, W_x, W_h, dH)
    return _delta(X, H, h0, W_h, dH), dW_x, dW_h, db


def bptt_wrong_order(X, H, h0, W_x, W_h, dH):
    dX, dW_x, dW_h, db = bptt_reference(X, H, h0, W_x, W_h, dH)
    return dX, dW_h, dW_x, db


def bptt_three_results(X, H, h0, W_x, W_h, dH):
    return bptt_reference(X, H, h0, W_x, W_h, dH)[1:]


def bptt_none(X, H, h0, W_x, W_h, dH):
    bptt_reference(X, H, h0, W_x, W_h, dH)


def bptt_mutates_dH(X, H, h0, W_x, W_h, dH):
    D = np.empty_like(H)
    for t in reversed(range(X.shape[1])):
        D[:, t] = dH[:, t] * (1 - H[:, t] ** 2)
        if t > 0:
            dH[:, t - 1] += D[:, t] @ W_h.T  # accumulates into the caller's array
    return (
        D @ W_x.T,
        np.einsum("nti,ntj->ij", X, D),
        np.einsum("nti,ntj->ij", _prev(H, h0), D),
        D.sum(axis=(0, 1)),
    )


def bptt_shape_error(X, H, h0, W_x, W_h, dH):
    return X @ W_x.T


def bptt_float32(X, H, h0, W_x, W_h, dH):
    return tuple(a.astype(np.float32) for a in bptt_reference(X, H, h0, W_x, W_h, dH))


def bptt_sign(X, H, h0, W_x, W_h, dH):
    dX, dW_x, dW_h, db = bptt_reference(X, H, h0, W_x, W_h, dH)
    return dX, dW_x, -dW_h, db


def bptt_zero_dX(X, H, h0, W_x, W_h, dH):
    dX, dW_x, dW_h, db = bptt_reference(X, H, h0, W_x, W_h, dH)
    return np.zeros_like(dX), dW_x, dW_h, db


RNN_MUTANTS = [
    (bptt_last_dH_only, "used only the last step's dH"),
    (bptt_no_carry, "no gradient travels back in time"),
    (bptt_W_h_not_transposed, "uses W_h where it needs its transpose"),
    (bptt_carries_dh, "You sent ∂E/∂h_{t+1} back instead"),
    (bptt_slope_on_dH_only, "You applied it to dH_t only"),
    (bptt_slope_of_previous_step, "uses the slope of the wrong step"),
    (bptt_tanh_derivative_of_h, "h_t is already tanh(a_t)"),
    (bptt_no_slope, "δ_t lacks the slope of the tanh"),
    (bptt_dW_h_with_h_t, "dW_h pairs δ_t with h_t"),
    (bptt_negative_index, "negative indices wrap around"),
    (bptt_ignores_h0, "the state that enters step 1 is h0"),
    (bptt_db_over_batch_only, "you summed over the sequences only"),
    (bptt_db_over_steps_only, "you summed over the steps only"),
    (bptt_db_total, "db is a single number"),
    (bptt_db_mean_over_steps, "you averaged over the steps"),
    (bptt_dW_x_mean_over_batch, "you averaged over the sequences"),
    (bptt_dW_x_last_step, "dW_x holds the contribution of one step only"),
    (bptt_dW_h_per_step, "one array per step"),
    (bptt_dW_x_transposed, "dW_x is transposed"),
    (bptt_returns_delta_as_dX, "your dX is δ = ∂E/∂a"),
    (bptt_wrong_order, "wrong order"),
    (bptt_three_results, "return 4 arrays"),
    (bptt_none, "returned None"),
    (bptt_mutates_dH, "changed one of its inputs in place"),
    (bptt_shape_error, "Check the shapes: X is (N, T, n_in)"),
    (bptt_float32, "returned float32 numbers"),
    (bptt_sign, "dW_h has the right size but the opposite sign"),
    (bptt_zero_dX, "dX is all zeros"),
    (
        RNN.backward,
        "you passed bookcode.recurrent.RNN.backward — that is the book's "
        "implementation: write your own",
    ),
]


@pytest.mark.parametrize(
    "learner", [bptt_reference, bptt_accumulating, bptt_via_bookcode, bptt_lists]
)
def test_rnn_bptt_reference_passes(learner, capsys):
    result = check_rnn_bptt(learner)
    assert result.passed, result.message
    assert "all 4 checks passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "mutant, hint", RNN_MUTANTS, ids=[m.__name__ for m, _ in RNN_MUTANTS]
)
def test_rnn_bptt_mutants_get_their_hint(mutant, hint, capsys):
    result = check_rnn_bptt(mutant)
    assert_rejected_with_hint(result, hint, capsys.readouterr().out)


def test_forgetting_the_carry_passes_only_the_single_step_case():
    result = check_rnn_bptt(bptt_no_carry, quiet=True)
    assert "check 1 of 4" in result.message
    one_step = ch11._rnn_case(4, 1, 2, 3, 2)
    one_step(bptt_no_carry)  # with T = 1 nothing flows back in time: no Hint


# ------------------------------------------------------------ lstm_step: the solutions
def _sig(z):
    return 1 / (1 + np.exp(-z))


def step_reference(x, h_prev, c_prev, W_x, W_h, b):
    n = h_prev.shape[1]
    z = x @ W_x + h_prev @ W_h + b
    i, f = _sig(z[:, :n]), _sig(z[:, n : 2 * n])
    g, o = np.tanh(z[:, 2 * n : 3 * n]), _sig(z[:, 3 * n :])
    c = f * c_prev + i * g
    return o * np.tanh(c), c


def step_via_bookcode(x, h_prev, c_prev, W_x, W_h, b):
    layer = LSTM(x.shape[1], h_prev.shape[1], W_x=W_x, W_h=W_h, h0=h_prev, c0=c_prev)
    layer.params["b"][...] = b
    H = layer.forward(x[:, None])
    return H[:, 0], layer.cell_states[:, 0]


def step_lists(x, h_prev, c_prev, W_x, W_h, b):
    return [a.tolist() for a in step_reference(x, h_prev, c_prev, W_x, W_h, b)]


# -------------------------------------------------------------- lstm_step: the mutants
def _step(x, h_prev, c_prev, W_x, W_h, b, *, order="ifgo", act=None, rec=None, **kw):
    """A learner's step: the gate blocks read in ``order``, activations ``act``."""
    act = {"i": _sig, "f": _sig, "g": np.tanh, "o": _sig, **(act or {})}
    z = x @ W_x + (h_prev if rec is None else rec) @ W_h + kw.get("bias", b)
    blocks = dict(zip(order, np.split(z, 4, axis=1)))
    i, f, g, o = (act[k](blocks[k]) for k in "ifgo")
    c = kw.get("cell", lambda i, f, g: f * c_prev + i * g)(i, f, g)
    return kw.get("out", lambda o, c: o * np.tanh(c))(o, c), c


def step_order_ifog(*a):
    return _step(*a, order="ifog")


def step_order_tensorflow(*a):  # TF's LSTMCell stacks i, j (= g), f, o
    return _step(*a, order="igfo")


def step_cell_i_and_f_mixed_up(x, h_prev, c_prev, W_x, W_h, b):
    return _step(
        x, h_prev, c_prev, W_x, W_h, b, cell=lambda i, f, g: i * c_prev + f * g
    )


def step_g_sigmoid(*a):
    return _step(*a, act={"g": _sig})


def step_gates_tanh(*a):
    return _step(*a, act={"i": np.tanh, "f": np.tanh, "o": np.tanh})


def step_output_gate_tanh(*a):
    return _step(*a, act={"o": np.tanh})


def step_tanh_sigmoid_swapped(*a):
    return _step(*a, act={"i": np.tanh, "f": np.tanh, "g": _sig, "o": np.tanh})


def step_i_and_g_activations_swapped(*a):  # = reading i from g's block, and back
    return _step(*a, act={"i": np.tanh, "g": _sig})


def step_no_bias(*a):
    return _step(*a, bias=0.0)


def step_gates_read_cell(x, h_prev, c_prev, W_x, W_h, b):
    return _step(x, h_prev, c_prev, W_x, W_h, b, rec=c_prev)


def step_forget_scales_h(x, h_prev, c_prev, W_x, W_h, b):
    return _step(
        x, h_prev, c_prev, W_x, W_h, b, cell=lambda i, f, g: f * h_prev + i * g
    )


def step_no_input_gate(x, h_prev, c_prev, W_x, W_h, b):
    return _step(x, h_prev, c_prev, W_x, W_h, b, cell=lambda i, f, g: f * c_prev + g)


def step_no_forget_gate(x, h_prev, c_prev, W_x, W_h, b):
    return _step(x, h_prev, c_prev, W_x, W_h, b, cell=lambda i, f, g: c_prev + i * g)


def step_coupled_gates(x, h_prev, c_prev, W_x, W_h, b):
    return _step(
        x, h_prev, c_prev, W_x, W_h, b, cell=lambda i, f, g: f * c_prev + (1 - f) * g
    )


def step_squashed_cell(x, h_prev, c_prev, W_x, W_h, b):
    return _step(
        x,
        h_prev,
        c_prev,
        W_x,
        W_h,
        b,
        cell=lambda i, f, g: np.tanh(f * c_prev + i * g),
    )


def step_h_without_tanh(*a):
    return _step(*a, out=lambda o, c: o * c)


def step_tanh_after_gate(*a):
    return _step(*a, out=lambda o, c: np.tanh(o * c))


def step_h_from_old_cell(x, h_prev, c_prev, W_x, W_h, b):
    return _step(x, h_prev, c_prev, W_x, W_h, b, out=lambda o, c: o * np.tanh(c_prev))


def step_no_output_gate(*a):
    return _step(*a, out=lambda o, c: np.tanh(c))


def step_returns_c_h(*a):
    h, c = step_reference(*a)
    return c, h


def step_returns_z(x, h_prev, c_prev, W_x, W_h, b):
    z = x @ W_x + h_prev @ W_h + b
    return z, step_reference(x, h_prev, c_prev, W_x, W_h, b)[1]


def step_mutates_c_prev(x, h_prev, c_prev, W_x, W_h, b):
    h, c = step_reference(x, h_prev, c_prev, W_x, W_h, b)
    c_prev[...] = c  # "update the state in place"
    return h, c


def step_one_result(*a):
    return step_reference(*a)[0]


def step_none(*a):
    step_reference(*a)


def step_float32(*a):
    return tuple(v.astype(np.float32) for v in step_reference(*a))


def step_shape_error(x, h_prev, c_prev, W_x, W_h, b):
    return x @ W_x + h_prev @ W_h.T


def step_sign(*a):
    h, c = step_reference(*a)
    return h, -c


LSTM_MUTANTS = [
    (step_order_ifog, "you read them as i, f, o, g"),
    (step_order_tensorflow, "you read them as i, g, f, o"),
    (step_cell_i_and_f_mixed_up, "i and f play each other's part"),
    (step_g_sigmoid, "the candidate g went through a sigmoid"),
    (step_gates_tanh, "the gates i, f and o went through tanh"),
    (step_output_gate_tanh, "the gate o went through tanh"),
    (step_tanh_sigmoid_swapped, "tanh and sigmoid are swapped"),
    (step_i_and_g_activations_swapped, "i and g are exchanged"),
    (step_no_bias, "the bias b is missing"),
    (step_gates_read_cell, "the gates read the old *cell*"),
    (step_forget_scales_h, "the forget gate scaled h_{t-1}"),
    (step_no_input_gate, "the input gate is missing"),
    (step_no_forget_gate, "the forget gate is missing"),
    (step_coupled_gates, "you coupled the two gates"),
    (step_squashed_cell, "the new cell went through tanh"),
    (step_h_without_tanh, "h_t lacks the tanh of the cell"),
    (step_tanh_after_gate, "applied after the output gate"),
    (step_h_from_old_cell, "computed from the old cell"),
    (step_no_output_gate, "the output gate is missing from h_t"),
    (step_returns_c_h, "h and c come back in the wrong order"),
    (step_returns_z, "The 4n columns of the pre-activations are the four gates"),
    (step_mutates_c_prev, "changed one of its inputs in place"),
    (step_one_result, "return 2 arrays"),
    (step_none, "returned None"),
    (step_float32, "returned float32 numbers"),
    (step_shape_error, "Check the shapes: x is (N, n_in)"),
    (step_sign, "c has the right size but the opposite sign"),
    (
        LSTM.forward,
        "you passed bookcode.lstm.LSTM.forward — that is the book's implementation: "
        "write your own",
    ),
]


@pytest.mark.parametrize("learner", [step_reference, step_via_bookcode, step_lists])
def test_lstm_step_reference_passes(learner, capsys):
    result = check_lstm_step(learner)
    assert result.passed, result.message
    assert "all 3 checks passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "mutant, hint", LSTM_MUTANTS, ids=[m.__name__ for m, _ in LSTM_MUTANTS]
)
def test_lstm_step_mutants_get_their_hint(mutant, hint, capsys):
    result = check_lstm_step(mutant)
    assert_rejected_with_hint(result, hint, capsys.readouterr().out)


def test_every_known_lstm_mistake_is_recognised_in_every_case():
    """The closed forms of the mistakes differ from the reference and from each other
    on every case, so each hint is reachable and none shadows another."""
    for seed, (N, n_in, n) in zip((10, 11, 12), ((4, 3, 2), (1, 2, 3), (5, 4, 4))):
        rng = np.random.default_rng(seed)
        args = (
            rng.standard_normal((N, n_in)),
            np.tanh(rng.standard_normal((N, n))),
            rng.standard_normal((N, n)),
            rng.standard_normal((n_in, 4 * n)),
            rng.standard_normal((n, 4 * n)),
            rng.standard_normal(4 * n),
        )
        outs = [ch11._lstm(*args)] + [
            ch11._lstm(*args, **kw) for kw, _ in ch11._LSTM_MISTAKES
        ]
        flat = [np.concatenate([h.ravel(), c.ravel()]) for h, c in outs]
        for a in range(len(flat)):
            for b in range(a):
                assert not ch11._close(flat[a], flat[b]), (a, b)


# --------------------------------------------------------------------------- shared
@pytest.mark.parametrize("check", [check_rnn_bptt, check_lstm_step])
def test_stub_is_not_attempted(check, capsys):
    result = check(stub)
    assert not result.passed and not result.attempted
    assert "not attempted yet" in capsys.readouterr().out


@pytest.mark.parametrize("check", [check_rnn_bptt, check_lstm_step])
def test_not_a_function(check):
    result = check("rnn_bptt", quiet=True)
    assert not result.passed and "expected your function" in result.message


@pytest.mark.parametrize(
    "check, mutants", [(check_rnn_bptt, RNN_MUTANTS), (check_lstm_step, LSTM_MUTANTS)]
)
def test_each_mutant_is_told_something_different(check, mutants):
    messages = [check(m, quiet=True).message.split("failed.")[-1] for m, _ in mutants]
    assert len(set(messages)) == len(messages)


ANSWERS = [
    "1 - H",
    "1 − h",
    "1 - h",
    "W_h.T",
    "@ W_h",
    "D @",
    "np.tanh(c",
    "f * c",
    "i * g",
    "o * ",
    "f∘c",
    "o∘tanh",
]


@pytest.mark.parametrize(
    "check, mutants", [(check_rnn_bptt, RNN_MUTANTS), (check_lstm_step, LSTM_MUTANTS)]
)
def test_hints_do_not_give_the_answer(check, mutants):
    for mutant, _ in mutants:
        message = " ".join(check(mutant, quiet=True).message.split())
        assert not [a for a in ANSWERS if a in message], message


# -------------------------------------------- the checkers' references are the truth
def test_bptt_reference_agrees_with_finite_differences():
    rng = np.random.default_rng(5)
    N, T, n_in, n = 2, 5, 3, 4
    X, h0 = rng.standard_normal((N, T, n_in)), rng.normal(0, 0.5, (N, n))
    W_x, W_h = rng.normal(0, 0.6, (n_in, n)), rng.normal(0, 0.6, (n, n))
    b, dH = rng.normal(0, 0.3, n), rng.standard_normal((N, T, n))
    H = ch11._rnn_forward(X, h0, W_x, W_h, b)
    ref = ch11._bptt(X, H, h0, W_x, W_h, dH)[:4]

    def E():
        return float(np.sum(ch11._rnn_forward(X, h0, W_x, W_h, b) * dH))

    for analytic, p in zip(ref, (X, W_x, W_h, b)):
        numeric = numerical_gradient(E, p)
        assert ch11.relative_difference(analytic, numeric) < 1e-7


def test_lstm_reference_agrees_with_bookcode():
    rng = np.random.default_rng(6)
    args = (
        rng.standard_normal((3, 2)),
        rng.standard_normal((3, 4)),
        rng.standard_normal((3, 4)),
        rng.standard_normal((2, 16)),
        rng.standard_normal((4, 16)),
        rng.standard_normal(16),
    )
    for mine, book in zip(ch11._lstm(*args), step_via_bookcode(*args)):
        assert ch11.relative_difference(mine, book) < 1e-14
