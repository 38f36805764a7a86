import numpy as np
import pytest
from numpy.testing import assert_allclose

from bookcode.experiments import descent
from bookcode.experiments.descent import gradient_descent, minibatch_descent
from bookcode.experiments.surfaces import LeastSquares, QuadraticBowl


def test_path_matches_closed_form_on_a_quadratic():
    # ∇E = A w, so w_k = (I − ηA)^k w_0 exactly
    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    w0, lr = np.array([1.0, -2.0]), 0.1
    path = gradient_descent(lambda w: A @ w, w0, lr, 7)
    assert path.shape == (8, 2)
    M = np.eye(2) - lr * A
    for k in range(8):
        assert_allclose(path[k], np.linalg.matrix_power(M, k) @ w0, rtol=1e-12)


def test_start_is_copied_not_modified_and_dtype_kept():
    w0 = np.array([1.0, 2.0], dtype=np.float32)
    before = w0.copy()
    path = gradient_descent(lambda w: 2 * w, w0, 0.1, 3)
    assert np.array_equal(w0, before)
    assert path.dtype == np.float32
    assert_allclose(path[-1], before * 0.8**3, rtol=1e-6)
    assert gradient_descent(lambda w: w, [1, 2], 0.5, 0).tolist() == [
        [1.0, 2.0]
    ]  # n_steps=0, int start


def test_eigen_coordinates_shrink_by_one_minus_lr_lambda():
    bowl = QuadraticBowl.from_eigenvalues([1.0, 10.0], angle=0.3)
    lr = 0.15
    path = gradient_descent(bowl.gradient, [1.0, 1.0], lr, 20)
    Z = path @ bowl.eigenvectors  # eigen-coordinates of every iterate
    assert_allclose(
        Z[1:] / Z[:-1], np.broadcast_to(1 - lr * bowl.eigenvalues, (20, 2)), rtol=1e-9
    )


def test_stability_bound():
    bowl = QuadraticBowl.from_eigenvalues([1.0, 10.0], angle=0.3)
    bound = bowl.max_stable_lr
    ok = gradient_descent(bowl.gradient, [1.0, 1.0], 0.99 * bound, 2000)
    bad = gradient_descent(bowl.gradient, [1.0, 1.0], 1.01 * bound, 2000)
    assert len(ok) == 2001 and np.linalg.norm(ok[-1]) < 1e-6
    assert np.linalg.norm(bad[-1]) > 1e8  # stopped by the divergence guard
    assert len(bad) < 2001


def test_divergence_guard_stops_before_nonfinite_values():
    calls = []

    def grad(w):  # a gradient that overflows to inf at the third call
        calls.append(1)
        return np.array([np.inf]) if len(calls) == 3 else w

    path = gradient_descent(grad, [1.0], 0.5, 50)
    assert_allclose(
        path[:, 0], [1.0, 0.5, 0.25]
    )  # w_3 would be -inf: not kept, run stopped
    assert len(calls) == 3
    path = gradient_descent(
        lambda w: -w, [1.0], 1.0, 100, max_norm=1e3
    )  # doubles every step
    assert_allclose(path[:, 0], 2.0 ** np.arange(len(path)))
    assert path[-1, 0] > 1e3 and path[-2, 0] <= 1e3


def test_minibatch_descent_variants():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 2))
    ls = LeastSquares(X, X @ [1.0, -2.0] + 0.1 * rng.standard_normal(40))
    # batch_size = N is (full-batch) gradient descent, up to the order of summation
    path, seen = minibatch_descent(ls.gradient, [0.0, 0.0], 40, 0.1, 40, 5, rng=1)
    assert_allclose(path, gradient_descent(ls.gradient, [0.0, 0.0], 0.1, 5), rtol=1e-12)
    assert seen.tolist() == [0, 40, 80, 120, 160, 200]
    # SGD and mini-batch: one update per batch, each epoch a permutation (last batch
    # smaller)
    path, seen = minibatch_descent(ls.gradient, [0.0, 0.0], 40, 0.05, 15, 2, rng=3)
    assert path.shape == (7, 2) and seen.tolist() == [0, 15, 30, 40, 55, 70, 80]
    # the first update uses the first batch of the seeded permutation
    idx = next(iter(np.array_split(np.random.default_rng(3).permutation(40), [15])))
    assert_allclose(path[1], -0.05 * ls.gradient(np.zeros(2), idx), rtol=1e-12)
    # deterministic given the seed; SGD with a small step gets close to the minimum
    again, _ = minibatch_descent(ls.gradient, [0.0, 0.0], 40, 0.05, 15, 2, rng=3)
    assert np.array_equal(path, again)
    sgd, _ = minibatch_descent(ls.gradient, [0.0, 0.0], 40, 0.02, 1, 30, rng=4)
    assert np.linalg.norm(sgd[-1] - ls.w_star) < 0.1


def test_bad_inputs():
    g = lambda w: w  # noqa: E731
    with pytest.raises(TypeError, match="grad must be callable"):
        gradient_descent("grad", [1.0], 0.1, 3)
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        gradient_descent(g, [1.0], -0.1, 3)
    with pytest.raises(ValueError, match="n_steps must be an integer >= 0"):
        gradient_descent(g, [1.0], 0.1, -1)
    with pytest.raises(TypeError, match="n_steps must be an integer"):
        gradient_descent(g, [1.0], 0.1, 2.5)
    with pytest.raises(ValueError, match="w0 must be finite"):
        gradient_descent(g, [np.nan], 0.1, 3)
    with pytest.raises(
        ValueError, match=r"gradient has shape \(3,\), expected the shape of w, \(2,\)"
    ):
        gradient_descent(lambda w: np.ones(3), [1.0, 2.0], 0.1, 3)
    with pytest.raises(TypeError, match="grad_batch must be callable"):
        minibatch_descent(None, [0.0], 4, 0.1, 2, 1, rng=0)
    with pytest.raises(ValueError, match="batch_size must be <= n_examples"):
        minibatch_descent(lambda w, i: w, [0.0], 4, 0.1, 5, 1, rng=0)
    with pytest.raises(TypeError, match="seed"):
        minibatch_descent(lambda w, i: w, [0.0], 4, 0.1, 2, 1, rng=None)


# ------------------------------------------------------------------- momentum_descent
def _bowl():
    from bookcode.experiments import surfaces

    return surfaces.QuadraticBowl.from_eigenvalues([1.0, 10.0], angle=0.4)


def test_momentum_zero_is_gradient_descent():
    bowl = _bowl()
    w0 = np.array([1.5, -0.7])
    a = descent.momentum_descent(bowl.gradient, w0, 0.15, 30, 0.0)
    b = descent.gradient_descent(bowl.gradient, w0, 0.15, 30)
    assert np.array_equal(a, b)


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_descent_is_what_sgd_does(nesterov):
    # bookcode.optim.SGD on a one-parameter "model" whose gradient is A w
    from bookcode import optim

    bowl = _bowl()
    w0 = np.array([1.5, -0.7])
    path = descent.momentum_descent(bowl.gradient, w0, 0.05, 25, 0.8, nesterov=nesterov)

    class Model:
        params = {"W": w0.copy()}
        grads = {"W": np.zeros(2)}

    opt, model, out = optim.SGD(0.05, momentum=0.8, nesterov=nesterov), Model(), []
    for _ in range(25):
        model.grads["W"][...] = bowl.gradient(model.params["W"])
        opt.step(model)
        out.append(model.params["W"].copy())
    assert_allclose(path[1:], np.array(out), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("nesterov", [False, True])
def test_the_momentum_matrix_reproduces_the_path(nesterov):
    bowl = _bowl()
    w0 = np.array([1.5, -0.7])
    lr, mu = 0.07, 0.6
    path = descent.momentum_descent(bowl.gradient, w0, lr, 12, mu, nesterov=nesterov)
    z_path = path @ bowl.eigenvectors  # eigen-coordinates
    for i, lam in enumerate(bowl.eigenvalues):
        M = bowl.momentum_matrix(lr, mu, lam, nesterov=nesterov)
        state = np.array([z_path[0, i], 0.0])  # (z, s) with v_0 = 0
        for k in range(1, 13):
            state = M @ state
            assert_allclose(state[0], z_path[k, i], rtol=1e-10, atol=1e-14)


def test_polyak_parameters_and_factor():
    from bookcode.experiments import surfaces

    bowl = surfaces.QuadraticBowl.from_eigenvalues([1.0, 100.0])
    eta, mu = bowl.heavy_ball_optimum
    assert_allclose((eta, mu), (4 / 121, (9 / 11) ** 2), rtol=1e-14)
    assert_allclose(bowl.momentum_factor(eta, mu), 9 / 11, rtol=1e-6)  # double roots
    assert_allclose(bowl.momentum_factor(0.01, 0.9), np.sqrt(0.9), rtol=1e-12)
    assert bowl.momentum_factor(0.01, 0.9, nesterov=True) < np.sqrt(0.9)
    assert (
        bowl.momentum_factor(0.029, 0.5) < 1 < bowl.momentum_factor(0.031, 0.5)
    )  # 3/100


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(momentum=1.0), ValueError, r"momentum must be in \[0, 1\)"),
        (dict(momentum=-0.1), ValueError, "momentum"),
        (dict(momentum=0.5, nesterov=1), TypeError, "nesterov must be bool"),
        (dict(momentum=0.5, lr=0.0), ValueError, "lr"),
    ],
)
def test_momentum_descent_bad_input(kwargs, error, match):
    bowl = _bowl()
    args = dict(lr=0.1, n_steps=3)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        descent.momentum_descent(bowl.gradient, [1.0, 1.0], **args)
    with pytest.raises(ValueError, match="shape"):
        descent.momentum_descent(lambda w: np.ones(3), [1.0, 1.0], 0.1, 2, 0.5)
