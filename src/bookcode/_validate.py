"""Input validation shared by the public entry points of bookcode.

Every public function checks its inputs here and raises ``ValueError``/``TypeError``
with a message that says what was expected and what came.
"""

from __future__ import annotations

import numbers

import numpy as np


def as_float_array(x, name="x", *, allow_nonfinite=False, where=None):
    """Return ``x`` as a floating numpy array, rejecting non-numeric input and (by
    default) NaN/inf.

    Integer and boolean input is converted to float64; float16/32/64 are kept as they
    are so that chapters on low precision can use them.
    """
    prefix = f"{where}: " if where else ""
    try:
        arr = np.asarray(x)
    except Exception as exc:  # pragma: no cover - numpy raises for ragged input
        raise TypeError(
            f"{prefix}{name} must be array-like of numbers, got {type(x).__name__}"
        ) from exc
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise TypeError(
            f"{prefix}{name} must be an array of real numbers, got dtype {arr.dtype}"
        )
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float64)
    if not allow_nonfinite and arr.size and not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{prefix}{name} must be finite, got {bad} NaN/inf value(s)")
    return arr


def as_batch(X, n_features=None, name="X", *, where=None, allow_nonfinite=False):
    """Validate a row-major batch: a 2-D float array ``(N, n_features)`` with N >= 1."""
    prefix = f"{where}: " if where else ""
    X = as_float_array(X, name, where=where, allow_nonfinite=allow_nonfinite)
    if X.ndim != 2:
        want = f"(N, {n_features})" if n_features is not None else "(N, n_features)"
        raise ValueError(
            f"{prefix}expected {name} as a 2-D batch of shape {want} (one example per "
            f"row), got shape {X.shape}"
        )
    if X.shape[0] == 0:
        raise ValueError(
            f"{prefix}{name} is an empty batch (shape {X.shape}); expected at least "
            "one row"
        )
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(
            f"{prefix}expected {name} with {n_features} columns (features), got shape "
            f"{X.shape}"
        )
    return X


def check_positive_int(value, name, *, minimum=1):
    """Return ``value`` as int if it is an integer >= ``minimum``; raise otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name} must be an integer >= {minimum}, got {value!r} "
            f"({type(value).__name__})"
        )
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


def check_positive_float(value, name, *, allow_zero=False):
    """Return ``value`` as float if it is a finite real > 0 (or >= 0 with
    ``allow_zero``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} must be a real number, got {value!r} ({type(value).__name__})"
        )
    value = float(value)
    ok = np.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        raise ValueError(
            f"{name} must be a finite number {'>= 0' if allow_zero else '> 0'}, got "
            f"{value}"
        )
    return value


def as_rng(rng, where=None):
    """Return a ``numpy.random.Generator`` from a Generator or an int seed (shifted by
    ``BOOKCODE_SEED_OFFSET``).

    ``None`` is refused on purpose: every random function in bookcode is seeded
    explicitly.
    """
    prefix = f"{where}: " if where else ""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        if rng < 0:
            raise ValueError(
                f"{prefix}a seed must be a non-negative integer, got {rng}"
            )
        from .seeding import rng as seeded

        return seeded(int(rng))
    raise TypeError(
        f"{prefix}expected rng as a numpy.random.Generator or an int seed "
        f"(bookcode never uses unseeded randomness), got {rng!r}"
    )


def check_choice(value, choices, name):
    """Return ``value`` if it is one of ``choices``; otherwise raise listing them."""
    if value not in choices:
        raise ValueError(
            f"unknown {name} {value!r}; expected one of: "
            f"{', '.join(map(repr, choices))}"
        )
    return value


def check_name(name, known, kind, aliases=None):
    """Return the canonical name for ``name`` from the registry ``known`` (used by the
    ``get`` functions).

    Matching ignores case and treats ``-`` and spaces as ``_``; ``aliases`` maps extra
    spellings (already normalised) to canonical names. Unknown names raise
    ``ValueError`` listing ``known``.
    """
    if not isinstance(name, str):
        raise TypeError(f"expected a {kind} name (str), got {type(name).__name__}")
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    key = (aliases or {}).get(key, key)
    if key not in known:
        extra = f" (aliases: {', '.join(sorted(aliases))})" if aliases else ""
        raise ValueError(
            f"unknown {kind} {name!r}; expected one of: {', '.join(known)}{extra}"
        )
    return key


def check_callable(f, name, where=None):
    """Return ``f`` if it is callable; else raise ``TypeError`` saying what came."""
    if not callable(f):
        prefix = f"{where}: " if where else ""
        raise TypeError(
            f"{prefix}{name} must be callable, got {f!r} ({type(f).__name__})"
        )
    return f
