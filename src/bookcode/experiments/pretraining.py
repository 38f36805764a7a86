"""Greedy layer-wise pretraining with autoencoders, on the Layer protocol.

The recipe of Bengio et al. (2007), with autoencoders in place of the RBMs of Hinton &
Salakhutdinov (2006):

1. train an autoencoder ``x → h = f(x W¹ + b¹) → h V¹ + c¹ ≈ x`` on the inputs; keep its
   encoder;
2. feed the inputs through the trained encoder and train the next autoencoder on the
   codes; repeat;
3. stack the encoders, put a fresh output layer on top, and fine-tune the whole network
   with backprop.

Every autoencoder is a :class:`bookcode.network.Sequential` ``[Linear, Activation,
Linear]`` with a linear decoder, trained on the mean squared reconstruction error with
:class:`bookcode.optim.SGD`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import losses as _losses
from .._validate import (
    as_batch,
    as_float_array,
    as_rng,
    check_positive_float,
    check_positive_int,
)
from ..data import minibatches
from ..layers import Activation, Linear
from ..network import Sequential
from ..optim import SGD

__all__ = [
    "autoencoder",
    "train_autoencoder",
    "pretrain_autoencoders",
    "fold_standardization",
    "Pretrained",
    "stack_encoders",
]


def _check_sizes(sizes, where, minimum=2):
    try:
        sizes = list(sizes)
    except TypeError:
        raise TypeError(
            f"{where}: sizes must be a sequence of layer widths, got {sizes!r}"
        ) from None
    if len(sizes) < minimum:
        raise ValueError(
            f"{where}: expected at least {minimum} sizes [n_in, n_1, …], got {sizes}"
        )
    return [check_positive_int(s, f"{where}: sizes[{i}]") for i, s in enumerate(sizes)]


def autoencoder(n_in, n_hidden, *, activation="sigmoid", rng, init="xavier_normal"):
    """Return the autoencoder ``Sequential([Linear(n_in, n_hidden), Activation,
    Linear(n_hidden, n_in)])``.

    Layer 0 is the encoder kept by :func:`pretrain_autoencoders`; layer 2 is a linear
    decoder.

    Implements eq. (tg-autoencoder) in chapters/06_taming_gradients.
    """
    gen = as_rng(rng, where="autoencoder")
    n_in, n_hidden = (
        check_positive_int(n_in, "n_in"),
        check_positive_int(n_hidden, "n_hidden"),
    )
    return Sequential(
        [
            Linear(n_in, n_hidden, init=init, rng=gen),
            Activation(activation),
            Linear(n_hidden, n_in, init=init, rng=gen),
        ]
    )


def train_autoencoder(ae, X, *, epochs, lr, rng, batch_size=32, momentum=0.9):
    """Train ``ae`` to reconstruct ``X`` (mean squared error, mini-batch SGD); return
    the loss per epoch.

    Returns
    -------
    ndarray, shape (epochs + 1,)
        The reconstruction error on all of ``X`` before training and after every epoch.

    Implements eq. (tg-autoencoder) in chapters/06_taming_gradients.
    """
    if not (
        hasattr(ae, "forward")
        and hasattr(ae, "backward")
        and callable(getattr(ae, "parameters", None))
    ):
        raise TypeError(
            "train_autoencoder: expected a Sequential autoencoder, got "
            f"{type(ae).__name__}"
        )
    X = as_batch(X, None, where="train_autoencoder")
    epochs = check_positive_int(epochs, "epochs", minimum=0)
    batch_size = check_positive_int(batch_size, "batch_size")
    gen = as_rng(rng, where="train_autoencoder")
    opt = SGD(lr=check_positive_float(lr, "lr"), momentum=momentum)
    mse = _losses.MSE()
    history = [mse.value(ae.forward(X), X)]
    for _ in range(epochs):
        for idx in minibatches(len(X), batch_size, gen):
            Xb = X[idx]
            ae.backward(mse.grad(ae.forward(Xb), Xb))
            opt.step(ae)
        history.append(mse.value(ae.forward(X), X))
    return np.array(history)


@dataclass
class Pretrained:
    """The result of :func:`pretrain_autoencoders`.

    Attributes
    ----------
    encoders : list of Linear
        The trained encoder of every autoencoder, input side first.
    recon_loss : list of ndarray
        The reconstruction error of every autoencoder, before training and after each
        epoch.
    activation : str
        The hidden activation the encoders were trained with.
    """

    encoders: list
    recon_loss: list = field(default_factory=list)
    activation: str = "sigmoid"

    def __repr__(self):
        sizes = (
            [self.encoders[0].n_in] + [e.n_out for e in self.encoders]
            if self.encoders
            else []
        )
        final = ", ".join(f"{r[-1]:.3g}" for r in self.recon_loss)
        return (
            f"Pretrained(sizes={sizes}, activation={self.activation!r}, final "
            f"reconstruction errors [{final}])"
        )


def pretrain_autoencoders(
    sizes,
    X,
    *,
    epochs,
    lr,
    rng,
    batch_size=32,
    momentum=0.9,
    activation="sigmoid",
    init="xavier_normal",
    standardize=True,
):
    """Greedy layer-wise pretraining: one autoencoder per hidden layer, each on the
    codes of the last.

    Parameters
    ----------
    sizes : sequence of int
        ``[n_0, n_1, …, n_K]``: input width, then the widths of the ``K`` hidden layers
        to pretrain.
    X : array (N, n_0)
        Unlabelled training inputs.
    epochs, lr, batch_size, momentum
        Training of every autoencoder (see :func:`train_autoencoder`).
    rng : Generator or int
        Seeds the initialisation and the shuffling of every autoencoder.
    activation : str
        Hidden activation of the encoders (and of the network built by
        :func:`stack_encoders`).
    standardize : bool, default True
        Train every autoencoder on its inputs standardised per feature, ``z = (h − m) /
        s``, and fold the standardisation into the kept encoder
        (:func:`fold_standardization`), so that the encoders apply to the raw codes.
        Without it, sigmoid codes lose variance from layer to layer and the deeper
        autoencoders have almost nothing to reconstruct.

    Returns
    -------
    Pretrained

    Implements eq. (tg-autoencoder) and the greedy procedure of
    chapters/06_taming_gradients.
    """
    sizes = _check_sizes(sizes, "pretrain_autoencoders")
    X = as_batch(X, sizes[0], where="pretrain_autoencoders")
    gen = as_rng(rng, where="pretrain_autoencoders")
    if not isinstance(standardize, bool):
        raise TypeError(
            "pretrain_autoencoders: standardize must be True or False, got "
            f"{standardize!r}"
        )
    encoders, recon, codes = [], [], X
    for n_in, n_hidden in zip(sizes[:-1], sizes[1:]):
        mean, std = codes.mean(axis=0), codes.std(axis=0)
        std = np.where(std > 1e-8, std, 1.0)  # a constant feature stays 0, never 0/0
        inputs = (codes - mean) / std if standardize else codes
        ae = autoencoder(n_in, n_hidden, activation=activation, rng=gen, init=init)
        recon.append(
            train_autoencoder(
                ae,
                inputs,
                epochs=epochs,
                lr=lr,
                rng=gen,
                batch_size=batch_size,
                momentum=momentum,
            )
        )
        enc = (
            fold_standardization(ae.layers[0], mean, std)
            if standardize
            else ae.layers[0]
        )
        encoders.append(enc)
        codes = ae.layers[1].forward(
            enc.forward(codes)
        )  # the inputs of the next autoencoder
    return Pretrained(encoders, recon, activation)


def fold_standardization(linear, mean, std):
    """Return a new ``Linear`` that computes ``((x − mean) / std) W + b`` as ``x W' +
    b'``.

    ``W' = W / std[:, None]`` and ``b' = b − (mean / std) W``: the same function of
    ``x``, without a separate standardisation step.

    Implements eq. (tg-fold) in chapters/06_taming_gradients.
    """
    if not isinstance(linear, Linear):
        raise TypeError(
            "fold_standardization: expected a Linear layer, got "
            f"{type(linear).__name__}"
        )
    mean = as_float_array(mean, "mean", where="fold_standardization")
    std = as_float_array(std, "std", where="fold_standardization")
    if mean.shape != (linear.n_in,) or std.shape != (linear.n_in,):
        raise ValueError(
            f"fold_standardization: expected mean and std of shape ({linear.n_in},), "
            f"got {mean.shape} and {std.shape}"
        )
    if np.any(std <= 0):
        raise ValueError("fold_standardization: std must be > 0 everywhere")
    W = linear.W / std[:, None]
    out = Linear(linear.n_in, linear.n_out, init=W, bias=True)
    b = linear.b if linear.b is not None else np.zeros(linear.n_out)
    out.params["b"][...] = b - (mean / std) @ linear.W
    return out


def stack_encoders(pretrained, n_out, *, rng, init="xavier_normal"):
    """Build ``Linear → f → … → Linear → f → Linear(n_K, n_out)`` from copies of the
    pretrained encoders.

    The encoders' weights and biases are copied (fine-tuning does not change
    ``pretrained``); the output layer is new, initialised with ``init``. The output is
    linear (logits).

    Implements the fine-tuning network of chapters/06_taming_gradients.
    """
    if not isinstance(pretrained, Pretrained) or not pretrained.encoders:
        raise TypeError(
            f"stack_encoders: expected the Pretrained result of pretrain_autoencoders, "
            f"got {type(pretrained).__name__}"
        )
    n_out = check_positive_int(n_out, "n_out")
    gen = as_rng(rng, where="stack_encoders")
    layers = []
    for enc in pretrained.encoders:
        copy = Linear(enc.n_in, enc.n_out, init=enc.W.copy(), bias="b" in enc.params)
        if "b" in enc.params:
            copy.params["b"][...] = enc.b
        layers += [copy, Activation(pretrained.activation)]
    layers.append(Linear(pretrained.encoders[-1].n_out, n_out, init=init, rng=gen))
    return Sequential(layers)
