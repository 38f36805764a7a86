"""Checks for the coding exercise of chapters/05_vanishing_exploding.

- :func:`check_hidden_speeds`: ``hidden_speeds(net)`` returns the learning speed
  ‖∂E/∂b^l‖ of every hidden layer of a network on which ``backward`` has just run, input
  side first.

The reference values are computed here from the layers' ``grads`` directly,
independently of :mod:`bookcode.diagnostics` and
:mod:`bookcode.experiments.gradient_flow`.
"""

from __future__ import annotations

import numpy as np

from . import Hint, call_learner, learner_array, network_after_backward, run_checks

__all__ = ["check_hidden_speeds"]


def _linears(net):
    return [layer for layer in net.layers if "W" in layer.params]


def _norms(arrays, kind="l2"):
    f = {
        "l2": lambda a: np.sqrt(np.sum(a * a)),
        "sq": lambda a: np.sum(a * a),
        "l1": lambda a: np.sum(np.abs(a)),
        "max": lambda a: np.max(np.abs(a)),
        "mean": lambda a: np.mean(np.abs(a)),
    }[kind]
    return np.array([f(np.asarray(a, dtype=float)) for a in arrays])


def _close(a, b):
    return a.shape == b.shape and np.allclose(a, b, rtol=1e-9, atol=1e-15)


def _speeds_case(sizes, activation, seed):
    def case(learner):
        net = network_after_backward(sizes, activation, seed)
        lin = _linears(net)
        before = [(layer.params["W"].copy(), layer.grads["b"].copy()) for layer in lin]
        try:
            out = call_learner(learner, net)
        except Hint as hint:
            if "KeyError: 'b'" in str(hint) or "KeyError: 'W'" in str(hint):
                raise Hint(
                    f"{hint}. Activation layers have no parameters: loop over "
                    "net.parameters() and keep the keys ending in '.b', or skip the "
                    "layers without a 'b'"
                ) from None
            raise
        if any(
            not np.array_equal(layer.params["W"], W)
            or not np.array_equal(layer.grads["b"], gb)
            for layer, (W, gb) in zip(lin, before)
        ):
            raise Hint(
                "your function changed the network's parameters or gradients; only "
                "read them"
            )
        got = learner_array(out)
        n_hidden = len(lin) - 1
        want = _norms([layer.grads["b"] for layer in lin[:-1]])
        _diagnose(got, want, lin, n_hidden)

    return case


def _diagnose(got, want, lin, n_hidden):
    all_b = _norms([layer.grads["b"] for layer in lin])
    if got.ndim == 0 and n_hidden == 1:
        raise Hint(
            "you returned a single number; return a 1-D array with one entry per "
            "hidden layer (here one entry), e.g. np.array(speeds)"
        )
    if got.ndim == 0 or (got.size == 1 and n_hidden > 1):
        value = float(np.ravel(got)[0])
        every = np.concatenate(
            [np.ravel(layer.grads[k]) for layer in lin for k in ("W", "b")]
        )
        if np.isclose(
            value,
            np.linalg.norm(
                np.concatenate([np.ravel(layer.grads["b"]) for layer in lin[:-1]])
            ),
        ) or np.isclose(value, np.linalg.norm(every)):
            raise Hint(
                "you returned one number, the norm of all gradients together. Take "
                "the norm of each hidden layer's bias gradient separately: an array "
                f"of {n_hidden} numbers"
            )
        raise Hint(
            f"expected an array with one number per hidden layer ({n_hidden}), got a "
            "single number"
        )
    got = got.ravel()
    if got.size != n_hidden:
        if got.size == n_hidden + 1 and (
            _close(got, all_b) or _close(got, all_b[::-1])
        ):
            raise Hint(
                f"your array has {got.size} entries: it includes the output layer. The "
                "hidden layers are all Linear layers except the last one"
            )
        if got.size == 2 * (n_hidden + 1) or got.size == 2 * n_hidden:
            raise Hint(
                "your array has two entries per layer: you included the weight "
                "gradients too. The speed of learning of a layer is the norm of its "
                "bias gradient ∂E/∂b only"
            )
        raise Hint(
            f"expected one number per hidden layer ({n_hidden} here), got {got.size}"
        )
    if _close(got, want):
        return
    hidden = lin[:-1]
    candidates = [
        (
            want[::-1],
            "your layers are in the wrong order: the first entry must be the hidden "
            "layer next to the input (layer 1), as net.parameters() yields them",
        ),
        (
            all_b[1:],
            "you dropped the first hidden layer and kept the output layer: drop the "
            "last Linear layer (the output), not the first",
        ),
        (
            _norms([layer.params["b"] for layer in hidden]),
            "you took the norms of the biases themselves; the speed of learning is "
            "about how fast they change, their gradients ∂E/∂b (the third item of "
            "net.parameters())",
        ),
        (
            _norms([layer.params["W"] for layer in hidden]),
            "you took the norms of the weights themselves; the speed of learning is "
            "the norm of the bias gradients ∂E/∂b (the third item of net.parameters())",
        ),
        (
            _norms([layer.grads["W"] for layer in hidden]),
            "you used the weight gradients ∂E/∂W; Nielsen's speed of learning is the "
            "norm of the bias gradient ∂E/∂b = Σ_n δ_n (keys ending in '.b')",
        ),
        (
            _norms([layer.grads["b"] for layer in hidden], "sq"),
            "these are squared norms: take the square root, "
            "‖g‖ = sqrt(Σ g²) (np.linalg.norm)",
        ),
        (
            _norms([layer.grads["b"] for layer in hidden], "l1"),
            "this is the sum of absolute values (L1 norm); use "
            "the Euclidean length sqrt(Σ g²) (np.linalg.norm)",
        ),
        (
            _norms([layer.grads["b"] for layer in hidden], "mean"),
            "this is the mean absolute value; use the "
            "Euclidean length sqrt(Σ g²) (np.linalg.norm)",
        ),
        (
            _norms([layer.grads["b"] for layer in hidden], "max"),
            "this is the largest absolute entry; use the "
            "Euclidean length sqrt(Σ g²) (np.linalg.norm)",
        ),
    ]
    for wrong, hint in candidates:
        if _close(got, wrong):
            raise Hint(hint)
    i = int(np.argmax(np.abs(got - want) > 1e-9 * np.abs(want)))
    raise Hint(
        f"hidden layer {i + 1}: expected ‖∂E/∂b‖ = {want[i]:.6g}, got {got[i]:.6g}"
    )


def check_hidden_speeds(hidden_speeds):
    """Check a learner's ``hidden_speeds(net)`` → array of ‖∂E/∂b^l‖ for the hidden
    layers, input side first.

    Cases: sigmoid and tanh networks of several depths and widths (so that the order,
    the output layer and the choice of weights or gradients all change the answer), and
    a single hidden layer.

    Implements the check of the coding exercise on eq. (vg-speed) in
    chapters/05_vanishing_exploding.
    """
    cases = [
        ("sigmoid net [5, 4, 4, 4, 3]", _speeds_case([5, 4, 4, 4, 3], "sigmoid", 1)),
        (
            "tanh net of mixed widths [6, 8, 5, 7, 2]",
            _speeds_case([6, 8, 5, 7, 2], "tanh", 2),
        ),
        ("one hidden layer [3, 5, 2]", _speeds_case([3, 5, 2], "sigmoid", 3)),
    ]
    return run_checks("hidden_speeds", hidden_speeds, cases)
