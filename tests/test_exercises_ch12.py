"""The exercise checks of chapter 12: the references pass, each typical mistake gets its
own hint, and the checkers' own reference values agree with bookcode.adam, with
bookcode.layernorm and with finite differences."""

from types import SimpleNamespace

import numpy as np
import pytest
from _checkers import assert_rejected_with_hint

from bookcode.adam import Adam
from bookcode.exercises import ch12
from bookcode.exercises.ch12 import check_adam_step, check_layernorm_backward
from bookcode.gradcheck import numerical_gradient
from bookcode.layernorm import layernorm_backward, layernorm_forward


def stub(*args, **kwargs):
    raise NotImplementedError


# ------------------------------------------------------------ adam_step: the solutions
def adam_reference(w, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def adam_torch_style(w, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """PyTorch's arithmetic: m.lerp_(g, 1 − β₁), the corrections folded apart."""
    m = m + (1 - beta1) * (g - m)
    v = v * beta2 + (1 - beta2) * g**2
    denom = np.sqrt(v) / np.sqrt(1 - beta2**t) + eps
    return w - (lr / (1 - beta1**t)) * m / denom, m, v


def adam_paper_efficient_rescaled(
    w, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8
):
    """Kingma & Ba's efficient form with ε rescaled to make it the same step."""
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    c2 = np.sqrt(1 - beta2**t)
    rate = lr * c2 / (1 - beta1**t)
    return w - rate * m / (np.sqrt(v) + eps * c2), m, v


def adam_via_bookcode(w, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    layer = SimpleNamespace(params={"W": w.copy()}, grads={"W": g.copy()})
    opt = Adam(lr=lr, betas=(beta1, beta2), eps=eps)
    opt.state["W"], opt.t = (m.copy(), v.copy()), t - 1
    opt.step(layer)
    return (layer.params["W"], *opt.state["W"])


def adam_lists(*args, **kwargs):
    return [a.tolist() for a in adam_reference(*args, **kwargs)]


# -------------------------------------------------------------- adam_step: the mutants
def _adam(name, **mistake):
    """A learner's adam_step with a mistake of ch12._adam in the step of w."""

    def adam_step(w, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        return ch12._adam(w, g, m, v, t, lr, beta1, beta2, eps, **mistake)

    adam_step.__name__ = name
    return adam_step


adam_no_correction = _adam("adam_no_correction", correct="none")
adam_corrects_m_only = _adam("adam_corrects_m_only", correct="m_only")
adam_steps_with_raw_m = _adam("adam_steps_with_raw_m", correct="v_only")
adam_no_power = _adam("adam_no_power", correct="no_power")
adam_eps_inside_root = _adam("adam_eps_inside_root", eps_at="inside")
adam_no_eps_in_step = _adam("adam_no_eps_in_step", eps_at="none")
adam_paper_efficient_form = _adam("adam_paper_efficient_form", eps_at="raw")
adam_steps_with_g = _adam("adam_steps_with_g", numerator="g")
adam_sign = _adam("adam_sign", sign=-1.0)


def adam_t_minus_1(w, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    m_hat, v_hat = m / (1 - beta1 ** (t - 1)), v / (1 - beta2 ** (t - 1))
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def adam_t_minus_1_python_floats(
    w, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8
):
    c1, c2 = 1 - beta1 ** (t - 1), 1 - beta2 ** (t - 1)
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    return w - lr / c1 * m / (np.sqrt(v / c2) + eps), m, v  # 1/0 in Python: raises


def adam_t_plus_1(w, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    return adam_reference(w, g, m, v, t + 1, lr, beta1, beta2, eps)[:1] + tuple(
        adam_reference(w, g, m, v, t, lr, beta1, beta2, eps)[1:]
    )


def adam_returns_old_moments(w, g, m, v, t, **kw):
    return adam_reference(w, g, m, v, t, **kw)[0], m, v


def adam_returns_corrected_moments(
    w, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8
):
    w_new, m_new, v_new = adam_reference(w, g, m, v, t, lr, beta1, beta2, eps)
    return w_new, m_new / (1 - beta1**t), v_new / (1 - beta2**t)


def adam_betas_swapped(w, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    return adam_reference(w, g, m, v, t, lr, beta2, beta1, eps)


def adam_weights_swapped(w, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m = (1 - beta1) * m + beta1 * g
    v = (1 - beta2) * v + beta2 * g * g
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def adam_v_weights_swapped(w, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * g
    v = (1 - beta2) * v + beta2 * g * g
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def adam_v_with_g(w, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g  # not squared: NaN in w where v < 0
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def adam_v_with_m_squared(w, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * m * m
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def adam_in_place(w, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m *= beta1
    m += (1 - beta1) * g
    v *= beta2
    v += (1 - beta2) * g * g
    w = w - lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
    return w, m, v


def adam_wrong_order(*args, **kw):
    w, m, v = adam_reference(*args, **kw)
    return m, v, w


def adam_two_results(*args, **kw):
    return adam_reference(*args, **kw)[:2]


def adam_none(*args, **kw):
    adam_reference(*args, **kw)


def adam_float32(*args, **kw):
    return tuple(a.astype(np.float32) for a in adam_reference(*args, **kw))


def adam_other_names(w, g, m, v, t, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    return adam_reference(w, g, m, v, t, lr, b1, b2, eps)


def adam_default_lr_too_large(w, g, m, v, t, lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-8):
    return adam_reference(w, g, m, v, t, lr, beta1, beta2, eps)


def adam_step_before_update(w, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)  # the old moments
    w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
    return w, beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g * g


def adam_v_sign(*args, **kw):
    w, m, v = adam_reference(*args, **kw)
    return w, m, -v


def adam_scalar_moments(*args, **kw):
    w, m, v = adam_reference(*args, **kw)
    return w, m.mean(), v.mean()


ADAM_MUTANTS = [
    (adam_no_correction, "the bias correction is missing"),
    (adam_corrects_m_only, "only m was bias-corrected, not v"),
    (adam_steps_with_raw_m, "the step uses the raw m, not the bias-corrected m̂"),
    (adam_t_minus_1, "your bias correction is one step behind"),
    (adam_t_minus_1_python_floats, "one of your factors is 0"),
    (adam_t_plus_1, "your bias correction is one step ahead"),
    (adam_no_power, "uses the same factor at every step"),
    (adam_eps_inside_root, "ε went inside the square root"),
    (adam_no_eps_in_step, "ε is missing from the step"),
    (adam_paper_efficient_form, "the 'efficient' form of Kingma & Ba's paper"),
    (adam_steps_with_g, "the step follows this step's gradient g"),
    (adam_step_before_update, "it was computed from the moments passed in"),
    (adam_sign, "in the wrong direction, up the gradient"),
    (adam_returns_old_moments, "the m you returned is the one passed in"),
    (adam_returns_corrected_moments, "the m you returned is the bias-corrected m̂"),
    (adam_betas_swapped, "m was averaged with β₂"),
    (adam_weights_swapped, "the two weights of m's average are exchanged"),
    (adam_v_weights_swapped, "the two weights of v's average are exchanged"),
    (adam_v_with_g, "v averaged the gradient itself, not its square"),
    (adam_v_with_m_squared, "v averaged the square of m"),
    (adam_in_place, "changed one of its inputs in place (e.g. `m *= beta1`)"),
    (adam_wrong_order, "wrong order; return (w, m, v)"),
    (adam_two_results, "return 3 arrays"),
    (adam_none, "returned None"),
    (adam_float32, "returned float32 numbers"),
    (adam_other_names, "Keep the signature adam_step(w, g, m, v, t, lr=1e-3"),
    (adam_default_lr_too_large, "your step is 10 times the right one"),
    (adam_v_sign, "v has the right size but the opposite sign"),
    (adam_scalar_moments, "must each have the shape of w"),
    (
        Adam._direction,
        "you passed bookcode.adam.Adam._direction — that is the book's "
        "implementation: write your own",
    ),
]


@pytest.mark.parametrize(
    "learner",
    [
        adam_reference,
        adam_torch_style,
        adam_paper_efficient_rescaled,
        adam_via_bookcode,
        adam_lists,
    ],
)
def test_adam_step_reference_passes(learner, capsys):
    result = check_adam_step(learner)
    assert result.passed, result.message
    assert "all 4 checks passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "mutant, hint", ADAM_MUTANTS, ids=[m.__name__ for m, _ in ADAM_MUTANTS]
)
def test_adam_step_mutants_get_their_hint(mutant, hint, capsys):
    result = check_adam_step(mutant)
    assert_rejected_with_hint(result, hint, capsys.readouterr().out)


@pytest.mark.parametrize(
    "mutant, case",
    [
        (adam_no_power, "check 2 of 4"),
        (adam_steps_with_g, "check 2 of 4"),
        (adam_t_minus_1, "check 1 of 4"),
    ],
)
def test_mistakes_invisible_at_the_first_step_fail_later(mutant, case):
    """With m = v = 0 and t = 1, β and βᵗ agree, and so do m̂ and g."""
    assert case in check_adam_step(mutant, quiet=True).message


def test_the_first_case_moves_every_entry_by_about_lr():
    w0 = ch12._adam_case("first", 0)
    out = {}
    w0(lambda *a, **k: out.setdefault("r", adam_reference(*a, **k)))
    w, g = np.zeros(6), np.array([0.8, -2e-3, 45.0, -1.3, 1e-3, -0.07])
    step = w - adam_reference(w, g, np.zeros(6), np.zeros(6), 1)[0]
    np.testing.assert_allclose(step, 1e-3 * np.sign(g), rtol=2e-5)


def test_every_step_mistake_is_recognised_where_it_first_fails():
    """The closed forms differ from the reference in the first case that tells them
    apart, and there from every other mistake, so each hint is reachable."""
    for kind, seed in zip(("first", "later", "zeros", "tiny"), range(4)):
        rng = np.random.default_rng(seed)
        shape = (3, 4)
        w, g = rng.standard_normal(shape), rng.standard_normal(shape)
        m, v = 0.3 * rng.standard_normal(shape), rng.uniform(0.1, 1.0, shape)
        if kind == "first":
            m, v = np.zeros(shape), np.zeros(shape)
        args = (w, g, m, v, 1 if kind == "first" else 4, 1e-2, 0.8, 0.99, 1e-8)
        ref = w - ch12._adam(*args)[0]
        outs = [w - ch12._adam(*args, **kw)[0] for kw, _ in ch12._STEP_MISTAKES]
        if kind == "first":  # invisible at the first step
            invisible = [{"correct": "no_power"}, {"numerator": "g"}]
            keep = [kw not in invisible for kw, _ in ch12._STEP_MISTAKES]
            outs = [o for o, k in zip(outs, keep) if k]
        for a, out in enumerate(outs):
            assert not ch12._same(out, ref, ch12.RTOL_STEP), (kind, a)
            for b in range(a):
                assert not ch12._same(out, outs[b], ch12.RTOL_STEP), (kind, a, b)


# --------------------------------------------------- layernorm_backward: the solutions
def ln_reference(dY, X, gamma, eps=1e-5):
    mu = X.mean(axis=1, keepdims=True)
    inv = 1.0 / np.sqrt(((X - mu) ** 2).mean(axis=1, keepdims=True) + eps)
    X_hat = (X - mu) * inv
    G = dY * gamma
    dX = inv * (
        G
        - G.mean(axis=1, keepdims=True)
        - X_hat * (G * X_hat).mean(axis=1, keepdims=True)
    )
    return dX, (dY * X_hat).sum(axis=0), dY.sum(axis=0)


def ln_row_by_row(dY, X, gamma, eps=1e-5):  # also right: one example at a time
    dX = np.empty_like(X)
    for i, (x, dy) in enumerate(zip(X, dY)):
        n = x.size
        s = np.sqrt(x.var() + eps)
        x_hat = (x - x.mean()) / s
        J = (np.eye(n) - 1.0 / n - np.outer(x_hat, x_hat) / n) / s  # ∂x̂/∂x
        dX[i] = J.T @ (dy * gamma)
    X_hat = (X - X.mean(1)[:, None]) / np.sqrt(X.var(1)[:, None] + eps)
    return dX, (dY * X_hat).sum(0), dY.sum(0)


def ln_via_bookcode(dY, X, gamma, eps=1e-5):
    _, cache = layernorm_forward(X, gamma, np.zeros_like(gamma), eps)
    return layernorm_backward(dY, cache)


def ln_lists(*args, **kw):
    return [a.tolist() for a in ln_reference(*args, **kw)]


# ----------------------------------------------------- layernorm_backward: the mutants
def _ln(name, **mistake):
    """A learner's layernorm_backward with a mistake of ch12._ln_mistake."""

    def layernorm_backward(dY, X, gamma, eps=1e-5):
        return ch12._ln_mistake(dY, X, gamma, eps, **mistake)

    layernorm_backward.__name__ = name
    return layernorm_backward


ln_batchnorm = _ln("ln_batchnorm", axis=0)
ln_whole_batch = _ln("ln_whole_batch", axis=None)
ln_frozen_statistics = _ln("ln_frozen_statistics", terms=())
ln_no_mean_term = _ln("ln_no_mean_term", terms=("var",))
ln_no_xhat_term = _ln("ln_no_xhat_term", terms=("mean",))
ln_no_gamma = _ln("ln_no_gamma", gamma_at="none")
ln_gamma_outside = _ln("ln_gamma_outside", gamma_at="outside")
ln_sums_not_means = _ln("ln_sums_not_means", reduce="sum")
ln_eps_on_std = _ln("ln_eps_on_std", eps_at="std")
ln_unbiased = _ln("ln_unbiased", var="unbiased_plain")


def ln_np_std(dY, X, gamma, eps=1e-5):  # np.std: no ε
    mu = X.mean(axis=1, keepdims=True)
    s = X.std(axis=1, keepdims=True)
    X_hat = (X - mu) / s
    G = dY * gamma
    dX = (G - G.mean(1, keepdims=True) - X_hat * (G * X_hat).mean(1, keepdims=True)) / s
    return dX, (dY * X_hat).sum(0), dY.sum(0)


def ln_no_keepdims(dY, X, gamma, eps=1e-5):
    mu = X.mean(axis=1)
    X_hat = (X - mu) / np.sqrt(X.var(axis=1) + eps)  # broadcasts across the rows
    return ln_reference(dY, X, gamma, eps)[0], (dY * X_hat).sum(0), dY.sum(0)


def ln_nan_for_constant_rows(dY, X, gamma, eps=1e-5):
    """Standardise, then shrink: the same as x̂ except 0/0 where σ = 0."""
    mu, sd = X.mean(1, keepdims=True), X.std(1, keepdims=True)
    X_hat = (X - mu) / sd * (sd / np.sqrt(sd**2 + eps))
    inv = 1.0 / np.sqrt(sd**2 + eps)
    G = dY * gamma
    dX = inv * (
        G - G.mean(1, keepdims=True) - X_hat * (G * X_hat).mean(1, keepdims=True)
    )
    return dX, (dY * X_hat).sum(0), dY.sum(0)


def ln_dgamma_without_xhat(*args, **kw):
    dX, _, dbeta = ln_reference(*args, **kw)
    return dX, dbeta.copy(), dbeta


def ln_dgamma_over_features(dY, X, gamma, eps=1e-5):
    dX, _, dbeta = ln_reference(dY, X, gamma, eps)
    mu = X.mean(axis=1, keepdims=True)
    X_hat = (X - mu) / np.sqrt(X.var(axis=1, keepdims=True) + eps)
    return dX, (dY * X_hat).sum(axis=1), dbeta


def ln_dbeta_over_features(*args, **kw):
    dX, dgamma, _ = ln_reference(*args, **kw)
    return dX, dgamma, args[0].sum(axis=1)


def ln_dgamma_mean(*args, **kw):
    dX, dgamma, dbeta = ln_reference(*args, **kw)
    return dX, dgamma / args[0].shape[0], dbeta


def ln_dbeta_mean(*args, **kw):
    dX, dgamma, dbeta = ln_reference(*args, **kw)
    return dX, dgamma, dbeta / args[0].shape[0]


def ln_swapped(*args, **kw):
    dX, dgamma, dbeta = ln_reference(*args, **kw)
    return dX, dbeta, dgamma


def ln_wrong_order(*args, **kw):
    dX, dgamma, dbeta = ln_reference(*args, **kw)
    return dgamma, dbeta, dX


def ln_transposed(*args, **kw):
    dX, dgamma, dbeta = ln_reference(*args, **kw)
    return dX.T, dgamma, dbeta


def ln_sign(*args, **kw):
    dX, dgamma, dbeta = ln_reference(*args, **kw)
    return -dX, dgamma, dbeta


def ln_zero_dX(*args, **kw):
    dX, dgamma, dbeta = ln_reference(*args, **kw)
    return np.zeros_like(dX), dgamma, dbeta


def ln_mutates_X(dY, X, gamma, eps=1e-5):
    out = ln_reference(dY, X.copy(), gamma, eps)
    X -= X.mean(axis=1, keepdims=True)
    return out


def ln_none(*args, **kw):
    ln_reference(*args, **kw)


def ln_two_results(*args, **kw):
    return ln_reference(*args, **kw)[:2]


def ln_float32(*args, **kw):
    return tuple(a.astype(np.float32) for a in ln_reference(*args, **kw))


def ln_no_eps_parameter(dY, X, gamma):
    return ln_reference(dY, X, gamma)


LN_MUTANTS = [
    (ln_batchnorm, "that is BatchNorm"),
    (ln_whole_batch, "one mean and one variance for the whole batch"),
    (ln_frozen_statistics, "treats the row's μ and σ as constants"),
    (ln_no_mean_term, "the path through the row mean is missing"),
    (ln_no_xhat_term, "the path through the row variance is missing"),
    (ln_no_gamma, "dX lacks the factor γ"),
    (ln_gamma_outside, "γ was applied after the row means"),
    (ln_sums_not_means, "n times too large"),
    (ln_np_std, "ε is missing"),
    (ln_eps_on_std, "ε was added to the standard deviation"),
    (ln_unbiased, "the unbiased variance"),
    (ln_no_keepdims, "they must broadcast across that row's n features"),
    (ln_nan_for_constant_rows, "with a single feature every row equals its own mean"),
    (ln_dgamma_without_xhat, "dgamma equals the sum of dY"),
    (ln_dgamma_over_features, "dgamma has one entry per example"),
    (ln_dbeta_over_features, "dbeta has one entry per example"),
    (ln_dgamma_mean, "dgamma is N = 4 times too small"),
    (ln_dbeta_mean, "dbeta is N = 4 times too small"),
    (ln_swapped, "dgamma and dbeta are swapped"),
    (ln_wrong_order, "wrong order; return (dX, dgamma, dbeta)"),
    (ln_transposed, "dX is transposed"),
    (ln_sign, "dX has the right size but the opposite sign"),
    (ln_zero_dX, "dX is all zeros"),
    (ln_mutates_X, "changed one of its inputs in place (e.g. `X -= mu`)"),
    (ln_none, "returned None"),
    (ln_two_results, "return 3 arrays"),
    (ln_float32, "returned float32 numbers"),
    (ln_no_eps_parameter, "Keep the signature layernorm_backward(dY, X, gamma"),
    (
        layernorm_backward,
        "you passed bookcode.layernorm.layernorm_backward — that is the book's "
        "implementation: write your own",
    ),
]


@pytest.mark.parametrize(
    "learner", [ln_reference, ln_row_by_row, ln_via_bookcode, ln_lists]
)
def test_layernorm_backward_reference_passes(learner, capsys):
    result = check_layernorm_backward(learner)
    assert result.passed, result.message
    assert "all 4 checks passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "mutant, hint", LN_MUTANTS, ids=[m.__name__ for m, _ in LN_MUTANTS]
)
def test_layernorm_backward_mutants_get_their_hint(mutant, hint, capsys):
    result = check_layernorm_backward(mutant)
    assert_rejected_with_hint(result, hint, capsys.readouterr().out)


def test_whole_batch_statistics_pass_a_single_example():
    ch12._ln_case(1, 5, 1)(ln_whole_batch)  # N = 1: the row is the batch; no Hint
    with pytest.raises(ch12.Hint, match="that is BatchNorm"):
        ch12._ln_case(1, 5, 1)(ln_batchnorm)  # BatchNorm of one example: x̂ = 0


def test_a_single_feature_has_zero_gradient():
    rng = np.random.default_rng(0)
    dY, X = rng.standard_normal((3, 1)), rng.standard_normal((3, 1))
    dX, dgamma, dbeta = ch12._ln_reference(dY, X, np.array([1.7]), 1e-5)
    assert np.all(dX == 0) and np.all(dgamma == 0)
    np.testing.assert_allclose(dbeta, dY.sum(axis=0))


def test_every_known_layernorm_mistake_is_recognised():
    """On a general batch the closed forms differ from the reference and from each
    other (the two unbiased forms share a hint), so each hint is reachable."""
    rng = np.random.default_rng(7)
    args = (
        rng.standard_normal((4, 6)),
        rng.normal(1.5, 2.0, (4, 6)),
        rng.uniform(0.5, 2.0, 6),
        1e-5,
    )
    ref = np.concatenate([a.ravel() for a in ch12._ln_reference(*args)])
    outs = [
        np.concatenate([a.ravel() for a in ch12._ln_mistake(*args, **kw)])
        for kw, _ in ch12._LN_MISTAKES
    ]
    for a, out in enumerate(outs):
        assert not ch12._close(out, ref, ch12.RTOL_LN), a
        for b in range(a):
            assert not ch12._close(out, outs[b], ch12.RTOL_LN), (a, b)


# --------------------------------------------------------------------------- shared
@pytest.mark.parametrize("check", [check_adam_step, check_layernorm_backward])
def test_stub_is_not_attempted(check, capsys):
    result = check(stub)
    assert not result.passed and not result.attempted
    assert "not attempted yet" in capsys.readouterr().out


@pytest.mark.parametrize("check", [check_adam_step, check_layernorm_backward])
def test_not_a_function(check):
    result = check("adam_step", quiet=True)
    assert not result.passed and "expected your function" in result.message


@pytest.mark.parametrize(
    "check, mutants",
    [(check_adam_step, ADAM_MUTANTS), (check_layernorm_backward, LN_MUTANTS)],
)
def test_each_mutant_is_told_something_different(check, mutants):
    messages = [check(m, quiet=True).message.split("failed.")[-1] for m, _ in mutants]
    assert len(set(messages)) == len(messages)


ANSWERS = [
    "beta1 **",
    "beta1**",
    "beta2 **",
    "β₁ᵗ",
    "β₂ᵗ",
    "np.sqrt(v",
    "sqrt(v_hat) + eps",
    "√v̂ + ε",
    "g * g",
    "g**2",
    "keepdims",
    "axis=",
    "G.mean",
    "X_hat *",
    "mean(G",
]


@pytest.mark.parametrize(
    "check, mutants",
    [(check_adam_step, ADAM_MUTANTS), (check_layernorm_backward, LN_MUTANTS)],
)
def test_hints_do_not_give_the_answer(check, mutants):
    for mutant, _ in mutants:
        message = " ".join(check(mutant, quiet=True).message.split())
        assert not [a for a in ANSWERS if a in message], message


# -------------------------------------------- the checkers' references are the truth
def test_adam_reference_agrees_with_bookcode_over_many_steps():
    rng = np.random.default_rng(3)
    layer = SimpleNamespace(params={"W": rng.standard_normal((3, 2))}, grads={})
    opt = Adam(lr=0.05, betas=(0.8, 0.99), eps=1e-8)
    w, m, v = layer.params["W"].copy(), np.zeros((3, 2)), np.zeros((3, 2))
    for t in range(1, 30):
        g = rng.standard_normal((3, 2)) * np.array([1e-6, 10.0])
        layer.grads["W"] = g
        opt.step(layer)
        w, m, v = ch12._adam(w, g, m, v, t, 0.05, 0.8, 0.99, 1e-8)
        assert ch12._close(layer.params["W"], w, 1e-13)
        assert ch12._close(opt.state["W"][0], m, 1e-14)
        assert ch12._close(opt.state["W"][1], v, 1e-14)


def test_layernorm_reference_agrees_with_finite_differences_and_bookcode():
    rng = np.random.default_rng(5)
    X, gamma = rng.normal(1.0, 2.0, (3, 5)), rng.uniform(-2.0, 2.0, 5)
    X[1] = 0.4 + 3e-3 * rng.standard_normal(5)  # variance close to ε
    beta, dY, eps = rng.standard_normal(5), rng.standard_normal((3, 5)), 1e-5

    def E():
        mu = X.mean(axis=1, keepdims=True)
        var = X.var(axis=1, keepdims=True)
        return float(np.sum((gamma * (X - mu) / np.sqrt(var + eps) + beta) * dY))

    ref = ch12._ln_reference(dY, X, gamma, eps)
    for analytic, p in zip(ref, (X, gamma, beta)):
        assert ch12.relative_difference(analytic, numerical_gradient(E, p)) < 1e-7
    _, cache = layernorm_forward(X, gamma, beta, eps)
    for mine, book in zip(ref, layernorm_backward(dY, cache)):
        assert ch12.relative_difference(mine, book) < 1e-13
