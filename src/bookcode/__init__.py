"""bookcode: the numpy code of *Gradients, Backprop and Why Deep Nets Are Hard to Train*.

One module per idea; every chapter imports from here so the text and the code cannot drift.
"""

__version__ = "0.1.0"
