"""The exercise check of chapter 5: the reference passes, each typical mistake gets its
own hint."""

import numpy as np
import pytest
from _checkers import assert_rejected_with_hint

from bookcode import diagnostics
from bookcode.exercises.ch05 import check_hidden_speeds


def _linears(net):
    return [layer for layer in net.layers if "W" in layer.params]


# -------------------------------------------------------------------- correct solutions
def speeds_reference(net):
    return np.array(
        [np.linalg.norm(g) for key, _, g in net.parameters() if key.endswith(".b")][:-1]
    )


def speeds_from_layers(net):  # also correct: walk the layers, keep a list
    return [
        float(np.sqrt(np.sum(layer.grads["b"] ** 2))) for layer in _linears(net)[:-1]
    ]


# ------------------------------------------------------------------------------ mutants
def speeds_reversed(net):
    return speeds_reference(net)[::-1]


def speeds_with_output(net):
    return np.array(
        [np.linalg.norm(g) for key, _, g in net.parameters() if key.endswith(".b")]
    )


def speeds_drop_first(net):
    return np.array(
        [np.linalg.norm(g) for key, _, g in net.parameters() if key.endswith(".b")][1:]
    )


def speeds_bias_values(net):
    return np.array(
        [np.linalg.norm(p) for key, p, _ in net.parameters() if key.endswith(".b")][:-1]
    )


def speeds_weight_values(net):
    return np.array(
        [np.linalg.norm(p) for key, p, _ in net.parameters() if key.endswith(".W")][:-1]
    )


def speeds_weight_grads(net):
    return np.array(
        [np.linalg.norm(g) for key, _, g in net.parameters() if key.endswith(".W")][:-1]
    )


def speeds_both(net):
    return np.array([np.linalg.norm(g) for _, _, g in net.parameters()][:-2])


def speeds_squared(net):
    return speeds_reference(net) ** 2


def speeds_l1(net):
    return np.array(
        [np.abs(g).sum() for key, _, g in net.parameters() if key.endswith(".b")][:-1]
    )


def speeds_mean_abs(net):
    return np.array(
        [np.abs(g).mean() for key, _, g in net.parameters() if key.endswith(".b")][:-1]
    )


def speeds_max_abs(net):
    return np.array(
        [np.abs(g).max() for key, _, g in net.parameters() if key.endswith(".b")][:-1]
    )


def speeds_one_number(net):
    return np.linalg.norm(
        np.concatenate([g for key, _, g in net.parameters() if key.endswith(".b")][:-1])
    )


def speeds_mutates(net):
    out = speeds_reference(net)
    for _, _p, g in net.parameters():
        g *= 0.0
    return out


def speeds_none(net):
    speeds_reference(net)


def speeds_all_layers(net):
    return [np.linalg.norm(layer.grads["b"]) for layer in net][
        :-1
    ]  # Activation layers have no "b"


def speeds_raises(net):
    return speeds_reference(net)[10]  # IndexError in the learner's code


def speeds_float32(net):
    return speeds_reference(net).astype(np.float32)


def stub(net):
    raise NotImplementedError


MUTANTS = [
    (speeds_reversed, "wrong order"),
    (speeds_with_output, "includes the output layer"),
    (speeds_drop_first, "dropped the first hidden layer"),
    (speeds_bias_values, "norms of the biases themselves"),
    (speeds_weight_values, "norms of the weights themselves"),
    (speeds_weight_grads, "used the weight gradients"),
    (speeds_both, "included the weight gradients too"),
    (speeds_squared, "squared norms"),
    (speeds_l1, "L1 norm"),
    (speeds_mean_abs, "mean absolute value"),
    (speeds_max_abs, "largest absolute entry"),
    (speeds_one_number, "one number, the norm of all gradients together"),
    (speeds_mutates, "changed the network"),
    (speeds_none, "returned None"),
    (speeds_all_layers, "Activation layers have no parameters"),
    (speeds_raises, "raised IndexError"),
    (speeds_float32, "returned float32 numbers"),
    (diagnostics.gradient_norms, "that is the book's implementation: write your own"),
]


@pytest.mark.parametrize("learner", [speeds_reference, speeds_from_layers])
def test_reference_passes(learner, capsys):
    result = check_hidden_speeds(learner)
    assert result.passed
    assert "all 3 checks passed" in capsys.readouterr().out


@pytest.mark.parametrize("mutant, hint", MUTANTS, ids=[m.__name__ for m, _ in MUTANTS])
def test_mutants_get_their_hint(mutant, hint, capsys):
    result = check_hidden_speeds(mutant)
    assert_rejected_with_hint(result, hint, capsys.readouterr().out)


def test_each_mutant_is_told_something_different():
    messages = [check_hidden_speeds(m).message.split("failed.")[-1] for m, _ in MUTANTS]
    assert len(set(messages)) == len(messages)


def test_stub_is_not_attempted(capsys):
    result = check_hidden_speeds(stub)
    assert not result.passed and not result.attempted
    assert "not attempted yet" in capsys.readouterr().out


def test_a_wrong_value_is_located():
    def off_by_a_bit(net):
        s = speeds_reference(net)
        s[1] *= 1.01
        return s

    result = check_hidden_speeds(off_by_a_bit)
    assert not result.passed and "hidden layer 2" in result.message


def test_single_number_for_one_hidden_layer_is_refused():
    def scalar(net):
        s = speeds_reference(net)
        return s[0] if s.size == 1 else s

    result = check_hidden_speeds(scalar)
    assert not result.passed and "one entry per hidden layer" in " ".join(
        result.message.split()
    )
