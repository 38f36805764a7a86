"""The exercise check of chapter 7: the reference passes, each typical mistake gets its
own hint."""

import numpy as np
import pytest
from _checkers import assert_rejected_with_hint

from bookcode import init
from bookcode.exercises.ch07 import check_he_normal


# -------------------------------------------------------------------- correct solutions
def he_reference(n_in, n_out, rng):
    return rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out))


def he_standard_normal(n_in, n_out, rng):
    return rng.standard_normal((n_in, n_out)) * np.sqrt(2.0 / n_in)


def he_bookcode(n_in, n_out, rng):
    return init.he_normal(n_in, n_out, rng=rng)


# ------------------------------------------------------------------------------ mutants
def he_std_as_variance(n_in, n_out, rng):
    return rng.normal(0.0, 2.0 / n_in, size=(n_in, n_out))


def he_fan_out(n_in, n_out, rng):
    return rng.normal(0.0, np.sqrt(2.0 / n_out), size=(n_in, n_out))


def he_xavier(n_in, n_out, rng):
    return rng.normal(0.0, np.sqrt(2.0 / (n_in + n_out)), size=(n_in, n_out))


def he_no_factor_two(n_in, n_out, rng):
    return rng.normal(0.0, np.sqrt(1.0 / n_in), size=(n_in, n_out))


def he_gain_two(n_in, n_out, rng):
    return rng.normal(0.0, 2.0 / np.sqrt(n_in), size=(n_in, n_out))


def he_unscaled(n_in, n_out, rng):
    return rng.standard_normal((n_in, n_out))


def he_uniform_same_variance(n_in, n_out, rng):
    a = np.sqrt(6.0 / n_in)
    return rng.uniform(-a, a, size=(n_in, n_out))


def he_uniform_std_as_bound(n_in, n_out, rng):
    a = np.sqrt(2.0 / n_in)
    return rng.uniform(-a, a, size=(n_in, n_out))


def he_rng_random(n_in, n_out, rng):
    return rng.random((n_in, n_out)) * np.sqrt(2.0 / n_in)


def he_global_np_random(n_in, n_out, rng):
    return np.random.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out))  # noqa: NPY002


def he_fresh_generator(n_in, n_out, rng):
    return np.random.default_rng().normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out))


def he_fixed_seed(n_in, n_out, rng):
    return np.random.default_rng(0).normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out))


def he_transposed(n_in, n_out, rng):
    return rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_out, n_in))


def he_constant(n_in, n_out, rng):
    rng.random()
    return np.full((n_in, n_out), np.sqrt(2.0 / n_in))


def he_none(n_in, n_out, rng):
    he_reference(n_in, n_out, rng)


def he_float32(n_in, n_out, rng):
    return he_reference(n_in, n_out, rng).astype(np.float32)


def he_raises(n_in, n_out, rng):
    return rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out, -1))


def stub(n_in, n_out, rng):
    raise NotImplementedError


MUTANTS = [
    (he_std_as_variance, "which is the standard deviation"),
    (he_fan_out, "you used the fan-out"),
    (he_xavier, "Xavier/Glorot's variance"),
    (he_no_factor_two, "the factor 2 is missing"),
    (he_gain_two, "this is 4/n_in"),
    (he_unscaled, "variance 1"),
    (he_uniform_same_variance, "you used rng.uniform"),
    (he_uniform_std_as_bound, "you used rng.uniform"),
    (he_rng_random, "not 0"),
    (he_global_np_random, "global random generator"),
    (he_fresh_generator, "new, unseeded generator"),
    (he_fixed_seed, "ignores rng"),
    (he_transposed, "transposed"),
    (he_constant, "all your weights are equal"),
    (he_none, "returned None"),
    (he_float32, "returned float32 numbers"),
    (he_raises, "raised ValueError"),
    (
        init.he_normal,
        "you passed bookcode.init.he_normal — that is the book's implementation: write "
        "your own",
    ),
]


@pytest.mark.parametrize("learner", [he_reference, he_standard_normal, he_bookcode])
def test_reference_passes(learner, capsys):
    result = check_he_normal(learner)
    assert result.passed, result.message
    assert "all 5 checks passed" in capsys.readouterr().out


@pytest.mark.parametrize("mutant, hint", MUTANTS, ids=[m.__name__ for m, _ in MUTANTS])
def test_mutants_get_their_hint(mutant, hint, capsys):
    result = check_he_normal(mutant)
    assert_rejected_with_hint(result, hint, capsys.readouterr().out)


def test_each_mutant_is_told_something_different():
    messages = [check_he_normal(m).message.split("failed.")[-1] for m, _ in MUTANTS]
    assert len(set(messages)) == len(messages)


def test_stub_is_not_attempted(capsys):
    result = check_he_normal(stub)
    assert not result.passed and not result.attempted
    assert "not attempted yet" in capsys.readouterr().out


def test_checker_leaves_the_global_generator_alone():
    before = np.random.get_state()[1].copy()  # noqa: NPY002
    check_he_normal(he_reference)
    assert np.array_equal(np.random.get_state()[1], before)  # noqa: NPY002


def test_a_slightly_wrong_variance_is_caught_with_its_distance():
    def off_by_ten_percent(n_in, n_out, rng):
        return rng.normal(0.0, np.sqrt(2.2 / n_in), size=(n_in, n_out))

    result = check_he_normal(off_by_ten_percent)
    assert not result.passed and "standard errors away" in result.message


def test_hints_do_not_give_the_answer():
    answers = [
        "rng.normal(0.0, std",
        "size=(n_in, n_out)",
        "np.sqrt(2 / n_in)",
        "√(2/n_in)",
    ]
    for mutant, _ in MUTANTS:
        message = " ".join(check_he_normal(mutant).message.split())
        assert not [a for a in answers if a in message], message
