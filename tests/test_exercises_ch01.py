"""The exercise checks of chapter 1: the reference passes, each typical mistake gets its
own hint."""

import functools

import numpy as np
import pytest
from _checkers import assert_rejected_with_hint

from bookcode import gradcheck
from bookcode.exercises import (
    CheckResult,
    Hint,
    book_implementation,
    call_learner,
    learner_array,
    matches,
    relative_difference,
    run_checks,
    sign_or_zero,
)
from bookcode.exercises.ch01 import check_central_difference, check_gradient_descent
from bookcode.experiments import descent
from bookcode.layers import Linear


# --------------------------------------------------------- gradient_descent and mutants
def gd_reference(grad, w0, lr, n_steps):
    w = np.array(w0, dtype=float)
    path = [w.copy()]
    for _ in range(n_steps):
        w = w - lr * grad(w)
        path.append(w.copy())
    return np.array(path)


def gd_list_of_arrays(
    grad, w0, lr, n_steps
):  # also correct: a list of rows is accepted
    w = np.array(w0, dtype=float)
    path = [w]
    for _ in range(n_steps):
        w = w - lr * grad(w)
        path.append(w)
    return path


def gd_ascent(grad, w0, lr, n_steps):
    w = np.array(w0, dtype=float)
    path = [w]
    for _ in range(n_steps):
        w = w + lr * grad(w)
        path.append(w)
    return np.array(path)


def gd_last_only(grad, w0, lr, n_steps):
    w = np.array(w0, dtype=float)
    for _ in range(n_steps):
        w = w - lr * grad(w)
    return w


def gd_no_start(grad, w0, lr, n_steps):
    w, path = np.array(w0, dtype=float), []
    for _ in range(n_steps):
        w = w - lr * grad(w)
        path.append(w)
    return np.array(path).reshape(-1, np.size(w0))


def gd_one_short(grad, w0, lr, n_steps):
    return (
        gd_reference(grad, w0, lr, n_steps)[:-1]
        if n_steps
        else gd_reference(grad, w0, lr, 0)[:0]
    )


def gd_one_extra(grad, w0, lr, n_steps):
    return gd_reference(grad, w0, lr, n_steps + 1)


def gd_transposed(grad, w0, lr, n_steps):
    return gd_reference(grad, w0, lr, n_steps).T


def gd_mutates_w0(grad, w0, lr, n_steps):
    w = np.asarray(w0, dtype=float)  # no copy for a float array
    path = [w.copy()]
    for _ in range(n_steps):
        w -= lr * grad(w)
        path.append(w.copy())
    return np.array(path)


def gd_aliased(grad, w0, lr, n_steps):
    w = np.array(w0, dtype=float)
    path = [w]
    for _ in range(n_steps):
        w -= lr * grad(w)  # updates the array already in the path
        path.append(w)
    return np.array(path)


def gd_int_inplace(grad, w0, lr, n_steps):
    w = np.array(w0)  # int dtype for a list of ints: w -= float raises
    path = [w.copy()]
    for _ in range(n_steps):
        w -= lr * grad(w)
        path.append(w.copy())
    return np.array(path)


def gd_frozen_gradient(grad, w0, lr, n_steps):
    w = np.array(w0, dtype=float)
    g = grad(w)
    path = [w]
    for _ in range(n_steps):
        w = w - lr * g
        path.append(w)
    return np.array(path)


def gd_no_lr(grad, w0, lr, n_steps):
    return gd_reference(grad, w0, 1.0, n_steps)


def gd_lr_squared(grad, w0, lr, n_steps):
    return gd_reference(grad, w0, lr**2, n_steps)


def gd_returns_none(grad, w0, lr, n_steps):
    gd_reference(grad, w0, lr, n_steps)


def gd_raises(grad, w0, lr, n_steps):
    return grad(w0, lr)  # wrong call: TypeError inside the learner's code


def gd_float32(grad, w0, lr, n_steps):  # single precision: right to 7 digits only
    return gd_reference(
        grad, np.asarray(w0, dtype=np.float32), np.float32(lr), n_steps
    ).astype(np.float32)


def stub(*args, **kwargs):
    raise NotImplementedError


def gd_lists_not_done(
    grad, w0, lr, n_steps
):  # a partial solution: the list case is left for later
    if isinstance(w0, list):
        raise NotImplementedError
    return gd_reference(grad, w0, lr, n_steps)


GD_MUTANTS = [
    (gd_ascent, "climbs"),
    (gd_last_only, "only the last point"),
    (gd_no_start, "misses the start w0"),
    (gd_one_short, "one step short"),
    (gd_one_extra, "one row too many"),
    (gd_transposed, "transposed"),
    (gd_mutates_w0, "changed w0 in place"),
    (gd_aliased, "same point"),
    (gd_int_inplace, "list of integers"),
    (gd_frozen_gradient, "gradient at w0"),
    (gd_no_lr, "ignore the learning rate"),
    (gd_lr_squared, "first differs at row 1"),
    (gd_returns_none, "returned None"),
    (gd_raises, "raised TypeError"),
    (gd_float32, "returned float32 numbers"),
    (
        descent.gradient_descent,
        "bookcode.experiments.descent.gradient_descent — that is the book's "
        "implementation: write your own",
    ),
]


@pytest.mark.parametrize("learner", [gd_reference, gd_list_of_arrays])
def test_gradient_descent_reference_passes(learner, capsys):
    result = check_gradient_descent(learner)
    assert result.passed and bool(result)
    assert "all 4 checks passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "mutant, hint", GD_MUTANTS, ids=[m.__name__ for m, _ in GD_MUTANTS]
)
def test_gradient_descent_mutants_get_their_hint(mutant, hint, capsys):
    result = check_gradient_descent(mutant)
    assert_rejected_with_hint(result, hint, capsys.readouterr().out)


def test_each_gradient_descent_mutant_is_told_something_different():
    messages = [
        check_gradient_descent(m).message.split("failed.")[-1] for m, _ in GD_MUTANTS
    ]
    assert len(set(messages)) == len(messages)


# ------------------------------------------------------- central_difference and mutants
def cd_reference(f, w, eps=1e-6):
    g = np.zeros_like(w, dtype=float)
    for i in range(w.size):
        old = w[i]
        w[i] = old + eps
        fp = f(w)
        w[i] = old - eps
        fm = f(w)
        w[i] = old
        g[i] = (fp - fm) / (2 * eps)
    return g


def cd_restore_by_arithmetic(
    f, w, eps=1e-6
):  # also correct (w comes back up to rounding)
    g = np.zeros(w.size)
    for i in range(w.size):
        w[i] += eps
        fp = f(w)
        w[i] -= 2 * eps
        fm = f(w)
        w[i] += eps
        g[i] = (fp - fm) / (2 * eps)
    return g


def cd_forward(f, w, eps=1e-6):
    g, f0 = np.zeros(w.size), f(w)
    for i in range(w.size):
        x = w.copy()
        x[i] += eps
        g[i] = (f(x) - f0) / eps
    return g


def cd_backward(f, w, eps=1e-6):
    g, f0 = np.zeros(w.size), f(w)
    for i in range(w.size):
        x = w.copy()
        x[i] -= eps
        g[i] = (f0 - f(x)) / eps
    return g


def cd_divides_by_eps(f, w, eps=1e-6):
    return 2 * cd_reference(f, w, eps)


def cd_sign(f, w, eps=1e-6):
    return -cd_reference(f, w, eps)


def cd_forgets_restore_in_place(f, w, eps=1e-6):
    g = np.zeros(w.size)
    for i in range(w.size):
        w[i] += eps
        fp = f(w)
        w[i] -= 2 * eps
        g[i] = (fp - f(w)) / (2 * eps)
    return g


def cd_forgets_restore_on_copy(f, w, eps=1e-6):
    x, g = w.copy(), np.zeros(w.size)
    for i in range(w.size):
        x[i] += eps
        fp = f(x)
        x[i] -= 2 * eps
        g[i] = (fp - f(x)) / (2 * eps)
    return g


def cd_alias(f, w, eps=1e-6):
    g = np.zeros(w.size)
    x = w.copy()
    for i in range(w.size):
        x_plus = x  # not a copy
        x_plus[i] += eps
        fp = f(x_plus)
        x_minus = x
        x_minus[i] -= eps
        g[i] = (fp - f(x_minus)) / (2 * eps)
    return g


def cd_fixed_eps(f, w, eps=1e-6):
    return cd_reference(f, w, 1e-6)


def cd_scalar(f, w, eps=1e-6):
    return float(np.sum(cd_reference(f, w, eps)))


def cd_nan(f, w, eps=1e-6):
    return np.full(w.shape, np.nan)


def cd_raises(f, w, eps=1e-6):
    return f(w, eps)


def cd_float32(f, w, eps=1e-6):
    return cd_reference(f, w, eps).astype(np.float32)


CD_MUTANTS = [
    (cd_forward, "forward difference"),
    (cd_backward, "backward difference"),
    (cd_divides_by_eps, "twice too large"),
    (cd_sign, "the right size but the wrong sign"),
    (cd_forgets_restore_in_place, "w changed after your function returned"),
    (cd_forgets_restore_on_copy, "did not put w[i] back"),
    (cd_alias, "does not copy"),
    (cd_fixed_eps, "ignores its eps"),
    (cd_scalar, "a single number"),
    (cd_nan, "NaN or inf"),
    (cd_raises, "raised TypeError"),
    (cd_float32, "returned float32 numbers"),
    (gradcheck.numerical_gradient, "that is the book's implementation: write your own"),
]


@pytest.mark.parametrize("learner", [cd_reference, cd_restore_by_arithmetic])
def test_central_difference_reference_passes(learner):
    assert check_central_difference(learner).passed


@pytest.mark.parametrize(
    "mutant, hint", CD_MUTANTS, ids=[m.__name__ for m, _ in CD_MUTANTS]
)
def test_central_difference_mutants_get_their_hint(mutant, hint, capsys):
    result = check_central_difference(mutant)
    assert_rejected_with_hint(result, hint, capsys.readouterr().out)


# --------------------------------------------------------------------- shared machinery
@pytest.mark.parametrize("check", [check_gradient_descent, check_central_difference])
def test_stub_is_not_attempted(check, capsys):
    result = check(stub)
    assert not result.passed and not result.attempted
    assert "not attempted yet" in capsys.readouterr().out
    assert "not attempted" in repr(result)


def test_a_partial_solution_is_attempted_and_told_which_case_is_missing(capsys):
    result = check_gradient_descent(gd_lists_not_done)
    assert not result.passed and result.attempted
    assert (
        "check 3 of 4" in result.message
        and "raised NotImplementedError here, after passing checks 1–2"
        in result.message
    )


def test_run_checks_reports_first_failure_and_survives_checker_errors():
    def ok(fn):
        fn()

    def bad(fn):
        raise Hint("the hint")

    def broken(fn):
        return 1 / np.array([])[0]  # IndexError inside the check itself

    r = run_checks(
        "demo",
        lambda: None,
        [("first", ok), ("second", bad), ("third", broken)],
        quiet=True,
    )
    assert (
        not r.passed
        and "check 2 of 3 (second)" in r.message
        and "the hint" in r.message
    )
    r = run_checks("demo", lambda: None, [("first", ok), ("third", broken)], quiet=True)
    assert "could not check your function's output (IndexError" in r.message
    r = run_checks("demo", "not a function", [("first", ok)], quiet=True)
    assert not r.passed and "expected your function" in r.message
    assert isinstance(r, CheckResult)


def test_call_learner_and_learner_array():
    with pytest.raises(Hint, match="raised ZeroDivisionError: division by zero"):
        call_learner(lambda: 1 / 0)
    with pytest.raises(Hint, match="forget the `return`"):
        learner_array(None)
    with pytest.raises(Hint, match="not an array of numbers"):
        learner_array({"a": 1})
    np.testing.assert_array_equal(learner_array([[1, 2]]), [[1.0, 2.0]])
    with pytest.raises(
        Hint,
        match="returned float16 numbers, which keep only about 3 significant digits",
    ):
        learner_array(np.ones(2, dtype=np.float16))
    assert learner_array(np.float64(2.5)) == 2.5 and learner_array(3) == 3.0


def test_matches_uses_the_gradient_check_tolerance_and_never_matches_nan():
    a = np.array([[1.0, -2.0], [3.0, 0.5]])
    assert (
        relative_difference(a, a) == 0.0
        and relative_difference(np.zeros(3), np.zeros(3)) == 0.0
    )
    assert relative_difference(a, -a) == 1.0  # ‖2a‖ / (2‖a‖)
    assert matches(a, a * (1 + 1e-9)) and not matches(
        a, a * (1 + 1e-6)
    )  # tolerance 1e-7 (gradcheck.TOLERANCE)
    assert not matches(a, a.T) and not matches(
        a, a.ravel()
    )  # a transposed answer is not right by accident
    nan = a.copy()
    nan[0, 0] = np.nan
    assert (
        np.isnan(relative_difference(nan, a))
        and not matches(nan, a)
        and not matches(nan, nan)
    )


def test_sign_or_zero_names_the_two_answers_a_relative_error_cannot_tell_apart():
    a = np.array([[1.0, -2.0], [3.0, 0.5]])
    assert relative_difference(-a, a) == relative_difference(np.zeros_like(a), a) == 1.0
    assert sign_or_zero(-a, a) == "sign" and sign_or_zero(np.zeros_like(a), a) == "zero"
    assert (
        sign_or_zero(a, a) is None
        and sign_or_zero(-0.5 * a, a) is None
        and sign_or_zero(-a.T, a) is None
    )
    assert (
        sign_or_zero(np.zeros(2), np.zeros(2)) is None
    )  # a zero reference: nothing to name


def _learner_using_the_book(
    grad, w0, lr, n_steps
):  # the learner's own function may call bookcode inside
    return descent.gradient_descent(grad, w0, lr, n_steps)


def test_book_implementation_recognises_bookcode_functions_methods_and_partials():
    assert (
        book_implementation(descent.gradient_descent)
        == "bookcode.experiments.descent.gradient_descent"
    )
    assert (
        book_implementation(functools.partial(descent.gradient_descent, lr=0.1))
        == "bookcode.experiments.descent.gradient_descent"
    )
    assert book_implementation(Linear.backward) == "bookcode.layers.Linear.backward"
    assert (
        book_implementation(Linear(2, 3, rng=0).backward)
        == "bookcode.layers.Linear.backward"
    )
    assert book_implementation(Linear) == "bookcode.layers.Linear"
    for own in (gd_reference, _learner_using_the_book, lambda w: w, np.tanh, print):
        assert book_implementation(own) is None


def test_the_book_implementation_is_refused_before_any_case_runs(capsys):
    def never(fn):
        raise AssertionError("a case ran")

    r = run_checks("demo", descent.gradient_descent, [("first", never)])
    assert not r.passed and r.attempted
    assert r.message == (
        "\u2718 demo: you passed bookcode.experiments.descent.gradient_descent — that "
        "is the book's implementation: write your own, then check it here."
    )
    assert capsys.readouterr().out.strip() == r.message
    r = run_checks(
        "demo",
        gd_reference,
        [("first", never)],
        quiet=True,
        others=(gradcheck.numerical_gradient,),
    )
    assert (
        not r.passed
        and "bookcode.gradcheck.numerical_gradient — that is the book's implementation"
        in r.message
    )
