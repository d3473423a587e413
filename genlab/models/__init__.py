"""One file per model family; importing this package registers them all."""
from . import ae, vae  # noqa: F401
from .base import GenerativeModel, ModelConfig, Player

__all__ = ["GenerativeModel", "ModelConfig", "Player"]
