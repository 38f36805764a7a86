"""Display helpers: what the chapters use to show code, figures and explorers.

- ``source``: ``show_source``, a chapter shows bookcode's own code (also
  ``bookcode.show_source``)
- ``plotting``: the house style and the book's recurring plots
- ``widgets``: ``explorer``, sliders that run live in a kernel and from precomputed
  frames in the HTML
- ``blit``: fast redrawing of a figure's changing artists for the explorers
- ``panels``: the four-monitor panel of a training run (chapter 10)
- ``diagrams``: schematic diagrams drawn in code (the Layer protocol, batch
  normalization's data flow, residual blocks)
- ``prose``: ``say`` publishes a computed number for ``{eval}`name``` in the text, and
  ``show_figure`` makes a figure its cell's output (the HTML and a live notebook alike)

Display code may import the framework and matplotlib/ipywidgets; neither the framework
nor the experiments import it. Importing this package is cheap: matplotlib and
ipywidgets load only with ``plotting``, ``widgets``, ``blit`` or ``panels``.
"""

from .prose import say, show_figure
from .source import SourceBlock, show_source

__all__ = ["show_source", "SourceBlock", "say", "show_figure"]

from .._lazy import lazy_submodules  # noqa: E402

_MODULES = ("source", "plotting", "widgets", "blit", "panels", "diagrams")


__getattr__, __dir__ = lazy_submodules(__name__, _MODULES)
