"""Conditional GAN (Mirza & Osindero 2014): G and D both told the class.

    min_G max_D  Σ_(x,c)∈D_real log D(x, c) + Σ_(z,c)∈D_rand log(1 − D(G(z, c), c))

    G(z, c) = DCGenerator([z, E_g(c)])                  E_g: num_classes × embed_dim, joined to z
    D(x, c) = ψ(φ(x)) + ⟨E_d(c), φ(x)⟩                  projection discriminator (Miyato & Koyama 2018), or
    D(x, c) = DCDiscriminator([x, E_d(c) as maps])      d_condition=concat: the label as input channels

φ(x) is DCGAN's last feature grid, ψ its score head. The generator minimises the config's loss
(non-saturating by default); the fakes of a step use the labels of the real batch, so classes are
drawn as often as in the data. Recipe: ``game.RECIPES[loss]`` (``DCGAN_RECIPE`` for the default loss:
Adam 2e-4, β = (0.5, 0.999), k = 1); G is sampled from an EMA of its weights (decay 0.99).

Labels (``sample``, ``decode``, ``critic``) are class indices (an int, or N labels) or N×C class
weights: the embedding is then weights @ E.weight, which lets the latent tools interpolate between
classes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from torch import Tensor

from ...errors import ConfigError
from ...nn.gan import DCDiscriminator, DCGenerator
from ...registry import register
from ..base import LabelSpace, Range
from .game import GAN, DCGANConfig, d_norm


@dataclass
class ConditionalGANConfig(DCGANConfig):
    """Keys shared by the class-conditional GANs (cgan, acgan)."""

    num_classes: Annotated[int, Range(0)] = 10   # classes G draws; replaced by the data's number of classes
    embed_dim: Annotated[int, Range(1)] = 32   # size of G's class embedding E_g(c), joined to z
    minibatch_std: bool = False             # D's score head also sees the batch's feature spread
    ema: bool = True                        # sample from an exponential moving average of G's weights
    ema_decay: Annotated[float, Range(0, 1, low_open=True, high_open=True)] = 0.99   # per G step: an average over the last ~100 steps


class ClassConditionalGAN(GAN):
    """A GAN whose y is a class it is trained on (labels are required)."""

    @property
    def label_space(self) -> LabelSpace:
        return self.class_label_space()


@dataclass
class CGANConfig(ConditionalGANConfig):
    d_condition: Literal["projection", "concat"] = "projection"   # how D reads the class (docs/gans-conditional.md)
    d_embed_dim: Annotated[int, Range(1)] = 10   # concat only: label-map channels added to the image


@register("cgan", CGANConfig, "Conditional GAN (Mirza & Osindero): label embedding into G and a projection D; "
          "generate a requested class")
class CGAN(ClassConditionalGAN):
    def __init__(self, config: CGANConfig):
        if config.embed_dim < 1 or config.d_embed_dim < 1:
            raise ConfigError(f"embed_dim and d_embed_dim must be at least 1, got {config.embed_dim}, "
                              f"{config.d_embed_dim}")
        k = config.num_classes
        concat = config.d_condition == "concat"
        super().__init__(
            config,
            generator=DCGenerator(config.latent_dim, config.image_shape, config.g_width,
                                  classes=k, embed_dim=config.embed_dim),
            discriminator=DCDiscriminator(config.image_shape, config.d_width, d_norm(config),
                                          projection=0 if concat else k,
                                          label_channels=(k, config.d_embed_dim) if concat else None,
                                          minibatch_std=config.minibatch_std, spectral_norm=config.spectral_norm,
                                          augment=config.diff_augment))

    def critic(self, x: Tensor, y=None) -> Tensor:
        """D(x, y): the discriminator judges an image together with its class."""
        return self.discriminator(x, self.require_labels(y, len(x), weights=True))


__all__ = ["CGAN", "CGANConfig", "ClassConditionalGAN", "ConditionalGANConfig"]
