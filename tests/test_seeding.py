"""bookcode.seeding: the seed switch BOOKCODE_SEED_OFFSET and the one-BLAS-thread
default."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import bookcode
from bookcode import data, init, seeding


def test_offset_shifts_every_int_seed(monkeypatch):
    monkeypatch.delenv("BOOKCODE_SEED_OFFSET", raising=False)
    base = bookcode.rng(3).standard_normal(4)
    np.testing.assert_array_equal(base, np.random.default_rng(3).standard_normal(4))
    monkeypatch.setenv("BOOKCODE_SEED_OFFSET", "2")
    np.testing.assert_array_equal(bookcode.rng(1).standard_normal(4), base)
    # ... and the int seeds that bookcode's own functions take
    W = init.xavier_normal(5, 3, rng=1)
    monkeypatch.setenv("BOOKCODE_SEED_OFFSET", "0")
    np.testing.assert_array_equal(W, init.xavier_normal(5, 3, rng=3))
    np.testing.assert_array_equal(
        data.linearly_separable(20, rng=3)[0], data.linearly_separable(20, rng=3)[0]
    )


def test_a_generator_passes_through_unchanged(monkeypatch):
    monkeypatch.setenv("BOOKCODE_SEED_OFFSET", "5")
    gen = np.random.default_rng(0)
    W = init.xavier_normal(4, 4, rng=gen)
    np.testing.assert_array_equal(
        W, init.xavier_normal(4, 4, rng=np.random.default_rng(0))
    )


@pytest.mark.parametrize(
    "value, error",
    [
        ("-1", "non-negative integer"),
        ("two", "non-negative integer"),
        ("1.5", "non-negative integer"),
    ],
)
def test_a_bad_offset_says_what_was_expected(monkeypatch, value, error):
    monkeypatch.setenv("BOOKCODE_SEED_OFFSET", value)
    with pytest.raises(ValueError, match=f"BOOKCODE_SEED_OFFSET must be a {error}"):
        bookcode.rng(0)


@pytest.mark.parametrize(
    "seed, exc",
    [(-1, ValueError), (1.0, TypeError), (True, TypeError), (None, TypeError)],
)
def test_bad_seeds(seed, exc):
    with pytest.raises(exc, match="seed must be a non-negative int"):
        seeding.rng(seed)


PROBE = (
    "import json, threadpoolctl, bookcode; print(json.dumps([i['num_threads'] for i in "
    "threadpoolctl.threadpool_info() if i['user_api'] == 'blas']))"
)


def _blas_threads(**env):
    clean = {
        k: v for k, v in os.environ.items() if k not in seeding._READER_THREAD_VARIABLES
    }
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)


def test_import_bookcode_limits_blas_to_one_thread():
    threads = _blas_threads()
    assert threads and set(threads) == {1}, (
        f"BLAS thread pools after import bookcode: {threads}"
    )


@pytest.mark.skipif(
    (os.cpu_count() or 1) < 2, reason="OpenBLAS caps its threads at the number of cores"
)
def test_the_reader_can_choose_the_blas_threads():
    assert set(_blas_threads(BOOKCODE_BLAS_THREADS="2")) == {2}
    assert (
        seeding.limit_blas_threads.__doc__
        and "OPENBLAS_NUM_THREADS" in seeding.limit_blas_threads.__doc__
    )
    with pytest.raises(ValueError, match="positive int"):
        seeding.limit_blas_threads(0)


def test_the_digits_split_follows_the_offset(monkeypatch):
    monkeypatch.setenv("BOOKCODE_SEED_OFFSET", "0")
    base = data.digits(rng=3)
    monkeypatch.setenv("BOOKCODE_SEED_OFFSET", "2")
    shifted = data.digits(rng=1)
    np.testing.assert_array_equal(base.X_train, shifted.X_train)
    assert not np.array_equal(data.digits(rng=3).X_train, base.X_train)


@pytest.mark.parametrize("value", ["0", "-2", "many"])
def test_a_bad_thread_count_says_what_was_expected(monkeypatch, value):
    monkeypatch.setenv("BOOKCODE_BLAS_THREADS", value)
    with pytest.raises(
        ValueError, match="BOOKCODE_BLAS_THREADS must be a positive integer"
    ):
        seeding.limit_blas_threads()
