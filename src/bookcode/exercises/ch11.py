"""Checks for the coding exercises of chapters/11_recurrent.

- :func:`check_rnn_bptt`: ``rnn_bptt(X, H, h0, W_x, W_h, dH)`` returns ``(dX, dW_x,
  dW_h, db)``, backpropagation through time for a tanh RNN ``h_t = tanh(x_t W_x +
  h_{t-1} W_h + b)``, given its hidden states ``H`` and ``dH = ∂E/∂H``;
- :func:`check_lstm_step`: ``lstm_step(x, h_prev, c_prev, W_x, W_h, b)`` returns ``(h,
  c)``, one LSTM step on a batch, the four gate blocks stacked in the order i, f, g, o.

The reference values are written out here with numpy (BPTT as a loop over the steps,
the LSTM step gate by gate), independently of :mod:`bookcode.recurrent` and
:mod:`bookcode.lstm`; tests/test_exercises_ch11.py compares them with finite
differences and with those modules. An answer passes when it agrees with the reference
to a relative difference below 1e-10 (float64: the reference and a right answer differ
only by rounding). Known mistakes are recognised by comparing with their closed forms,
and get their own hint.
"""

from __future__ import annotations

from itertools import permutations, product

import numpy as np

from ..seeding import rng as _seeded_rng
from . import (
    Hint,
    call_learner,
    inputs_unchanged,
    learner_tuple,
    relative_difference,
    run_checks,
    sign_or_zero,
)

__all__ = ["check_rnn_bptt", "check_lstm_step"]

RTOL = 1e-10


def _close(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and relative_difference(a, b) < RTOL


def _call(learner, shapes, *args):
    """``call_learner``, with the shapes spelled out when numpy refuses a product."""
    try:
        return call_learner(learner, *args)
    except Hint as hint:
        text = str(hint)
        if any(w in text for w in ("matmul", "shapes", "broadcast", "aligned")):
            raise Hint(
                f"{text}. Check the shapes: {shapes}. Write down the shape each "
                "result must have (that of the quantity it is the gradient of, or of "
                "the state it replaces) and choose the products that give it"
            ) from None
        raise


# --------------------------------------------------------------------------- rnn_bptt
def _rnn_forward(X, h0, W_x, W_h, b):
    H, h = np.empty(X.shape[:2] + (W_h.shape[0],)), h0
    for t in range(X.shape[1]):
        h = H[:, t] = np.tanh(X[:, t] @ W_x + h @ W_h + b)
    return H


def _bptt(X, H, h0, W_x, W_h, dH, **mistake):
    """BPTT for the tanh RNN, eq. (bptt), or with one typical ``mistake``.

    ``carry`` (what step t + 1 sends back: "delta", "none", "dh",
    "slope_direct_only"), ``transpose`` (W_hᵀ or W_h), ``slope`` ("h_t", "h_prev",
    "tanh_of_h", "none"), ``prev`` (the state paired with δ_t in dW_h: "h_prev",
    "h_t", "wrap", "zero_h0"), ``direct`` ("all" or "last": which dH_t are used).
    Returns ``(dX, dW_x, dW_h, db, D)`` with ``D[:, t] = δ_t = ∂E/∂a_t``.
    """
    carry, slope = mistake.get("carry", "delta"), mistake.get("slope", "h_t")
    prev = mistake.get("prev", "h_prev")
    N, T, n = H.shape
    H_prev = np.concatenate([h0[:, None], H[:, :-1]], axis=1)  # h_{t-1}
    S = {  # the slope tanh'(a_t) a learner multiplies by
        "h_t": 1 - H**2,
        "h_prev": 1 - H_prev**2,
        "tanh_of_h": 1 - np.tanh(H) ** 2,
        "none": np.ones_like(H),
    }[slope]
    R = W_h.T if mistake.get("transpose", True) else W_h
    G = dH.copy()
    if mistake.get("direct") == "last":
        G[:, :-1] = 0.0
    D, up = np.empty_like(H), np.zeros((N, n))  # up: what step t + 1 sends to h_t
    for t in reversed(range(T)):
        if carry == "delta":  # the right one: δ_{t+1} crosses W_h
            D[:, t] = (G[:, t] + up) * S[:, t]
            up = D[:, t] @ R
        elif carry == "none":  # no gradient from step t + 1
            D[:, t] = G[:, t] * S[:, t]
        elif carry == "dh":  # ∂E/∂h_{t+1} crosses W_h, skipping tanh' of step t + 1
            dh = G[:, t] + up
            D[:, t], up = dh * S[:, t], dh @ R
        elif carry == "slope_direct_only":  # tanh'(a_t) on dH_t only
            D[:, t] = G[:, t] * S[:, t] + up
            up = D[:, t] @ R
    P = {
        "h_prev": H_prev,
        "h_t": H,
        "wrap": np.concatenate([H[:, -1:], H[:, :-1]], axis=1),  # H[:, t - 1]
        "zero_h0": np.concatenate([np.zeros_like(h0)[:, None], H[:, :-1]], axis=1),
    }[prev]
    return (
        D @ W_x.T,
        np.einsum("nti,ntj->ij", X, D),
        np.einsum("nti,ntj->ij", P, D),
        D.sum(axis=(0, 1)),
        D,
    )


_RNN_SHAPES = (
    "X is (N, T, n_in), H and dH are (N, T, n), h0 is (N, n), W_x is (n_in, n), W_h "
    "is (n, n); at step t, x_t is X[:, t] (N, n_in) and δ_t = ∂E/∂a_t is (N, n)"
)
_RNN_NAMES = ("dX", "dW_x", "dW_h", "db")

# (keywords of _bptt, hint): mistakes in δ_t, which change all four results
_DELTA_MISTAKES = [
    (
        {"direct": "last"},
        "you used only the last step's dH: here the loss reads every hidden state, "
        "and dH_t = ∂E/∂h_t from the loss directly is given for every step t. Each "
        "step's own dH_t enters ∂E/∂h_t, besides what comes back from step t + 1",
    ),
    (
        {"carry": "none"},
        "no gradient travels back in time: ∂E/∂h_t has two parts, the loss reading "
        "h_t directly (dH_t) and step t + 1, which reads h_t through W_h. You kept "
        "only the first (eq. (bptt)); the second is what makes BPTT a backward pass "
        "through the steps, run from the last step to the first",
    ),
    (
        {"transpose": False},
        "the gradient sent back from step t + 1 to h_t uses W_h where it needs its "
        "transpose: forward, W_h maps the state h_t to a_{t+1}; backward, the signal "
        "travels from a_{t+1} to h_t. W_h is square, so the shapes agree either way "
        "and only the values tell",
    ),
    (
        {"carry": "dh"},
        "what crosses W_h on the way back is δ_{t+1} = ∂E/∂a_{t+1}, the gradient at "
        "step t + 1's pre-activation, which has already passed through that step's "
        "tanh'. You sent ∂E/∂h_{t+1} back instead, skipping that factor (eq. (bptt))",
    ),
    (
        {"carry": "slope_direct_only"},
        "the slope tanh'(a_t) must multiply all of ∂E/∂h_t — the direct part dH_t "
        "and what came back from step t + 1 — because both reach a_t through the "
        "same tanh. You applied it to dH_t only",
    ),
    (
        {"slope": "h_prev"},
        "δ_t uses the slope of the wrong step: the tanh that δ_t passes through is "
        "step t's own, whose output is h_t (the state at the same index as dH_t). "
        "You used the state of step t − 1",
    ),
    (
        {"slope": "tanh_of_h"},
        "you took tanh' of h_t, but h_t is already tanh(a_t): the slope at a_t is "
        "written through h_t itself (chapters/04_activations), with no second tanh",
    ),
    (
        {"slope": "none"},
        "δ_t lacks the slope of the tanh: a_t passes through tanh before it becomes "
        "h_t, so ∂E/∂a_t is ∂E/∂h_t times tanh'(a_t), element by element",
    ),
]

# mistakes in the state that dW_h pairs with δ_t
_PREV_MISTAKES = [
    (
        "h_t",
        "dW_h pairs δ_t with h_t, the state that step t *produces*; but W_h "
        "multiplies the state that *enters* step t (eq. (rnn-forward)), and a "
        "weight's gradient pairs δ_t with what the weight multiplied",
    ),
    (
        "wrap",
        "at the first step your h_{t-1} was the *last* state: for t = 0, H[:, t - 1] "
        "is H[:, -1] (negative indices wrap around in numpy). The state that enters "
        "the first step is h0",
    ),
    (
        "zero_h0",
        "the first step's contribution to dW_h is missing (or uses zeros for the "
        "state before it): the state that enters step 1 is h0, which is given and "
        "need not be zero",
    ),
]

_SHARED = {
    "dW_x": "W_x is shared by all steps and all sequences",
    "dW_h": "W_h is shared by all steps and all sequences",
    "db": "b is shared by all steps and all sequences",
}


def _rnn_shapes(got, N, T, n_in, n, D):
    dX, dW_x, dW_h, db = got
    want = [(N, T, n_in), (n_in, n), (n, n), (n,)]
    have = [a.shape for a in got]
    if have == want:
        return
    if sorted(have) == sorted(want) and n_in != n:
        raise Hint(
            "your four results come back in the wrong order; return (dX, dW_x, dW_h, "
            "db)"
        )
    if dX.shape == (N, T, n) and n != n_in and _close(dX, D):
        raise Hint(
            "your dX is δ = ∂E/∂a, the gradient at the pre-activations, of shape (N, "
            f"T, n) = {dX.shape}. dX = ∂E/∂X goes one product further back, through "
            "the input weights, and has the shape of X"
        )
    for name, arr, shape in zip(_RNN_NAMES[1:], got[1:], want[1:]):
        if arr.shape == shape:
            continue
        if name == "db" and arr.shape in ((T, n), (N, n)) and N != T:
            over = "the sequences only" if arr.shape == (T, n) else "the steps only"
            raise Hint(
                f"db has shape {arr.shape}: you summed over {over}. "
                f"{_SHARED['db']}: it collects one contribution per step and per "
                f"sequence, into one entry per unit, shape {shape}"
            )
        if arr.ndim == len(shape) + 1 and arr.shape[1:] == shape:
            per = "step" if arr.shape[0] == T else "sequence"
            raise Hint(
                f"{name} has shape {arr.shape}, one array per {per}: {_SHARED[name]}, "
                f"so their contributions add up into one array of shape {shape}"
            )
        if arr.size == 1 and n > 1:
            raise Hint(
                f"{name} is a single number: you summed over everything; it has the "
                f"shape of its parameter, {shape}"
            )
        if arr.shape == shape[::-1]:
            raise Hint(
                f"{name} is transposed: shape {arr.shape}, but it must have the shape "
                f"of its parameter, {shape}: one row per input of the product, one "
                "column per unit"
            )
        raise Hint(
            f"{name} must have the shape of its parameter, {shape}; got {arr.shape}"
        )
    raise Hint(
        f"dX must have the shape of X, {(N, T, n_in)} — one gradient per input "
        f"feature, step and sequence; got {dX.shape}"
    )


def _diagnose_rnn(got, args):
    X, H, h0, W_x, W_h, dH = args
    N, T, n_in = X.shape
    n = H.shape[2]
    *ref, D = _bptt(*args)
    _rnn_shapes(got, N, T, n_in, n, D)
    ok = [_close(g, r) for g, r in zip(got, ref)]
    if all(ok):
        return
    for keywords, hint in _DELTA_MISTAKES:
        wrong = _bptt(*args, **keywords)
        if any(_close(got[k], wrong[k]) and not ok[k] for k in (0, 1, 3)):
            raise Hint(hint)
    if not ok[2]:
        for prev, hint in _PREV_MISTAKES:
            if _close(got[2], _bptt(*args, prev=prev)[2]):
                raise Hint(hint)
    H_prev = np.concatenate([h0[:, None], H[:, :-1]], axis=1)
    inputs = {"dW_x": X, "dW_h": H_prev, "db": None}
    for k, name in ((1, "dW_x"), (2, "dW_h"), (3, "db")):
        if ok[k]:
            continue
        for factor, what in (
            (T, "steps"),
            (N, "sequences"),
            (N * T, "steps and sequences"),
        ):
            if factor > 1 and _close(got[k] * factor, ref[k]):
                raise Hint(
                    f"{name} is {factor} times too small: you averaged over the "
                    f"{what}. {_SHARED[name]}, and every contribution counts in "
                    "full (dH already carries whatever average the loss takes)"
                )
        A = inputs[name]
        for t in range(T) if T > 1 else []:
            one = D[:, t].sum(axis=0) if A is None else A[:, t].T @ D[:, t]
            if _close(got[k], one):
                raise Hint(
                    f"{name} holds the contribution of one step only (step {t + 1} of "
                    f"{T}): {_SHARED[name]}, so every step contributes to its "
                    "gradient (eq. (bptt))"
                )
    for k, name in enumerate(_RNN_NAMES):
        if ok[k]:
            continue
        kind = sign_or_zero(got[k], ref[k], RTOL)
        if kind == "sign":
            raise Hint(
                f"{name} has the right size but the opposite sign: return the gradient "
                "of E itself, the direction in which E grows; the minus sign of a "
                "descent step belongs to the update"
            )
        if kind == "zero":
            raise Hint(
                f"{name} is all zeros, but it does receive a gradient here: every "
                "step's δ_t contributes to it"
            )
        raise Hint(
            f"{name} differs from the reference (relative difference "
            f"{relative_difference(got[k], ref[k]):.1e}). Build δ_t from the last step "
            "back to the first by eq. (bptt), then the three weight gradients and dX "
            "from the δ_t of all steps"
        )


def _rnn_case(N, T, n_in, n, seed, *, last_only=False):
    rng = _seeded_rng(seed)
    X = rng.standard_normal((N, T, n_in))
    W_x = rng.normal(0.0, 1.0 / np.sqrt(n_in), (n_in, n))
    W_h = rng.normal(0.0, 1.0 / np.sqrt(n), (n, n))
    b, h0 = rng.normal(0.0, 0.3, n), rng.normal(0.0, 0.5, (N, n))
    H = _rnn_forward(X, h0, W_x, W_h, b)
    dH = rng.standard_normal((N, T, n))
    if last_only:  # the loss reads h_T only, as in the adding problem
        dH[:, :-1] = 0.0
    originals = (X, H, h0, W_x, W_h, dH)

    def case(learner):
        args = tuple(a.copy() for a in originals)
        out = _call(learner, _RNN_SHAPES, *args)
        inputs_unchanged(args, originals, "dH[:, t] += ...")
        _diagnose_rnn(learner_tuple(out, _RNN_NAMES), originals)

    return case


def check_rnn_bptt(rnn_bptt, *, quiet=False):
    """Check a learner's ``rnn_bptt(X, H, h0, W_x, W_h, dH)`` → ``(dX, dW_x, dW_h,
    db)``.

    The RNN is ``a_t = x_t W_x + h_{t-1} W_h + b``, ``h_t = tanh(a_t)``, with ``X``
    ``(N, T, n_in)``, the hidden states ``H`` ``(N, T, n)`` of its forward pass, the
    initial state ``h0`` ``(N, n)`` and ``dH = ∂E/∂H``. Cases: a batch of 3 sequences
    of 4 steps, a single sequence, a single step (nothing flows back in time), and a
    loss that reads only the last state (as in the adding problem); ``h0`` is never
    zero. Prints one line (or a hint) and returns a
    :class:`~bookcode.exercises.CheckResult`.

    Implements the check of the coding exercise on eq. (bptt) in
    chapters/11_recurrent.
    """
    cases = [
        ("3 sequences of 4 steps, 2 inputs, 3 units", _rnn_case(3, 4, 2, 3, 0)),
        ("a single sequence of 5 steps", _rnn_case(1, 5, 3, 4, 1)),
        ("a single step, T = 1", _rnn_case(4, 1, 2, 3, 2)),
        (
            "a loss that reads only the last state, 6 steps",
            _rnn_case(2, 6, 1, 2, 3, last_only=True),
        ),
    ]
    return run_checks("rnn_bptt", rnn_bptt, cases, quiet=quiet)


# -------------------------------------------------------------------------- lstm_step
def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # = 1 / (1 + e^{-z}), without overflow


_ACT = {"sigmoid": _sigmoid, "tanh": np.tanh}
_RIGHT_ACTS = {"i": "sigmoid", "f": "sigmoid", "g": "tanh", "o": "sigmoid"}


def _lstm(x, h_prev, c_prev, W_x, W_h, b, **mistake):
    """One LSTM step, eqs. (lstm-gates) and (lstm-cell), or with a ``mistake``.

    ``order`` (the gates a learner reads from the four blocks), ``acts`` ({gate:
    "sigmoid" or "tanh"}), ``bias``, ``recurrent`` ("h", or "c": the state the gates
    read), ``cell`` and ``out`` (the forms of c_t and h_t below).
    """
    acts = {**_RIGHT_ACTS, **mistake.get("acts", {})}
    old = h_prev if mistake.get("recurrent", "h") == "h" else c_prev
    z = x @ W_x + old @ W_h + (b if mistake.get("bias", True) else 0.0)
    blocks = dict(zip(mistake.get("order", "ifgo"), np.split(z, 4, axis=1)))
    i, f, g, o = (_ACT[acts[k]](blocks[k]) for k in "ifgo")
    c = {
        "right": f * c_prev + i * g,
        "no_i": f * c_prev + g,
        "no_f": c_prev + i * g,
        "coupled": f * c_prev + (1 - f) * g,
        "h_prev": f * h_prev + i * g,
        "squashed": np.tanh(f * c_prev + i * g),
    }[mistake.get("cell", "right")]
    h = {
        "right": o * np.tanh(c),
        "no_tanh": o * c,
        "tanh_outside": np.tanh(o * c),
        "old_cell": o * np.tanh(c_prev),
        "no_o": np.tanh(c),
    }[mistake.get("out", "right")]
    return h, c


def _gate_list(names):
    names = sorted(names, key="ifo".index)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _lstm_mistakes():
    """[(keywords of _lstm, hint)] in the order they are tried."""
    out = []
    for order in ("".join(p) for p in permutations("ifgo")):
        if order == "ifgo":
            continue
        if order == "gfio":
            hint = (
                "i and g are exchanged: you read each from the other's block, or "
                "gave each the other's activation (the two mistakes give the same "
                "numbers). The input gate i, the first block, is a sigmoid; the "
                "candidate g, the third block, is a tanh (eq. (lstm-gates))"
            )
        elif order == "figo":
            hint = (
                "i and f play each other's part: the forget gate f (the second block) "
                "decides how much of the old cell c_{t-1} is kept, the input gate i "
                "(the first block) how much of the candidate g is written (eq. "
                "(lstm-cell))"
            )
        else:
            hint = (
                "the four gate blocks are read in the wrong order: you read them as "
                f"{', '.join(order)}, but the book stacks the columns of W_x, W_h and "
                "b as i, f, g, o — n columns each, in that order (eq. (lstm-gates))"
            )
        out.append(({"order": order}, hint))
    for g_act, tanh_gates in product(("tanh", "sigmoid"), range(8)):
        gates = [k for bit, k in zip((1, 2, 4), "ifo") if tanh_gates & bit]
        if (g_act == "tanh" and not gates) or (g_act, gates) == ("sigmoid", ["i"]):
            continue  # the right answer; and the same numbers as the order g, f, i, o
        acts = {"g": g_act, **{k: "tanh" for k in gates}}
        if g_act == "sigmoid" and not gates:
            hint = (
                "the candidate g went through a sigmoid: g is the new content written "
                "into the cell and may be negative or positive, so it uses tanh; only "
                "the gates i, f, o, fractions between 0 and 1, use the sigmoid"
            )
        elif g_act == "tanh":
            hint = (
                f"the gate{'s' if len(gates) > 1 else ''} {_gate_list(gates)} went "
                "through tanh: a gate is a fraction between 0 and 1 of what it lets "
                "through, so it uses the sigmoid; only the candidate g uses tanh"
            )
        else:
            hint = (
                "tanh and sigmoid are swapped: the gates i, f, o are fractions "
                "between 0 and 1 (sigmoid), the candidate g is signed content "
                "(tanh) — eq. (lstm-gates)"
            )
        out.append(({"acts": acts}, hint))
    out += [
        (
            {"bias": False},
            "the bias b is missing from the pre-activations: every gate block has its "
            "own bias (the forget gate's one is what keeps the cell open at the "
            "start), added to x_t W_x + h_{t-1} W_h",
        ),
        (
            {"recurrent": "c"},
            "the gates read the old *cell* c_{t-1} through W_h; they read the old "
            "hidden state h_{t-1}. The cell state is the LSTM's private memory: it "
            "reaches the gates only through h (eq. (lstm-gates))",
        ),
        (
            {"cell": "h_prev"},
            "the forget gate scaled h_{t-1}, but what it keeps is the old *cell* "
            "c_{t-1}: the cell carries its own state from step to step (eq. "
            "(lstm-cell))",
        ),
        (
            {"cell": "no_i"},
            "the input gate is missing from the cell update: the candidate g is "
            "written into the cell only in the fraction the input gate i lets through",
        ),
        (
            {"cell": "no_f"},
            "the forget gate is missing from the cell update: the old cell c_{t-1} is "
            "kept only in the fraction the forget gate f lets through",
        ),
        (
            {"cell": "coupled"},
            "you coupled the two gates, writing the fraction 1 − f of g: in this LSTM "
            "the input gate i, a separate block, decides how much of g is written "
            "(coupling them is a different cell, a relative of the GRU)",
        ),
        (
            {"cell": "squashed"},
            "the new cell went through tanh: c_t is a plain sum of the kept old cell "
            "and the written candidate, with no squashing — that linear path is what "
            "lets the cell gradient cross many steps (eq. (lstm-cell-grad)); tanh is "
            "applied only on the way to h_t",
        ),
        (
            {"out": "no_tanh"},
            "h_t lacks the tanh of the cell: the output gate lets through a squashed "
            "copy of the new cell, so that h_t stays between −1 and 1 while c_t may "
            "grow (eq. (lstm-cell))",
        ),
        (
            {"out": "tanh_outside"},
            "the tanh in h_t is applied after the output gate: the gate scales the "
            "squashed cell, not the other way round (eq. (lstm-cell))",
        ),
        (
            {"out": "old_cell"},
            "h_t was computed from the old cell c_{t-1}: the output of this step reads "
            "the cell after this step's update",
        ),
        (
            {"out": "no_o"},
            "the output gate is missing from h_t: the gate o decides how much of the "
            "squashed cell is shown as the hidden state",
        ),
    ]
    return out


_LSTM_MISTAKES = _lstm_mistakes()
_LSTM_SHAPES = (
    "x is (N, n_in), h_prev and c_prev are (N, n), W_x is (n_in, 4n), W_h is (n, 4n), "
    "b is (4n,); the pre-activations of the four gates together are (N, 4n)"
)


def _diagnose_lstm(got, args):
    h, c = got
    N, n = args[1].shape
    ref = _lstm(*args)
    if h.shape != (N, n) or c.shape != (N, n):
        hint = (
            f"h and c must both have shape (N, n) = {(N, n)}, one row per example and "
            f"one column per unit; got {h.shape} and {c.shape}"
        )
        if (N, 4 * n) in (h.shape, c.shape):
            hint += (
                ". The 4n columns of the pre-activations are the four gates; each "
                "gate, and each state, has n"
            )
        raise Hint(hint)
    ok_h, ok_c = _close(h, ref[0]), _close(c, ref[1])
    if ok_h and ok_c:
        return
    if _close(h, ref[1]) and _close(c, ref[0]):
        raise Hint("h and c come back in the wrong order; return (h, c)")
    wrong = [(_lstm(*args, **keywords), hint) for keywords, hint in _LSTM_MISTAKES]
    for (wrong_h, wrong_c), hint in wrong:  # the whole answer matches a mistake
        if _close(h, wrong_h) and _close(c, wrong_c):
            raise Hint(hint)
    for (wrong_h, wrong_c), hint in wrong:  # one mistake, and more besides
        if (not ok_c and _close(c, wrong_c)) or (
            ok_c and not ok_h and _close(h, wrong_h)
        ):
            raise Hint(hint)
    name, mine, want = ("c", c, ref[1]) if not ok_c else ("h", h, ref[0])
    if sign_or_zero(mine, want, RTOL) == "sign":
        raise Hint(
            f"{name} has the right size but the opposite sign: check the signs in "
            "eqs. (lstm-gates) and (lstm-cell)"
        )
    if not ok_c:
        raise Hint(
            "c differs from the reference (relative difference "
            f"{relative_difference(c, ref[1]):.1e}): the new cell keeps a gated "
            "fraction of the old cell and adds a gated fraction of the candidate "
            "(eq. (lstm-cell)); check the four gates first (eq. (lstm-gates))"
        )
    raise Hint(
        "c is right, but h differs from the reference (relative difference "
        f"{relative_difference(h, ref[0]):.1e}): the hidden state is the new cell, "
        "squashed and gated by o (eq. (lstm-cell))"
    )


def _lstm_case(N, n_in, n, seed, *, scale=1.0):
    rng = _seeded_rng(seed)
    x = rng.standard_normal((N, n_in))
    h_prev = np.tanh(rng.standard_normal((N, n)))
    c_prev = rng.normal(0.0, 1.5, (N, n))
    W_x = rng.normal(0.0, scale / np.sqrt(n_in), (n_in, 4 * n))
    W_h = rng.normal(0.0, scale / np.sqrt(n), (n, 4 * n))
    b = rng.normal(0.0, 0.5, 4 * n)
    b[n : 2 * n] += 1.0  # a forget-gate bias, as in the chapter
    originals = (x, h_prev, c_prev, W_x, W_h, b)

    def case(learner):
        args = tuple(a.copy() for a in originals)
        out = _call(learner, _LSTM_SHAPES, *args)
        inputs_unchanged(args, originals, "c_prev *= ...")
        _diagnose_lstm(learner_tuple(out, ("h", "c")), originals)

    return case


def check_lstm_step(lstm_step, *, quiet=False):
    """Check a learner's ``lstm_step(x, h_prev, c_prev, W_x, W_h, b)`` → ``(h, c)``.

    One step of the LSTM on a batch: ``x`` ``(N, n_in)``, the previous states
    ``h_prev`` and ``c_prev`` ``(N, n)``, stacked parameters ``W_x`` ``(n_in, 4n)``,
    ``W_h`` ``(n, 4n)``, ``b`` ``(4n,)`` with the gate blocks in the order i, f, g, o.
    Cases: 4 examples with 2 units, a single example, and larger weights that saturate
    some gates. Prints one line (or a hint) and returns a
    :class:`~bookcode.exercises.CheckResult`.

    Implements the check of the coding exercise on eqs. (lstm-gates) and (lstm-cell)
    in chapters/11_recurrent.
    """
    cases = [
        ("4 examples, 3 inputs, 2 units", _lstm_case(4, 3, 2, 10)),
        ("a single example, 3 units", _lstm_case(1, 2, 3, 11)),
        ("larger weights: some gates saturate", _lstm_case(5, 4, 4, 12, scale=2.5)),
    ]
    return run_checks("lstm_step", lstm_step, cases, quiet=quiet)
