"""Small data sets for the experiments: seeded 2-D toy sets and the bundled 8×8 digits.

Conventions (the same for every function here):

- The toy sets return a plain tuple ``(X, y)``: ``X`` is float64 with one example per
  row, ``y`` an int64 label vector of shape ``(N,)`` (``regression_1d`` returns float
  targets of shape ``(N, 1)`` instead). Rows are grouped by class, not shuffled;
  training loops shuffle with :func:`minibatches`.
- Randomness only through ``rng`` (a ``numpy.random.Generator`` or an int seed).
  Functions that are deterministic for some arguments (``xor`` without noise,
  ``two_moons`` and ``spirals`` with ``noise=0``) accept ``rng=None`` there; everywhere
  else ``rng`` is required.
- :func:`digits` returns a :class:`DigitsSplit` that unpacks like
  ``X_train, y_train, X_test, y_test`` and also carries the standardisation statistics.
"""

from __future__ import annotations

import functools
import numbers
from dataclasses import dataclass

import numpy as np

from ._validate import (
    as_float_array,
    as_rng,
    check_callable,
    check_positive_float,
    check_positive_int,
)

__all__ = [
    "xor",
    "two_moons",
    "spirals",
    "linearly_separable",
    "regression_1d",
    "adding_problem",
    "digits",
    "DigitsSplit",
    "minibatches",
    "sgd_batches",
]


def _noise(noise):
    return check_positive_float(noise, "noise", allow_zero=True)


def xor(n_per_cluster=1, noise=0.0, rng=None):
    """The XOR problem: four corners of the unit square, label 1 where exactly one
    coordinate is 1.

    Parameters
    ----------
    n_per_cluster : int, default 1
        Points per corner; rows come in corner order (0,0), (0,1), (1,0), (1,1), each
        repeated.
    noise : float, default 0.0
        Standard deviation of Gaussian noise added to every coordinate (``rng`` required
        if > 0).
    rng : numpy.random.Generator or int, optional

    Returns
    -------
    X : ndarray, shape (4 * n_per_cluster, 2)
    y : ndarray of int, shape (4 * n_per_cluster,)

    Implements the XOR example (no single linear threshold unit separates it) in
    chapters/02_perceptron_delta.
    """
    n = check_positive_int(n_per_cluster, "n_per_cluster")
    noise = _noise(noise)
    corners = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    X = np.repeat(corners, n, axis=0)
    y = np.repeat(np.array([0, 1, 1, 0], dtype=np.int64), n)
    if noise > 0:
        X = X + noise * as_rng(rng, where="xor (noise > 0)").standard_normal(X.shape)
    return X, y


def two_moons(n=200, noise=0.1, rng=None):
    """Two interleaving half circles (the scikit-learn "moons" geometry).

    Class 0 lies on the upper half of the unit circle around (0, 0), class 1 on the
    lower half of the unit circle around (1, 0.5); Gaussian noise of standard deviation
    ``noise`` is added. ``n // 2`` points are in class 0, the rest in class 1.

    Implements the non-linear toy set of chapters/03_backprop.
    """
    n = check_positive_int(n, "n", minimum=2)
    noise = _noise(noise)
    n0 = n // 2
    t0, t1 = np.linspace(0.0, np.pi, n0), np.linspace(0.0, np.pi, n - n0)
    X = np.concatenate(
        [
            np.column_stack([np.cos(t0), np.sin(t0)]),
            np.column_stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)]),
        ]
    )
    y = np.repeat(np.array([0, 1], dtype=np.int64), [n0, n - n0])
    if noise > 0:
        X = X + noise * as_rng(rng, where="two_moons (noise > 0)").standard_normal(
            X.shape
        )
    return X, y


def spirals(n_per_class=100, n_classes=3, noise=0.2, rng=None):
    """The cs231n spiral: ``n_classes`` arms, radius from 0 to 1, noisy angle.

    Point ``i`` of class ``j`` has radius ``r_i = i / (n_per_class - 1)`` and angle
    ``t_i = 4 j + 4 r_i + noise · ε`` (ε standard normal) and sits at ``(r sin t, r cos
    t)``; the noise perturbs only the angle, so every radius is exact.

    Implements the multi-class toy set of chapters/03_backprop.
    """
    n = check_positive_int(n_per_class, "n_per_class", minimum=2)
    k = check_positive_int(n_classes, "n_classes", minimum=2)
    noise = _noise(noise)
    r = np.tile(np.linspace(0.0, 1.0, n), k)
    y = np.repeat(np.arange(k, dtype=np.int64), n)
    t = 4.0 * y + 4.0 * r
    if noise > 0:
        t = t + noise * as_rng(rng, where="spirals (noise > 0)").standard_normal(
            t.shape
        )
    return np.column_stack([r * np.sin(t), r * np.cos(t)]), y


def linearly_separable(n=100, margin=0.5, rng=None, *, return_hyperplane=False):
    """Two classes on either side of a random line, every point at distance >=
    ``margin`` from it.

    A unit normal ``w`` (random direction) and offset ``b`` define the line ``w·x + b =
    0``; class 1 is the side ``w·x + b > 0``. Each point's distance from the line is
    ``margin`` plus an exponential(1) draw, so the geometric margin γ (the distance of
    the closest point, as in the perceptron convergence theorem) is at least ``margin``.
    ``n // 2`` points are in class 0.

    Parameters
    ----------
    n : int
    margin : float > 0
    rng : numpy.random.Generator or int (required)
    return_hyperplane : bool, default False
        Also return ``w`` (shape (2,), unit norm) and ``b`` (float).

    Returns
    -------
    X, y  or  X, y, w, b

    Implements the separable data set of the perceptron convergence theorem in
    chapters/02_perceptron_delta.
    """
    n = check_positive_int(n, "n", minimum=2)
    margin = check_positive_float(margin, "margin")
    rng = as_rng(rng, where="linearly_separable")
    phi = rng.uniform(0.0, 2.0 * np.pi)
    w = np.array([np.cos(phi), np.sin(phi)])
    along = np.array([-w[1], w[0]])
    centre = rng.standard_normal(2)
    y = np.repeat(np.array([0, 1], dtype=np.int64), [n // 2, n - n // 2])
    dist = (2 * y - 1) * (margin + rng.exponential(1.0, n))
    X = centre + np.outer(dist, w) + np.outer(rng.uniform(-2.0, 2.0, n), along)
    b = float(-w @ centre)
    return (X, y, w, b) if return_hyperplane else (X, y)


def regression_1d(n=100, noise=0.1, rng=None, f=np.sin, x_range=(-np.pi, np.pi)):
    """Noisy samples of a 1-D function: ``x ~ U(x_range)`` (sorted), ``t = f(x) + noise
    · ε``.

    Returns ``X`` of shape ``(n, 1)`` and float targets ``t`` of shape ``(n, 1)`` (one
    example per row, like a network's output). ``rng`` is required.

    Implements the regression toy set of chapters/01_gradient_descent.
    """
    n = check_positive_int(n, "n")
    noise = _noise(noise)
    check_callable(f, "f (x -> f(x))", where="regression_1d")
    xr = as_float_array(x_range, "x_range", where="regression_1d")
    if xr.shape != (2,) or not xr[0] < xr[1]:
        raise ValueError(
            "regression_1d: x_range must be (low, high) with low < high, got "
            f"{x_range!r}"
        )
    lo, hi = float(xr[0]), float(xr[1])
    rng = as_rng(rng, where="regression_1d")
    x = np.sort(rng.uniform(lo, hi, n))[:, None]
    fx = as_float_array(f(x), "f(x)", where="regression_1d")
    if fx.shape not in ((n, 1), (n,)):
        raise ValueError(
            "regression_1d: f must map an (n, 1) array element-wise, got output shape "
            f"{fx.shape}"
        )
    t = fx.reshape(n, 1).astype(np.float64) + noise * rng.standard_normal((n, 1))
    return x, t


def adding_problem(n, T, *, rng=None):
    """The adding problem: sum the two marked numbers of a sequence of length ``T``.

    Hochreiter & Schmidhuber (1997), in the form of Le, Jaitly & Hinton (2015). Every
    step carries two features: a value ``u_t ~ U[0, 1)`` and a marker ``m_t ∈ {0, 1}``.
    Exactly two markers per sequence are 1: one at a step drawn uniformly from the first
    half ``0 ≤ t < T // 2`` and one from the second half ``T // 2 ≤ t < T`` (steps
    counted from 0; for odd ``T`` the middle step belongs to the second half). The
    target is the sum of the two marked values, so a network must remember a value for
    up to ``T − 1`` steps. Predicting the constant 1 (the mean target) gives a mean
    squared error of ``Var(u + u') = 2/12 = 1/6``: the baseline to beat.

    Parameters
    ----------
    n : int >= 1
        Number of sequences.
    T : int >= 2
        Length of every sequence.
    rng : numpy.random.Generator or int (required)
        Draws, in this order: the values ``(n, T)``, the first-half markers ``(n,)``,
        the second-half markers ``(n,)``.

    Returns
    -------
    X : ndarray, shape (n, T, 2)
        ``X[:, t, 0]`` the values, ``X[:, t, 1]`` the markers (float64).
    y : ndarray, shape (n, 1)
        ``Σ_t X[:, t, 0] X[:, t, 1]``, one float target per row.

    Implements eq. (adding-problem) in chapters/11_recurrent.
    """
    n = check_positive_int(n, "adding_problem: n")
    T = check_positive_int(T, "adding_problem: T", minimum=2)
    rng = as_rng(rng, where="adding_problem")
    values = rng.random((n, T))
    first = rng.integers(0, T // 2, n)
    second = rng.integers(T // 2, T, n)
    markers = np.zeros((n, T))
    markers[np.arange(n), first] = 1.0
    markers[np.arange(n), second] = 1.0
    X = np.stack([values, markers], axis=-1)
    y = (values * markers).sum(axis=1, keepdims=True)
    return X, y


@dataclass(frozen=True, repr=False)
class DigitsSplit:
    """Train/test split of the digits; unpacks as ``X_train, y_train, X_test, y_test``.

    ``mean`` and ``scale`` (shape (64,)) are the training-set statistics used for
    standardisation (``X = (raw - mean) / scale``; zeros and ones when
    ``standardize=False``). ``classes[k]`` is the digit that label ``k`` stands for.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    classes: tuple

    def __iter__(self):
        return iter((self.X_train, self.y_train, self.X_test, self.y_test))

    def __len__(self):
        return 4

    def __repr__(self):
        return (
            f"DigitsSplit(train={self.X_train.shape}, test={self.X_test.shape}, "
            f"classes={self.classes})"
        )


@functools.lru_cache(maxsize=1)
def _load_digits_raw():
    from sklearn.datasets import load_digits  # bundled with scikit-learn: no download

    d = load_digits()
    data, target = d.data.astype(np.float64), d.target.astype(np.int64)
    data.setflags(write=False)
    target.setflags(write=False)
    return data, target


def digits(test_size=0.25, standardize=True, rng=0, classes=None):
    """scikit-learn's bundled 8×8 digits (1797 images, 64 pixels, values 0–16), split
    and standardised.

    Parameters
    ----------
    test_size : float in (0, 1), default 0.25
        Fraction of the examples in the test set; the split is stratified by class.
    standardize : bool, default True
        Subtract the per-pixel training mean and divide by the training standard
        deviation. Pixels that are constant in the training set (some border pixels are
        always 0) have std 0; they are divided by 1 instead, so they stay 0 in training
        and never produce NaN.
    rng : int or numpy.random.Generator, default 0
        Seed of the split (shifted by ``BOOKCODE_SEED_OFFSET``; a Generator is used to
        draw the seed).
    classes : sequence of int, optional
        Keep only these digits, relabelled ``0..K-1`` in the given order (``classes=(3,
        8)`` gives label 0 for "3" and 1 for "8"). ``None`` keeps all ten.

    Returns
    -------
    DigitsSplit
        Unpacks as ``X_train, y_train, X_test, y_test``; also has ``mean``, ``scale``,
        ``classes``.

    Implements the real data set of chapters/05_vanishing_exploding.
    """
    if (
        isinstance(test_size, bool)
        or not isinstance(test_size, numbers.Real)
        or not 0 < test_size < 1
    ):
        raise ValueError(
            f"digits: test_size must be a fraction in (0, 1), got {test_size!r}"
        )
    if classes is None:
        classes = tuple(range(10))
    else:
        classes = tuple(np.atleast_1d(np.asarray(classes)).tolist())
        bad = [
            c
            for c in classes
            if isinstance(c, bool) or not isinstance(c, int) or not 0 <= c <= 9
        ]
        if bad or not classes or len(set(classes)) != len(classes) or len(classes) < 2:
            raise ValueError(
                "digits: classes must be at least two distinct digits in 0..9, got "
                f"{classes!r}"
            )
    gen = as_rng(
        rng, where="digits"
    )  # checks rng; an int seed is shifted by BOOKCODE_SEED_OFFSET
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        from .seeding import seed_offset

        seed = (
            int(rng) + seed_offset()
        )  # scikit-learn's split takes the (shifted) int itself
    else:
        seed = int(gen.integers(2**31 - 1))
    from sklearn.model_selection import train_test_split

    data, target = _load_digits_raw()
    keep = np.isin(target, classes)
    X = data[keep].copy()
    label_of_digit = np.full(10, -1, dtype=np.int64)
    label_of_digit[list(classes)] = np.arange(len(classes))
    y = label_of_digit[target[keep]]
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=float(test_size), stratify=y, random_state=seed
    )
    mean, scale = np.zeros(X.shape[1]), np.ones(X.shape[1])
    if standardize:
        mean = X_tr.mean(axis=0)
        std = X_tr.std(axis=0)
        scale = np.where(std > 0, std, 1.0)
        X_tr, X_te = (X_tr - mean) / scale, (X_te - mean) / scale
    return DigitsSplit(X_tr, y_tr, X_te, y_te, mean, scale, classes)


def minibatches(N, batch_size, rng=None, *, shuffle=True):
    """Yield index arrays that cover ``range(N)`` once, in batches of ``batch_size``.

    The order is a seeded permutation (``rng`` required) or ``0..N-1`` with
    ``shuffle=False``. The last batch is kept even if it is smaller than ``batch_size``.
    Arguments are checked when the function is called, not at the first ``next``.

    Examples
    --------
    >>> [b.tolist() for b in minibatches(5, 2, shuffle=False)]
    [[0, 1], [2, 3], [4]]

    Implements the minibatch loop of stochastic gradient descent in
    chapters/01_gradient_descent.
    """
    N = check_positive_int(N, "N")
    batch_size = check_positive_int(batch_size, "batch_size")
    order = (
        as_rng(rng, where="minibatches (shuffle=True)").permutation(N)
        if shuffle
        else np.arange(N)
    )

    def _gen():
        for start in range(0, N, batch_size):
            yield order[start : start + batch_size]

    return _gen()


def sgd_batches(N, batch_size, steps, rng):
    """Yield ``steps`` index arrays of ``batch_size`` rows each, for ``steps`` steps of
    SGD.

    The batches walk through a seeded permutation of ``range(N)``; when fewer than
    ``batch_size`` rows are left, those are skipped and a new permutation starts (every
    batch has the same size). The first permutation is drawn at the call, later ones
    when they are needed, so other draws from the same generator in between keep their
    place in its stream.

    Examples
    --------
    >>> [len(b) for b in sgd_batches(10, 4, 3, rng=0)]
    [4, 4, 4]

    Implements the mini-batch loops of chapters/08_batchnorm and chapters/09_residual.
    """
    N = check_positive_int(N, "N")
    batch_size = check_positive_int(batch_size, "batch_size")
    steps = check_positive_int(steps, "steps")
    gen = as_rng(rng, where="sgd_batches")
    first = gen.permutation(N)

    def _gen():
        order, pos = first, 0
        for _ in range(steps):
            if pos + batch_size > N:
                order, pos = gen.permutation(N), 0
            yield order[pos : pos + batch_size]
            pos += batch_size

    return _gen()
