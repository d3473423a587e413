"""The GAN family: the game (losses, recipes, the two-player base) and one file per model."""
from . import game  # noqa: F401
from . import acgan, cgan, dcgan, infogan, vanilla  # noqa: F401
from .game import GAN, DCGANConfig, GANConfig, recipe

__all__ = ["GAN", "GANConfig", "DCGANConfig", "recipe"]
