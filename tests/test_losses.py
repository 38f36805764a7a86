import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from bookcode import losses as L


def naive_sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def naive_softmax(z):
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def numeric_grad(f, Y, h=1e-5):
    """Central differences of the scalar f at Y, one entry at a time."""
    G = np.zeros_like(Y)
    for i in np.ndindex(Y.shape):
        Yp, Ym = Y.copy(), Y.copy()
        Yp[i] += h
        Ym[i] -= h
        G[i] = (f(Yp) - f(Ym)) / (2 * h)
    return G


def rel_err(a, b):
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a), np.linalg.norm(b)))


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def cases(rng):
    """(loss name, Y, T) triples on moderate inputs, one per target format."""
    N, K = 5, 3
    z = rng.normal(scale=2, size=(N, K))
    probs = rng.dirichlet(np.ones(K), size=N)
    return [
        ("half_sse", rng.normal(size=(N, K)), rng.normal(size=(N, K))),
        ("mse", rng.normal(size=(N, K)), rng.normal(size=(N, K))),
        (
            "binary_cross_entropy",
            rng.normal(scale=3, size=(N, 1)),
            rng.integers(0, 2, size=(N, 1)).astype(float),
        ),
        ("binary_cross_entropy", rng.normal(scale=3, size=N), rng.uniform(size=N)),
        ("softmax_cross_entropy", z, rng.integers(0, K, size=N)),
        ("softmax_cross_entropy", z, L.one_hot(rng.integers(0, K, size=N), K)),
        ("softmax_cross_entropy", z, probs),
    ]


# --- values against direct formulas ---------------------------------------------------


def test_half_sse_and_mse_by_hand_and_by_formula(rng):
    assert L.half_sse([[1.0, 2.0]], [[0.0, 4.0]]) == 2.5  # ½ (1² + 2²)
    assert L.mse([[1.0, 2.0]], [[0.0, 4.0]]) == 2.5  # (1² + 2²) / 2
    y, t = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    d = (y - t).ravel()
    assert_allclose(L.half_sse(y, t), 0.5 * d @ d, rtol=1e-14)
    assert_allclose(L.mse(y, t), d @ d / 12, rtol=1e-14)


def test_bce_matches_naive_log_formula(rng):
    z, t = rng.normal(scale=4, size=(20, 1)), rng.uniform(size=(20, 1))
    p = naive_sigmoid(z)
    assert_allclose(
        L.binary_cross_entropy(z, t),
        -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p)),
        rtol=1e-12,
    )


def test_softmax_ce_matches_naive_log_formula_for_labels_one_hot_and_soft_targets(rng):
    z, labels = rng.normal(scale=3, size=(8, 4)), rng.integers(0, 4, size=8)
    logp = np.log(naive_softmax(z))
    expected = -np.mean(logp[np.arange(8), labels])
    assert_allclose(L.softmax_cross_entropy(z, labels), expected, rtol=1e-13)
    assert_allclose(L.softmax_cross_entropy(z, np.eye(4)[labels]), expected, rtol=1e-13)
    soft = rng.dirichlet(np.ones(4), size=8)
    assert_allclose(
        L.softmax_cross_entropy(z, soft),
        -np.mean(np.sum(soft * logp, axis=1)),
        rtol=1e-13,
    )


def test_one_hot_is_rows_of_the_identity():
    labels = np.array([2, 0, 1, 2])
    assert_array_equal(L.one_hot(labels, 3), np.eye(3)[labels])
    assert_array_equal(L.one_hot([1], 4), [[0, 1, 0, 0]])
    assert L.one_hot(np.array([], dtype=int), 2).shape == (0, 2)


@pytest.mark.parametrize(
    "name", ["half_sse", "mse", "binary_cross_entropy", "softmax_cross_entropy"]
)
def test_object_value_equals_plain_function(name, rng):
    for loss_name, Y, T in cases(rng):
        if loss_name == name:
            assert (
                L.get(name).value(Y, T) == getattr(L, name)(Y, T) == L.get(name)(Y, T)
            )


# --- gradients against central differences --------------------------------------------


def test_every_loss_gradient_matches_central_differences(rng):
    for name, Y, T in cases(rng):
        loss = L.get(name)
        G = loss.grad(Y, T)
        assert G.shape == Y.shape, name
        assert rel_err(G, numeric_grad(lambda Yv: loss.value(Yv, T), Y)) < 1e-7, name


# --- extreme inputs, dtypes -----------------------------------------------------------


def test_cross_entropies_are_finite_and_exact_for_huge_logits():
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        z = np.array([[1e4], [-1e4]])
        assert L.binary_cross_entropy(z, [[1.0], [0.0]]) == 0.0  # confidently right
        assert (
            L.binary_cross_entropy(z, [[0.0], [1.0]]) == 1e4
        )  # confidently wrong: -log σ(-1e4) = 1e4
        assert_array_equal(
            L.get("bce").grad(z, [[0.0], [1.0]]), [[0.5], [-0.5]]
        )  # (σ(z) - t) / 2
        Z = np.array([[1e4, -1e4, 0.0]])
        assert [L.softmax_cross_entropy(Z, [k]) for k in range(3)] == [0.0, 2e4, 1e4]
        assert_allclose(L.get("ce").grad(Z, [1]), [[1.0, -1.0, 0.0]])


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_grad_keeps_the_dtype_of_Y(dtype, rng):
    for name, Y, T in cases(rng):
        assert L.get(name).grad(Y.astype(dtype), T).dtype == dtype, name
        assert isinstance(L.get(name).value(Y.astype(dtype), T), float)


# --- get / available / repr -----------------------------------------------------------


def test_get_names_aliases_and_objects():
    assert L.available() == [
        "half_sse",
        "mse",
        "binary_cross_entropy",
        "softmax_cross_entropy",
    ]
    assert isinstance(L.get("MSE"), L.MSE)
    assert isinstance(L.get("bce"), L.BinaryCrossEntropy)
    assert isinstance(L.get("Cross-Entropy"), L.SoftmaxCrossEntropy)
    loss = L.get("half_sse")
    assert L.get(loss) is loss
    assert repr(loss) == "HalfSSE()" and loss.name == "half_sse"


def test_get_errors():
    with pytest.raises(
        ValueError, match="unknown loss 'hinge'; expected one of: half_sse, mse"
    ):
        L.get("hinge")
    with pytest.raises(TypeError, match="expected a loss name"):
        L.get(None)


# --- bad inputs -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["half_sse", "mse", "binary_cross_entropy"])
def test_elementwise_losses_reject_bad_input(name):
    f, loss = getattr(L, name), L.get(name)
    with pytest.raises(
        ValueError, match=r"expected T with the shape of Y.* \(3, 1\), got \(3,\)"
    ):
        f(np.zeros((3, 1)), np.zeros(3))
    with pytest.raises(
        ValueError,
        match=r"\.grad: expected T with the shape of Y.* \(3, 1\), got \(3,\)",
    ):
        loss.grad(np.zeros((3, 1)), np.zeros(3))
    with pytest.raises(ValueError, match=r"Y.* must be finite, got 1 NaN/inf"):
        f([0.0, np.nan], [0.0, 1.0])
    with pytest.raises(ValueError, match="T must be finite"):
        loss.grad([0.0, 1.0], [np.nan, 1.0])
    with pytest.raises(ValueError, match="is empty"):
        f([], [])
    with pytest.raises(TypeError, match="must be an array of real numbers"):
        f(["a"], [0.0])


def test_bce_rejects_targets_outside_unit_interval():
    with pytest.raises(
        ValueError, match=r"targets T must lie in \[0, 1\], got values from -1.0 to 2.0"
    ):
        L.binary_cross_entropy([0.0, 1.0], [-1.0, 2.0])


def test_softmax_ce_rejects_bad_targets():
    z = np.zeros((2, 3))
    with pytest.raises(
        ValueError, match=r"labels must lie in \[0, 3\), got values from 0 to 3"
    ):
        L.softmax_cross_entropy(z, [0, 3])
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        L.get("softmax_cross_entropy").grad(z, [-1, 0])
    with pytest.raises(
        TypeError, match="expected integer class labels, got dtype float64"
    ):
        L.softmax_cross_entropy(z, [0.0, 1.0])
    with pytest.raises(
        ValueError,
        match=r"integer labels of shape \(2,\) or as probability rows .* got shape "
        r"\(2, 4\)",
    ):
        L.softmax_cross_entropy(z, np.zeros((2, 4)))
    with pytest.raises(ValueError, match="rows of T must be probabilities"):
        L.softmax_cross_entropy(z, [[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    with pytest.raises(
        ValueError, match=r"expected Y \(logits\) of shape \(N, K\).* got shape \(3,\)"
    ):
        L.softmax_cross_entropy(np.zeros(3), [0, 1, 2])
    with pytest.raises(ValueError, match=r"Y \(logits\) must be finite"):
        L.softmax_cross_entropy([[np.inf, 0.0]], [0])


def test_one_hot_rejects_bad_input():
    with pytest.raises(ValueError, match="n_classes must be an integer >= 1, got 0"):
        L.one_hot([0], 0)
    with pytest.raises(TypeError, match="n_classes must be an integer"):
        L.one_hot([0], 2.0)
    with pytest.raises(
        ValueError,
        match=r"one_hot: expected labels of shape \(N,\), got shape \(2, 1\)",
    ):
        L.one_hot([[0], [1]], 2)
    with pytest.raises(ValueError, match=r"one_hot: labels must lie in \[0, 2\)"):
        L.one_hot([2], 2)
    with pytest.raises(TypeError, match="one_hot: expected integer class labels"):
        L.one_hot([0.5], 2)
