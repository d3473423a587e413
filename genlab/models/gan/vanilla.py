"""The vanilla GAN (Goodfellow et al. 2014): two multilayer perceptrons playing the minimax game.

    min_G max_D  E_x[log D(x)] + E_z[log(1 − D(G(z)))],   z ~ N(0, I)

    G   z → Linear 256 → LeakyReLU → Linear 512 → LeakyReLU → Linear → Tanh → 1×28×28   (g_hidden)
    D   x → Flatten → Linear 512 → LeakyReLU → Dropout → Linear 256 → … → Linear → logit  (d_hidden)

Trained as Algorithm 1 (k D steps, then one G step) with the config's loss, by default the
non-saturating −log D(G(z)) for G, and that loss's recipe from ``game.RECIPES``: for the default
``nonsaturating``, ``DCGAN_RECIPE`` (Adam 2e-4, β = (0.5, 0.999), k = 1).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from ...nn.gan import MLPDiscriminator, MLPGenerator
from ...registry import register
from ..base import Range
from .game import GAN, GANConfig


@dataclass
class MLPGANConfig(GANConfig):
    g_hidden: Annotated[tuple[int, ...], Range(1)] = (256, 512)   # G's hidden widths, from z outwards
    d_hidden: Annotated[tuple[int, ...], Range(1)] = (512, 256)   # D's hidden widths, from the image inwards
    dropout: Annotated[float, Range(0, 1, high_open=True)] = 0.3   # dropout probability after each of D's hidden layers (as the paper's D)


@register("gan", MLPGANConfig, "Vanilla GAN (Goodfellow et al. 2014): MLP G and D, k D-steps per G-step")
class MLPGAN(GAN):
    def __init__(self, config: MLPGANConfig):
        super().__init__(
            config,
            generator=MLPGenerator(config.latent_dim, config.g_hidden, config.image_shape),
            discriminator=MLPDiscriminator(config.image_shape, config.d_hidden, config.dropout,
                                           spectral_norm=config.spectral_norm, augment=config.diff_augment))


__all__ = ["MLPGAN", "MLPGANConfig"]
