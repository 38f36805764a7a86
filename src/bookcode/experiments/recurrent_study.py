"""Experiments of chapters/11_recurrent: gradients through time, the adding problem.

- :func:`gradient_by_lag` and :func:`cell_gradient_by_lag` measure how much of a
  gradient that enters at the last step of a sequence is left ``k`` steps earlier, in a
  simple RNN (by the scale of its recurrent matrix) and in an LSTM (by its forget-gate
  bias);
- :func:`train_adding` trains recurrent nets on the adding problem
  (:func:`bookcode.data.adding_problem`), several seeds at once.

Several seeds are trained at once as one block-diagonal network
(:mod:`bookcode.experiments.recurrent_blocks`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import losses as _losses
from .._validate import (
    as_rng,
    check_choice,
    check_positive_float,
    check_positive_int,
)
from ..adam import Adam
from ..data import adding_problem
from ..layers import Linear
from ..lstm import LSTM
from ..network import Sequential
from ..optim import SGD
from ..recurrent import RNN, LastStep
from ..train import _progress
from .recurrent_blocks import (
    block_diagonal,
    clip_per_network,
    mask_and_measure,
    side_by_side,
)

__all__ = ["gradient_by_lag", "cell_gradient_by_lag", "AddingRuns", "train_adding"]

#: Mean squared error of the best constant guess on the adding problem: Var(u + u').
ADDING_BASELINE = 1.0 / 6.0


def _last_step_gradient(layer, X, d):
    """Run ``layer`` on ``X`` and backpropagate ``dE/dh_T = d`` entering at the last
    step only (a loss that reads ``h_T``)."""
    H = layer.forward(X)
    dH = np.zeros_like(H)
    dH[:, -1] = d
    layer.backward(dH)


def _unit_direction(gen, N, n):
    d = gen.standard_normal((N, n))
    return d / np.linalg.norm(d)


def gradient_by_lag(
    scales, *, activation="tanh", T=50, n_hidden=32, batch_size=64, rng=0
):
    """``‖∂E/∂h_{T−k}‖ / ‖∂E/∂h_T‖`` for ``k = 0 … T−1`` in a simple RNN, one row per
    recurrent scale.

    For each ``s`` in ``scales``, an :class:`bookcode.recurrent.RNN` with ``W_h = s Q``
    (the same random orthogonal ``Q`` and input weights for every ``s``) reads a batch
    of adding-problem sequences, and a gradient of norm 1 enters at the last hidden
    state. Row ``j`` is then the norm left ``k`` steps back, which eq. (bptt-product)
    bounds by ``(γ s)^k`` (``γ`` the bound on ``f'``).

    Parameters
    ----------
    scales : sequence of float >= 0
    activation : str
        ``"tanh"``, ``"identity"``, ``"relu"``, … (:func:`bookcode.activations.get`).
    T, n_hidden, batch_size : int
    rng : int or Generator

    Returns
    -------
    numpy.ndarray, shape (len(scales), T)
        Column ``k`` is the lag ``k``; column 0 is 1.

    Implements eq. (bptt-product) in chapters/11_recurrent.
    """
    scales = _scales(scales, "gradient_by_lag: scales", allow_zero=True)
    T = check_positive_int(T, "gradient_by_lag: T", minimum=2)
    n = check_positive_int(n_hidden, "gradient_by_lag: n_hidden")
    N = check_positive_int(batch_size, "gradient_by_lag: batch_size")
    gen = as_rng(rng, where="gradient_by_lag")
    X, _ = adding_problem(N, T, rng=gen)
    base = RNN(2, n, activation, rng=gen)
    d = _unit_direction(gen, N, n)
    out = np.empty((len(scales), T))
    for j, s in enumerate(scales):
        layer = RNN(
            2, n, activation, W_x=base.params["W_x"], W_h=s * base.params["W_h"]
        )
        _last_step_gradient(layer, X, d)
        norms = layer.grad_norms_per_step[::-1]
        out[j] = norms / norms[0]
    return out


def cell_gradient_by_lag(forget_biases, *, T=50, n_hidden=32, batch_size=64, rng=0):
    """How far back a gradient reaches along an LSTM's cell state, by forget-gate bias.

    For each bias ``b``, an :class:`bookcode.lstm.LSTM` with ``forget_bias=b`` (the
    same random weights for every ``b``) reads a batch of adding-problem sequences and
    a gradient of norm 1 enters at ``h_T``.

    Parameters
    ----------
    forget_biases : sequence of float
    T, n_hidden, batch_size : int
    rng : int or Generator

    Returns
    -------
    total : numpy.ndarray, shape (len(forget_biases), T)
        ``‖∂E/∂c_{T−k}‖ / ‖∂E/∂c_T‖`` for ``k = 0 … T−1``: the whole gradient on the
        cell state, which also re-enters the cell through ``h`` and the gates.
    path : numpy.ndarray, shape (len(forget_biases), T)
        The cell path alone: ``‖∂E/∂c_T ∘ f_T ∘ … ∘ f_{T−k+1}‖ / ‖∂E/∂c_T‖``.
    mean_forget : numpy.ndarray, shape (len(forget_biases),)
        The mean forget-gate activation ``f_t`` over the batch, the units and the steps.

    Implements eq. (lstm-cell-grad) in chapters/11_recurrent.
    """
    biases = [float(b) for b in _scales(forget_biases, "cell_gradient_by_lag")]
    T = check_positive_int(T, "cell_gradient_by_lag: T", minimum=2)
    n = check_positive_int(n_hidden, "cell_gradient_by_lag: n_hidden")
    N = check_positive_int(batch_size, "cell_gradient_by_lag: batch_size")
    gen = as_rng(rng, where="cell_gradient_by_lag")
    X, _ = adding_problem(N, T, rng=gen)
    base = LSTM(2, n, rng=gen)
    d = _unit_direction(gen, N, n)
    total, path = np.empty((len(biases), T)), np.empty((len(biases), T))
    mean_forget = np.empty(len(biases))
    for j, b in enumerate(biases):
        layer = LSTM(
            2, n, forget_bias=b, W_x=base.params["W_x"], W_h=base.params["W_h"]
        )
        _last_step_gradient(layer, X, d)
        c = layer.cell_grad_norms_per_step[::-1]
        total[j] = c / c[0]
        f, o = layer.gates["f"], layer.gates["o"]
        dc_T = d * o[:, -1] * (1 - np.tanh(layer.cell_states[:, -1]) ** 2)
        kept = np.cumprod(f[:, ::-1], axis=1)  # f_T, f_T f_{T-1}, …
        path[j, 0] = 1.0
        path[j, 1:] = np.linalg.norm(dc_T[:, None] * kept[:, :-1], axis=(0, 2))
        path[j, 1:] /= np.linalg.norm(dc_T)
        mean_forget[j] = f.mean()
    return total, path, mean_forget


@dataclass(frozen=True)
class AddingRuns:
    """Validation curves of :func:`train_adding`, one column per seed.

    ``steps`` (E,): the step after which each evaluation was made; ``val_mse`` (E, K):
    mean squared error on ``n_val`` held-out sequences (``nan`` after a divergence);
    ``grad_norms`` (steps, K): each network's own gradient norm before clipping;
    ``seeds`` (K,); ``baseline``: 1/6, the error of the best constant guess.
    """

    steps: np.ndarray
    val_mse: np.ndarray
    grad_norms: np.ndarray
    seeds: tuple
    baseline: float = ADDING_BASELINE

    @property
    def final(self):
        """The last evaluation of every seed, shape (K,)."""
        return self.val_mse[-1]


def train_adding(
    cell,
    T,
    seeds,
    *,
    steps=300,
    n_hidden=16,
    batch_size=64,
    optimizer="adam",
    lr=1e-2,
    clip_norm=None,
    activation="tanh",
    recurrent_scale=1.0,
    forget_bias=1.0,
    eval_every=25,
    n_val=256,
    progress=None,
):
    """Train one recurrent net per seed on the adding problem with lag ``T``, all at
    once.

    Each network is ``cell → LastStep → Linear(n_hidden, 1)`` with the MSE loss, fed
    fresh batches of :func:`bookcode.data.adding_problem` (its own stream per seed).
    The ``K`` networks are trained as one block-diagonal network (module docstring);
    each one's gradient is exactly the gradient of its own loss.

    Parameters
    ----------
    cell : {"rnn", "lstm"}
    T : int >= 2
        Sequence length; the first marked value must be remembered for at least
        ``T // 2`` steps.
    seeds : sequence of int
        One network per seed (weights and data streams; shifted by
        ``BOOKCODE_SEED_OFFSET`` like every seed).
    steps, n_hidden, batch_size, eval_every, n_val : int
    optimizer : {"adam", "sgd"}
        ``Adam(lr)`` or ``SGD(lr)``, both with their defaults otherwise.
    lr : float
    clip_norm : float, optional
        Rescale each network's own gradient to norm at most ``clip_norm`` (chapter 6's
        global-norm clipping, per network).
    activation, recurrent_scale
        Passed to :class:`bookcode.recurrent.RNN` (``cell="rnn"`` only).
    forget_bias : float
        Passed to :class:`bookcode.lstm.LSTM` (``cell="lstm"`` only).
    progress : bool or None
        Progress bar for runs longer than 2 s (``None``: on unless
        ``BOOKCODE_PROGRESS=0``).

    Returns
    -------
    AddingRuns

    A network whose loss or gradient becomes non-finite stops there (its later
    evaluations are ``nan``); with ``K > 1`` this raises ``FloatingPointError``, since
    ``0 · inf`` in the block-diagonal product would spread to the other blocks: train a
    configuration that may diverge one seed per call.

    Implements the experiment on eq. (adding-problem) in chapters/11_recurrent.
    """
    where = "train_adding"
    cell = check_choice(cell, ("rnn", "lstm"), f"{where}: cell")
    T = check_positive_int(T, f"{where}: T", minimum=2)
    seeds = _seeds(seeds, where)
    steps = check_positive_int(steps, f"{where}: steps")
    n = check_positive_int(n_hidden, f"{where}: n_hidden")
    N = check_positive_int(batch_size, f"{where}: batch_size")
    every = check_positive_int(eval_every, f"{where}: eval_every")
    n_val = check_positive_int(n_val, f"{where}: n_val")
    optimizer = check_choice(optimizer, ("adam", "sgd"), f"{where}: optimizer")
    lr = check_positive_float(lr, f"{where}: lr")
    if clip_norm is not None:
        clip_norm = check_positive_float(clip_norm, f"{where}: clip_norm")
    K = len(seeds)
    gens = [as_rng(s, where=where) for s in seeds]
    nets = [
        _one_net(cell, n, g, activation, recurrent_scale, forget_bias) for g in gens
    ]
    net, owners = block_diagonal(nets, cell)
    val = [adding_problem(n_val, T, rng=g) for g in gens]
    X_val, y_val = side_by_side(val)
    opt = Adam(lr) if optimizer == "adam" else SGD(lr)
    loss = _losses.get("mse")
    evals, curves = [], []
    norms = np.full((steps, K), np.nan)
    bar = _progress(steps, progress, unit="step", desc=f"{cell} T={T}")
    try:
        for step in range(1, steps + 1):
            X, y = side_by_side([adding_problem(N, T, rng=g) for g in gens])
            with np.errstate(all="ignore"):
                Y = net.forward(X)
                net.backward(K * loss.grad(Y, y))  # each block: its own MSE gradient
            with np.errstate(over="ignore", invalid="ignore"):
                sq = mask_and_measure(net, owners, K)
            norms[step - 1] = np.sqrt(sq)
            if not np.all(np.isfinite(sq)):
                if K > 1:
                    raise FloatingPointError(
                        f"{where}: a network's gradient became non-finite at step "
                        f"{step}; train a configuration that may diverge one seed per "
                        "call (seeds=[s])"
                    )
                break
            if clip_norm is not None:
                clip_per_network(net, owners, np.sqrt(sq), clip_norm)
            opt.step(net)
            if step % every == 0 or step == steps:
                with np.errstate(all="ignore"):
                    err = ((net.forward(X_val) - y_val) ** 2).mean(axis=0)
                evals.append(step)
                curves.append(np.where(np.isfinite(err), err, np.nan))
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    last = evals[-1] if evals else 0
    for step in range(last + every, steps + every, every):  # after a divergence
        evals.append(min(step, steps))
        curves.append(np.full(K, np.nan))
    return AddingRuns(
        steps=np.array(evals[: len(curves)]),
        val_mse=np.array(curves),
        grad_norms=norms,
        seeds=tuple(seeds),
    )


def _one_net(cell, n, gen, activation, recurrent_scale, forget_bias):
    layer = (
        LSTM(2, n, rng=gen, forget_bias=forget_bias)
        if cell == "lstm"
        else RNN(2, n, activation, rng=gen, recurrent_scale=recurrent_scale)
    )
    return Sequential([layer, LastStep(), Linear(n, 1, rng=gen)])


def _seeds(seeds, where):
    try:
        seeds = list(seeds)
    except TypeError:
        raise TypeError(
            f"{where}: seeds must be a list of ints, got {seeds!r}"
        ) from None
    if not seeds:
        raise ValueError(f"{where}: expected at least one seed, got an empty list")
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0:
            raise TypeError(f"{where}: seeds must be non-negative ints, got {s!r}")
    return [int(s) for s in seeds]


def _scales(values, where, allow_zero=False):
    try:
        values = list(values)
    except TypeError:
        raise TypeError(f"{where} must be a list of numbers, got {values!r}") from None
    if not values:
        raise ValueError(f"{where}: expected at least one value, got an empty list")
    if allow_zero:
        return [check_positive_float(v, where, allow_zero=True) for v in values]
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float, np.number)):
            raise TypeError(f"{where}: expected numbers, got {v!r}")
        if not np.isfinite(v):
            raise ValueError(f"{where}: expected finite numbers, got {v!r}")
    return values
