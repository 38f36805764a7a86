"""Lazy submodules: ``bookcode.optim`` imports ``optim`` on first use, so ``import
bookcode`` stays fast (and ``import bookcode.display`` does not pull in matplotlib)."""

from __future__ import annotations

import importlib


def lazy_submodules(package, names):
    """``(__getattr__, __dir__)`` for a package whose submodules ``names`` load on use.

    ``package`` is the package's ``__name__``; assign the two functions to the
    module-level ``__getattr__`` and ``__dir__`` of its ``__init__``.
    """
    names = tuple(names)

    def __getattr__(name):
        if name in names:
            module = importlib.import_module(f"{package}.{name}")
            setattr(importlib.import_module(package), name, module)
            return module
        raise AttributeError(
            f"module {package!r} has no attribute {name!r}; its modules: "
            f"{', '.join(names)}"
        )

    def __dir__():
        return sorted(set(vars(importlib.import_module(package))) | set(names))

    return __getattr__, __dir__
