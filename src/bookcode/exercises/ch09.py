"""Checks for the coding exercise of chapters/09_residual.

- :func:`check_residual_backward`: ``residual_backward(block, dY)`` is the backward pass
  of a :class:`bookcode.residual.Residual` block ``Y = X + s F(X)`` after its forward
  pass: it returns ``dE/dX = dY + F.backward(s · dY)``, fills the branch's parameter
  gradients and leaves ``dY`` alone.

The reference values are computed here from the branch's own layers (a Linear, or an
activation followed by a Linear), written out with numpy, independently of
:mod:`bookcode.residual`.
"""

from __future__ import annotations

import numpy as np

from ..seeding import rng as _seeded_rng
from . import Hint, call_learner, learner_array, run_checks

__all__ = ["check_residual_backward"]


def _block(kind, n, scale, seed):
    """A Residual block after a forward pass, with the reference dX and branch gradients
    for a random dY."""
    from ..layers import Activation, Linear
    from ..network import Sequential
    from ..residual import Residual

    rng = _seeded_rng(seed)
    W, b = rng.normal(0, 0.8, (n, n)), rng.normal(0, 0.3, n)
    X, dY = rng.standard_normal((5, n)), rng.standard_normal((5, n))
    lin = Linear(n, n, init=W.copy())
    lin.params["b"][...] = b
    if kind == "linear":
        branch, A = lin, X
        jac = lambda d: d @ W.T  # noqa: E731  (∂F/∂X applied to an upstream gradient)
    else:
        branch, A = Sequential([Activation("tanh"), lin]), np.tanh(X)
        jac = lambda d: (d @ W.T) * (1 - A**2)  # noqa: E731
    block = Residual(branch, scale=scale)
    block.forward(X)
    ref = {
        "dX": dY + jac(scale * dY),
        "W": A.T @ (scale * dY),
        "b": (scale * dY).sum(axis=0),
        "dY": dY,
        "branch_only": jac(scale * dY),
        "unscaled": dY + jac(dY),
        "jac": jac,
        "A": A,
    }
    return block, lin, dY, ref


def _close(a, b):
    return a.shape == b.shape and np.allclose(a, b, rtol=1e-10, atol=1e-12)


def _case(kind, n, scale, seed):
    def case(learner):
        block, lin, dY, ref = _block(kind, n, scale, seed)
        lin.grads["W"] = np.full(
            (n, n), np.nan
        )  # sentinels: a filled gradient replaces them
        lin.grads["b"] = np.full(n, np.nan)
        dY_in = dY.copy()
        out = call_learner(learner, block, dY_in)
        mutated = not np.array_equal(dY_in, ref["dY"])
        if out is None:
            raise Hint(
                "your function returned None — did you forget the `return` statement?"
            )
        got = learner_array(out)
        if got.shape != dY.shape:
            raise Hint(f"dE/dX must have the shape of dY, {dY.shape}; got {got.shape}")
        if mutated:
            raise Hint(
                "your function changed dY in place (e.g. `dY *= scale` or `dY += "
                "...`): the caller still needs it. Build new arrays instead of "
                "updating dY"
            )
        filled = not (np.isnan(lin.grads["W"]).any() or np.isnan(lin.grads["b"]).any())
        if _close(got, ref["dY"]) or _close(got, scale * ref["dY"]):
            raise Hint(
                "you returned only the identity path dY: the gradient also flows back "
                "through the branch F, and the branch's layers know their own backward "
                "pass"
            )
        if _close(got, ref["branch_only"]):
            raise Hint(
                "you forgot the identity term: in Y = X + s F(X), X also reaches Y "
                "directly, and that shortcut carries the gradient back unchanged, "
                "beside the branch's (eq. (res-block-backward))"
            )
        if scale != 1.0 and _close(got, ref["unscaled"]):
            raise Hint(
                f"the branch is scaled by s = {scale:g} in the forward pass, so the "
                "gradient that enters the branch carries the factor s too (chain rule)"
            )
        if (
            scale != 1.0
            and _close(got, dY + ref["jac"](scale * scale * dY))
            or scale != 1.0
            and _close(got, scale * (dY + ref["jac"](scale * dY)))
        ):
            raise Hint(
                f"the scale s = {scale:g} is applied twice or to the identity term: "
                "only the branch is scaled in the forward pass, so s enters the "
                "gradient once, on the branch's path only"
            )
        if not _close(got, ref["dX"]):
            raise Hint(
                "dE/dX differs from the reference for this block: it is the sum of two "
                "paths, the identity and the scaled branch (eq. (res-block-backward))"
            )
        if not filled:
            raise Hint(
                "dE/dX is right, but the branch's parameter gradients were not filled: "
                "the branch's own backward pass also fills its grads for the "
                "optimizer, so let the branch compute its part instead of recomputing "
                "it by hand"
            )
        if scale != 1.0 and _close(lin.grads["W"], ref["W"] / scale):
            raise Hint(
                "dE/dX is right but the branch's weight gradients are off by the "
                f"factor s = {scale:g}: scale the gradient going *into* the branch "
                "(the weights sit inside it), not the result coming out of it, and "
                "call backward only once (the last call sets the grads)"
            )
        if not (_close(lin.grads["W"], ref["W"]) and _close(lin.grads["b"], ref["b"])):
            raise Hint(
                "dE/dX is right but the branch's parameter gradients are wrong: run "
                "the branch's backward exactly once, with the gradient that enters the "
                "branch (s included)"
            )

    return case


def check_residual_backward(residual_backward):
    """Check a learner's ``residual_backward(block, dY)`` → ``dE/dX`` of a Residual
    block after forward.

    Cases: a single-Linear branch with ``s = 1``, a tanh → Linear branch with ``s =
    0.5`` and one with ``s = 2`` (so the identity term, the branch, the scale and the
    filled gradients all change the answer).

    Implements the check of the coding exercise on eq. (res-block-backward) in
    chapters/09_residual.
    """
    cases = [
        ("Linear branch, s = 1", _case("linear", 3, 1.0, 1)),
        ("tanh → Linear branch, s = 0.5", _case("tanh", 4, 0.5, 2)),
        ("tanh → Linear branch, s = 2", _case("tanh", 3, 2.0, 3)),
    ]
    return run_checks("residual_backward", residual_backward, cases)
