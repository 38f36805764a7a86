"""bookcode: the numpy code of *Gradients, Backprop and Why Deep Nets Are Hard to Train*.

One module per idea; every chapter imports from here so the text and the code cannot drift.

- ``activations``: identity, sigmoid, tanh, ReLU family, softplus, softmax
- ``losses``: ½‖t−y‖², MSE, (fused) binary and softmax cross-entropy
- ``layers``: the Layer protocol: ``Linear``, ``Activation``
- ``network``: ``Sequential`` and ``mlp``
- ``init``: constant, normal, uniform, Xavier/Glorot, He/Kaiming
- ``optim``: SGD with momentum, clipping, L1/L2 penalties
- ``train``: the training loop and its ``History``
- ``gradcheck``: finite-difference gradient checks
- ``data``: seeded toy sets and the bundled digits set
- ``diagnostics``: per-layer monitors and the NaN/inf guard
- ``plotting``: the house style and the book's plots
- ``widgets``: the explorer helper (live sliders, static frames)
- ``surfaces``: 2-D loss surfaces for chapter 1
- ``descent``: gradient-descent runners for chapter 1
- ``perceptron``: the perceptron and the Delta rule (chapter 2)
- ``backprop_loop``: the per-example, per-weight backprop of the source notes (chapter 3)
- ``activation_study``: linear collapse, dead units, activation timing, markdown tables (chapter 4)
- ``gradient_flow``: products of Jacobians, Gaussian MLPs, learning speed per layer (chapter 5)
- ``precision``: float16/bfloat16/float32 formats, loss scaling, NaN/inf causes (chapter 5)
- ``pretraining``: greedy layer-wise autoencoder pretraining (chapter 6)
- ``regularization_study``: step logs for clipping and penalty experiments, L1 sparsity, proximal L1 (chapter 6)
- ``init_study``: variance recursions and per-layer statistics of deep nets by initialisation (chapter 7)
- ``batchnorm``: the Batch Normalization layer, forward and backward (chapter 8)
- ``bn_study``: plain and BN MLPs, several trained at once (chapter 8)
- ``residual``: the residual block ``Residual`` (chapter 9)
- ``residual_study``: deep plain and residual MLPs, per-block gradient norms and variances (chapter 9)
- ``residual_batch``: plain and residual nets and seeds trained together as stacked arrays (chapter 9)
- ``monitor``: the training monitor panel and update:data ratios (chapter 10)
- ``seeding``: int seeds to generators (the ``BOOKCODE_SEED_OFFSET`` switch), one BLAS thread
- ``display``: showing bookcode's source in a chapter
- ``exercises``: checkers for the coding exercises
"""

from importlib import import_module as _import_module

__version__ = "0.1.0"

_MODULES = ("activations", "losses", "layers", "network", "init", "optim", "train", "gradcheck", "data",
            "diagnostics", "plotting", "widgets", "surfaces", "descent", "perceptron", "backprop_loop", "activation_study", "gradient_flow", "precision",
            "pretraining", "regularization_study", "init_study", "batchnorm", "bn_study", "residual", "residual_study",
            "residual_batch", "monitor", "seeding", "display", "exercises")


def __getattr__(name):
    """Import submodules on first use (``bookcode.plotting`` …) so ``import bookcode`` stays fast."""
    if name in _MODULES:
        module = _import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'bookcode' has no attribute {name!r}; submodules: {', '.join(_MODULES)}")


def __dir__():
    return sorted(list(globals()) + list(_MODULES))


from .display import show_source  # noqa: E402  (the one helper every chapter uses)
from .seeding import limit_blas_threads as _limit_blas_threads  # noqa: E402
from .seeding import rng  # noqa: E402,F401  (every generator a chapter makes: bookcode.rng(seed))

_limit_blas_threads()  # bookcode's matrices are small: one BLAS thread unless the reader chose (seeding.py)
