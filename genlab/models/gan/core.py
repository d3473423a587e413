"""The adversarial game on the player contract, and the vanilla MLP GAN (Goodfellow et al. 2014).

Algorithm 1 of the paper (seed 002): for each training iteration, k steps of the discriminator
on a minibatch of noise and of data, then one step of the generator. Here that is two players:
``discriminator`` with ``steps = k`` (WGAN's n_critic; ``after_step`` clips the critic's weights)
and ``generator``. Images are in [0, 1] outside and in [−1, 1] inside (Tanh output).

Each loss's recipe, unless the config overrides it:
    minimax / nonsaturating / lsgan / hinge   Adam 2e-4, β = (0.5, 0.999), k = 1   (DCGAN)
    wgan                                      RMSprop 5e-5, n_critic = 5, clip c = 0.01
    wgan-gp                                   Adam 1e-4, β = (0, 0.9), n_critic = 5, λ = 10
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Literal, Optional

import torch
from torch import Tensor, nn

from ...errors import ConfigError
from ...registry import register
from ..base import GenerativeModel, ModelConfig, Player
from .diffaugment import DiffAugment, parse_policy
from .losses import (LOSSES, PROBABILITY_LOSSES, apply_spectral_norm, clip_weights, discriminator_loss,
                     generator_loss, gradient_penalty)

LossName = Literal["minimax", "nonsaturating", "wgan", "wgan-gp", "lsgan", "hinge"]


@dataclass
class GANConfig(ModelConfig):
    latent_dim: int = 64
    loss: LossName = "nonsaturating"
    lr: Optional[float] = None              # generator (and discriminator) lr; None: the loss's recipe
    lr_d: Optional[float] = None            # two-time-scale: the discriminator's own lr (TTUR)
    optimizer: Literal["auto", "adam", "rmsprop", "sgd"] = "auto"
    beta1: Optional[float] = None           # Adam β1, β2; None: the loss's recipe
    beta2: Optional[float] = None
    d_steps: Optional[int] = None           # k (n_critic); None: 5 for wgan/wgan-gp, else 1
    label_smoothing: float = 0.0            # one-sided: real target 1 − s
    clip: float = 0.01                      # wgan: critic weights in [−c, c]
    gp_weight: float = 10.0                 # wgan-gp: λ
    ls_a: float = 0.0                       # lsgan: fake target a, real target b, generator target c
    ls_b: float = 1.0
    ls_c: float = 1.0
    spectral_norm: bool = False             # on every layer of the discriminator
    # the last share of the epochs over which both players' rates fall linearly towards 0 (pix2pix
    # and CycleGAN decay over the last half); 0: constant rates
    lr_decay: float = 0.0
    ema: bool = False                       # sample from an exponential moving average of G
    ema_decay: float = 0.999
    # DiffAugment (Zhao et al. 2020) on every image D sees while training: "color", "translation",
    # "cutout", comma-separated; "" none. For small datasets (a few thousand images or fewer).
    diff_augment: str = ""


RECIPES = {
    "wgan": {"optimizer": "rmsprop", "lr": 5e-5, "d_steps": 5, "betas": (0.9, 0.999)},
    "wgan-gp": {"optimizer": "adam", "lr": 1e-4, "d_steps": 5, "betas": (0.0, 0.9)},
}
DEFAULT_RECIPE = {"optimizer": "adam", "lr": 2e-4, "d_steps": 1, "betas": (0.5, 0.999)}


def recipe(config: GANConfig) -> dict:
    """The optimiser settings in force: the loss's recipe with the config's explicit choices."""
    base = RECIPES.get(config.loss, DEFAULT_RECIPE)
    lr = config.lr if config.lr is not None else base["lr"]
    betas = (config.beta1 if config.beta1 is not None else base["betas"][0],
             config.beta2 if config.beta2 is not None else base["betas"][1])
    return {"optimizer": base["optimizer"] if config.optimizer == "auto" else config.optimizer,
            "lr_g": lr, "lr_d": config.lr_d if config.lr_d is not None else lr, "betas": betas,
            "d_steps": config.d_steps if config.d_steps is not None else base["d_steps"]}


def linear_decay(share: float):
    """Learning-rate factor for the share of training done: 1, then over the last ``share`` of it
    falling linearly to 1/n of the rate in its last of n epochs (never 0: that epoch still learns)."""
    def factor(done: float) -> float:
        return min(1.0, (1.0 - done) / share)
    return factor


def make_optimizer(kind: str, params, lr: float, betas) -> torch.optim.Optimizer:
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr, betas=betas)
    if kind == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    return torch.optim.SGD(params, lr=lr)


class GAN(GenerativeModel):
    """Base of the GAN family: a generator G(z) and a discriminator/critic D(x) → score.

    Subclasses build ``self.generator`` and ``self.discriminator``; conditional models override
    :meth:`generate`, :meth:`critic` and :meth:`noise` (and the two losses when they add heads).
    """

    conditional = False
    default_epochs = 20
    missing_capability_hints = {
        "encode": "a GAN has no encoder: `genlab invert RUN IMAGE` finds a code by optimisation",
        "reconstruct": "a GAN has no encoder: `genlab invert RUN IMAGE` finds a code by optimisation",
    }

    def __init__(self, config: GANConfig):
        if config.loss not in LOSSES:
            raise ConfigError(f"unknown GAN loss {config.loss!r}; choose one of {', '.join(LOSSES)}")
        for key in ("d_steps",):
            value = getattr(config, key)
            if value is not None and value < 1:
                raise ConfigError(f"{key} must be at least 1, got {value}")
        if not 0 <= config.label_smoothing < 1:
            raise ConfigError(f"label_smoothing must be in [0, 1), got {config.label_smoothing}")
        if not 0 <= config.lr_decay <= 1:
            raise ConfigError(f"lr_decay is the share of the epochs to decay over, in [0, 1]; got {config.lr_decay}")
        if not 0 < config.ema_decay < 1:
            raise ConfigError(f"ema_decay must be in (0, 1), got {config.ema_decay}")
        parse_policy(config.diff_augment)
        super().__init__(config)

    @property
    def settings(self) -> dict:
        return recipe(self.config)   # read when the players are made, so `train --lr` counts

    def finish_init(self) -> None:
        """Called by subclasses once G and D exist: spectral norm, the EMA copy of G."""
        if self.config.spectral_norm:
            apply_spectral_norm(self.discriminator)
        if parse_policy(self.config.diff_augment):
            # a child of the model (so train()/eval() reach it) without parameters (so saved weights
            # do not change), applied by a pre-hook on D's first stage: every head and every call site of D
            # (critic, features, the gradient penalty) sees augmented images while training
            self.diff_augment = augment = DiffAugment(self.config.diff_augment)
            first = getattr(self.discriminator, "body", self.discriminator)
            first.register_forward_pre_hook(lambda module, args: (augment(args[0]), *args[1:]))
        self.generator_ema = None
        if self.config.ema:
            self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False)

    # images: [0, 1] outside, [−1, 1] inside
    @staticmethod
    def to_signed(x: Tensor) -> Tensor:
        return x * 2 - 1

    @staticmethod
    def to_unit(x: Tensor) -> Tensor:
        return ((x + 1) / 2).clamp(0, 1)

    # the pieces a conditional or structured GAN overrides
    def noise(self, n: int, y: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """Latent codes (and labels, for conditional models) for ``n`` generated images."""
        return torch.randn(n, self.config.latent_dim, device=self.device), None

    def generate(self, z: Tensor, y: Tensor | None = None, net: nn.Module | None = None) -> Tensor:
        """G(z) in [−1, 1]."""
        return (net or self.generator)(z)

    def critic(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """D's raw output per image (a logit, or a critic score): shape N."""
        return self.discriminator(x).flatten()

    def sampler(self) -> nn.Module:
        """The generator used for sampling: the EMA copy when enabled."""
        return self.generator_ema if self.generator_ema is not None else self.generator

    # capabilities
    @torch.no_grad()
    def sample(self, n: int, y: Tensor | None = None, temperature: float = 1.0) -> Tensor:
        """``n`` images; ``temperature`` scales z (below 1: typical images, less variety)."""
        z, y = self.noise(n, y)
        return self.to_unit(self.generate(z * temperature, y, net=self.sampler()))

    def decode(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        """The generator as a decoder of latent codes, so the latent tools apply to z."""
        return self.to_unit(self.generate(z.to(self.device), y, net=self.sampler()))

    # the game
    def _real(self, batch: dict) -> tuple[Tensor, Tensor | None]:
        return self.to_signed(batch["x"]), batch.get("y") if self.conditional else None

    def discriminator_step(self, batch: dict) -> dict:
        cfg = self.config
        x, y = self._real(batch)
        z, y_fake = self.noise(len(x), y)
        with torch.no_grad():
            fake = self.generate(z, y_fake)
        real_out, fake_out = self.critic(x, y), self.critic(fake, y_fake)
        loss = discriminator_loss(cfg.loss, real_out, fake_out, cfg.label_smoothing, cfg.ls_a, cfg.ls_b)
        out = {"loss": loss, **self._scores(real_out, fake_out)}
        return self.with_penalty(out, lambda im: self.critic(im, y), x, fake)

    def with_penalty(self, out: dict, critic, x: Tensor, fake: Tensor) -> dict:
        """D's step output with wgan-gp's gradient penalty added to its loss (other losses: as is)."""
        if self.config.loss == "wgan-gp":
            gp = gradient_penalty(critic, x, fake)
            out["loss"] = out["loss"] + self.config.gp_weight * gp
            out["gp"] = gp.detach()
        return out

    def generator_step(self, batch: dict) -> dict:
        n = len(batch["x"])
        y = batch.get("y") if self.conditional else None
        z, y_fake = self.noise(n, y)
        fake_out = self.critic(self.generate(z, y_fake), y_fake)
        return {"loss": generator_loss(self.config.loss, fake_out, self.config.ls_c)}

    def _scores(self, real_out: Tensor, fake_out: Tensor) -> dict:
        """D(x) and D(G(z)) means: probabilities for the BCE losses, raw scores otherwise."""
        real_out, fake_out = real_out.detach(), fake_out.detach()
        if self.config.loss in PROBABILITY_LOSSES:
            real_out, fake_out = real_out.sigmoid(), fake_out.sigmoid()
        out = {"d_real": real_out.mean(), "d_fake": fake_out.mean()}
        if self.config.loss in ("wgan", "wgan-gp"):
            out["wasserstein"] = out["d_real"] - out["d_fake"]   # the critic's estimate of W(P_r, P_g)
        return out

    def _after_d(self) -> None:
        if self.config.loss == "wgan":
            clip_weights(self.discriminator, self.config.clip)

    @torch.no_grad()
    def _after_g(self) -> None:
        if self.generator_ema is None:
            return
        decay = self.config.ema_decay
        for live, avg in zip(self.generator.parameters(), self.generator_ema.parameters()):
            avg.lerp_(live, 1 - decay)
        for live, avg in zip(self.generator.buffers(), self.generator_ema.buffers()):
            avg.copy_(live)

    def d_parameters(self) -> list:
        return list(self.discriminator.parameters())

    def g_parameters(self) -> list:
        return list(self.generator.parameters())

    def players(self) -> list[Player]:
        s = self.settings
        d_params, g_params = self.d_parameters(), self.g_parameters()
        schedule = linear_decay(self.config.lr_decay) if self.config.lr_decay else None
        return [
            Player("discriminator", d_params, make_optimizer(s["optimizer"], d_params, s["lr_d"], s["betas"]),
                   self.discriminator_step, steps=s["d_steps"], after_step=self._after_d, lr_schedule=schedule),
            Player("generator", g_params, make_optimizer(s["optimizer"], g_params, s["lr_g"], s["betas"]),
                   self.generator_step, after_step=self._after_g, lr_schedule=schedule),
        ]

    def preview(self, batch: dict) -> Tensor:
        return self.sample(64)


def mlp_generator(latent_dim: int, hidden: tuple[int, ...], image_shape) -> nn.Module:
    sizes, layers = [latent_dim, *hidden], []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.LeakyReLU(0.2)]
    layers += [nn.Linear(sizes[-1], math.prod(image_shape)), nn.Tanh(), nn.Unflatten(1, tuple(image_shape))]
    return nn.Sequential(*layers)


def mlp_discriminator(image_shape, hidden: tuple[int, ...], dropout: float = 0.0) -> nn.Module:
    sizes, layers = [math.prod(image_shape), *hidden], [nn.Flatten()]
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.LeakyReLU(0.2)] + ([nn.Dropout(dropout)] if dropout else [])
    layers.append(nn.Linear(sizes[-1], 1))
    return nn.Sequential(*layers)


@dataclass
class MLPGANConfig(GANConfig):
    g_hidden: tuple[int, ...] = (256, 512)
    d_hidden: tuple[int, ...] = (512, 256)
    dropout: float = 0.3                    # in D, as the paper's maxout discriminator used dropout


@register("gan", MLPGANConfig, "Vanilla GAN (Goodfellow et al. 2014): MLP G and D, k D-steps per G-step")
class MLPGAN(GAN):
    def __init__(self, config: MLPGANConfig):
        super().__init__(config)
        self.generator = mlp_generator(config.latent_dim, config.g_hidden, config.image_shape)
        self.discriminator = mlp_discriminator(config.image_shape, config.d_hidden, config.dropout)
        self.finish_init()
