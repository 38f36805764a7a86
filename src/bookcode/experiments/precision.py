"""Floating-point formats and what they do to gradients: range, rounding, underflow,
loss scaling.

- :func:`float_formats` / :func:`float_format`: the numbers that matter for training
  (largest value, smallest normal and subnormal, machine epsilon) of float16, bfloat16,
  float32 and float64. The numpy types come from ``np.finfo``; bfloat16, which numpy
  lacks, is emulated.
- :func:`to_bfloat16`: round float32 values to bfloat16 (8 exponent, 7 mantissa bits)
  with round-to-nearest-even, by integer operations on the bit patterns.
- :func:`mixed_precision_gradients` and :func:`underflow_fraction`: gradients of a
  network computed in float16, with loss scaling, and how many of them were flushed to
  zero.
- :func:`nonfinite_table`: one-line reproducers of every common source of NaN and inf,
  evaluated with the IEEE 754 exception each one raises.

Taught in chapters/05_vanishing_exploding.
"""

from __future__ import annotations

import copy
import numbers
from dataclasses import dataclass

import numpy as np

from .. import losses as _losses
from .._validate import as_batch, as_float_array, check_choice, check_positive_float

__all__ = [
    "FORMATS",
    "FloatFormat",
    "float_format",
    "float_formats",
    "to_bfloat16",
    "round_to_format",
    "cast_network",
    "mixed_precision_gradients",
    "underflow_fraction",
    "NONFINITE_EXAMPLES",
    "nonfinite_table",
]

FORMATS = ("float16", "bfloat16", "float32", "float64")


@dataclass(frozen=True)
class FloatFormat:
    """One binary floating-point format.

    Attributes
    ----------
    name : str
    bits, exponent_bits, mantissa_bits : int
        Total width; width of the exponent field; stored fraction bits (precision is one
        more).
    eps : float
        Machine epsilon, the gap between 1 and the next representable number
        (``2^-mantissa_bits``).
    max : float
        Largest finite value; anything that rounds above it becomes ``inf``.
    smallest_normal : float
        Smallest positive number with full precision (``np.finfo(...).tiny``).
    smallest_subnormal : float
        Smallest positive number at all; below about half of it, values round to 0.
    """

    name: str
    bits: int
    exponent_bits: int
    mantissa_bits: int
    eps: float
    max: float
    smallest_normal: float
    smallest_subnormal: float

    def __repr__(self):
        return (
            f"FloatFormat({self.name}: {self.bits} bits = 1 + {self.exponent_bits} + "
            f"{self.mantissa_bits}, max {self.max:.5g}, normal from "
            f"{self.smallest_normal:.3g}, subnormal from "
            f"{self.smallest_subnormal:.3g}, eps {self.eps:.3g})"
        )


def _bfloat16_from_bits(bits):
    """float32 value of the bfloat16 bit pattern ``bits`` (its upper 16 bits of a
    float32)."""
    return float(np.array([bits << 16], dtype=np.uint32).view(np.float32)[0])


def float_format(name):
    """The :class:`FloatFormat` called ``name`` (one of ``FORMATS``).

    float16/32/64 from ``np.finfo``. bfloat16 is the upper half of a float32 (1 sign, 8
    exponent, 7 fraction bits), so its limits are read off bit patterns: largest finite
    0x7F7F, smallest normal 0x0080, smallest subnormal 0x0001, and the number after 1.0
    (0x3F80) is 0x3F81.

    Implements the formats table of chapters/05_vanishing_exploding.
    """
    check_choice(name, FORMATS, "floating-point format")
    if name == "bfloat16":
        return FloatFormat(
            "bfloat16",
            16,
            8,
            7,
            _bfloat16_from_bits(0x3F81) - 1.0,
            _bfloat16_from_bits(0x7F7F),
            _bfloat16_from_bits(0x0080),
            _bfloat16_from_bits(0x0001),
        )
    fi = np.finfo(np.dtype(name))
    return FloatFormat(
        name,
        fi.bits,
        fi.nexp,
        fi.nmant,
        float(fi.eps),
        float(fi.max),
        float(fi.tiny),
        float(fi.smallest_subnormal),
    )


def float_formats():
    """:func:`float_format` for every name in ``FORMATS`` (narrowest first).

    Implements the formats table of chapters/05_vanishing_exploding.
    """
    return [float_format(name) for name in FORMATS]


def to_bfloat16(x):
    """Round to bfloat16 with round-to-nearest-even; returns float32 values whose low 16
    bits are 0.

    bfloat16 keeps the sign, the 8 exponent bits and the top 7 fraction bits of a
    float32. Adding ``0x7FFF + (bit 16)`` to the 32-bit pattern and clearing the low 16
    bits rounds to nearest, ties to even (a carry into the exponent is the correct
    rounding up, and past the largest finite value it gives ``inf``). NaN stays NaN.
    Float64 input is first rounded to float32.

    Implements the emulated bfloat16 of chapters/05_vanishing_exploding.
    """
    x = as_float_array(x, "x", where="to_bfloat16", allow_nonfinite=True)
    with np.errstate(over="ignore"):
        x32 = np.array(x, dtype=np.float32, ndmin=1)
    u = x32.view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) & 0xFFFF0000
    out = u.astype(np.uint32).view(np.float32)
    out[np.isnan(x32)] = np.nan
    return out.reshape(np.shape(x))


def round_to_format(x, name):
    """The values of ``x`` after rounding to format ``name``, returned as float64 (inf
    on overflow).

    Implements the rounding experiments of chapters/05_vanishing_exploding.
    """
    check_choice(name, FORMATS, "floating-point format")
    x = as_float_array(x, "x", where="round_to_format", allow_nonfinite=True)
    if name == "bfloat16":
        return to_bfloat16(x).astype(np.float64)
    with np.errstate(over="ignore"):
        return x.astype(name).astype(np.float64)


def cast_network(net, dtype):
    """A deep copy of ``net`` whose parameters (and gradients) have dtype ``dtype``.

    Implements the low-precision copy of the weights in mixed precision,
    chapters/05_vanishing_exploding.
    """
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"cast_network: expected a floating dtype, got {dtype}")
    if not hasattr(net, "layers"):
        raise TypeError(
            "cast_network: expected a network with .layers (a Sequential), got "
            f"{type(net).__name__}"
        )
    out = copy.deepcopy(net)

    def cast(layers):
        for layer in layers:
            if hasattr(layer, "layers"):
                cast(layer.layers)
                continue
            for name, p in list(layer.params.items()):
                layer.params[name] = p.astype(dtype)
            layer.zero_grad()
            layer._cache = None

    cast(out.layers)
    return out


def mixed_precision_gradients(net, X, T, loss, scale=1.0, dtype=np.float16):
    """Gradients of ``net`` on ``(X, T)`` computed in ``dtype`` with loss scaling,
    returned in float32.

    The recipe of mixed-precision training: (1) copy the master weights to ``dtype``;
    (2) forward pass in ``dtype``; (3) loss gradient in float32, multiplied by the loss
    scale ``S``, rounded to ``dtype``; (4) backward pass in ``dtype`` — every gradient
    is ``S`` times too large, which lifts small values out of the underflow range; (5)
    convert to float32 and divide by ``S``.

    Returns
    -------
    grads : dict
        ``key -> float32 array`` (keys of ``net.parameters()``), already divided by
        ``S``.
    finite : bool
        False if anything overflowed to inf/NaN (then ``S`` is too large: a dynamic loss
        scaler skips the step and halves ``S``).

    Implements eq. (vg-loss-scaling) in chapters/05_vanishing_exploding.
    """
    scale = check_positive_float(scale, "scale")
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(
            f"mixed_precision_gradients: expected a floating dtype, got {dtype}"
        )
    loss = _losses.get(loss) if isinstance(loss, str) else loss
    X = as_batch(X, None, where="mixed_precision_gradients")
    low = cast_network(net, dtype)
    keys = [k for k, _, _ in low.parameters()]
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        Y = low.forward(X.astype(dtype))
        if not np.all(np.isfinite(Y)):
            return {
                k: np.full(p.shape, np.nan, dtype=np.float32)
                for k, p, _ in low.parameters()
            }, False
        dY = (loss.grad(Y.astype(np.float32), T) * np.float32(scale)).astype(dtype)
        low.backward(dY)
        grads = {
            k: g.astype(np.float32) / np.float32(scale) for k, _, g in low.parameters()
        }
    finite = all(np.all(np.isfinite(grads[k])) for k in keys)
    return grads, finite


def underflow_fraction(grads, reference):
    """Fraction of gradient entries that are exactly 0 in ``grads`` but not in
    ``reference``.

    Both are dicts ``key -> array`` with the same keys and shapes (e.g. from
    :func:`mixed_precision_gradients` and a float64 backward pass).

    Implements the underflow count of chapters/05_vanishing_exploding.
    """
    if (
        not isinstance(grads, dict)
        or not isinstance(reference, dict)
        or set(grads) != set(reference)
    ):
        raise ValueError(
            "underflow_fraction: expected two dicts key -> array with the same keys"
        )
    lost = total = 0
    for k, ref in reference.items():
        g, ref = np.asarray(grads[k]), np.asarray(ref)
        if g.shape != ref.shape:
            raise ValueError(
                f"underflow_fraction: {k!r} has shape {g.shape} but the reference has "
                f"{ref.shape}"
            )
        nonzero = ref != 0
        lost += int(np.count_nonzero((g == 0) & nonzero))
        total += int(np.count_nonzero(nonzero))
    return lost / total if total else 0.0


#: (cause, expression) pairs evaluated by :func:`nonfinite_table`; each expression uses
#: numpy only.
NONFINITE_EXAMPLES = [
    ("0 / 0", "np.float64(0.0) / 0.0"),
    ("x / 0 for x ≠ 0", "np.float64(1.0) / 0.0"),
    ("inf − inf", "np.float64(np.inf) - np.inf"),
    ("0 · inf", "np.float64(0.0) * np.inf"),
    ("inf / inf", "np.float64(np.inf) / np.inf"),
    ("log of 0", "np.log(np.float64(0.0))"),
    ("log of a negative number", "np.log(np.float64(-1.0))"),
    ("sqrt of a negative number", "np.sqrt(np.float64(-1.0))"),
    ("exp overflow, float64", "np.exp(np.float64(710.0))"),
    ("exp overflow, float16", "np.exp(np.float16(12.0))"),
    ("square overflow, float32", "np.float32(1e20) ** 2"),
    (
        "naive softmax of a large logit",
        "np.exp(np.float64(1000.0)) / np.exp(np.float64(1000.0))",
    ),
    ("zero variance, no ε", "(np.full(4, 3.0) - 3.0) / np.sqrt(np.full(4, 3.0).var())"),
    (
        "zero variance, with ε",
        "(np.full(4, 3.0) - 3.0) / np.sqrt(np.full(4, 3.0).var() + 1e-5)",
    ),
    ("any arithmetic on NaN", "np.float64(np.nan) * 0.0"),
]


def nonfinite_table(examples=None):
    """Evaluate one-line reproducers of NaN and inf and report the IEEE 754 exception of
    each.

    Parameters
    ----------
    examples : list of (str, str), optional
        ``(cause, expression)`` pairs; the expression is evaluated with only ``np`` in
        scope. Default :data:`NONFINITE_EXAMPLES`.

    Returns
    -------
    list of dict
        ``cause``, ``expression``, ``result`` (the first element if an array),
        ``flags``: the floating-point exceptions numpy reported ("invalid value",
        "divide by zero", "overflow"), in order, without duplicates; empty if none (NaN
        propagates without raising any).

    Implements the NaN/inf table of chapters/05_vanishing_exploding.
    """
    examples = NONFINITE_EXAMPLES if examples is None else examples
    rows = []
    for item in examples:
        if not (
            isinstance(item, (tuple, list))
            and len(item) == 2
            and all(isinstance(s, str) for s in item)
        ):
            raise TypeError(
                "nonfinite_table: expected (cause, expression) string pairs, got "
                f"{item!r}"
            )
        cause, expr = item
        flags = []

        def record(kind, flag, flags=flags):
            if kind not in flags:
                flags.append(kind)

        with np.errstate(all="call", call=record):
            # noqa: S307 - the book's own one-line numpy expressions
            value = eval(expr, {"np": np})
        value = np.asarray(value).flat[0]
        if not isinstance(value, (numbers.Real, np.floating, np.integer)):
            raise TypeError(f"nonfinite_table: {expr!r} did not give a number")
        rows.append(
            {"cause": cause, "expression": expr, "result": float(value), "flags": flags}
        )
    return rows
