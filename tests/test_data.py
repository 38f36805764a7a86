import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from bookcode import data


def _check_xy(X, y, n, n_features=2):
    assert X.shape == (n, n_features) and X.dtype == np.float64
    assert y.shape == (n,) and y.dtype.kind == "i"


# ---------------------------------------------------------------- xor
def test_xor_corners_follow_the_truth_table():
    X, y = data.xor()
    _check_xy(X, y, 4)
    assert set(map(tuple, X.tolist())) == {(0, 0), (0, 1), (1, 0), (1, 1)}
    assert_array_equal(y, np.logical_xor(X[:, 0] > 0.5, X[:, 1] > 0.5).astype(int))


def test_xor_noisy_clusters_keep_their_corner_label():
    X, y = data.xor(n_per_cluster=50, noise=0.05, rng=1)
    _check_xy(X, y, 200)
    corner = np.round(X)  # noise 0.05 never moves a point half-way to another corner
    assert np.abs(X - corner).max() < 0.5
    assert_array_equal(y, (corner[:, 0] != corner[:, 1]).astype(int))
    assert np.bincount(y).tolist() == [100, 100]
    assert_allclose(np.std(X - corner), 0.05, rtol=0.15)


def test_xor_bad_input():
    with pytest.raises(TypeError, match="rng"):
        data.xor(2, noise=0.1)
    with pytest.raises(ValueError, match="noise"):
        data.xor(2, noise=-1.0, rng=0)
    with pytest.raises(ValueError, match="n_per_cluster"):
        data.xor(0)


# ---------------------------------------------------------------- moons / spirals
def test_two_moons_without_noise_lie_on_their_unit_half_circles():
    X, y = data.two_moons(n=101, noise=0.0)
    _check_xy(X, y, 101)
    assert np.bincount(y).tolist() == [50, 51]
    assert_allclose(np.linalg.norm(X[y == 0], axis=1), 1.0)
    assert np.all(X[y == 0, 1] >= -1e-12)
    assert_allclose(np.linalg.norm(X[y == 1] - [1.0, 0.5], axis=1), 1.0)
    assert np.all(X[y == 1, 1] <= 0.5 + 1e-12)


def test_spirals_radius_is_exact_and_noise_moves_only_the_angle():
    n, k = 40, 4
    X, y = data.spirals(n_per_class=n, n_classes=k, noise=0.3, rng=3)
    _check_xy(X, y, n * k)
    assert np.bincount(y).tolist() == [n] * k
    for j in range(k):
        assert_allclose(
            np.linalg.norm(X[y == j], axis=1), np.linspace(0, 1, n), atol=1e-12
        )
    X0, _ = data.spirals(n_per_class=n, n_classes=k, noise=0.0)
    for j in range(k):  # the cs231n definition, written as in the course notes
        r, t = np.linspace(0.0, 1, n), np.linspace(j * 4, (j + 1) * 4, n)
        assert_allclose(X0[y == j], np.c_[r * np.sin(t), r * np.cos(t)], atol=1e-12)
    angle = lambda Z: np.arctan2(Z[:, 0], Z[:, 1])
    d = np.angle(
        np.exp(1j * (angle(X[1:]) - angle(X0[1:])))
    )  # wrapped difference, skip r = 0
    d = d[np.linalg.norm(X0[1:], axis=1) > 0]
    assert_allclose(np.std(d), 0.3, rtol=0.2)


@pytest.mark.parametrize(
    "make",
    [
        lambda s: data.two_moons(60, 0.1, rng=s),
        lambda s: data.spirals(20, 3, 0.2, rng=s),
        lambda s: data.linearly_separable(30, 0.5, rng=s),
        lambda s: data.regression_1d(30, 0.1, rng=s),
        lambda s: data.xor(5, 0.1, rng=s),
    ],
)
def test_same_seed_same_data_different_seed_different_data(make):
    a, b, c = make(7), make(np.random.default_rng(7)), make(8)
    for u, v, _w in zip(a, b, c):
        assert_array_equal(u, v)
    assert not np.array_equal(a[0], c[0])


def test_moons_and_spirals_bad_input():
    with pytest.raises(TypeError, match="rng"):
        data.two_moons(10, noise=0.1)
    with pytest.raises(ValueError, match="noise"):
        data.spirals(10, 3, noise=np.inf, rng=0)
    with pytest.raises(ValueError, match="n_classes"):
        data.spirals(10, n_classes=1, rng=0)
    with pytest.raises(TypeError, match="n must be an integer"):
        data.two_moons(10.5, rng=0)


# ---------------------------------------------------------------- linearly separable
@pytest.mark.parametrize("seed,margin", [(0, 0.5), (1, 0.1), (2, 2.0)])
def test_linearly_separable_margin_holds_for_the_generating_line(seed, margin):
    X, y, w, b = data.linearly_separable(101, margin, rng=seed, return_hyperplane=True)
    _check_xy(X, y, 101)
    assert_allclose(np.linalg.norm(w), 1.0)
    s = X @ w + b  # signed distance, since |w| = 1
    assert_array_equal(y, (s > 0).astype(int))
    assert np.min(np.abs(s)) >= margin
    assert np.bincount(y).tolist() == [50, 51]


def test_perceptron_converges_on_the_separable_set():
    X, y = data.linearly_separable(80, 0.3, rng=4)
    A, t = np.column_stack([X, np.ones(len(X))]), 2 * y - 1
    w = np.zeros(3)
    for _ in range(1000):
        wrong = np.flatnonzero(t * (A @ w) <= 0)
        if wrong.size == 0:
            break
        w += t[wrong[0]] * A[wrong[0]]
    assert np.all(t * (A @ w) > 0)


def test_linearly_separable_bad_input():
    with pytest.raises(TypeError, match="rng"):
        data.linearly_separable(10, 0.5)
    with pytest.raises(ValueError, match="margin"):
        data.linearly_separable(10, 0.0, rng=0)


# ---------------------------------------------------------------- regression
def test_regression_1d_targets_are_f_plus_noise():
    X, t = data.regression_1d(2000, noise=0.2, rng=0, f=np.cos, x_range=(-1, 2))
    assert X.shape == (2000, 1) and t.shape == (2000, 1) and t.dtype == np.float64
    assert np.all(np.diff(X[:, 0]) >= 0) and X.min() >= -1 and X.max() <= 2
    assert_allclose(np.std(t - np.cos(X)), 0.2, rtol=0.1)
    X0, t0 = data.regression_1d(50, noise=0.0, rng=0)
    assert_allclose(t0, np.sin(X0))


def test_regression_1d_bad_input():
    with pytest.raises(TypeError, match="callable"):
        data.regression_1d(10, rng=0, f=3.0)
    with pytest.raises(ValueError, match="x_range"):
        data.regression_1d(10, rng=0, x_range=(1, 0))
    with pytest.raises(ValueError, match="element-wise"):
        data.regression_1d(10, rng=0, f=lambda x: x[:3])


# ---------------------------------------------------------------- digits
@pytest.fixture(scope="module")
def raw_digits():
    from sklearn.datasets import load_digits

    d = load_digits()
    return d.data.astype(float), d.target


def test_digits_standardised_with_train_statistics(raw_digits):
    split = data.digits(test_size=0.25, rng=0)
    raw = data.digits(test_size=0.25, standardize=False, rng=0)
    X_tr, y_tr, X_te, y_te = split  # unpacks like a tuple
    assert X_tr.shape[0] + X_te.shape[0] == 1797 and X_tr.shape[1] == 64
    assert X_te.shape[0] == int(np.ceil(0.25 * 1797))
    assert y_tr.dtype.kind == "i" and X_tr.dtype == np.float64
    assert_array_equal(y_tr, raw.y_train)
    const = raw.X_train.std(axis=0) == 0
    assert const.any()  # the border pixels that are always 0
    assert_allclose(X_tr.mean(axis=0), 0, atol=1e-12)
    assert_allclose(X_tr[:, ~const].std(axis=0), 1.0)
    assert_allclose(split.scale[const], 1.0)
    assert_allclose(X_te, (raw.X_test - raw.X_train.mean(axis=0)) / split.scale)
    assert np.all(np.isfinite(X_te))


def test_digits_split_is_stratified_and_complete(raw_digits):
    X, target = raw_digits
    split = data.digits(test_size=0.3, standardize=False, rng=5)
    both = np.concatenate([split.X_train, split.X_test])
    assert_array_equal(
        np.sort(both.view("V512").ravel()), np.sort(X.view("V512").ravel())
    )
    expected = np.bincount(target) * 0.3
    assert np.all(np.abs(np.bincount(split.y_test) - expected) <= 1)


def test_digits_class_subset_is_relabelled(raw_digits):
    X, target = raw_digits
    split = data.digits(classes=(8, 3), standardize=False, rng=0)
    assert split.classes == (8, 3)
    for Xs, ys in [(split.X_train, split.y_train), (split.X_test, split.y_test)]:
        assert set(np.unique(ys)) == {0, 1}
        for label, digit in enumerate((8, 3)):
            rows = {r.tobytes() for r in X[target == digit]}
            assert all(r.tobytes() in rows for r in Xs[ys == label])
    n = len(split.y_train) + len(split.y_test)
    assert n == np.sum((target == 3) | (target == 8))


def test_digits_deterministic_and_cached():
    a, b, c = data.digits(rng=1), data.digits(rng=1), data.digits(rng=2)
    assert_array_equal(a.X_train, b.X_train)
    assert not np.array_equal(a.y_train, c.y_train)
    hits = data._load_digits_raw.cache_info().hits
    a.X_train[:] = 0  # the caller's copy; the cache must not change
    assert np.any(data.digits(rng=1).X_train != 0)
    assert data._load_digits_raw.cache_info().hits > hits
    assert "DigitsSplit(train=(1347, 64)" in repr(a)


def test_digits_bad_input():
    with pytest.raises(ValueError, match="test_size"):
        data.digits(test_size=1.0)
    with pytest.raises(ValueError, match="classes"):
        data.digits(classes=(1, 10))
    with pytest.raises(ValueError, match="classes"):
        data.digits(classes=(2, 2))
    with pytest.raises(TypeError, match="rng"):
        data.digits(rng="seed")


# ---------------------------------------------------------------- minibatches
def test_minibatches_cover_every_index_once_and_keep_the_last_partial_batch():
    batches = list(data.minibatches(23, 5, rng=0))
    assert [len(b) for b in batches] == [5, 5, 5, 5, 3]
    assert_array_equal(np.sort(np.concatenate(batches)), np.arange(23))
    again = list(data.minibatches(23, 5, rng=0))
    assert all(np.array_equal(u, v) for u, v in zip(batches, again))
    assert not np.array_equal(np.concatenate(batches), np.arange(23))
    assert_array_equal(
        np.concatenate(list(data.minibatches(7, 10, shuffle=False))), np.arange(7)
    )


def test_minibatches_bad_input_fails_at_call_time():
    with pytest.raises(TypeError, match="rng"):
        data.minibatches(10, 2)
    with pytest.raises(ValueError, match="batch_size"):
        data.minibatches(10, 0, rng=0)
    with pytest.raises(TypeError, match="N must be an integer"):
        data.minibatches(np.ones(3), 2, rng=0)


@pytest.mark.parametrize("N, batch_size", [(10, 4), (12, 4), (3, 5), (7, 1)])
def test_sgd_batches_walk_through_permutations_and_skip_leftovers(N, batch_size):
    steps = 9
    batches = list(data.sgd_batches(N, batch_size, steps, rng=3))
    gen = np.random.default_rng(
        3
    )  # the same stream, by hand: a new permutation when a batch no longer fits
    order, pos, expected = gen.permutation(N), 0, []
    for _ in range(steps):
        if pos + batch_size > N:
            order, pos = gen.permutation(N), 0
        expected.append(order[pos : pos + batch_size])
        pos += batch_size
    assert len(batches) == steps
    for got, want in zip(batches, expected):
        np.testing.assert_array_equal(got, want)
    if batch_size <= N:
        assert all(len(b) == batch_size for b in batches)
        per_epoch = N // batch_size  # within one permutation no row repeats
        for k in range(0, steps - per_epoch + 1, per_epoch):
            chunk = np.concatenate(batches[k : k + per_epoch])
            assert len(np.unique(chunk)) == len(chunk)


def test_sgd_batches_bad_input():
    with pytest.raises(ValueError, match="batch_size"):
        data.sgd_batches(10, 0, 5, rng=0)
    with pytest.raises(ValueError, match="steps"):
        data.sgd_batches(10, 2, 0, rng=0)
    with pytest.raises(TypeError, match="seed"):
        data.sgd_batches(10, 2, 5, rng=None)
