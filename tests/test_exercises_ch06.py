"""The exercise check of chapter 6: the reference passes, each typical mistake gets its
own hint."""

import numpy as np
import pytest
from _checkers import assert_rejected_with_hint

from bookcode import optim
from bookcode.exercises.ch06 import check_clip_by_global_norm


def reference(grads, max_norm):
    norm = np.sqrt(sum(np.sum(g**2) for g in grads))
    scale = max_norm / norm if norm > max_norm else 1.0
    return [g * scale for g in grads]


def reference_copying(
    grads, max_norm
):  # also correct: explicit copies, a generator of the squares
    norm = float(np.sqrt(sum(float(np.vdot(g, g)) for g in grads)))
    if norm <= max_norm:
        return [g.copy() for g in grads]
    return [g * (max_norm / norm) for g in grads]


def bookcode_optim(grads, max_norm):  # the learner's own function may call the book's
    from bookcode.optim import clip_by_global_norm

    return clip_by_global_norm(grads, max_norm)[0]


def per_tensor(grads, max_norm):
    out = []
    for g in grads:
        n = np.linalg.norm(g)
        out.append(g * (max_norm / n) if n > max_norm else g.copy())
    return out


def in_place(grads, max_norm):
    norm = np.sqrt(sum(np.sum(g**2) for g in grads))
    if norm > max_norm:
        for g in grads:
            g *= max_norm / norm
    return [g.copy() for g in grads]


def in_place_returned(grads, max_norm):  # mutates and returns the same objects
    norm = np.sqrt(sum(np.sum(g**2) for g in grads))
    if norm > max_norm:
        for g in grads:
            g *= max_norm / norm
    return grads


def aliases_inputs(
    grads, max_norm
):  # correct values, but the caller's own arrays when not clipping
    norm = np.sqrt(sum(np.sum(g**2) for g in grads))
    return [g * (max_norm / norm) for g in grads] if norm > max_norm else list(grads)


def by_value(grads, max_norm):
    return [np.clip(g, -max_norm, max_norm) for g in grads]


def sum_of_norms(grads, max_norm):
    norm = sum(np.linalg.norm(g) for g in grads)
    return [g * (max_norm / norm if norm > max_norm else 1.0) for g in grads]


def squared_norm(grads, max_norm):
    sq = sum(np.sum(g**2) for g in grads)
    return [g * (max_norm / sq if sq > max_norm else 1.0) for g in grads]


def upside_down(grads, max_norm):
    norm = np.sqrt(sum(np.sum(g**2) for g in grads))
    return [g * (norm / max_norm if norm > max_norm else 1.0) for g in grads]


def always_rescales(grads, max_norm):
    norm = np.sqrt(sum(np.sum(g**2) for g in grads))
    return [g * (max_norm / norm) for g in grads]


def python_division(
    grads, max_norm
):  # right except that 0-norm raises ZeroDivisionError
    norm = float(np.sqrt(sum(np.sum(g**2) for g in grads)))
    scale = min(1.0, max_norm / norm)
    return [g * scale for g in grads]


def concatenated(grads, max_norm):
    flat = np.concatenate([g.ravel() for g in grads])
    n = np.linalg.norm(flat)
    return flat * (max_norm / n) if n > max_norm else flat


def returns_pair(grads, max_norm):
    return reference(grads, max_norm), float(np.sqrt(sum(np.sum(g**2) for g in grads)))


def returns_none(grads, max_norm):
    reference(grads, max_norm)


def drops_one(grads, max_norm):
    return reference(grads, max_norm)[:-1]


def flattens_each(grads, max_norm):
    return [g.ravel() for g in reference(grads, max_norm)]


def half_threshold(grads, max_norm):  # an unrecognised mistake gets the generic hint
    return reference(grads, max_norm / 2)


def stub(grads, max_norm):
    raise NotImplementedError


MUTANTS = [
    (per_tensor, "clipped every array by its own norm"),
    (in_place, "changed the caller's gradient arrays in place"),
    (in_place_returned, "changed the caller's gradient arrays in place"),
    (aliases_inputs, "returned the caller's own arrays"),
    (by_value, "that is clipping by value"),
    (sum_of_norms, "sum of the arrays' norms"),
    (squared_norm, "squared norm"),
    (upside_down, "upside down"),
    (always_rescales, "already at most max_norm"),
    (python_division, "you never divide by 0"),
    (concatenated, "you returned one array of shape (7,)"),
    (returns_pair, "returned a pair"),
    (returns_none, "returned None"),
    (drops_one, "you returned 1 arrays for 2 gradients"),
    (flattens_each, "keep the shapes"),
    (half_threshold, "expected arrays with global norm 2.5"),
    (optim.clip_by_global_norm, "that is the book's implementation: write your own"),
]


@pytest.mark.parametrize("learner", [reference, reference_copying, bookcode_optim])
def test_reference_passes(learner, capsys):
    result = check_clip_by_global_norm(learner)
    assert result.passed
    assert "all 4 checks passed" in capsys.readouterr().out


@pytest.mark.parametrize("mutant, hint", MUTANTS, ids=[m.__name__ for m, _ in MUTANTS])
def test_mutants_get_their_hint(mutant, hint, capsys):
    result = check_clip_by_global_norm(mutant)
    assert_rejected_with_hint(result, hint, capsys.readouterr().out)


def test_always_rescaling_zero_gradients_is_told_why():
    def normalise_then_scale(
        grads, max_norm
    ):  # right for cases 1-3; 0 / 0 = NaN for zero gradients
        norm = np.sqrt(sum(np.sum(g**2) for g in grads))
        with np.errstate(all="ignore"):
            return [g / norm * min(norm, max_norm) for g in grads]

    result = check_clip_by_global_norm(normalise_then_scale)
    assert (
        not result.passed
        and "check 4 of 4" in result.message
        and "0 · inf is NaN" in result.message
    )


def test_stub_is_not_attempted(capsys):
    result = check_clip_by_global_norm(stub)
    assert not result.passed and not result.attempted
    assert "not attempted yet" in capsys.readouterr().out
