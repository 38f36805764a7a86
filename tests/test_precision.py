"""Tests of bookcode.experiments.precision against the IEEE 754 formulas and independent
rounding."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from bookcode import losses
from bookcode.experiments import gradient_flow as gf
from bookcode.experiments import precision


# ------------------------------------------------------------------------------ formats
@pytest.mark.parametrize(
    "name, e, m",
    [("float16", 5, 10), ("bfloat16", 8, 7), ("float32", 8, 23), ("float64", 11, 52)],
)
def test_formats_follow_the_ieee_formulas(name, e, m):
    f = precision.float_format(name)
    bias = 2 ** (e - 1) - 1
    assert (f.bits, f.exponent_bits, f.mantissa_bits) == (1 + e + m, e, m)
    assert f.eps == 2.0**-m
    assert f.max == (2 - 2.0**-m) * 2.0**bias
    assert f.smallest_normal == 2.0 ** (1 - bias)
    assert f.smallest_subnormal == 2.0 ** (1 - bias - m)


def test_float16_numbers_quoted_in_the_book():
    f = precision.float_format("float16")
    assert f.max == 65504.0
    assert_allclose(
        [f.smallest_normal, f.smallest_subnormal], [6.1035e-5, 5.9605e-8], rtol=1e-4
    )
    assert [g.name for g in precision.float_formats()] == list(precision.FORMATS)
    assert "65504" in repr(f)


def test_float_format_bad_name():
    with pytest.raises(ValueError, match="expected one of"):
        precision.float_format("float8")


# ----------------------------------------------------------------------------- bfloat16
def _bf16_reference(x):
    """Round float32 values to 8 significant bits, ties to even, with float64 arithmetic
    (np.round is half-even)."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    for i, v in enumerate(x):
        if not np.isfinite(v) or v == 0:
            out[i] = v
            continue
        exp = max(
            np.frexp(abs(v))[1] - 1, -126
        )  # exponent of the leading bit; subnormals share -126
        q = 2.0 ** (exp - 7)  # spacing of bfloat16 numbers there
        r = np.round(v / q) * q
        out[i] = (
            np.copysign(np.inf, v)
            if abs(r) > precision.float_format("bfloat16").max
            else r
        )
    return out


def test_to_bfloat16_matches_independent_rounding():
    rng = np.random.default_rng(0)
    mags = 10.0 ** rng.uniform(-44, 38.5, 4000)
    x = (mags * rng.choice([-1, 1], mags.size)).astype(np.float32)
    one = np.float32(1.0)
    ties = np.array(
        [
            1 + 2**-8,
            1 + 3 * 2**-8,
            -(1 + 2**-8),
            3.3895e38,
            3.3961e38,
            3.4e38,
            2**-133,
            3 * 2**-134,
            1e-45,
            0.0,
            -0.0,
            np.inf,
            -np.inf,
        ],
        dtype=np.float32,
    )
    x = np.concatenate([x, ties, [one]])
    got = precision.to_bfloat16(x)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got.astype(np.float64), _bf16_reference(x))
    assert np.all(got.view(np.uint32) & 0xFFFF == 0), "the low 16 bits must be zero"
    np.testing.assert_array_equal(precision.to_bfloat16(got), got)  # idempotent


def test_to_bfloat16_ties_nan_and_shapes():
    got = precision.to_bfloat16(
        np.array([[1 + 2**-8, 1 + 3 * 2**-8]], dtype=np.float32)
    )
    assert got.shape == (1, 2) and got.tolist() == [
        [1.0, 1 + 2**-6]
    ]  # ties go to the even neighbour
    assert np.isnan(precision.to_bfloat16(np.nan))
    assert precision.to_bfloat16(1.0).shape == ()


def test_round_to_format():
    assert_allclose(
        precision.round_to_format([1e-8, 65519.0, 65520.0], "float16"),
        [0.0, 65504.0, np.inf],
    )
    tiny = precision.round_to_format(1e-6, "float16")
    assert (
        tiny != 0 and abs(tiny - 1e-6) / 1e-6 > 1e-3
    )  # a subnormal: kept, but with few digits
    assert precision.round_to_format(1e-30, "bfloat16") != 0
    assert precision.round_to_format(1.001, "bfloat16") == 1.0
    with pytest.raises(ValueError, match="expected one of"):
        precision.round_to_format(1.0, "half")


# ---------------------------------------------------------------------- mixed precision
def _deep_sigmoid(seed=0):
    rng = np.random.default_rng(seed)
    X, y = rng.normal(size=(64, 8)), rng.integers(0, 3, 64)
    net = gf.gaussian_mlp([8] + [6] * 10 + [3], rng=seed)
    return net, X, y


def _reference(net, X, y, loss):
    net.backward(loss.grad(net.forward(X), y))
    return {k: g.copy() for k, _, g in net.parameters()}


def test_cast_network_copies_and_casts():
    net, X, _ = _deep_sigmoid()
    half = precision.cast_network(net, np.float16)
    for (_, p, _), (_, p16, g16) in zip(net.parameters(), half.parameters()):
        assert (
            p.dtype == np.float64
            and p16.dtype == np.float16
            and g16.dtype == np.float16
        )
        np.testing.assert_array_equal(p16, p.astype(np.float16))
    assert half.forward(X.astype(np.float16)).dtype == np.float16
    with pytest.raises(TypeError, match="floating dtype"):
        precision.cast_network(net, np.int32)
    with pytest.raises(TypeError, match="Sequential"):
        precision.cast_network(object(), np.float16)


def test_mixed_precision_in_float64_is_plain_backprop():
    net, X, y = _deep_sigmoid()
    ce = losses.get("softmax_cross_entropy")
    ref = _reference(net, X, y, ce)
    grads, finite = precision.mixed_precision_gradients(
        net, X, y, ce, scale=1.0, dtype=np.float64
    )
    assert finite and all(g.dtype == np.float32 for g in grads.values())
    for k in (
        ref
    ):  # the loss gradient is taken in float32, so agreement is to float32 precision
        assert np.linalg.norm(grads[k] - ref[k]) <= 1e-6 * np.linalg.norm(ref[k])


def test_power_of_two_scaling_is_exact_in_float32():
    net, X, y = _deep_sigmoid(1)
    ce = losses.get("softmax_cross_entropy")
    g1, _ = precision.mixed_precision_gradients(
        net, X, y, ce, scale=1.0, dtype=np.float32
    )
    g2, _ = precision.mixed_precision_gradients(
        net, X, y, ce, scale=2.0**12, dtype=np.float32
    )
    for k in g1:
        np.testing.assert_array_equal(g1[k], g2[k])


def test_loss_scaling_rescues_float16_underflow():
    net, X, y = _deep_sigmoid(2)
    ce = losses.get("softmax_cross_entropy")
    ref = _reference(net, X, y, ce)
    plain, ok1 = precision.mixed_precision_gradients(net, X, y, ce)
    scaled, ok2 = precision.mixed_precision_gradients(net, X, y, ce, scale=2.0**16)
    assert ok1 and ok2
    assert precision.underflow_fraction(plain, ref) > 0.2
    assert precision.underflow_fraction(scaled, ref) < 0.01
    err = np.linalg.norm(scaled["0.W"] - ref["0.W"]) / np.linalg.norm(ref["0.W"])
    assert err < 1e-2  # float16 keeps ~3 significant digits
    _, ok3 = precision.mixed_precision_gradients(net, X, y, ce, scale=2.0**40)
    assert not ok3, "a scale that overflows float16 must be reported"


def test_mixed_precision_bad_input():
    net, X, y = _deep_sigmoid()
    with pytest.raises(ValueError, match="scale"):
        precision.mixed_precision_gradients(
            net, X, y, "softmax_cross_entropy", scale=0.0
        )
    with pytest.raises(TypeError, match="floating dtype"):
        precision.mixed_precision_gradients(
            net, X, y, "softmax_cross_entropy", dtype=np.int16
        )
    with pytest.raises(ValueError, match="2-D batch"):
        precision.mixed_precision_gradients(net, X[0], y, "softmax_cross_entropy")


def test_underflow_fraction():
    ref = {"a": np.array([1.0, 2.0, 0.0, 3.0]), "b": np.array([[1e-9]])}
    got = {"a": np.array([1.0, 0.0, 0.0, 3.0]), "b": np.array([[0.0]])}
    assert precision.underflow_fraction(got, ref) == 2 / 4
    assert precision.underflow_fraction({"a": np.zeros(2)}, {"a": np.zeros(2)}) == 0.0
    with pytest.raises(ValueError, match="same keys"):
        precision.underflow_fraction({"a": np.zeros(2)}, {"b": np.zeros(2)})
    with pytest.raises(ValueError, match="shape"):
        precision.underflow_fraction({"a": np.zeros(2)}, {"a": np.zeros(3)})


# ------------------------------------------------------------------------- NaN and inf
def test_nonfinite_table_follows_ieee_754():
    rows = {r["cause"]: r for r in precision.nonfinite_table()}
    # IEEE 754: invalid operation -> NaN; division by zero -> ±inf; overflow -> ±inf
    expect = {
        "0 / 0": ("nan", ["invalid value"]),
        "x / 0 for x ≠ 0": ("inf", ["divide by zero"]),
        "inf − inf": ("nan", ["invalid value"]),
        "0 · inf": ("nan", ["invalid value"]),
        "log of 0": ("-inf", ["divide by zero"]),
        "log of a negative number": ("nan", ["invalid value"]),
        "sqrt of a negative number": ("nan", ["invalid value"]),
        "exp overflow, float64": ("inf", ["overflow"]),
        "exp overflow, float16": ("inf", ["overflow"]),
        "zero variance, no ε": ("nan", ["invalid value"]),
        "zero variance, with ε": ("0.0", []),
        "any arithmetic on NaN": ("nan", []),
        "naive softmax of a large logit": ("nan", ["overflow", "invalid value"]),
    }
    for cause, (value, flags) in expect.items():
        assert repr(rows[cause]["result"]) == value, cause
        assert rows[cause]["flags"] == flags, cause
    custom = precision.nonfinite_table([("big", "np.float32(3e38) * 2")])
    assert custom[0]["result"] == np.inf and custom[0]["flags"] == ["overflow"]


def test_nonfinite_table_bad_input():
    with pytest.raises(TypeError, match="string pairs"):
        precision.nonfinite_table([("only a cause",)])
    with pytest.raises(TypeError, match="did not give a number"):
        precision.nonfinite_table([("text", "'abc'")])
