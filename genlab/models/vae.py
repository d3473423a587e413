"""Variational autoencoder (Kingma & Welling 2014) with a weighted loss.

    q(z | x) = N(μ(x), σ²(x))     μ, log σ² = two Linear heads on the encoder's features
    p(x | z) = G(z)               Bernoulli (bce), or Gaussian with σ = 1 (mse) or a learned σ (gaussian)
    z = μ + σ·ε,  ε ~ N(0, I)                      (reparameterisation)
    kl_loss = −½ Σ_k (1 + log σ_k² − μ_k² − σ_k²)   (closed form against N(0, I))
    total   = k1·r_loss + w(t)·k2·kl_loss            (k1 = recon_weight, k2 = kl_weight)

    encoder  conv: Conv32 s2 → Conv64 s2 → Dense;  mlp: Dense layers ``hidden``
    decoder  its mirror, ending in a sigmoid

w(t) is the KL warm-up factor (Bowman et al. 2016): it rises linearly from 0 to 1 over the first
``kl_warmup_epochs`` epochs, so the decoder learns to use the code before the KL term can pull
every posterior onto the prior (a 2-D latent otherwise sometimes collapses early).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Literal

import torch
from torch import Tensor, nn

from ..nn import MLP, ConvDecoder, ConvEncoder
from ..registry import register
from .ae import reconstruction_loss, reconstruction_loss_per_image
from .base import GenerativeModel, ModelConfig, Player, Range


def gaussian_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(μ, σ²) ‖ N(0, I)) per example, summed over latent dimensions."""
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(-1)


@dataclass
class VAEConfig(ModelConfig):
    # dimensions of z (a 2-D code, as in the demo, draws the latent map itself but reconstructs a
    # user's colour images barely better than their mean image)
    latent_dim: Annotated[int, Range(1)] = 16
    arch: Literal["conv", "mlp"] = "conv"  # convolutional or fully connected encoder and decoder
    channels: Annotated[tuple[int, ...], Range(1)] = (32, 64)   # conv: output channels of the stride-2 convolutions
    hidden: Annotated[tuple[int, ...], Range(1)] = (64,)   # conv: dense width before μ, log σ² (last entry); mlp: hidden widths
    recon_loss: Literal["bce", "mse", "gaussian"] = "bce"   # p(x | z); gaussian: N(x̂, σ²) with a learned σ
    recon_weight: Annotated[float, Range(0)] = 1.0   # k1, the weight of r_loss
    kl_weight: Annotated[float, Range(0)] = 1.0   # k2, the weight of kl_loss
    kl_warmup_epochs: Annotated[int, Range(0)] = 0   # epochs over which the KL weight ramps 0 → k2 (0: none)


@register("vae", VAEConfig, "Variational autoencoder, total = k1·r_loss + k2·kl_loss (conv or MLP)")
class VAE(GenerativeModel):
    # 960 optimiser steps at batch 128 on mnist5k; on a 300-image colour folder 320 steps left the
    # held-out error at 0.70 of the mean image's, 960 brought it to 0.50 (docs/training.md)
    default_epochs = 30

    def __init__(self, config: VAEConfig):
        super().__init__(config)
        shape, zdim = tuple(config.image_shape), config.latent_dim
        if config.arch == "conv":
            width = config.hidden[-1] if config.hidden else 16
            self.body = ConvEncoder(shape, config.channels, width)
            self.decoder = ConvDecoder(shape, config.channels, zdim)
        else:
            d = math.prod(shape)
            sizes = [d, *config.hidden]
            width = sizes[-1]
            self.body = nn.Sequential(nn.Flatten(), MLP(sizes, act="relu", out_act="relu"))
            self.decoder = nn.Sequential(MLP([zdim, *config.hidden[::-1], d], act="relu", out_act="sigmoid"),
                                         nn.Unflatten(1, shape))
        self.mu = nn.Linear(width, zdim)
        self.logvar = nn.Linear(width, zdim)
        if config.recon_loss == "gaussian":
            # one learned log σ for every pixel; 0.1 is about the noise level of digit strokes
            self.log_sigma = nn.Parameter(torch.tensor(math.log(0.1)))
        self.kl_factor = 1.0

    def on_epoch_start(self, epoch: int) -> None:
        warm = self.config.kl_warmup_epochs
        self.kl_factor = 1.0 if warm <= 0 else min(1.0, epoch / warm)

    def posterior(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.body(x)
        return self.mu(h), self.logvar(h)

    def encode(self, x: Tensor, y=None) -> Tensor:
        """The posterior mean: the code used for scatter plots, interpolation and features."""
        self.labels(y, len(x))
        return self.posterior(x)[0]

    def decode(self, z: Tensor, y=None) -> Tensor:
        self.labels(y, len(z))
        return self.decoder(z)

    def reconstruct(self, x: Tensor, y=None) -> Tensor:
        return self.decode(self.encode(x, y))

    def sample(self, n: int, y=None, *, temperature: float = 1.0, generator: torch.Generator | None = None) -> Tensor:
        """Decoded prior draws z ~ N(0, temperature²·I); ``generator`` makes them reproducible."""
        self.labels(y, n)
        z = torch.randn(n, self.config.latent_dim, generator=generator).to(self.device) * temperature
        return self.decode(z)

    def decoder_log_prob(self, x: Tensor, x_hat: Tensor) -> Tensor:
        """log p(x|z) per image in nats: Bernoulli (−BCE), or Gaussian with σ = 1 (mse) or the learned σ."""
        if self.config.recon_loss == "bce":
            return -reconstruction_loss_per_image(x_hat, x, "bce")
        d = x[0].numel()
        log_sigma = self.log_sigma if self.config.recon_loss == "gaussian" else x.new_zeros(())
        sse = reconstruction_loss_per_image(x_hat, x, "mse")
        return -0.5 * sse / (2 * log_sigma).exp() - d * log_sigma - 0.5 * d * math.log(2 * math.pi)

    def loss(self, batch: dict) -> dict:
        x = batch["x"]
        mu, logvar = self.posterior(x)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        x_hat = self.decode(z)
        if self.config.recon_loss == "gaussian":
            r_loss = -self.decoder_log_prob(x, x_hat).mean()
        else:
            r_loss = reconstruction_loss(x_hat, x, self.config.recon_loss)
        kl_loss = gaussian_kl(mu, logvar).mean()
        total = self.config.recon_weight * r_loss + self.kl_factor * self.config.kl_weight * kl_loss
        out = {"loss": total, "recon": r_loss, "kl": kl_loss}
        if self.config.kl_warmup_epochs > 0:
            out["kl_factor"] = torch.tensor(self.kl_factor)
        if self.config.recon_loss == "gaussian":
            out["sigma"] = self.log_sigma.detach().exp()
        return out

    def players(self) -> list[Player]:
        return self.single_player("vae")


def bounds_likelihood(model) -> bool:
    """Whether ``model`` has the VAE family's densities: a Gaussian posterior q(z|x) (``posterior``) and
    a decoder density p(x|z) (``decoder_log_prob``), which bound −log p(x) by −ELBO and IWAE."""
    return isinstance(model, VAE)


@dataclass
class BetaVAEConfig(VAEConfig):
    latent_dim: Annotated[int, Range(1)] = 10
    kl_weight: Annotated[float, Range(0)] = 4.0   # β > 1, the weight of kl_loss (Higgins et al. 2017)


@register("beta-vae", BetaVAEConfig, "β-VAE preset: the VAE with k2 = β = 4 and a 10-D latent, for disentangling")
class BetaVAE(VAE):
    """The VAE with a heavier KL term: total = r_loss + β·kl_loss."""
