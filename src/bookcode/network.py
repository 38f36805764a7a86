"""Networks: a ``Sequential`` stack of layers that is itself a layer.

Forward runs the layers in order (``Y^0 = X``, ``Y^l = layer_l(Y^{l-1})``); backward
runs them in reverse, each layer turning ``dE/dY`` into ``dE/dX`` and filling its
parameter gradients. Because a ``Sequential`` follows the Layer protocol, it can be
nested (a residual block's inner branch, later).
"""

from __future__ import annotations

import numpy as np

from . import layers as _layers
from ._validate import check_positive_int

__all__ = ["Sequential", "mlp"]


class Sequential(_layers.Layer):
    """A stack of layers following the Layer protocol.

    Parameters
    ----------
    layers : sequence of Layer
        Anything with ``forward``, ``backward``, ``params`` and ``grads``.

    Notes
    -----
    ``parameters()`` yields ``(key, param, grad)`` with keys ``"<layer index>.<name>"``
    (``"0.W"``, ``"0.b"``, ``"2.W"``, …), so optimizers, gradient checks and monitors
    work on any network.

    Implements eqs. (forward-pass) and (backprop-recursion) in chapters/03_backprop.
    """

    def __init__(self, layers):
        super().__init__()
        layers = list(layers)
        if not layers:
            raise ValueError(
                "Sequential: expected at least one layer, got an empty list"
            )
        for i, layer in enumerate(layers):
            missing = [
                a
                for a in ("forward", "backward", "params", "grads")
                if not hasattr(layer, a)
            ]
            if missing:
                raise TypeError(
                    f"Sequential: layer {i} ({type(layer).__name__}) does not follow "
                    f"the Layer protocol; missing {', '.join(missing)}"
                )
        self.layers = layers
        self.outputs = []  # Y^0 … Y^L of the last forward pass (used by diagnostics)

    # The protocol's params/grads dicts, flattened with layer-indexed keys (views of the
    # layers' arrays).
    @property
    def params(self):
        return {k: p for k, p, _ in self.parameters()}

    @params.setter
    def params(self, value):  # Layer.__init__ assigns an empty dict
        pass

    @property
    def grads(self):
        return {k: g for k, _, g in self.parameters()}

    @grads.setter
    def grads(self, value):
        pass

    @property
    def training(self):
        return all(
            getattr(layer, "training", True) for layer in getattr(self, "layers", [])
        )

    @training.setter
    def training(self, mode):
        for layer in getattr(self, "layers", []):
            layer.training = bool(mode)

    def train(self):
        """Switch every layer to training mode; returns self."""
        self.training = True
        return self

    def eval(self):
        """Switch every layer to inference mode; returns self."""
        self.training = False
        return self

    def parameters(self):
        """Yield ``(key, param, grad)`` for every parameter, in layer order."""
        for i, layer in enumerate(self.layers):
            if isinstance(layer, Sequential):
                for k, p, g in layer.parameters():
                    yield f"{i}.{k}", p, g
            else:
                for name, p in layer.params.items():
                    yield f"{i}.{name}", p, layer.grads.get(name)

    def forward(self, X):
        Y = X
        self.outputs = [np.asarray(X)]
        for layer in self.layers:
            Y = layer.forward(Y)
            self.outputs.append(Y)
        self._cache = True
        return Y

    def backward(self, dY):
        self._need_cache()
        self.deltas = [None] * len(
            self.layers
        )  # dE/d(input of layer i), filled in reverse
        for i in range(len(self.layers) - 1, -1, -1):
            dY = self.layers[i].backward(dY)
            self.deltas[i] = dY
        return dY

    def zero_grad(self):
        for layer in self.layers:
            layer.zero_grad()

    def n_params(self):
        """Total number of scalar parameters."""
        return int(sum(p.size for _, p, _ in self.parameters()))

    def __len__(self):
        return len(self.layers)

    def __getitem__(self, i):
        return self.layers[i]

    def __iter__(self):
        return iter(self.layers)

    def __repr__(self):
        inner = ",\n  ".join(repr(layer) for layer in self.layers)
        return f"Sequential(\n  {inner}\n)"


def mlp(
    sizes,
    activation="sigmoid",
    output_activation=None,
    init="xavier_normal",
    rng=None,
    **act_kwargs,
):
    """Build a fully connected network ``Linear → f → … → Linear [→ output
    activation]``.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths ``[n_0, n_1, …, n_L]`` (input width first); at least two entries.
    activation : str
        Hidden activation name (see :func:`bookcode.activations.get`); ``act_kwargs`` go
        to it.
    output_activation : str or None
        Activation after the last Linear; ``None`` leaves the output linear (logits for
        the fused cross-entropy losses).
    init : str or callable
        Initializer for every ``Linear`` (see :mod:`bookcode.init`).
    rng : Generator or int
        Seed for the initializer (one generator is shared by all layers, in order).

    Implements eq. (forward-pass) in chapters/03_backprop.
    """
    from ._validate import as_rng

    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(
            f"mlp: expected at least two sizes [n_in, …, n_out], got {sizes}"
        )
    sizes = [check_positive_int(s, f"mlp: sizes[{i}]") for i, s in enumerate(sizes)]
    gen = as_rng(rng, where="mlp") if rng is not None else None
    from .init import MissingSeed

    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        try:
            layers.append(_layers.Linear(n_in, n_out, init=init, rng=gen))
        except MissingSeed:
            name = (
                init
                if isinstance(init, str)
                else getattr(init, "__name__", "your initializer")
            )
            raise MissingSeed(
                f"mlp({sizes}, init={name!r}) draws random weights and needs a seed: "
                "pass rng=<an int seed> (e.g. mlp(..., rng=0)) or "
                "rng=bookcode.rng(seed)"
            ) from None
        last = i == len(sizes) - 2
        if not last:
            layers.append(_layers.Activation(activation, **act_kwargs))
        elif output_activation is not None:
            layers.append(_layers.Activation(output_activation))
    return Sequential(layers)
