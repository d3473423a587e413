"""genlab: train, compare, inspect and apply classic deep generative models.

    >>> import genlab
    >>> data = genlab.load_data("mnist5k")
    >>> model = genlab.create("vae", latent_dim=2, image_shape=data.shape)
    >>> genlab.train(model, data, epochs=5, out="runs/vae")
    >>> genlab.load("runs/vae").sample(16)
    >>> genlab.report("runs/vae")            # -> runs/vae/report.html
"""
from . import models  # noqa: F401  (importing the model files registers the built-in models)
from ._version import __version__
from .data import ImageData, load_data
from .errors import GenlabError
from .registry import names as list_models
from .runs import create, load
from .train import TrainResult, resume, train

__all__ = ["__version__", "create", "load", "train", "resume", "report", "list_models", "load_data", "ImageData",
           "GenlabError", "TrainResult"]


def report(run, data: ImageData | None = None):
    """(Re)build ``RUN/report.html`` from a run folder and return its path (what ``genlab report RUN`` does).
    ``data`` replaces the held-out images the report draws from (default: the run's own data spec)."""
    from .apps.report import build_report  # imported on use: the report pulls in plotting

    return build_report(run, data=data)
