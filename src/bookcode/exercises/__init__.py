"""Auto-checked coding exercises: the shared machinery.

The checkers build their reference cases from the framework at the top of ``bookcode``
(layers, networks, gradient checks); nothing in ``bookcode`` imports them.

Each chapter module (``bookcode.exercises.ch01``, …) has
``check_<name>(learner_function)`` functions. A check runs reference cases and tells the
learner, in one or two sentences, what is wrong — the hint names the common mistake it
recognises (sign error, off-by-one, …). It never shows a traceback: an exception raised
by the learner's code becomes a short message, and ``NotImplementedError`` (the stub of
the student edition) means "not attempted yet".

A hint teaches without giving the answer: it names the symptom (a shape, a transpose, a
batch average, a sign, a missing factor) and the idea behind the fix, and may point to
an equation of the chapter, but never shows the expression or line of code that computes
the result. A check handed bookcode's own implementation (``check_elu(activations.elu,
...)``) refuses to run: that is the book's implementation, and the exercise is to write
one.

A chapter module writes each case as a function ``case(learner)`` that calls the learner
through :func:`call_learner` and raises :class:`Hint` when it finds a mistake, then
hands the cases to :func:`run_checks`.
"""

from __future__ import annotations

import functools
import textwrap
from dataclasses import dataclass

import numpy as np

from ..gradcheck import TOLERANCE
from ..seeding import rng as _seeded_rng

__all__ = [
    "CheckResult",
    "Hint",
    "NotAttempted",
    "call_learner",
    "learner_array",
    "learner_tuple",
    "inputs_unchanged",
    "run_checks",
    "relative_difference",
    "matches",
    "network_after_backward",
    "book_implementation",
    "sign_or_zero",
]

PASS, FAIL, TODO = "\u2714", "\u2718", "\u2026"  # ✔ ✘ …


class Hint(Exception):
    """A failed check; the message is the hint shown to the learner."""


class NotAttempted(Exception):
    """The learner's function still raises ``NotImplementedError``."""


@dataclass(frozen=True)
class CheckResult:
    """Outcome of ``check_<name>``: ``passed``, and the ``message`` that was printed."""

    exercise: str
    passed: bool
    message: str
    attempted: bool = True

    def __bool__(self):
        return self.passed

    def __repr__(self):
        state = (
            "passed"
            if self.passed
            else ("failed" if self.attempted else "not attempted")
        )
        return f"CheckResult({self.exercise!r}: {state})"


def relative_difference(a, b):
    """``‖a − b‖ / (‖a‖ + ‖b‖)`` (0 if both are zero); NaN if either holds NaN, so a NaN
    answer never matches.

    Unlike ``bookcode.gradcheck.rel_error`` it does not raise on NaN: a checker turns a
    learner's NaN into a hint. Used by the gradient checkers of chapters/03_backprop and
    chapters/08_batchnorm.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - b) / denom)


def matches(a, b, tol=TOLERANCE):
    """True if ``a`` and ``b`` have one shape and a relative difference below ``tol``
    (the book's 1e-7).

    Used by the gradient checkers of chapters/03_backprop and chapters/08_batchnorm.
    """
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and relative_difference(a, b) < tol


def sign_or_zero(got, ref, tol=TOLERANCE):
    """``"zero"`` if ``got`` is all zeros, ``"sign"`` if it is −1 times ``ref``; else
    None.

    Both are wrong answers of the right shape that a relative error alone does not name
    (the relative difference of either from ``ref`` is 1). None if the shapes differ or
    ``ref`` is zero. Used by the gradient checkers of chapters/03_backprop and
    chapters/08_batchnorm.
    """
    got, ref = np.asarray(got, dtype=float), np.asarray(ref, dtype=float)
    if got.shape != ref.shape or not np.any(ref):
        return None
    if not np.any(got):
        return "zero"
    return "sign" if matches(-got, ref, tol) else None


def book_implementation(fn):
    """The dotted name of ``bookcode``'s own code behind ``fn``, or None if ``fn`` is
    not from bookcode.

    ``fn`` is a function, method, class or callable object (``functools.partial``
    unwrapped) whose ``__module__`` is ``bookcode`` or starts with ``bookcode.``. A
    function the learner defines, even one that calls bookcode inside, is not. Used by
    :func:`run_checks` for every chapter's exercises (first in
    chapters/01_gradient_descent).
    """
    for _ in range(10):
        if not isinstance(fn, functools.partial):
            break
        fn = fn.func
    module = getattr(fn, "__module__", None)
    if not isinstance(module, str) or not (
        module == "bookcode" or module.startswith("bookcode.")
    ):
        return None
    name = getattr(fn, "__qualname__", None)
    if not isinstance(name, str):
        name = type(fn).__qualname__
    return f"{module}.{name}"


def network_after_backward(
    sizes, activation, seed, *, gains=None, bias_std=0.5, n_examples=16
):
    """A network with random weights and biases, after one forward and backward pass on
    random data.

    Layer ``i`` gets weights ~ N(0, (gains[i] / √n_in)²) (gains 1 by default) and biases
    ~ N(0, bias_std²); the backward pass is that of ½‖Y − T‖² for random targets T. A
    fixture for the checkers of chapters/05_vanishing_exploding and
    chapters/10_diagnosis.
    """
    from ..layers import Activation, Linear
    from ..network import Sequential

    rng = _seeded_rng(seed)
    gains = [1.0] * (len(sizes) - 1) if gains is None else gains
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        lin = Linear(
            n_in,
            n_out,
            init=rng.normal(0.0, gains[i] / np.sqrt(n_in), size=(n_in, n_out)),
        )
        lin.params["b"][...] = rng.normal(0.0, bias_std, size=n_out)
        layers.append(lin)
        if i < len(sizes) - 2:
            layers.append(Activation(activation))
    net = Sequential(layers)
    X = rng.normal(size=(n_examples, sizes[0]))
    Y = net.forward(X)
    net.backward(Y - rng.normal(size=Y.shape))
    return net


def call_learner(fn, *args, **kwargs):
    """Call the learner's ``fn``; its exceptions become :class:`NotAttempted` or a
    :class:`Hint`.

    Used by every chapter's exercise checks (first in chapters/01_gradient_descent).
    """
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise NotAttempted from None
    except Exception as exc:  # the learner's bug, reported in one line
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise Hint(
            f"your function raised {type(exc).__name__}{': ' + text if text else ''}"
        ) from None


def learner_array(value, what="your function"):
    """The learner's return value as a float array, or a :class:`Hint` saying why it is
    not one.

    Used by every chapter's exercise checks (first in chapters/01_gradient_descent).
    """
    if value is None:
        raise Hint(f"{what} returned None — did you forget the `return` statement?")
    try:
        raw = np.asarray(value)
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise Hint(
            f"{what} returned a {type(value).__name__}, not an array of numbers"
        ) from None
    if raw.dtype in (
        np.float16,
        np.float32,
    ):  # the checks compare to 8+ digits; float32 keeps about 7
        raise Hint(
            f"{what} returned {raw.dtype} numbers, which keep only about "
            f"{'7' if raw.dtype == np.float32 else '3'} significant digits — too few "
            "for these checks. Compute in float64, numpy's default (np.zeros(n), "
            "np.array(w0, dtype=float))"
        )
    if not np.all(np.isfinite(arr)):
        raise Hint(f"{what} returned NaN or inf values")
    return arr


def learner_tuple(out, names, convert=learner_array):
    """The learner's tuple of arrays ``names`` (each through ``convert``), or a
    :class:`Hint` about its form (None, not a tuple, the wrong length).

    Used by the exercise checks of chapters/11_recurrent and
    chapters/12_modern_training.
    """
    listing = ", ".join(names)
    if out is None:
        raise Hint(f"your function returned None — did you forget `return {listing}`?")
    if not isinstance(out, (tuple, list)) or len(out) != len(names):
        raise Hint(
            f"return {len(names)} arrays, `return {listing}`; got "
            f"{type(out).__name__}"
            + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else "")
        )
    return [convert(v, f"your function (its {name})") for v, name in zip(out, names)]


def inputs_unchanged(args, originals, example):
    """Raise a :class:`Hint` if the learner's function changed an input array in place
    (``example``: a line that would do it).

    Used by the exercise checks of chapters/11_recurrent and
    chapters/12_modern_training.
    """
    if not all(np.array_equal(a, o) for a, o in zip(args, originals)):
        raise Hint(
            f"your function changed one of its inputs in place (e.g. `{example}`): "
            "the caller still needs them. Build new arrays instead"
        )


def run_checks(exercise, learner, cases, *, quiet=False, others=()):
    """Run ``case(learner)`` for each case; print and return a :class:`CheckResult`.

    Parameters
    ----------
    exercise : str
        Name shown in the message, e.g. ``"gradient_descent"``.
    learner : callable
        The learner's function.
    cases : sequence of (str, callable)
        ``(description, case)``; ``case(learner)`` raises :class:`Hint` on a mistake.
        Cases run in order and the first failure is reported with its description.
    quiet : bool
        Do not print (tests use it).
    others : sequence of callable
        Further functions of the learner that the cases call (``check_elu``'s
        derivative); like ``learner``, they must not be bookcode's own implementation.

    Returns
    -------
    CheckResult

    Used by every chapter's exercise checks (first in chapters/01_gradient_descent).
    """
    if not callable(learner):
        result = CheckResult(
            exercise,
            False,
            f"{FAIL} {exercise}: expected your function, e.g. "
            f"check_{exercise}({exercise}), got {type(learner).__name__}",
        )
    elif books := [
        name for name in map(book_implementation, (learner, *others)) if name
    ]:
        result = CheckResult(
            exercise,
            False,
            f"{FAIL} {exercise}: you passed {books[0]} — that is the book's "
            "implementation: write your own, then check it here.",
        )
    else:
        result = _run(exercise, learner, cases)
    if not quiet:
        print(result.message)
    return result


def _run(exercise, learner, cases):
    for i, (description, case) in enumerate(cases, start=1):
        try:
            case(learner)
        except NotAttempted:
            if i > 1:  # a partial solution: the earlier cases passed
                return CheckResult(
                    exercise,
                    False,
                    _fail(
                        exercise,
                        i,
                        len(cases),
                        description,
                        (
                            "your function raised NotImplementedError here, after "
                            f"passing check{'s' if i > 2 else ''} "
                            f"1{f'–{i - 1}' if i > 2 else ''}: this case is not "
                            "handled yet"
                        ),
                    ),
                )
            return CheckResult(
                exercise,
                False,
                f"{TODO} {exercise}: not attempted yet — replace "
                "`raise NotImplementedError` with your code and run the cell again.",
                False,
            )
        except Hint as hint:
            return CheckResult(
                exercise, False, _fail(exercise, i, len(cases), description, str(hint))
            )
        except (
            Exception
        ) as exc:  # the learner's output broke a check: still no traceback
            text = (
                f"could not check your function's output ({type(exc).__name__}: {exc})"
            )
            return CheckResult(
                exercise, False, _fail(exercise, i, len(cases), description, text)
            )
    return CheckResult(
        exercise, True, f"{PASS} {exercise}: all {len(cases)} checks passed."
    )


def _fail(exercise, i, n, description, hint):
    head = f"{FAIL} {exercise}: check {i} of {n} ({description}) failed."
    return (
        head
        + "\n"
        + textwrap.fill(hint, width=88, initial_indent="  ", subsequent_indent="  ")
    )
