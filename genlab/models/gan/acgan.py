"""Auxiliary Classifier GAN (Odena et al. 2017): D is unconditional but also predicts the class.

    L_S = E[log P(S = real | X_real)] + E[log P(S = fake | X_fake)]
    L_C = E[log P(C = c | X_real)] + E[log P(C = c | X_fake)]
    D is trained to maximize L_S + L_C,  G to maximize L_C − L_S

    G(z, c) = DCGenerator([z, E(c)])                     cgan's generator
    D(x)    = (ψ(φ(x)), softmax(W φ(x)))                 one body φ, a source head ψ and a class head W

Minimised here: D: −L_S − λ_C·L_C;  G: the config's generator loss on S (by default the
non-saturating −E[log P(S = real | X_fake)] in place of E[log P(S = fake | X_fake)], as for any GAN)
+ λ_C·(−E[log P(C = c | X_fake)]) + λ_ms·the mode-seeking term (Mao et al. 2019) over pairs of
fakes that share c and differ in z. With ``loss=minimax``, λ_C = 1, ``fake_class_weight=1`` and
λ_ms = 0 these are exactly −(L_S + L_C) and −(L_C − L_S) up to terms G cannot change. Other
``loss=`` values replace the source terms by that loss; the class terms stay cross-entropies.

Defaults that differ from the paper (measured on mnist5k in docs/gans-conditional.md): D's L_C on
real images only (``fake_class_weight=0``), λ_C = 2, D's rate twice G's (``lr_d``), the mode-seeking
term and a minibatch-std channel in D. Recipe otherwise ``game.RECIPES[loss]`` (``DCGAN_RECIPE``
for the default loss: Adam 2e-4 for G, here 4e-4 for D, β = (0.5, 0.999), k = 1).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Optional

import torch
from torch import Tensor

from ...errors import ConfigError
from ...nn.gan import DCDiscriminator, DCGenerator
from ...registry import register
from ..base import Range
from .cgan import ClassConditionalGAN, ConditionalGANConfig
from .game import (PROBABILITY_LOSSES, acgan_discriminator_loss, acgan_generator_loss, class_log_likelihood, d_norm,
                   source_log_likelihood)


@dataclass
class ACGANConfig(ConditionalGANConfig):
    class_weight: Annotated[float, Range(0)] = 2.0   # λ_C, the weight of the class terms (the paper: 1)
    fake_class_weight: Annotated[float, Range(0)] = 0.0   # weight of L_C's term on generated images in D's loss (the paper: 1)
    diversity_weight: Annotated[float, Range(0)] = 0.1   # λ_ms, the weight of the mode-seeking term in G's loss; 0: off
    lr_d: Annotated[Optional[float], Range(0, low_open=True)] = 4e-4   # D's (and its classifier's) learning rate; G's is lr
    minibatch_std: bool = True              # D's score head also sees the batch's feature spread


@register("acgan", ACGANConfig, "Auxiliary Classifier GAN (Odena et al.): D also predicts the class; "
          "generate a requested class")
class ACGAN(ClassConditionalGAN):
    default_epochs = 24

    def __init__(self, config: ACGANConfig):
        if config.embed_dim < 1:
            raise ConfigError(f"embed_dim must be at least 1, got {config.embed_dim}")
        if config.class_weight < 0:
            raise ConfigError(f"class_weight must be non-negative, got {config.class_weight}")
        k = config.num_classes
        super().__init__(
            config,
            generator=DCGenerator(config.latent_dim, config.image_shape, config.g_width,
                                  classes=k, embed_dim=config.embed_dim),
            discriminator=DCDiscriminator(config.image_shape, config.d_width, d_norm(config), classifier=k,
                                          minibatch_std=config.minibatch_std, spectral_norm=config.spectral_norm,
                                          augment=config.diff_augment))

    def heads(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(source logit N, class logits N×C) from one pass through D's body."""
        d = self.discriminator
        h = d.features(x)
        return d.score(h), d.classifier(h.flatten(1))

    def critic(self, x: Tensor, y=None) -> Tensor:
        self.labels(y, len(x), weights=True)
        return self.heads(x)[0]

    @torch.no_grad()
    def classify(self, x: Tensor) -> Tensor:
        """The auxiliary classifier's label for images in [0, 1]."""
        return self.heads(self.to_signed(x.to(self.device)))[1].argmax(1)

    def d_loss(self, x: Tensor, y: Tensor, fake: Tensor, z: Tensor, c: Tensor) -> dict:
        cfg = self.config
        real_src, real_cls = self.heads(x)
        fake_src, fake_cls = self.heads(fake)
        loss = acgan_discriminator_loss(cfg.loss, real_src, fake_src, real_cls, y, fake_cls, c, cfg.class_weight,
                                        cfg.label_smoothing, cfg.ls_a, cfg.ls_b, cfg.fake_class_weight)
        out = {"loss": loss, **self.scores(real_src, fake_src),
               "acc_real": (real_cls.argmax(1) == y).float().mean(),
               "acc_fake": (fake_cls.argmax(1) == c).float().mean(),
               "L_C": class_log_likelihood(real_cls, y, fake_cls, c).detach()}
        if cfg.loss in PROBABILITY_LOSSES:
            out["L_S"] = source_log_likelihood(real_src, fake_src).detach()
        return out

    def generator_noise(self, n: int, y: Tensor) -> tuple[Tensor, Tensor]:
        if self.config.diversity_weight > 0 and n >= 2:   # the first half's labels twice, each with its own z
            y = y[: n // 2].repeat(2)
        return self.noise(len(y), y)

    def g_loss(self, fake: Tensor, z: Tensor, c: Tensor) -> dict:
        cfg = self.config
        fake_src, fake_cls = self.heads(fake)
        out = {"loss": acgan_generator_loss(cfg.loss, fake_src, fake_cls, c, cfg.class_weight, cfg.ls_c),
               "acc_fake": (fake_cls.argmax(1) == c).float().mean().detach()}
        return self.add_mode_seeking(out, fake, z, cfg.diversity_weight)


__all__ = ["ACGAN", "ACGANConfig"]
