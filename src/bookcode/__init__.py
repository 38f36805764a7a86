"""bookcode: the numpy code of *Gradients, Backprop and Why Deep Nets Are Hard to
Train*.

Every chapter imports from here, so the text and the code cannot drift. The layout is
the architecture: a small numpy framework at the top, the chapters' experiments and the
display helpers in two subpackages, the exercise checkers in a third. Numerics never
import display, experiments or exercises; experiments return arrays and never draw
(import-linter checks both: the contracts are in pyproject.toml).

The framework (``bookcode.<module>``), the code a learner rebuilds:

- ``activations``: identity, sigmoid, tanh, ReLU family, softplus, GELU, SiLU,
  softmax
- ``losses``: ½‖t−y‖², MSE, (fused) binary and softmax cross-entropy
- ``layers``: the Layer protocol: ``Linear``, ``Activation``
- ``batchnorm``: the Batch Normalization layer, forward and backward
- ``layernorm``: ``LayerNorm`` and ``RMSNorm``, per-example normalization layers
- ``residual``: the residual block ``Residual``
- ``recurrent``: the simple recurrent layer ``RNN`` (backpropagation through time) and
  ``LastStep``
- ``lstm``: the ``LSTM`` layer
- ``network``: ``Sequential`` and ``mlp``
- ``init``: constant, normal, uniform, Xavier/Glorot, He/Kaiming
- ``optim``: SGD with momentum, clipping, L1/L2 penalties, learning-rate warm-up
- ``adam``: Adam and AdamW (also ``optim.Adam``, ``optim.AdamW``)
- ``train``: the training loop and its ``History``
- ``gradcheck``: finite-difference gradient checks
- ``data``: seeded toy sets, the adding problem and the bundled digits set
- ``diagnostics``: per-layer statistics and the NaN/inf guard
- ``monitor``: update:data ratios, gradient spread, ``summarize`` and ``diagnose``
- ``seeding``: int seeds to generators (the ``BOOKCODE_SEED_OFFSET`` switch), one BLAS
  thread

``bookcode.experiments``: what the chapters measure (they return arrays, never draw):
``descent``, ``surfaces`` (ch. 1), ``perceptron`` (2), ``backprop_loop`` (3),
``activation_study`` (4), ``gradient_flow``, ``precision`` (5),
``regularization_study``, ``pretraining`` (6), ``init_study`` (7), ``bn_study`` (8),
``residual_study``, ``residual_batch`` (9), ``stacked`` (10).

``bookcode.display``: ``show_source`` (a chapter shows bookcode's own code),
``plotting`` (the house style and the book's plots), ``widgets`` (the explorer: live
sliders, static frames), ``blit``, ``panels`` (the monitor panel of chapter 10).

``bookcode.exercises``: the checkers of the coding exercises, one module per chapter.
"""

from ._lazy import lazy_submodules

__version__ = "0.1.0"

_MODULES = (
    "activations",
    "losses",
    "layers",
    "batchnorm",
    "layernorm",
    "residual",
    "recurrent",
    "lstm",
    "network",
    "init",
    "optim",
    "adam",
    "train",
    "gradcheck",
    "data",
    "diagnostics",
    "monitor",
    "seeding",
    "experiments",
    "display",
    "exercises",
)


__getattr__, __dir__ = lazy_submodules(__name__, _MODULES)


# the helper every chapter uses; every generator a chapter makes: bookcode.rng(seed)
from .display.source import show_source  # noqa: E402, F401
from .seeding import limit_blas_threads as _limit_blas_threads  # noqa: E402
from .seeding import rng  # noqa: E402, F401

# bookcode's matrices are small: one BLAS thread unless the reader chose (seeding.py)
_limit_blas_threads()
