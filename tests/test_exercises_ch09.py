"""The exercise check of chapter 9: the reference passes, each typical mistake gets its
own hint."""

import numpy as np
import pytest
from _checkers import assert_rejected_with_hint

from bookcode.exercises.ch09 import check_residual_backward
from bookcode.residual import Residual


# -------------------------------------------------------------------- correct solutions
def backward_reference(block, dY):
    dX_branch = block.branch.backward(block.scale * dY)
    return dY + dX_branch


def backward_out_of_place_copy(block, dY):  # also correct: work on a copy
    g = dY.copy()
    g = g + block.branch.backward(g * block.scale)
    return g


# ------------------------------------------------------------------------------ mutants
def backward_no_identity(block, dY):
    return block.branch.backward(block.scale * dY)


def backward_no_branch(block, dY):
    return dY


def backward_no_branch_scaled(block, dY):
    return block.scale * dY


def backward_unscaled(block, dY):
    return dY + block.branch.backward(dY)


def backward_scale_everything(block, dY):
    return block.scale * (dY + block.branch.backward(block.scale * dY))


def backward_scale_twice(block, dY):
    return dY + block.branch.backward(block.scale * block.scale * dY)


def backward_scale_outside(block, dY):  # dX right, branch gradients wrong by 1/s
    return dY + block.scale * block.branch.backward(dY)


def backward_mutates_add(block, dY):
    dY += block.branch.backward(block.scale * dY)
    return dY


def backward_mutates_scale(block, dY):
    dY *= block.scale
    dX = block.branch.backward(dY)
    return dY / block.scale + dX


def backward_not_filling_grads(
    block, dY
):  # dX by hand for a Linear (or act → Linear) branch, no backward call
    branch = block.branch
    lin = branch if hasattr(branch, "W") else branch[-1]
    d = (block.scale * dY) @ lin.W.T
    if lin is not branch:
        X, Y = branch[0]._cache
        d = branch[0].f.vjp(X, Y, d)
    return dY + d


def backward_twice(
    block, dY
):  # the second call overwrites the grads with unscaled ones
    dX = block.branch.backward(block.scale * dY)
    block.branch.backward(dY)
    return dY + dX


def backward_none(block, dY):
    backward_reference(block, dY)


def backward_wrong_shape(block, dY):
    return backward_reference(block, dY).sum(axis=0)


def backward_raises(block, dY):
    return block.branch.backward(
        block.scale * dY.T
    )  # ValueError inside the learner's call


def backward_float32(block, dY):
    return backward_reference(block, dY).astype(np.float32)


def stub(block, dY):
    raise NotImplementedError


MUTANTS = [
    (backward_no_identity, "forgot the identity term"),
    (backward_no_branch, "only the identity path"),
    (backward_no_branch_scaled, "only the identity path"),
    (backward_unscaled, "enters the branch carries the factor s too"),
    (backward_scale_everything, "applied twice or to the identity term"),
    (backward_scale_twice, "applied twice or to the identity term"),
    (backward_scale_outside, "off by the factor s"),
    (backward_mutates_add, "changed dY in place"),
    (backward_mutates_scale, "changed dY in place"),
    (backward_not_filling_grads, "parameter gradients were not filled"),
    (backward_twice, "call backward only once"),
    (backward_none, "returned None"),
    (backward_wrong_shape, "must have the shape of dY"),
    (backward_raises, "raised ValueError"),
    (backward_float32, "float32"),
    (
        Residual.backward,
        "you passed bookcode.residual.Residual.backward — that is the book's "
        "implementation: write your own",
    ),
]


@pytest.mark.parametrize("learner", [backward_reference, backward_out_of_place_copy])
def test_reference_passes(learner, capsys):
    result = check_residual_backward(learner)
    assert result.passed
    assert "all 3 checks passed" in capsys.readouterr().out


@pytest.mark.parametrize("mutant, hint", MUTANTS, ids=[m.__name__ for m, _ in MUTANTS])
def test_mutants_get_their_hint(mutant, hint, capsys):
    result = check_residual_backward(mutant)
    assert_rejected_with_hint(result, hint, capsys.readouterr().out)


def test_stub_is_not_attempted(capsys):
    result = check_residual_backward(stub)
    assert not result.passed and not result.attempted
    assert "not attempted yet" in capsys.readouterr().out


def test_the_real_residual_backward_passes(capsys):
    from bookcode.residual import Residual

    assert check_residual_backward(
        lambda block, dY: Residual.backward(block, dY)
    ).passed


def test_each_mutant_class_is_told_something_specific():
    messages = {
        check_residual_backward(m).message.split("failed.")[-1] for m, _ in MUTANTS
    }
    assert len(messages) >= 10
