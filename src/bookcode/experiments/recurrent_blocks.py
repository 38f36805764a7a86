"""Several recurrent nets as one block-diagonal net: seeds trained at once.

``K`` networks ``cell → LastStep → Linear(n, 1)`` of ``n`` hidden units each are one
network of ``K n`` units whose weight matrices are block-diagonal: network ``k`` reads
only its own input columns and its own hidden units, and has its own output column. The
gradients outside the blocks are set to zero before every step, so the blocks never
interact and each evolves exactly as it would alone (up to rounding), while one numpy
call per time step serves all of them.

Used by :func:`bookcode.experiments.recurrent_study.train_adding`.
"""

from __future__ import annotations

import numpy as np

from ..layers import Linear
from ..lstm import LSTM
from ..network import Sequential
from ..recurrent import RNN, LastStep

__all__ = ["block_diagonal", "mask_and_measure", "clip_per_network", "side_by_side"]


def block_diagonal(nets, cell):
    """One ``Sequential`` equivalent to the ``K`` nets side by side.

    Parameters
    ----------
    nets : list of Sequential
        ``[RNN or LSTM, LastStep(), Linear(n, 1)]`` each, built alike (other seeds).
    cell : {"rnn", "lstm"}

    Returns
    -------
    net : Sequential
        ``[cell(K n_in, K n), LastStep(), Linear(K n, K)]``.
    owners : dict of str to numpy.ndarray
        For every parameter key of ``net``, an int array of the parameter's shape: the
        net that owns each entry, −1 outside the blocks.

    Implements the seeds-at-once training of chapters/11_recurrent.
    """
    K = len(nets)
    n_in = nets[0].layers[0].n_in
    n = nets[0].layers[0].n_hidden
    G = 4 if cell == "lstm" else 1  # gate blocks in the stacked columns
    col_owner = np.tile(np.repeat(np.arange(K), n), G)  # (G K n,)
    row_in = np.repeat(np.arange(K), n_in)
    row_h = np.repeat(np.arange(K), n)
    own = {
        "0.W_x": np.where(row_in[:, None] == col_owner, col_owner, -1),
        "0.W_h": np.where(row_h[:, None] == col_owner, col_owner, -1),
        "0.b": col_owner,
        "2.W": np.where(row_h[:, None] == np.arange(K), np.arange(K), -1),
        "2.b": np.arange(K),
    }
    big = {key: np.zeros(o.shape) for key, o in own.items()}
    for k, net in enumerate(nets):
        small = net.params
        for key, B in big.items():
            B[own[key] == k] = _to_block(small[key], key, G).ravel()
    layer = (
        LSTM(n_in * K, n * K, W_x=big["0.W_x"], W_h=big["0.W_h"])
        if cell == "lstm"
        else RNN(
            n_in * K, n * K, nets[0].layers[0].f, W_x=big["0.W_x"], W_h=big["0.W_h"]
        )
    )
    layer.params["b"][...] = big["0.b"]
    head = Linear(n * K, K, init=big["2.W"])
    head.params["b"][...] = big["2.b"]
    return Sequential([layer, LastStep(), head]), own


def _to_block(p, key, G):
    """A small net's parameter in the order its entries take in the big one (row by
    row, gate block by gate block)."""
    if key.startswith("0.") and G > 1:  # (…, G n): the gate blocks stay in order
        return p.reshape(p.shape[:-1] + (G, -1))
    return p


def mask_and_measure(net, owners, K):
    """Zero the gradients outside the blocks (in place); return each net's squared
    gradient norm, shape (K,).

    Implements the seeds-at-once training of chapters/11_recurrent.
    """
    sq = np.zeros(K)
    for key, _, g in net.parameters():
        o = owners[key]
        g[o < 0] = 0.0
        inside = o >= 0
        sq += np.bincount(o[inside], weights=g[inside] ** 2, minlength=K)
    return sq


def clip_per_network(net, owners, norms, max_norm):
    """Scale each net's gradient (in place) to norm at most ``max_norm``, given its
    norm: chapter 6's global-norm clipping, one network at a time.

    Implements eq. (tg-clip-norm) in chapters/06_taming_gradients, per network.
    """
    scale = np.minimum(1.0, max_norm / np.maximum(norms, 1e-300))
    for key, _, g in net.parameters():
        o = owners[key]
        g *= np.where(o >= 0, scale[np.maximum(o, 0)], 0.0)


def side_by_side(pairs):
    """The data of several nets side by side: ``[(X, y), ...]`` with X (N, T, n_in)
    and y (N, 1) become X (N, T, K n_in) and y (N, K).

    Implements the seeds-at-once training of chapters/11_recurrent.
    """
    return (
        np.concatenate([X for X, _ in pairs], axis=2),
        np.concatenate([y for _, y in pairs], axis=1),
    )
