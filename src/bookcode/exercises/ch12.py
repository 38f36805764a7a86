"""Checks for the coding exercises of chapters/12_modern_training.

- :func:`check_adam_step`: ``adam_step(w, g, m, v, t, lr=1e-3, beta1=0.9,
  beta2=0.999, eps=1e-8)`` returns new arrays ``(w, m, v)`` after Adam's step ``t``
  (``t = 1, 2, …``), given the gradient ``g`` and the moments ``m``, ``v`` from before
  the step;
- :func:`check_layernorm_backward`: ``layernorm_backward(dY, X, gamma, eps=1e-5)``
  returns ``(dX, dgamma, dbeta)`` for layer normalization ``Y = γ ∘ (X − μ)/sqrt(σ² +
  ε) + β``, each row with its own mean ``μ`` and biased variance ``σ²``.

The reference values are written out here with numpy (Adam entry by entry, the
LayerNorm gradient through the chain rule of its stages: the row mean, the row
variance, the normalised row), independently of :mod:`bookcode.adam` and
:mod:`bookcode.layernorm`; tests/test_exercises_ch12.py compares them with those
modules and with finite differences. An Adam answer passes when its moments agree
with the reference to a relative difference below 1e-12 and its step (the change of
``w``, compared on its own so that a small step is not hidden by a large ``w``) below
1e-10; a LayerNorm answer when its gradients agree below 1e-10 (float64: the
reference and a right answer differ only by rounding). Known mistakes are recognised
by comparing with their closed forms, and get their own hint.
"""

from __future__ import annotations

import numpy as np

from ..seeding import rng as _seeded_rng
from . import (
    Hint,
    call_learner,
    inputs_unchanged,
    learner_array,
    learner_tuple,
    relative_difference,
    run_checks,
    sign_or_zero,
)

__all__ = ["check_adam_step", "check_layernorm_backward"]

RTOL_MOMENTS = 1e-12  # m and v: a few roundings
RTOL_STEP = 1e-10  # the step w_old − w_new: also the rounding of w itself
RTOL_LN = 1e-10


def _close(a, b, rtol, floor=0.0):
    """Same shape, and ``‖a − b‖ ≤ rtol · max(‖a‖ + ‖b‖, floor)``; NaN never matches.

    ``floor`` is the size of the terms an answer is computed from: where the right
    answer is 0 by cancellation (a LayerNorm row of one feature), rounding leaves
    numbers of that size times the machine precision.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return False
    return bool(
        np.linalg.norm(a - b)
        <= rtol * max(np.linalg.norm(a) + np.linalg.norm(b), floor)
    )


def _same(a, b, rtol):
    """Like :func:`_close`, but NaN and inf must sit at the same entries in both."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        return False
    bad_a, bad_b = ~np.isfinite(a), ~np.isfinite(b)
    if not np.array_equal(bad_a, bad_b):
        return False
    if not np.array_equal(np.isnan(a), np.isnan(b)) or np.any(
        a[bad_a & ~np.isnan(a)] != b[bad_b & ~np.isnan(b)]
    ):
        return False
    return _close(a[~bad_a], b[~bad_b], rtol)


def _array(value, what):
    """:func:`learner_array`, but NaN and inf are kept: the checks name their cause."""
    try:
        return learner_array(value, what)
    except Hint as hint:
        if "NaN or inf" not in str(hint):
            raise
        return np.asarray(value, dtype=np.float64)


def _call(learner, notes, *args, **kwargs):
    """``call_learner`` without numpy's warnings; ``notes`` is ``[(words, note)]``: a
    hint that contains one of the ``words`` gets the ``note`` added."""
    try:
        with np.errstate(all="ignore"):
            return call_learner(learner, *args, **kwargs)
    except Hint as hint:
        text = str(hint)
        for words, note in notes:
            if any(w in text for w in words):
                raise Hint(f"{text}. {note}") from None
        raise


_SHAPE_WORDS = ("broadcast", "shapes", "aligned")
_SIGNATURE_WORDS = ("argument", "positional")


# -------------------------------------------------------------------------- adam_step
_ADAM_NOTES = [
    (
        _SIGNATURE_WORDS + _SHAPE_WORDS,
        "Keep the signature adam_step(w, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, "
        "eps=1e-8): the checker passes the hyper-parameters by these names, and w, g, "
        "m, v are arrays of one shape",
    ),
    (
        ("division by zero",),
        "At the first step, t = 1, one of your factors is 0: t counts the steps "
        "including this one, so the moments have already averaged one gradient",
    ),
]


def _adam(w, g, m, v, t, lr, b1, b2, eps, **mistake):
    """One Adam step ``(w, m, v)``, eqs. (adam-moments) to (adam-step), or with a
    ``mistake`` in the step of ``w``.

    ``correct`` ("both", "none", "m_only", "v_only", "t_minus_1", "t_plus_1",
    "no_power"), ``eps_at`` ("added", "inside", "none", "raw": added to the uncorrected
    √v with both corrections folded into the rate), ``numerator`` ("m_hat" or "g"),
    ``sign``.
    """
    m_new = b1 * m + (1.0 - b1) * g
    v_new = b2 * v + (1.0 - b2) * (g * g)
    power = {"t_minus_1": t - 1, "t_plus_1": t + 1, "no_power": 1}.get(
        mistake.get("correct"), t
    )
    c1, c2 = 1.0 - b1**power, 1.0 - b2**power
    with np.errstate(all="ignore"):
        if mistake.get("eps_at") == "raw":
            rate = lr * np.sqrt(c2) / c1
            step = rate * m_new / (np.sqrt(v_new) + eps)
        else:
            correct = mistake.get("correct", "both")
            m_hat = m_new / c1 if correct not in ("none", "v_only") else m_new
            v_hat = v_new / c2 if correct not in ("none", "m_only") else v_new
            if mistake.get("numerator") == "g":
                m_hat = g
            root = {
                "added": lambda: np.sqrt(v_hat) + eps,
                "inside": lambda: np.sqrt(v_hat + eps),
                "none": lambda: np.sqrt(v_hat),
            }[mistake.get("eps_at", "added")]()
            step = lr * m_hat / root
    return w - mistake.get("sign", 1.0) * step, m_new, v_new


_NO_CORRECTION = (
    "the bias correction is missing: m and v start at 0, so in the first steps they "
    "are pulled towards 0 by a known factor, which eq. (adam-bias) divides out. v's "
    "factor is the smaller one, so without the correction the early steps are too "
    "large — at t = 1 about 3 times lr with the default betas"
)

_ADAM_NO_EPS = (
    "ε is missing from the step. For gradients of ordinary size it changes little, "
    "but an entry whose gradients have all been 0 (v̂ = 0) divides 0 by 0, and "
    "tiny gradients get full-size steps: eq. (adam-step) keeps the denominator "
    "at least ε"
)
_ADAM_SIGN = (
    "w moved by the right amount in the wrong direction, up the gradient: the "
    "step goes against m̂, so that the loss decreases"
)

_STEP_MISTAKES = [
    ({"correct": "none"}, _NO_CORRECTION),
    (
        {"correct": "m_only"},
        "only m was bias-corrected, not v: v̂ is v divided by its own factor (eq. "
        "(adam-bias)). v starts at 0 and forgets that start only after about "
        "1/(1 − β₂) steps, so with the raw v the early steps are far too large — "
        "about 30 times lr at t = 1 with the default betas",
    ),
    (
        {"correct": "v_only"},
        "the step uses the raw m, not the bias-corrected m̂ (only v was corrected): m "
        "starts at 0 and is too small in the first steps, and so is your step — at "
        "t = 1 it is the fraction 1 − β₁ of the right one (eq. (adam-bias))",
    ),
    (
        {"correct": "t_minus_1"},
        "your bias correction is one step behind: t counts the steps *including* this "
        "one, so at the first step, t = 1, the moments have already averaged one "
        "gradient. One step behind, the first step divides by zero (NaN or inf)",
    ),
    (
        {"correct": "t_plus_1"},
        "your bias correction is one step ahead: t counts from 1, and after the first "
        "step the moments have averaged exactly one gradient (eq. (adam-bias))",
    ),
    (
        {"correct": "no_power"},
        "the bias correction uses the same factor at every step, but the weight an "
        "average still puts on its zero start shrinks with every step it has taken, so "
        "the correction depends on t (eq. (adam-bias)). At t = 1 the two agree, which "
        "is why the first check passed",
    ),
    (
        {"eps_at": "raw"},
        "ε was added to the uncorrected √v, with both corrections folded into the "
        "learning rate — the 'efficient' form of Kingma & Ba's paper. It is the same "
        "step only with ε rescaled, so the two differ for small gradients. Follow eq. "
        "(adam-step): ε is added after the bias correction, as PyTorch does",
    ),
    (
        {"eps_at": "inside"},
        "ε went inside the square root. Eq. (adam-step) adds ε to √v̂; inside the root "
        "it changes √v̂ by about ε/(2√v̂) — a relative 5e-9 for gradients of size 1, "
        "0.5 % for gradients of 1e-3, while for gradients of 1e-6 the root becomes "
        "about √ε = 1e-4 and the step shrinks 100-fold. Only entries with a tiny v̂ "
        "tell the two apart, and some here have one",
    ),
    ({"eps_at": "none"}, _ADAM_NO_EPS),
    (
        {"numerator": "g"},
        "the step follows this step's gradient g, not the averaged m̂: at t = 1 they "
        "agree (m̂₁ = g₁), which is why the first check passed; later the step must "
        "follow the momentum average (eq. (adam-step))",
    ),
    ({"sign": -1.0}, _ADAM_SIGN),
]


def _moment_mistakes(g, m, v, t, b1, b2):
    """{"m": [(wrong m, hint)], "v": [(wrong v, hint)]}."""
    m_new = b1 * m + (1.0 - b1) * g
    v_new = b2 * v + (1.0 - b2) * (g * g)
    old = (
        "the {0} you returned is the one passed in: return the updated moment, which "
        "includes this step's gradient — the next step starts from it (eq. "
        "(adam-moments))"
    )
    corrected = (
        "the {0} you returned is the bias-corrected {0}̂. The state carried to the "
        "next step is the raw average {0}; {0}̂ is computed from it afresh at every "
        "step, for that step only (eq. (adam-bias))"
    )
    return {
        "m": [
            (m, old.format("m")),
            (m_new / (1.0 - b1**t), corrected.format("m")),
            (
                b2 * m + (1.0 - b2) * g,
                "m was averaged with β₂: the first moment uses β₁ (a short memory, "
                "about 1/(1 − β₁) steps), the second moment β₂ (eq. (adam-moments))",
            ),
            (
                (1.0 - b1) * m + b1 * g,
                "the two weights of m's average are exchanged: β₁ is the fraction of "
                "the old average that is kept, 1 − β₁ the share of the new gradient "
                "(eq. (adam-moments))",
            ),
        ],
        "v": [
            (v, old.format("v")),
            (v_new / (1.0 - b2**t), corrected.format("v")),
            (
                b1 * v + (1.0 - b1) * (g * g),
                "v was averaged with β₁: the second moment uses β₂ (a long memory, "
                "about 1/(1 − β₂) steps), the first moment β₁ (eq. (adam-moments))",
            ),
            (
                (1.0 - b2) * v + b2 * (g * g),
                "the two weights of v's average are exchanged: β₂ is the fraction of "
                "the old average that is kept, 1 − β₂ the share of the new squared "
                "gradient (eq. (adam-moments))",
            ),
            (
                b2 * v + (1.0 - b2) * g,
                "v averaged the gradient itself, not its square: v estimates the mean "
                "of g² (element-wise), which is never negative, and its square root in "
                "the step is the gradient's root mean square, its typical size. An "
                "average of g can be negative, and its root NaN",
            ),
            (
                b2 * v + (1.0 - b2) * (m_new * m_new),
                "v averaged the square of m, the averaged gradient; it averages the "
                "square of each step's own gradient g — noise that cancels in m still "
                "counts in v, and that is what keeps noisy entries' steps small",
            ),
        ],
    }


def _diagnose_moment(name, got, ref, wrong):
    if _close(got, ref, RTOL_MOMENTS):
        return
    for value, hint in wrong:
        if _close(got, value, RTOL_MOMENTS):
            raise Hint(hint)
    if not np.all(np.isfinite(got)):
        raise Hint(
            f"{name} contains NaN or inf, but it is an average of finite numbers"
        )
    if sign_or_zero(got, ref, RTOL_MOMENTS) == "sign":
        raise Hint(
            f"{name} has the right size but the opposite sign: {name} averages the "
            f"{'gradient' if name == 'm' else 'squared gradient'} itself; the minus "
            "sign belongs to the update of w"
        )
    raise Hint(
        f"{name} differs from the reference (relative difference "
        f"{relative_difference(got, ref):.1e}): it is an exponential average, updated "
        "once per step from its old value and this step's gradient by eq. "
        "(adam-moments)"
    )


def _diagnose_adam(got, args, hyper):
    w, g, m, v, t = args
    lr, b1, b2, eps = hyper
    ref = _adam(w, g, m, v, t, lr, b1, b2, eps)
    shapes = [a.shape for a in got]
    if shapes != [w.shape] * 3:
        raise Hint(
            f"w, m and v must each have the shape of w, {w.shape}: Adam works entry "
            "by entry, one m and one v per weight; got shapes "
            + ", ".join(map(str, shapes))
        )
    if not _close(got[1], ref[1], RTOL_MOMENTS):
        for order in ((0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)):
            if all(_close(got[i], ref[k], RTOL_MOMENTS) for i, k in enumerate(order)):
                raise Hint(
                    "your results come back in the wrong order; return (w, m, v)"
                )
    wrong = _moment_mistakes(g, m, v, t, b1, b2)
    _diagnose_moment("m", got[1], ref[1], wrong["m"])
    _diagnose_moment("v", got[2], ref[2], wrong["v"])
    step, want = w - got[0], w - ref[0]
    if _close(step, want, RTOL_STEP):
        return
    if not np.any(step):
        raise Hint(
            "w did not move: return the weights after the step, as new arrays. If "
            "your step came out as zero, it was computed from the moments passed in, "
            "which are 0 at t = 1: update m and v first, then step with the new ones"
        )
    for keywords, hint in _STEP_MISTAKES:
        if _same(step, w - _adam(*args, *hyper, **keywords)[0], RTOL_STEP):
            raise Hint(hint)
    if not np.all(np.isfinite(step)):
        zero = (m == 0) & (v == 0) & (g == 0)
        where = ~np.isfinite(step)
        if np.any(zero) and np.array_equal(where, zero):
            raise Hint(_ADAM_NO_EPS)
        raise Hint(
            "w contains NaN or inf: a division by zero or the root of a negative "
            "number. The denominator of eq. (adam-step) is never below ε, and v̂ is "
            "never negative"
        )
    kind = sign_or_zero(step, want, RTOL_STEP)
    if kind == "sign":
        raise Hint(_ADAM_SIGN)
    scale = float(np.sum(step * want) / np.sum(want * want))
    if abs(scale - 1.0) > 1e-6 and _close(step, scale * want, RTOL_STEP):
        raise Hint(
            f"your step is {scale:.3g} times the right one in every entry: a factor "
            "is missing or extra. Check the learning rate (and the default values of "
            "the signature) and the two bias corrections"
        )
    raise Hint(
        "w differs from the reference (relative difference of the step "
        f"{relative_difference(step, want):.1e}): bias-correct both moments by eq. "
        "(adam-bias), then step by eq. (adam-step)"
    )


def _moments_after(shape, steps, hyper, rng, *, size=1.0, silent=None):
    """m and v after ``steps`` Adam steps on random gradients (entries in ``silent``
    never get one)."""
    _, b1, b2, _ = hyper
    m, v = np.zeros(shape), np.zeros(shape)
    for _ in range(steps):
        g = size * rng.standard_normal(shape)
        if silent is not None:
            g[silent] = 0.0
        m, v = b1 * m + (1.0 - b1) * g, b2 * v + (1.0 - b2) * g * g
    return m, v


def _adam_case(kind, seed):
    rng = _seeded_rng(seed)
    defaults = (1e-3, 0.9, 0.999, 1e-8)
    if kind == "first":  # m = v = 0: the step is lr · sign(g), up to ε
        hyper, t = defaults, 1
        w = rng.standard_normal(6)
        g = np.array([0.8, -2e-3, 45.0, -1.3, 1e-3, -0.07])
        m, v = np.zeros(6), np.zeros(6)
    elif kind == "later":
        hyper, t = (1e-2, 0.8, 0.99, 1e-8), 3
        w = rng.standard_normal((3, 4))
        m, v = _moments_after((3, 4), t - 1, hyper, rng)
        g = rng.standard_normal((3, 4))
    elif kind == "zeros":  # column 0 has never had a gradient, row 1 has none now
        hyper, t = (2e-2, 0.9, 0.999, 1e-8), 6
        w = rng.standard_normal((2, 5))
        silent = np.zeros((2, 5), dtype=bool)
        silent[:, 0] = True
        m, v = _moments_after((2, 5), t - 1, hyper, rng, silent=silent)
        g = rng.standard_normal((2, 5))
        g[:, 0] = 0.0
        g[1] = 0.0
    else:  # "tiny": gradients of about 1e-6, where ε matters
        hyper, t = defaults, 20
        w = 0.1 * rng.standard_normal((2, 2, 3))
        m, v = _moments_after((2, 2, 3), t - 1, hyper, rng, size=1e-6)
        g = 1e-6 * rng.standard_normal((2, 2, 3))
    originals = (w, g, m, v)

    def case(learner):
        args = tuple(a.copy() for a in originals)
        if kind == "first":  # the defaults of the signature
            out = _call(learner, _ADAM_NOTES, *args, t)
        else:
            lr, b1, b2, eps = hyper
            named = {"lr": lr, "beta1": b1, "beta2": b2, "eps": eps}
            out = _call(learner, _ADAM_NOTES, *args, t, **named)
        inputs_unchanged(args, originals, "m *= beta1")
        _diagnose_adam(
            learner_tuple(out, ("w", "m", "v"), _array), (*originals, t), hyper
        )

    return case


def check_adam_step(adam_step, *, quiet=False):
    """Check a learner's ``adam_step(w, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999,
    eps=1e-8)`` → ``(w, m, v)``.

    One step of Adam, eqs. (adam-moments), (adam-bias) and (adam-step): ``t`` is the
    number of this step (1 for the first), ``m`` and ``v`` the moments before it; the
    function returns new arrays and leaves its inputs alone. Cases: the first step from
    ``m = v = 0`` with the default hyper-parameters (every entry moves by about
    ``lr``), a later step with other hyper-parameters, gradient entries that are zero
    (now, or at every step so far), and gradients of about 1e-6, where ε matters; the
    arrays have 1, 2 and 3 dimensions. Prints one line (or a hint) and returns a
    :class:`~bookcode.exercises.CheckResult`.

    Implements the check of the coding exercise on eqs. (adam-moments), (adam-bias)
    and (adam-step) in chapters/12_modern_training.
    """
    cases = [
        ("the first step, t = 1, default hyper-parameters", _adam_case("first", 0)),
        ("step t = 3 with lr = 0.01, β₁ = 0.8, β₂ = 0.99", _adam_case("later", 1)),
        ("gradient entries that are zero, t = 6", _adam_case("zeros", 2)),
        ("gradients of about 1e-6, t = 20", _adam_case("tiny", 3)),
    ]
    return run_checks("adam_step", adam_step, cases, quiet=quiet)


# ----------------------------------------------------------------- layernorm_backward
_LN_NAMES = ("dX", "dgamma", "dbeta")
_LN_NOTES = [
    (
        _SHAPE_WORDS,
        "Check the shapes: dY and X are (N, n), one example per row; gamma is (n,). A "
        "row's mean and variance are one number per row, and they must broadcast "
        "across that row's n features, not across the rows",
    ),
    (
        _SIGNATURE_WORDS,
        "Keep the signature layernorm_backward(dY, X, gamma, eps=1e-5): the checker "
        "passes eps by that name",
    ),
]


def _ln_reference(dY, X, gamma, eps):
    """The gradients of ``E = Σ Y ∘ dY`` stage by stage: x̂, then σ², then μ."""
    n = X.shape[1]
    mu = X.mean(axis=1, keepdims=True)
    Xc = X - mu
    var = (Xc * Xc).mean(axis=1, keepdims=True)
    inv = 1.0 / np.sqrt(var + eps)
    X_hat = Xc * inv
    dX_hat = dY * gamma  # through y = γ x̂ + β
    dvar = -0.5 * np.sum(dX_hat * Xc, axis=1, keepdims=True) * inv**3
    dmu = -np.sum(dX_hat * inv, axis=1, keepdims=True) - 2.0 * dvar * Xc.mean(
        axis=1, keepdims=True
    )
    dX = dX_hat * inv + dvar * 2.0 * Xc / n + dmu / n
    return dX, np.sum(dY * X_hat, axis=0), np.sum(dY, axis=0)


def _ln_mistake(dY, X, gamma, eps, **mistake):
    """``(dX, dgamma, dbeta)`` of a learner who makes ``mistake``, written in the
    compact form ``(1/s)(G − mean(G) − x̂ mean(G ∘ x̂))`` with the learner's own
    statistics.

    ``axis`` (the axis of the statistics: 1, the row; 0, the column, as in BatchNorm;
    None, the whole batch), ``var`` ("biased"; "unbiased": n − 1 in the variance and
    in its path; "unbiased_plain": n − 1 in the variance only), ``eps_at`` ("var",
    "none", "std": added to the standard deviation), ``terms`` (the subtracted terms
    kept), ``gamma_at`` ("first", "none", "outside": after the means), ``reduce``
    ("mean" or "sum"). None for the unbiased variance of a single feature.
    """
    axis = mistake.get("axis", 1)
    unbiased = mistake.get("var", "biased") != "biased"
    n = X.size if axis is None else X.shape[axis]
    if unbiased and n == 1:
        return None

    def stat(A):
        return A.mean(axis=axis, keepdims=axis is not None)

    Xc = X - stat(X)
    var = stat(Xc * Xc) * (n / (n - 1) if unbiased else 1.0)
    s = {
        "var": lambda: np.sqrt(var + eps),
        "none": lambda: np.sqrt(var),
        "std": lambda: np.sqrt(var) + eps,
    }[mistake.get("eps_at", "var")]()
    X_hat = Xc / s
    g_mode = mistake.get("gamma_at", "first")
    G = dY * gamma if g_mode == "first" else dY
    times = n if mistake.get("reduce") == "sum" else 1.0
    terms = mistake.get("terms", ("mean", "var"))
    bracket = G - (times * stat(G) if "mean" in terms else 0.0)
    if "var" in terms:
        last = stat(G * X_hat) * times
        if mistake.get("var") == "unbiased":  # the exact gradient of that function
            last = last * n / (n - 1)
        bracket = bracket - X_hat * last
    dX = bracket / s * (gamma if g_mode == "outside" else 1.0)
    return dX, np.sum(dY * X_hat, axis=0), np.sum(dY, axis=0)


_LN_NO_EPS = (
    "ε is missing: the forward pass divides by sqrt(σ² + ε), so x̂ and the backward "
    "pass must use the same. It matters for rows whose variance is small"
)
_LN_STD_EPS = (
    "ε was added to the standard deviation: eq. (ln-normalize) adds it to the "
    "variance, under the square root, and x̂ and the backward pass must use that same "
    "scale. It matters for rows whose variance is small"
)
_LN_UNBIASED = (
    "you normalised with the unbiased variance Σ(x − μ)²/(n − 1): LayerNorm, like "
    "BatchNorm in training, divides by n, the number of features in the row (eq. "
    "(ln-stats))"
)
_LN_COLUMNS = (
    "you normalised each feature over the batch (the columns) — that is BatchNorm. "
    "LayerNorm normalises each example (row) over its own n features: every row has "
    "its own mean and variance (eq. (ln-stats)), and the rows never meet"
)
_LN_WHOLE = (
    "you used one mean and one variance for the whole batch: LayerNorm computes them "
    "per example, each row over its own n features (eq. (ln-stats)); the two agree "
    "only for a batch of one example"
)
# (keywords of _ln_mistake, hint), tried in this order on dX, then on dgamma
_LN_MISTAKES = [
    ({"axis": 0}, _LN_COLUMNS),
    ({"axis": None}, _LN_WHOLE),
    (
        {"terms": ()},
        "dX treats the row's μ and σ as constants: both are computed from the row "
        "itself, so moving one x_j moves them too, and with them every x̂ of the row. "
        "Add the paths through the mean and the variance (eq. "
        "(ln-backward-compact))",
    ),
    (
        {"terms": ("var",)},
        "the path through the row mean is missing: μ depends on every feature of the "
        "row, so moving one x_j moves μ and with it every x̂ of the row — G's "
        "component along the all-ones direction must go (eq. (ln-backward-compact))",
    ),
    (
        {"terms": ("mean",)},
        "the path through the row variance is missing: σ² depends on every feature of "
        "the row, so moving one x_j rescales the whole row of x̂ — G's component along "
        "x̂ must go too (eq. (ln-backward-compact))",
    ),
    (
        {"gamma_at": "none"},
        "dX lacks the factor γ: y = γ ∘ x̂ + β, so the gradient that reaches x̂ has "
        "passed through the multiplication by γ (eq. (ln-scale-shift))",
    ),
    (
        {"gamma_at": "outside"},
        "γ was applied after the row means, outside the bracket, as in BatchNorm's "
        "formula — there γ_j is constant along the batch that the means run over. In "
        "LayerNorm the means run over the features, along which γ varies, so they "
        "must average the gradient that reaches x̂, γ included",
    ),
    (
        {"reduce": "sum"},
        "the mean and variance terms are n times too large: they are *means* over "
        "the row's n features, because μ and σ² are averages",
    ),
    ({"eps_at": "none"}, _LN_NO_EPS),
    ({"eps_at": "std"}, _LN_STD_EPS),
    ({"var": "unbiased"}, _LN_UNBIASED),
    ({"var": "unbiased_plain"}, _LN_UNBIASED),
]


def _ln_shapes(got, N, n):
    want = [(N, n), (n,), (n,)]
    have = [a.shape for a in got]
    if have == want:
        return
    if sorted(have) == sorted(want):
        raise Hint(
            "your results come back in the wrong order; return (dX, dgamma, dbeta)"
        )
    if got[0].shape == (n, N) and N != n:
        raise Hint(
            f"dX is transposed: shape {got[0].shape}, but it has the shape of X, "
            f"{(N, n)}, one row per example"
        )
    if got[0].shape != (N, n):
        raise Hint(
            f"dX must have the shape of X, {(N, n)} (one row per example); got "
            f"{got[0].shape}"
        )
    for name, arr in zip(_LN_NAMES[1:], got[1:]):
        if arr.shape == (n,):
            continue
        if arr.shape in ((N,), (N, 1)) and N != n:
            raise Hint(
                f"{name} has one entry per example, shape {arr.shape}: you summed over "
                f"the features. {name[1:]} has one entry per feature, shared by all "
                "rows, so its gradient adds up the rows' contributions into shape "
                f"{(n,)} (eq. (ln-dgamma-dbeta))"
            )
        if arr.shape == (1, n):
            raise Hint(
                f"{name} has shape {arr.shape}: it has the shape of {name[1:]}, {(n,)}"
            )
        if arr.size == 1 and n > 1:
            raise Hint(
                f"{name} is a single number: you summed over everything; it has one "
                f"entry per feature, shape {(n,)}"
            )
        raise Hint(f"{name} must have the shape of {name[1:]}, {(n,)}; got {arr.shape}")


def _diagnose_ln(got, args):
    dY, X, gamma, eps = args
    N, n = X.shape
    _ln_shapes(got, N, n)
    dX, dgamma, dbeta = got
    ref = _ln_reference(*args)
    inv = 1.0 / np.sqrt(X.var(axis=1, keepdims=True) + eps)
    floors = (  # the size of the terms each gradient is computed from
        np.linalg.norm(dY * gamma * inv),
        np.linalg.norm(dY) * np.sqrt(n),
        np.linalg.norm(dY),
    )
    ok = [_close(a, b, RTOL_LN, f) for a, b, f in zip(got, ref, floors)]
    if all(ok):
        return
    if _close(dgamma, ref[2], RTOL_LN) and _close(dbeta, ref[1], RTOL_LN):
        raise Hint(
            "dgamma and dbeta are swapped: β is only added, so its gradient sees dY "
            "alone; γ multiplies x̂, so its gradient carries x̂ too (eq. "
            "(ln-dgamma-dbeta))"
        )
    if not ok[2]:
        if N > 1 and _close(dbeta * N, ref[2], RTOL_LN):
            raise Hint(
                f"dbeta is N = {N} times too small: β is added to every row, and every "
                "row's contribution counts in full — add them up, don't average"
            )
        if sign_or_zero(dbeta, ref[2], RTOL_LN) == "sign":
            raise Hint(
                "dbeta has the right size but the opposite sign: β is simply added to "
                "the output, so its gradient has the sign of dY itself"
            )
        raise Hint(
            "dbeta is wrong: β is added to every row of the output, so every row's dY "
            "reaches it (eq. (ln-dgamma-dbeta))"
        )
    with np.errstate(all="ignore"):  # without ε, a constant row is 0/0
        wrong = [(_ln_mistake(*args, **kw), hint) for kw, hint in _LN_MISTAKES]
    wrong = [(w, hint) for w, hint in wrong if w is not None]
    if not ok[0]:
        for (w_dX, _, _), hint in wrong:
            if _close(dX, w_dX, RTOL_LN, floors[0]):
                raise Hint(hint)
    if not ok[1]:
        if _close(dgamma, ref[2], RTOL_LN):
            raise Hint(
                "dgamma equals the sum of dY: the factor x̂ is missing. γ multiplies "
                "x̂ in the forward pass, so x̂ is part of its gradient"
            )
        if N > 1 and _close(dgamma * N, ref[1], RTOL_LN):
            raise Hint(
                f"dgamma is N = {N} times too small: γ is shared by all rows, and "
                "their contributions add up — don't average"
            )
        for (_, w_dgamma, _), hint in wrong:
            if _close(dgamma, w_dgamma, RTOL_LN, floors[1]):
                raise Hint(hint)
    name = "dX" if not ok[0] else "dgamma"
    mine, want = (dX, ref[0]) if not ok[0] else (dgamma, ref[1])
    if not np.all(np.isfinite(mine)):
        if n == 1:
            raise Hint(
                f"{name} holds NaN or inf: with a single feature every row equals its "
                "own mean, so x − μ = 0 and σ² = 0, and the normalisation is 0/0 — "
                "unless ε is added to the variance, which is what it is for (then x̂ "
                "= 0 and dX = 0)"
            )
        raise Hint(
            f"{name} holds NaN or inf: a division by zero? The normalisation divides "
            "by sqrt(σ² + ε), which is never 0"
        )
    kind = sign_or_zero(mine, want, RTOL_LN)
    if kind == "sign":
        raise Hint(
            f"{name} has the right size but the opposite sign: return dE/d"
            f"{name[1:]} itself — no minus sign enters a backward pass"
        )
    if kind == "zero":
        raise Hint(
            f"{name} is all zeros, but it does receive a gradient here: the direct "
            "path and the paths through μ and σ² do not cancel for a general dY"
        )
    diff = relative_difference(mine, want)
    near = (
        " A difference this small usually comes from ε: it is added to the variance, "
        "under the root, and the backward pass uses the same x̂ and scale as the "
        "forward pass"
        if diff < 1e-3
        else ""
    )
    raise Hint(
        f"{name} differs from the reference (relative difference {diff:.1e}). Build "
        "dX from the direct path and the paths through the row's mean and variance, or "
        "follow eq. (ln-backward-compact); dgamma and dbeta by eq. (ln-dgamma-dbeta)."
        + near
    )


def _ln_case(N, n, seed, *, small_var=False, default_eps=False):
    rng = _seeded_rng(seed)
    X = rng.normal(1.5, 2.0, (N, n))
    if small_var:  # a row whose variance is comparable to ε: forgetting ε shows
        X[0] = 0.3 + 3e-3 * rng.standard_normal(n)
    gamma = rng.uniform(0.5, 2.0, n) * rng.choice([-1.0, 1.0], n)
    dY = rng.standard_normal((N, n))
    eps = 1e-5
    originals = (dY, X, gamma)

    def case(learner):
        args = tuple(a.copy() for a in originals)
        if default_eps:  # the default ε of the signature
            out = _call(learner, _LN_NOTES, *args)
        else:
            out = _call(learner, _LN_NOTES, *args, eps=eps)
        inputs_unchanged(args, originals, "X -= mu")
        _diagnose_ln(learner_tuple(out, _LN_NAMES, _array), (*originals, eps))

    return case


def check_layernorm_backward(layernorm_backward, *, quiet=False):
    """Check a learner's ``layernorm_backward(dY, X, gamma, eps=1e-5)`` → ``(dX,
    dgamma, dbeta)``.

    Layer normalization ``Y = γ ∘ X̂ + β`` with ``X̂ = (X − μ)/sqrt(σ² + ε)``, each row
    of ``X`` ``(N, n)`` normalised with its own mean and biased variance; ``dY =
    ∂E/∂Y``. Cases: 4 examples with 6 features, a single example (N = 1 works, unlike
    BatchNorm in training), a single feature (n = 1: x̂ = 0 and dX = 0), and a batch
    with a row whose variance is close to ε. Prints one line (or a hint) and
    returns a :class:`~bookcode.exercises.CheckResult`.

    Implements the check of the coding exercise on eqs. (ln-dgamma-dbeta) and
    (ln-backward-compact) in chapters/12_modern_training.
    """
    cases = [
        (
            "a batch of 4 examples, 6 features",
            _ln_case(4, 6, 0, default_eps=True),
        ),
        ("a single example, N = 1", _ln_case(1, 5, 1)),
        ("a single feature, n = 1", _ln_case(3, 1, 2)),
        (
            "5 examples, 4 features, a row with variance close to ε",
            _ln_case(5, 4, 3, small_var=True),
        ),
    ]
    return run_checks("layernorm_backward", layernorm_backward, cases, quiet=quiet)
