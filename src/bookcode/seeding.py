"""Seeds and threads: the one place where bookcode turns a seed into a random generator.

Every ``rng=`` argument in bookcode accepts an int seed or a ``numpy.random.Generator``.
An int seed goes through :func:`rng`, which adds ``BOOKCODE_SEED_OFFSET`` (an
environment variable, default 0), so the whole book can be re-run with other seeds
without editing a chapter::

    BOOKCODE_SEED_OFFSET=3 make book

Chapters create every generator they need with :func:`rng` (never
``np.random.default_rng`` directly), so no random number in the book escapes the switch.
A claim that holds only for seed 0 then shows up as a failing assertion (``make test``
runs the chapters under two offsets).

:func:`limit_blas_threads` keeps the BLAS library to one thread (bookcode multiplies
small matrices, where threads cost more than they save, and a container that reports
many cores may get a fraction of one); a reader who sets ``OPENBLAS_NUM_THREADS``,
``OMP_NUM_THREADS``, ``MKL_NUM_THREADS`` or ``BOOKCODE_BLAS_THREADS`` keeps that choice.
"""

from __future__ import annotations

import numbers
import os

import numpy as np

OFFSET_VARIABLE = "BOOKCODE_SEED_OFFSET"
THREADS_VARIABLE = "BOOKCODE_BLAS_THREADS"
_READER_THREAD_VARIABLES = (
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    THREADS_VARIABLE,
)


def _env_int(name, minimum, what):
    """The integer value of the environment variable ``name`` (None when unset), at
    least ``minimum``."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a {what} integer, got {raw!r}") from None
    if value < minimum:
        raise ValueError(f"{name} must be a {what} integer, got {value}")
    return value


def seed_offset() -> int:
    """The value of ``BOOKCODE_SEED_OFFSET`` (0 when unset), checked to be a
    non-negative integer.

    Implements the seed switch of the README's Contributing section, used by every
    notebook in chapters/.
    """
    value = _env_int(OFFSET_VARIABLE, 0, "non-negative")
    return 0 if value is None else value


def rng(seed) -> np.random.Generator:
    """A ``numpy.random.Generator`` for the int ``seed``, shifted by
    ``BOOKCODE_SEED_OFFSET``.

    Parameters
    ----------
    seed : int
        A non-negative integer. Seeds ``s`` and ``s + 1`` give unrelated streams, so a
        chapter that averages over seeds ``0, 1, …, k − 1`` and a run with offset 1
        share most seeds but not the set.

    Implements the seed switch (README, Contributing) for every notebook in chapters/.
    """
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(
            f"seed must be a non-negative int, got {seed!r} ({type(seed).__name__})"
        )
    if seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed}")
    return np.random.default_rng(int(seed) + seed_offset())


def limit_blas_threads(n: int = 1) -> bool:
    """Limit the BLAS library (OpenBLAS, MKL, BLIS) to ``n`` threads unless the reader
    chose a number.

    Returns True when the limit was applied, False when one of ``OPENBLAS_NUM_THREADS``,
    ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS`` or ``BOOKCODE_BLAS_THREADS`` is set
    (``BOOKCODE_BLAS_THREADS=k`` asks for k threads). Called once by ``import
    bookcode``, so every notebook in chapters/ runs with it.
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    chosen = _env_int(THREADS_VARIABLE, 1, "positive")
    if chosen is not None:
        n = chosen
    elif any(os.environ.get(v, "").strip() for v in _READER_THREAD_VARIABLES):
        return False
    from threadpoolctl import threadpool_limits

    threadpool_limits(n, user_api="blas")
    return True
