"""Checks for the coding exercise of chapters/10_diagnosis.

- :func:`check_update_ratios`: ``update_ratios(net, lr)`` returns, for a network on
  which ``backward`` has just run, the update:data ratio ``η ‖∂E/∂W^l‖ / ‖W^l‖`` that
  one plain SGD step would give every weight layer, input side first, without changing
  the network.

The reference values are computed here from the layers' ``params`` and ``grads``
directly, independently of :mod:`bookcode.monitor` and :mod:`bookcode.optim`.
"""

from __future__ import annotations

import numpy as np

from . import Hint, call_learner, learner_array, network_after_backward, run_checks

__all__ = ["check_update_ratios"]


def _linears(net):
    return [layer for layer in net.layers if "W" in layer.params]


def _n(a, kind="l2"):
    a = np.asarray(a, dtype=float)
    return {
        "l2": lambda: np.sqrt(np.sum(a * a)),
        "sq": lambda: np.sum(a * a),
        "l1": lambda: np.sum(np.abs(a)),
        "max": lambda: np.max(np.abs(a)),
        "mean": lambda: np.mean(np.abs(a)),
    }[kind]()


def _close(a, b):
    return a.shape == b.shape and np.allclose(a, b, rtol=1e-9, atol=1e-15)


def _ratios_case(sizes, activation, seed, lr):
    def case(learner):
        net = network_after_backward(
            sizes,
            activation,
            seed,
            gains=[0.5 + i for i in range(len(sizes) - 1)],
            bias_std=0.3,
            n_examples=12,
        )  # layers differ in ‖W‖
        lin = _linears(net)
        before = [
            {k: (layer.params[k].copy(), layer.grads[k].copy()) for k in layer.params}
            for layer in lin
        ]
        out = call_learner(learner, net, lr)
        if any(
            not np.array_equal(layer.params[k], p)
            or not np.array_equal(layer.grads[k], g)
            for layer, saved in zip(lin, before)
            for k, (p, g) in saved.items()
        ):
            raise Hint(
                "your function changed the network's weights or gradients. Compute the "
                "ratio from the current values; do not take the step (no `p -= lr * "
                "g`, no optimizer.step)"
            )
        _diagnose(learner_array(out), lin, before, lr)

    return case


def _diagnose(got, lin, before, lr):
    W = [saved["W"][0] for saved in before]
    G = [saved["W"][1] for saved in before]
    want = np.array([lr * _n(g) / _n(w) for w, g in zip(W, G)])
    L = len(lin)
    if got.ndim == 0 and L == 1:
        raise Hint(
            "you returned a single number; return a 1-D array with one entry per "
            "weight layer (here one entry), e.g. np.array(ratios)"
        )
    if got.ndim == 0 or got.size == 1 and L > 1:
        value = float(np.ravel(got)[0])
        glob = (
            lr
            * np.sqrt(sum(_n(g, "sq") for g in G))
            / np.sqrt(sum(_n(w, "sq") for w in W))
        )
        if np.isclose(value, glob):
            raise Hint(
                "you returned one number, the ratio of all layers together. Compute "
                f"it for each weight layer separately: an array of {L} numbers"
            )
        raise Hint(
            f"expected an array with one number per weight layer ({L}), got a single "
            "number"
        )
    got = got.ravel()
    if got.size != L:
        if got.size == 2 * L:
            raise Hint(
                f"your array has {got.size} entries, two per layer: you included the "
                "biases. The update:data ratio of the chapter is for the weight "
                "matrices W only (keys ending in '.W')"
            )
        raise Hint(
            f"expected one number per weight layer ({L} here; Activation layers have "
            f"none), got {got.size}"
        )
    if _close(got, want):
        return
    candidates = [
        (
            want[::-1],
            "your layers are in the wrong order: the first entry must be the layer "
            "next to the input, as net.parameters() yields them",
        ),
        (
            want / lr,
            "you forgot the learning rate: the ratio compares the size of the *update* "
            "with the weights, and the update of plain SGD is the gradient times η",
        ),
        (
            1.0 / want,
            "your ratio is upside down: it measures the update relative to the weights "
            "it changes, update over data (eq. (dx-update-ratio))",
        ),
        (
            np.array([lr * _n(g) for g in G]),
            "you did not divide by ‖W‖: the ratio compares the update with the "
            "weights it changes",
        ),
        (
            np.array([lr * _n(g) / _n(w - lr * g) for w, g in zip(W, G)]),
            "you divided by the weights after the "
            "step; eq. (dx-update-ratio) uses ‖W‖ before the step",
        ),
        (
            want**2,
            "these are squared ratios (or ratios of squared norms): take square roots, "
            "‖A‖ = sqrt(Σ A²)",
        ),
        (
            np.array([lr * _n(g, "l1") / _n(w, "l1") for w, g in zip(W, G)]),
            "you used sums of absolute values "
            "(L1 norms); use the Frobenius norm sqrt(Σ A²) (np.linalg.norm)",
        ),
        (
            np.array([lr * _n(g, "max") / _n(w, "max") for w, g in zip(W, G)]),
            "you used the largest absolute "
            "entries; use the Frobenius norm sqrt(Σ A²) (np.linalg.norm)",
        ),
        (
            np.array([np.mean(np.abs(lr * g / w)) for w, g in zip(W, G)]),
            "you averaged entry-wise ratios |ηg_ij / W_ij|; take the ratio of the two "
            "norms instead (a few tiny W_ij dominate the average)",
        ),
        (
            np.log10(np.abs(want)),
            "you returned log10 of the ratios; return the ratios themselves",
        ),
        (
            np.array([lr * _n(saved["b"][1]) / _n(w) for w, saved in zip(W, before)]),
            "you used the bias "
            "gradients ∂E/∂b; use the weight gradients ∂E/∂W (keys ending in '.W')",
        ),
    ]
    with np.errstate(all="ignore"):
        for wrong, hint in candidates:
            if _close(got, np.asarray(wrong, dtype=float)):
                raise Hint(hint)
    i = int(np.argmax(~np.isclose(got, want, rtol=1e-9, atol=1e-15)))
    raise Hint(
        f"layer {i + 1}: expected the update:data ratio {want[i]:.6g} of eq. "
        f"(dx-update-ratio), got {got[i]:.6g}"
    )


def check_update_ratios(update_ratios):
    """Check a learner's ``update_ratios(net, lr)`` → array of ``η‖∂E/∂W^l‖/‖W^l‖``,
    input side first.

    Cases: a sigmoid and a tanh network of different depths and widths, with learning
    rates 0.1, 0.03 and 1 (so that the order, the learning rate, biases and the choice
    of norm all change the answer), and a single weight layer.

    Implements the check of the coding exercise on eq. (dx-update-ratio) in
    chapters/10_diagnosis.
    """
    cases = [
        (
            "sigmoid net [5, 4, 4, 4, 3], η = 0.1",
            _ratios_case([5, 4, 4, 4, 3], "sigmoid", 1, 0.1),
        ),
        (
            "tanh net of mixed widths [6, 8, 5, 7, 2], η = 0.03",
            _ratios_case([6, 8, 5, 7, 2], "tanh", 2, 0.03),
        ),
        ("one weight layer [3, 2], η = 1", _ratios_case([3, 2], "sigmoid", 3, 1.0)),
    ]
    return run_checks("update_ratios", update_ratios, cases)
