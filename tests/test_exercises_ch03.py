"""The exercise checks of chapter 3: the reference passes, each typical mistake gets its
own hint."""

import numpy as np
import pytest
from _checkers import assert_rejected_with_hint

from bookcode.exercises.ch03 import check_linear_backward, check_two_layer_backprop
from bookcode.layers import Linear
from bookcode.network import Sequential


def stub(*args, **kwargs):
    raise NotImplementedError


# ---------------------------------------------------------- linear_backward and mutants
def lb_reference(X, W, dY):
    return dY @ W.T, X.T @ dY, dY.sum(axis=0)


def lb_via_bookcode(X, W, dY):  # the package's own layer must pass the learner's check
    layer = Linear(*W.shape, init=W)
    layer.forward(X)
    dX = layer.backward(dY)
    return dX, layer.grads["W"], layer.grads["b"]


def lb_lists(X, W, dY):  # nested lists are accepted too
    return [r.tolist() for r in lb_reference(X, W, dY)]


def lb_dW_transposed(X, W, dY):
    return dY @ W.T, dY.T @ X, dY.sum(axis=0)


def lb_dX_without_transpose(X, W, dY):
    return dY @ W, X.T @ dY, dY.sum(axis=0)


def lb_dW_averaged(X, W, dY):
    return dY @ W.T, X.T @ dY / len(X), dY.sum(axis=0)


def lb_db_not_summed(X, W, dY):
    return dY @ W.T, X.T @ dY, dY


def lb_db_wrong_axis(X, W, dY):
    return dY @ W.T, X.T @ dY, dY.sum(axis=1)


def lb_db_total(X, W, dY):
    return dY @ W.T, X.T @ dY, dY.sum()


def lb_db_mean(X, W, dY):
    return dY @ W.T, X.T @ dY, dY.mean(axis=0)


def lb_db_first_row(X, W, dY):
    return dY @ W.T, X.T @ dY, dY[0]


def lb_dX_averaged(X, W, dY):
    return dY @ W.T / len(X), X.T @ dY, dY.sum(axis=0)


def lb_wrong_order(X, W, dY):
    return X.T @ dY, dY @ W.T, dY.sum(axis=0)


def lb_two_results(X, W, dY):
    return dY @ W.T, X.T @ dY


def lb_none(X, W, dY):
    lb_reference(X, W, dY)


def lb_none_inside(X, W, dY):
    return dY @ W.T, X.T @ dY, None


def lb_changes_input(X, W, dY):
    dY *= 1.0 + 1e-3  # in place
    return lb_reference(X, W, dY)


def lb_dW_with_W(X, W, dY):  # confuses dW with a product involving W
    return dY @ W.T, W * (X.T @ dY), dY.sum(axis=0)


def lb_square_only_bug(
    X, W, dY
):  # right unless W is square, where it uses W instead of W.T
    dX = dY @ W if W.shape[0] == W.shape[1] else dY @ W.T
    return dX, X.T @ dY, dY.sum(axis=0)


def lb_float32(X, W, dY):
    return tuple(a.astype(np.float32) for a in lb_reference(X, W, dY))


def lb_db_zeros(X, W, dY):  # the right shape, no gradient for the bias
    return dY @ W.T, X.T @ dY, np.zeros(W.shape[1])


def lb_dW_zeros(X, W, dY):
    return dY @ W.T, np.zeros_like(W), dY.sum(axis=0)


def lb_dX_zeros(X, W, dY):
    return np.zeros_like(X), X.T @ dY, dY.sum(axis=0)


def lb_dX_sign(X, W, dY):
    return -dY @ W.T, X.T @ dY, dY.sum(axis=0)


def lb_dW_sign(X, W, dY):  # the descent step's minus sign put into the gradient
    return dY @ W.T, -X.T @ dY, dY.sum(axis=0)


def lb_db_sign(X, W, dY):
    return dY @ W.T, X.T @ dY, -dY.sum(axis=0)


def lb_all_sign(X, W, dY):  # the textbook δ = (t − y) f': every gradient negated
    return lb_reference(X, W, -dY)


def lb_db_wrong_values(X, W, dY):  # right shape, values unrelated to dY's column sums
    return dY @ W.T, X.T @ dY, dY.max(axis=0)


LB_MUTANTS = [
    (lb_dW_transposed, "dW is transposed"),
    (lb_dX_without_transpose, "Check the shapes"),
    (lb_dW_averaged, "dW is N times too small"),
    (lb_db_not_summed, "db has one row per example"),
    (lb_db_wrong_axis, "summed over the wrong axis"),
    (lb_db_total, "summed over everything"),
    (lb_db_mean, "averaged over the batch"),
    (lb_db_first_row, "first example's row only"),
    (lb_dX_averaged, "dX is N times too small"),
    (lb_wrong_order, "wrong order"),
    (lb_two_results, "return three arrays"),
    (lb_none, "returned None"),
    (lb_none_inside, "is None"),
    (lb_changes_input, "changed one of its inputs"),
    (lb_dW_with_W, "dW differs from the finite-difference gradient"),
    (lb_square_only_bug, "dX uses W where it needs its transpose"),
    (lb_float32, "returned float32 numbers"),
    (lb_db_zeros, "db is all zeros, but the bias does receive a gradient"),
    (lb_dW_zeros, "dW is all zeros, but the weights do receive a gradient"),
    (lb_dX_zeros, "dX is all zeros, but the inputs do receive a gradient"),
    (lb_dX_sign, "dX has the right size but the opposite sign"),
    (lb_dW_sign, "dW has the right size but the opposite sign"),
    (lb_db_sign, "db has the right size but the opposite sign"),
    (lb_all_sign, "dX, dW and db all have the right size but the opposite sign"),
    (lb_db_wrong_values, "db has the right shape but the wrong values"),
    (
        Linear.backward,
        "bookcode.layers.Linear.backward — that is the book's implementation: write "
        "your own",
    ),
]


@pytest.mark.parametrize("learner", [lb_reference, lb_via_bookcode, lb_lists])
def test_linear_backward_reference_passes(learner, capsys):
    result = check_linear_backward(learner)
    assert result.passed, result.message
    assert "all 3 checks passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "mutant, hint", LB_MUTANTS, ids=[m.__name__ for m, _ in LB_MUTANTS]
)
def test_linear_backward_mutants_get_their_hint(mutant, hint, capsys):
    result = check_linear_backward(mutant)
    assert_rejected_with_hint(result, hint, capsys.readouterr().out)


def test_each_linear_backward_mutant_is_told_something_different():
    messages = [
        check_linear_backward(m).message.split("failed.")[-1] for m, _ in LB_MUTANTS
    ]
    assert len(set(messages)) == len(messages)


# ------------------------------------------------------- two_layer_backprop and mutants
def _forward(X, W1, b1, W2, b2):
    H = np.tanh(X @ W1 + b1)
    return H, 1 / (1 + np.exp(-(H @ W2 + b2)))


def _grads(X, W1, b1, W2, b2, H, d2, hidden_deriv, bias=lambda d: d.sum(axis=0)):
    d1 = (d2 @ W2.T) * hidden_deriv
    return {"W1": X.T @ d1, "b1": bias(d1), "W2": H.T @ d2, "b2": bias(d2)}


def tl_reference(X, T, W1, b1, W2, b2):
    H, Y = _forward(X, W1, b1, W2, b2)
    return _grads(X, W1, b1, W2, b2, H, (Y - T) / len(X), 1 - H**2)


def tl_via_bookcode(X, T, W1, b1, W2, b2):
    from bookcode import losses, network

    net = network.mlp([W1.shape[0], W1.shape[1], 1], "tanh", rng=0)
    for (_, p, _), q in zip(net.parameters(), (W1, b1, W2, b2)):
        p[...] = q
    loss = losses.get("bce")
    net.backward(loss.grad(net.forward(X), T))
    return dict(
        zip(("W1", "b1", "W2", "b2"), (g.copy() for _, _, g in net.parameters()))
    )


def tl_mse_habit(X, T, W1, b1, W2, b2):
    H, Y = _forward(X, W1, b1, W2, b2)
    return _grads(X, W1, b1, W2, b2, H, (Y - T) * Y * (1 - Y) / len(X), 1 - H**2)


def tl_no_mean(X, T, W1, b1, W2, b2):
    H, Y = _forward(X, W1, b1, W2, b2)
    return _grads(X, W1, b1, W2, b2, H, Y - T, 1 - H**2)


def tl_sigmoid_derivative(X, T, W1, b1, W2, b2):
    H, Y = _forward(X, W1, b1, W2, b2)
    return _grads(X, W1, b1, W2, b2, H, (Y - T) / len(X), H * (1 - H))


def tl_no_hidden_derivative(X, T, W1, b1, W2, b2):
    H, Y = _forward(X, W1, b1, W2, b2)
    return _grads(X, W1, b1, W2, b2, H, (Y - T) / len(X), 1.0)


def tl_derivative_of_net(X, T, W1, b1, W2, b2):
    H, Y = _forward(X, W1, b1, W2, b2)
    return _grads(X, W1, b1, W2, b2, H, (Y - T) / len(X), 1 - (X @ W1 + b1) ** 2)


def tl_note_sign(X, T, W1, b1, W2, b2):
    H, Y = _forward(X, W1, b1, W2, b2)
    return _grads(X, W1, b1, W2, b2, H, (T - Y) / len(X), 1 - H**2)


def tl_bias_not_summed(X, T, W1, b1, W2, b2):
    H, Y = _forward(X, W1, b1, W2, b2)
    return _grads(X, W1, b1, W2, b2, H, (Y - T) / len(X), 1 - H**2, bias=lambda d: d)


def tl_no_transpose(X, T, W1, b1, W2, b2):
    H, Y = _forward(X, W1, b1, W2, b2)
    d2 = (Y - T) / len(X)
    d1 = (d2 @ W2) * (1 - H**2)
    return {"W1": X.T @ d1, "b1": d1.sum(0), "W2": H.T @ d2, "b2": d2.sum(0)}


def tl_updates_in_place(X, T, W1, b1, W2, b2):
    g = tl_reference(X, T, W1, b1, W2, b2)
    W2 -= 0.1 * g["W2"]
    return g


def tl_tuple(X, T, W1, b1, W2, b2):
    return tuple(tl_reference(X, T, W1, b1, W2, b2).values())


def tl_hidden_wrong_input(
    X, T, W1, b1, W2, b2
):  # dW1 built from the hidden outputs instead of X
    H, Y = _forward(X, W1, b1, W2, b2)
    g = tl_reference(X, T, W1, b1, W2, b2)
    d1 = ((Y - T) / len(X) @ W2.T) * (1 - H**2)
    g["W1"] = X.T @ (d1 * 2.0)
    g["b1"] = 2.0 * d1.sum(0)
    return g


def tl_garbage(X, T, W1, b1, W2, b2):
    return {
        k: np.ones_like(v) for k, v in zip(("W1", "b1", "W2", "b2"), (W1, b1, W2, b2))
    }


def tl_bias_mean(X, T, W1, b1, W2, b2):  # averaged the bias gradients over the batch
    H, Y = _forward(X, W1, b1, W2, b2)
    return _grads(
        X, W1, b1, W2, b2, H, (Y - T) / len(X), 1 - H**2, bias=lambda d: d.mean(axis=0)
    )


def tl_b2_extra_mean(X, T, W1, b1, W2, b2):  # an extra 1/N on the output bias only
    g = tl_reference(X, T, W1, b1, W2, b2)
    g["b2"] = g["b2"] / len(X)
    return g


def tl_float32(X, T, W1, b1, W2, b2):
    return {
        k: v.astype(np.float32) for k, v in tl_reference(X, T, W1, b1, W2, b2).items()
    }


TL_MUTANTS = [
    (tl_mse_habit, "factor cancels"),
    (tl_no_mean, "N times too large"),
    (tl_sigmoid_derivative, "the sigmoid's derivative"),
    (tl_no_hidden_derivative, "missing the factor f'(net¹)"),
    (tl_derivative_of_net, "not its input"),
    (tl_note_sign, "the right size but the opposite sign"),
    (tl_bias_not_summed, "one row per example"),
    (tl_no_transpose, "Check the shapes"),
    (tl_updates_in_place, "changed the parameters in place"),
    (tl_tuple, "return a dict"),
    (tl_hidden_wrong_input, "the output layer is right"),
    (tl_garbage, "differ from finite differences"),
    (tl_float32, "returned float32 numbers"),
    (
        tl_bias_mean,
        "the bias gradients b1 and b2 are N times too small: you averaged over the "
        "batch",
    ),
    (tl_b2_extra_mean, "the bias gradient b2 is N times too small"),
    (
        Sequential.backward,
        "bookcode.network.Sequential.backward — that is the book's implementation",
    ),
]


@pytest.mark.parametrize("learner", [tl_reference, tl_via_bookcode])
def test_two_layer_backprop_reference_passes(learner, capsys):
    result = check_two_layer_backprop(learner)
    assert result.passed, result.message
    assert "all 3 checks passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "mutant, hint", TL_MUTANTS, ids=[m.__name__ for m, _ in TL_MUTANTS]
)
def test_two_layer_backprop_mutants_get_their_hint(mutant, hint, capsys):
    result = check_two_layer_backprop(mutant)
    assert_rejected_with_hint(result, hint, capsys.readouterr().out)


def test_each_two_layer_mutant_is_told_something_different():
    messages = [
        check_two_layer_backprop(m).message.split("failed.")[-1] for m, _ in TL_MUTANTS
    ]
    assert len(set(messages)) == len(messages)


@pytest.mark.parametrize("check", [check_linear_backward, check_two_layer_backprop])
def test_stub_is_not_attempted(check, capsys):
    result = check(stub)
    assert not result.passed and not result.attempted
    assert "not attempted yet" in capsys.readouterr().out


@pytest.mark.parametrize("check", [check_linear_backward, check_two_layer_backprop])
def test_not_a_function(check):
    result = check("linear_backward")
    assert not result.passed and "expected your function" in result.message


ANSWERS = [
    "X.T @ dY",
    "dY @ W.T",
    "sum(axis=0)",
    "Σ_n X_ni",
    "Σ_j dY_nj",
    "(Y − T)/N",
    "(Y − T) / N",
    "δ¹ = (",
    "W2ᵀ",
    "Xᵀ δ",
]


@pytest.mark.parametrize(
    "check, mutants",
    [(check_linear_backward, LB_MUTANTS), (check_two_layer_backprop, TL_MUTANTS)],
)
def test_hints_do_not_give_the_answer(check, mutants):
    for mutant, _ in mutants:
        message = " ".join(check(mutant).message.split())
        assert not [a for a in ANSWERS if a in message], message
