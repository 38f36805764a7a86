"""The chapters' experiments: the code that measures what the text claims.

Each module serves one or two chapters and builds on the framework at the top of
``bookcode`` (layers, networks, losses, optimizers, data). Experiments return numbers
and arrays; they never draw (that is :mod:`bookcode.display`) and never import the
exercise checkers. The framework never imports them.

- ``descent``: gradient-descent runners on 2-D surfaces; ``surfaces``: those surfaces
  (chapter 1)
- ``perceptron``: the perceptron and the Delta rule (chapter 2)
- ``backprop_loop``: backpropagation written as per-example, per-weight loops (chapter
  3)
- ``activation_study``: linear collapse, dead units, activation timing, markdown tables
  (chapter 4)
- ``gradient_flow``: products of Jacobians, Gaussian MLPs, learning speed per layer
  (chapter 5)
- ``precision``: float16/bfloat16/float32 formats, loss scaling, NaN/inf causes (chapter
  5)
- ``regularization_study``: step logs for clipping and penalty runs, L1 sparsity,
  proximal L1 (chapter 6)
- ``pretraining``: greedy layer-wise autoencoder pretraining (chapter 6)
- ``init_study``: variance recursions and per-layer statistics of deep nets by
  initialisation (chapter 7)
- ``bn_study``: plain and BN MLPs, several trained at once (chapter 8)
- ``residual_study``: deep plain and residual MLPs, per-block gradient norms and
  variances (chapter 9)
- ``residual_batch``: plain and residual nets and seeds trained together as stacked
  arrays (chapter 9)
- ``stacked``: several networks of one architecture (other seeds) trained at once, one
  History each (chapter 10)
- ``recurrent_study``: gradients by time lag in RNNs and LSTMs, the adding problem,
  (chapter 11)
- ``recurrent_blocks``: several recurrent nets (seeds) as one block-diagonal net
  (chapter 11)
- ``adaptive_study``: per-layer update ratios under SGD and Adam, Adam's step trace
  (chapter 12)
- ``norm_study``: pre-norm and post-norm residual MLPs, their gradients at
  initialisation, Adam with and without warm-up (chapter 12)

Import them by name: ``from bookcode.experiments import gradient_flow``.
"""

from .._lazy import lazy_submodules

_MODULES = (
    "descent",
    "surfaces",
    "perceptron",
    "backprop_loop",
    "activation_study",
    "gradient_flow",
    "precision",
    "regularization_study",
    "pretraining",
    "init_study",
    "bn_study",
    "residual_study",
    "residual_batch",
    "stacked",
    "recurrent_study",
    "recurrent_blocks",
    "adaptive_study",
    "norm_study",
)


__getattr__, __dir__ = lazy_submodules(__name__, _MODULES)
