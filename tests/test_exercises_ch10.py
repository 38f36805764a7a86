"""The exercise check of chapter 10: the reference passes, each typical mistake gets its
own hint."""

import numpy as np
import pytest
from _checkers import assert_rejected_with_hint

from bookcode import monitor
from bookcode.exercises.ch10 import check_update_ratios


def _weights(net):
    return [(p, g) for key, p, g in net.parameters() if key.endswith(".W")]


# -------------------------------------------------------------------- correct solutions
def ratios_reference(net, lr):
    return np.array(
        [lr * np.linalg.norm(g) / np.linalg.norm(W) for W, g in _weights(net)]
    )


def ratios_from_layers(net, lr):  # also correct: walk the layers, keep a list
    return [
        float(
            np.sqrt(
                np.sum((lr * layer.grads["W"]) ** 2) / np.sum(layer.params["W"] ** 2)
            )
        )
        for layer in net.layers
        if "W" in layer.params
    ]


# ------------------------------------------------------------------------------ mutants
def ratios_reversed(net, lr):
    return ratios_reference(net, lr)[::-1]


def ratios_no_lr(net, lr):
    return ratios_reference(net, 1.0)


def ratios_inverted(net, lr):
    return 1.0 / ratios_reference(net, lr)


def ratios_not_divided(net, lr):
    return np.array([lr * np.linalg.norm(g) for W, g in _weights(net)])


def ratios_after_step(net, lr):
    return np.array(
        [lr * np.linalg.norm(g) / np.linalg.norm(W - lr * g) for W, g in _weights(net)]
    )


def ratios_squared(net, lr):
    return np.array([np.sum((lr * g) ** 2) / np.sum(W**2) for W, g in _weights(net)])


def ratios_l1(net, lr):
    return np.array([lr * np.abs(g).sum() / np.abs(W).sum() for W, g in _weights(net)])


def ratios_max(net, lr):
    return np.array([lr * np.abs(g).max() / np.abs(W).max() for W, g in _weights(net)])


def ratios_entrywise(net, lr):
    return np.array([np.mean(np.abs(lr * g / W)) for W, g in _weights(net)])


def ratios_log10(net, lr):
    return np.log10(ratios_reference(net, lr))


def ratios_bias_grads(net, lr):
    lin = [layer for layer in net.layers if "W" in layer.params]
    return np.array(
        [
            lr * np.linalg.norm(layer.grads["b"]) / np.linalg.norm(layer.params["W"])
            for layer in lin
        ]
    )


def ratios_with_biases(net, lr):
    return np.array(
        [
            lr * np.linalg.norm(g) / max(np.linalg.norm(p), 1e-12)
            for _, p, g in net.parameters()
        ]
    )


def ratios_one_number(net, lr):
    W = np.concatenate([W.ravel() for W, _ in _weights(net)])
    g = np.concatenate([g.ravel() for _, g in _weights(net)])
    return lr * np.linalg.norm(g) / np.linalg.norm(W)


def ratios_takes_step(net, lr):
    out = ratios_reference(net, lr)
    for W, g in _weights(net):
        W -= lr * g
    return out


def ratios_none(net, lr):
    ratios_reference(net, lr)


def ratios_all_layers(net, lr):
    return [
        lr * np.linalg.norm(layer.grads["W"]) / np.linalg.norm(layer.params["W"])
        for layer in net
    ]


def ratios_float32(net, lr):
    return ratios_reference(net, lr).astype(np.float32)


def stub(net, lr):
    raise NotImplementedError


MUTANTS = [
    (ratios_reversed, "wrong order"),
    (ratios_no_lr, "forgot the learning rate"),
    (ratios_inverted, "upside down"),
    (ratios_not_divided, "did not divide by ‖W‖"),
    (ratios_after_step, "weights after the step"),
    (ratios_squared, "squared ratios"),
    (ratios_l1, "L1 norms"),
    (ratios_max, "largest absolute entries"),
    (ratios_entrywise, "averaged entry-wise ratios"),
    (ratios_log10, "log10"),
    (ratios_bias_grads, "bias gradients"),
    (ratios_with_biases, "included the biases"),
    (ratios_one_number, "the ratio of all layers together"),
    (ratios_takes_step, "changed the network's weights"),
    (ratios_none, "returned None"),
    (ratios_all_layers, "raised KeyError"),
    (ratios_float32, "returned float32 numbers"),
    (monitor.update_ratio, "that is the book's implementation: write your own"),
]


@pytest.mark.parametrize("learner", [ratios_reference, ratios_from_layers])
def test_reference_passes(learner, capsys):
    result = check_update_ratios(learner)
    assert result.passed
    assert "all 3 checks passed" in capsys.readouterr().out


@pytest.mark.parametrize("mutant, hint", MUTANTS, ids=[m.__name__ for m, _ in MUTANTS])
def test_mutants_get_their_hint(mutant, hint, capsys):
    result = check_update_ratios(mutant)
    assert_rejected_with_hint(result, hint, capsys.readouterr().out)


def test_each_mutant_is_told_something_different():
    messages = [check_update_ratios(m).message.split("failed.")[-1] for m, _ in MUTANTS]
    assert len(set(messages)) == len(messages)


def test_stub_is_not_attempted(capsys):
    result = check_update_ratios(stub)
    assert not result.passed and not result.attempted
    assert "not attempted yet" in capsys.readouterr().out


def test_a_wrong_value_is_located():
    def off_by_a_bit(net, lr):
        r = ratios_reference(net, lr)
        r[1] *= 1.01
        return r

    result = check_update_ratios(off_by_a_bit)
    assert not result.passed and "layer 2" in result.message


def test_single_number_for_one_layer_is_refused():
    def scalar(net, lr):
        r = ratios_reference(net, lr)
        return r[0] if r.size == 1 else r

    result = check_update_ratios(scalar)
    assert not result.passed and "one entry per weight layer" in " ".join(
        result.message.split()
    )
