"""Checks for the coding exercise of chapters/07_initialization.

- :func:`check_he_normal`: ``he_normal(n_in, n_out, rng)`` returns a ``(n_in, n_out)``
  matrix with i.i.d. entries ``N(0, 2/n_in)``, drawn from the generator ``rng`` it is
  given.

Statistical tolerances come from the sampling distributions, not from trial and error.
For ``n`` i.i.d. normal values with variance ``σ²``: the sample variance has standard
error ``σ² √(2/(n − 1))``, the sample mean ``σ/√n``, the sample excess kurtosis about
``√(24/n)``. A check accepts within 5 standard errors (a correct solution fails with
probability below 1e-6 per check, and the seeds are fixed anyway); the wrong variances
the hints name are many standard errors away from the right one for the shapes used
here.
"""

from __future__ import annotations

import math

import numpy as np

from ..seeding import rng as _seeded_rng
from . import Hint, call_learner, learner_array, run_checks

__all__ = ["check_he_normal"]

Z_TOL = 5.0  # standard errors


def _global_state():
    state = np.random.get_state()  # noqa: NPY002 (is the global state untouched?)
    return state[1].copy(), state[2]


def _call(learner, n_in, n_out, seed):
    before = _global_state()
    gen = _seeded_rng(seed)
    start = gen.bit_generator.state
    out = call_learner(learner, n_in, n_out, gen)
    after = _global_state()
    if not (np.array_equal(before[0], after[0]) and before[1] == after[1]):
        raise Hint(
            "your function used numpy's global random generator (np.random.normal, "
            "np.random.randn, np.random.seed, …). Draw from the generator you are "
            "given: rng.normal(...) or rng.standard_normal(...)"
        )
    return learner_array(out), gen.bit_generator.state != start


def _shape_case(n_in, n_out):
    def case(learner):
        W, _ = _call(learner, n_in, n_out, 0)
        if W.shape == (n_out, n_in):
            raise Hint(
                f"your matrix has shape {W.shape}: transposed. In this book W has "
                f"shape (n_in, n_out) = {(n_in, n_out)}, one row per input, because a "
                "layer computes net = X W"
            )
        if W.shape != (n_in, n_out):
            raise Hint(
                f"expected a matrix of shape (n_in, n_out) = {(n_in, n_out)}, got "
                f"shape {W.shape}"
            )

    return case


def _rng_case(n_in, n_out):
    def case(learner):
        W1, used = _call(learner, n_in, n_out, 11)
        W2, _ = _call(learner, n_in, n_out, 11)
        W3, _ = _call(learner, n_in, n_out, 12)
        if not np.array_equal(W1, W2):
            raise Hint(
                "the same seed gave different weights: you made a new, unseeded "
                "generator (np.random.default_rng() inside your function?). Use the "
                "rng argument itself, so that the same seed always gives the same "
                "network"
            )
        if W1.size > 1 and np.all(W1 == W1.flat[0]):
            raise Hint(
                "all your weights are equal; they must be random, drawn from the rng "
                "you are given: equal weights make every unit compute the same thing "
                "(eq. (init-symmetry))"
            )
        if not used or np.array_equal(W1, W3):
            raise Hint(
                "your function ignores rng: different seeds gave the same weights (a "
                "fixed seed inside your function?). Draw every number from the rng you "
                "are given"
            )

    return case


def _distribution_case(n_in, n_out):
    def case(learner):
        W, _ = _call(learner, n_in, n_out, 21)
        n, s = W.size, W.std()
        if abs(W.mean()) > Z_TOL * s / math.sqrt(n):
            raise Hint(
                f"your weights have mean {W.mean():.3g}, not 0: He initialisation is "
                "centred at zero (rng.random gives numbers in [0, 1) — use rng.normal)"
            )
        excess = np.mean(((W - W.mean()) / s) ** 4) - 3.0
        if abs(excess) > Z_TOL * math.sqrt(24.0 / n):
            kind = ""
            if abs(excess + 1.2) < 0.2:
                right = abs(W.var() * n_in / 2.0 - 1.0) < 0.05
                kind = (
                    " — that of a uniform distribution (−1.2): you used rng.uniform. "
                    + (
                        "Its variance is right (that is he_uniform), but this exercise "
                        "asks for the normal version"
                        if right
                        else "Its variance is off too: U(−a, a) has variance a²/3, not "
                        "a². Use rng.normal"
                    )
                )
            raise Hint(
                "your weights do not look normally distributed: excess kurtosis "
                f"{excess:.2f} instead of 0{kind}"
            )

    return case


def _variance_case(n_in, n_out):
    def case(learner):
        W, _ = _call(learner, n_in, n_out, 31)
        n, v = W.size, float(np.var(W, ddof=1))
        want = 2.0 / n_in

        def near(target):
            return abs(v - target) <= Z_TOL * target * math.sqrt(2.0 / (n - 1))

        if near(want):
            return
        wrong = [
            (
                want**2,
                "you passed the variance 2/n_in as the second argument of rng.normal, "
                "which is the standard deviation: a variance and a standard deviation "
                "are not the same number",
            ),
            (
                2.0 / n_out,
                "this is 2/n_out: you used the fan-out. The forward pass sums over the "
                "n_in inputs of a unit, so He's variance is 2/n_in (fan_in)",
            ),
            (
                2.0 / (n_in + n_out),
                "this is Xavier/Glorot's variance 2/(n_in + n_out); He's is 2/n_in",
            ),
            (
                1.0 / n_in,
                "this is 1/n_in: the factor 2 is missing. ReLU zeroes half of its "
                "inputs and halves the second moment, and the 2 puts it back",
            ),
            (
                4.0 / n_in,
                "this is 4/n_in: your standard deviation is 2/√n_in, the factor 2 "
                "outside the square root. The variance is 2/n_in, and the standard "
                "deviation is its square root",
            ),
            (
                1.0,
                "your weights have variance 1: He's variance shrinks with the fan-in, "
                "eq. (init-he-variance)",
            ),
        ]
        for target, hint in wrong:
            if near(target):
                raise Hint(hint)
        se = want * math.sqrt(2.0 / (n - 1))
        raise Hint(
            f"for n_in = {n_in} the variance should be 2/n_in = {want:.5g}; your "
            f"weights have sample variance {v:.5g} ({abs(v - want) / se:.0f} standard "
            "errors away)"
        )

    return case


def check_he_normal(he_normal):
    """Check a learner's ``he_normal(n_in, n_out, rng)`` → ``(n_in, n_out)`` array of
    i.i.d. ``N(0, 2/n_in)``.

    Cases: shape; the use of ``rng`` (same seed, same weights; no global ``np.random``);
    a centred normal distribution; the variance, for a wide-then-narrow and a
    narrow-then-wide layer (so that fan-in, fan-out and Xavier give different answers).

    Implements the check of the coding exercise on eq. (init-he-variance) in
    chapters/07_initialization.
    """
    cases = [
        ("shape (n_in, n_out) for a 400 × 100 layer", _shape_case(400, 100)),
        ("uses rng: same seed, same weights", _rng_case(30, 20)),
        ("zero mean, normal distribution", _distribution_case(400, 100)),
        ("variance 2/n_in for a 400 × 100 layer", _variance_case(400, 100)),
        ("variance 2/n_in for a 50 × 300 layer", _variance_case(50, 300)),
    ]
    return run_checks("he_normal", he_normal, cases)
