import numpy as np
import pytest
from numpy.testing import assert_allclose

from bookcode.experiments.surfaces import (
    CriticalPoint,
    FourWells,
    LeastSquares,
    QuadraticBowl,
    classify,
    critical_points,
)
from bookcode.gradcheck import TOLERANCE, check_gradient, numerical_gradient

POINTS = [np.array([0.3, -0.7]), np.array([-1.2, 1.5]), np.array([1.1, 0.05])]


def _surfaces():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 2)) + [1.0, 0.0]
    return [
        QuadraticBowl.from_eigenvalues([1.0, 10.0], angle=np.pi / 6),
        FourWells(),
        FourWells(tilt=(0.0, 0.0), coupling=0.0),
        LeastSquares(X, X @ [2.0, -1.0] + 0.1 * rng.standard_normal(30)),
    ]


@pytest.mark.parametrize("surface", _surfaces(), ids=repr)
@pytest.mark.parametrize("w", POINTS, ids=lambda w: str(w.tolist()))
def test_gradient_and_hessian_match_finite_differences(surface, w):
    assert check_gradient(surface.value, surface.gradient, w) < TOLERANCE
    H_num = np.stack(
        [
            numerical_gradient(lambda v: surface.gradient(v)[i], w.copy())
            for i in range(2)
        ]
    )
    assert_allclose(surface.hessian(w), H_num, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("surface", _surfaces(), ids=repr)
def test_value_and_gradient_are_vectorised_over_grids(surface):
    grid = np.stack(
        np.meshgrid(np.linspace(-1, 1, 4), np.linspace(-2, 2, 3)), axis=-1
    )  # (3, 4, 2)
    V, G = surface.value(grid), surface.gradient(grid)
    assert V.shape == (3, 4) and G.shape == (3, 4, 2)
    for i, j in np.ndindex(3, 4):
        assert_allclose(V[i, j], surface.value(grid[i, j]), rtol=1e-12, atol=1e-12)
        assert_allclose(G[i, j], surface.gradient(grid[i, j]), rtol=1e-12, atol=1e-12)
    assert_allclose(surface.on_grid(grid[..., 0], grid[..., 1]), V)
    assert_allclose(surface(grid[0, 0]), V[0, 0])


def test_bowl_from_eigenvalues_and_its_learning_rates():
    bowl = QuadraticBowl.from_eigenvalues([1.0, 10.0], angle=0.4)
    assert_allclose(bowl.eigenvalues, [1.0, 10.0])
    c, s = np.cos(0.4), np.sin(0.4)
    assert_allclose(
        bowl.A @ [c, s], 1.0 * np.array([c, s]), atol=1e-12
    )  # first axis rotated by the angle
    assert bowl.condition_number == pytest.approx(10.0)
    assert bowl.max_stable_lr == pytest.approx(0.2)
    assert bowl.optimal_lr == pytest.approx(2 / 11)
    assert bowl.convergence_factor(2 / 11) == pytest.approx(9 / 11)  # (κ − 1)/(κ + 1)
    assert bowl.convergence_factor(0.01) == pytest.approx(0.99)
    assert bowl.convergence_factor(0.3) == pytest.approx(2.0)
    # E(w) = ½ wᵀAw from the definition
    w = np.array([0.5, -2.0])
    assert_allclose(bowl.value(w), 0.5 * w @ bowl.A @ w)
    assert "κ=10" in repr(bowl)


def test_least_squares_minimum_and_minibatch_gradient():
    rng = np.random.default_rng(1)
    X, t = rng.standard_normal((20, 3)), rng.standard_normal(20)
    ls = LeastSquares(X, t)
    w = rng.standard_normal(3)
    assert_allclose(ls.value(w), np.sum((X @ w - t) ** 2) / 40, rtol=1e-12)
    assert_allclose(ls.gradient(ls.w_star), 0.0, atol=1e-12)
    # the mean of the per-example gradients is the full gradient (mini-batch estimate is
    # unbiased)
    per_example = np.array([ls.gradient(w, [i]) for i in range(20)])
    assert_allclose(per_example.mean(axis=0), ls.gradient(w), rtol=1e-12)
    assert_allclose(ls.gradient(w, [3]), (X[3] @ w - t[3]) * X[3], rtol=1e-12)


def test_four_wells_critical_points_are_classified_by_hessian():
    starts = np.stack(
        np.meshgrid(np.linspace(-2, 2, 9), np.linspace(-2, 2, 9)), -1
    ).reshape(-1, 2)
    # untilted, uncoupled: minima at (±1, ±1), saddles at (0, ±1), (±1, 0), maximum at 0
    # (by hand)
    pts = critical_points(FourWells(tilt=(0, 0), coupling=0.0), starts)
    kinds = {tuple(np.round(p.w, 8) + 0.0): p.kind for p in pts}
    expected = {(0.0, 0.0): "maximum"}
    for s1 in (-1.0, 1.0):
        expected[(s1, s1)] = expected[(s1, -s1)] = "minimum"
        expected[(0.0, s1)] = expected[(s1, 0.0)] = "saddle"
    assert kinds == expected
    # the default surface keeps 4 minima, 4 saddles, 1 maximum, now all at different
    # heights
    pts = critical_points(FourWells(), starts)
    assert sorted(p.kind for p in pts) == ["maximum"] + ["minimum"] * 4 + ["saddle"] * 4
    assert all(np.linalg.norm(FourWells().gradient(p.w)) < 1e-10 for p in pts)
    assert [p.value for p in pts] == sorted(p.value for p in pts)
    assert len({round(p.value, 6) for p in pts}) == 9
    assert "minimum" in repr(pts[0]) and isinstance(pts[0], CriticalPoint)


def test_classify():
    assert classify([1.0, 2.0]) == "minimum"
    assert classify([-1.0, -2.0]) == "maximum"
    assert classify([-1.0, 2.0]) == "saddle"
    assert classify([0.0, 2.0]) == "degenerate"


def test_bad_inputs():
    with pytest.raises(ValueError, match="symmetric"):
        QuadraticBowl([[1.0, 2.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="positive definite"):
        QuadraticBowl([[1.0, 0.0], [0.0, -1.0]])
    with pytest.raises(ValueError, match=r"shape \(d, d\)"):
        QuadraticBowl([1.0, 2.0])
    with pytest.raises(ValueError, match="positive numbers"):
        QuadraticBowl.from_eigenvalues([1.0, 0.0])
    with pytest.raises(TypeError, match="angle must be a finite number"):
        QuadraticBowl.from_eigenvalues([1.0, 2.0], angle="30 degrees")
    with pytest.raises(ValueError, match="only defined in 2-D"):
        QuadraticBowl.from_eigenvalues([1.0, 2.0, 3.0], angle=0.1)
    with pytest.raises(ValueError, match=r"expected w of shape \(2,\)"):
        FourWells().gradient([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="tilt"):
        FourWells(tilt=(1.0,))
    with pytest.raises(TypeError, match="coupling"):
        FourWells(coupling="big")
    with pytest.raises(ValueError, match="one target per row"):
        LeastSquares(np.ones((4, 2)), np.ones(3))
    with pytest.raises(ValueError, match="at least one example"):
        LeastSquares(np.ones((4, 2)), np.ones(4)).gradient(np.zeros(2), [])
    with pytest.raises(ValueError, match="only 2-D surfaces"):
        QuadraticBowl(np.eye(3)).on_grid(np.zeros(2), np.zeros(2))
    with pytest.raises(ValueError, match="finite"):
        critical_points(FourWells(), [[np.nan, 0.0]])


@pytest.mark.parametrize("surface", _surfaces(), ids=repr)
def test_nonfinite_and_huge_points_propagate_without_warnings(surface):
    # a diverged iterate gives inf/NaN, as in IEEE arithmetic (pytest turns
    # RuntimeWarnings into errors)
    w = np.array([[1e200, -1e200], [np.nan, 0.0], [0.5, 0.5]])
    v, g = surface.value(w), surface.gradient(w)
    assert not np.isfinite(v[0]) or v[0] > 1e300
    assert np.isnan(v[1]) and np.isfinite(v[2]) and np.all(np.isfinite(g[2]))
    assert surface.hessian(w[2]).shape == (2, 2)
