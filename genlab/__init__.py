"""genlab: train, compare, inspect and apply classic deep generative models.

    >>> import genlab
    >>> data = genlab.load_data("mnist5k")
    >>> model = genlab.create("vae", latent_dim=2, image_shape=data.shape)
    >>> genlab.train(model, data, epochs=5, out="runs/vae")
    >>> genlab.load("runs/vae").sample(16)
    >>> genlab.report("runs/vae")            # -> runs/vae/report.html
"""
from __future__ import annotations

import importlib
import sys
import types

from ._version import __version__
from .errors import GenlabError

__all__ = ["__version__", "create", "load", "train", "resume", "report", "list_models", "load_data", "ImageData",
           "GenlabError", "TrainResult"]

# The public names are imported on first use (PEP 562): `import genlab` and the quick commands
# (`genlab --version`, `genlab models`) must not pay for torch and Lightning (seconds).
# The registry imports the built-in models itself on its first lookup.
_LAZY = {
    "create": ("runs", "create"),
    "load": ("runs", "load"),
    "train": ("train", "train"),
    "resume": ("train", "resume"),
    "TrainResult": ("train", "TrainResult"),
    "list_models": ("registry", "names"),
    "load_data": ("data", "load_data"),
    "ImageData": ("data", "ImageData"),
}


def __getattr__(name: str):
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(f"{__name__}.{module}"), attr)
    else:
        # a subpackage read as an attribute (genlab.models, genlab.registry), as after an eager import
        try:
            value = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    globals()[name] = value   # later reads skip this function
    return value


class _Package(types.ModuleType):
    """``genlab.train`` is the function, as ``from genlab import train`` promises. The import system
    records each imported subpackage as an attribute of its parent, so a first ``from genlab.train
    import ...`` would otherwise replace the function with the subpackage ``genlab.train``."""

    def __setattr__(self, name: str, value) -> None:
        if name in _LAZY and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def report(run, data: ImageData | None = None):
    """(Re)build ``RUN/report.html`` from a run folder and return its path (what ``genlab report RUN`` does).
    ``data`` replaces the held-out images the report draws from (default: the run's own data spec)."""
    from .apps.report import build_report  # imported on use: the report pulls in plotting

    return build_report(run, data=data)
