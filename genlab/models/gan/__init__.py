"""The GAN family: losses, the vanilla GAN, DCGAN (conditional and structured models beside them)."""
from . import core, dcgan, losses  # noqa: F401
from . import conditional, infogan  # noqa: F401
from .core import GAN, GANConfig

__all__ = ["GAN", "GANConfig"]
