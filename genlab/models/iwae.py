"""Importance-weighted autoencoder (Burda et al. 2015): the VAE trained on a tighter bound.

    w_k = p(x | z_k) p(z_k) / q(z_k | x),   z_k ~ q(z | x),  k = 1 … K
    L_K = log (1/K) Σ_k w_k            (L_1 is the ELBO; L_K ≤ L_{K+1} ≤ log p(x))
    total = −L_K

The network, `encode`, `decode`, `sample` and the likelihood metrics are the VAE's; only the
objective changes. The gradient weighs each sample by its normalised weight w_k / Σ_j w_j, so the
encoder is no longer punished for posteriors that cover several modes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated

import torch

from ..errors import ConfigError
from ..registry import register
from .base import Range
from .vae import VAE, VAEConfig


@dataclass
class IWAEConfig(VAEConfig):
    latent_dim: Annotated[int, Range(1)] = 16   # dimensions of z
    samples: Annotated[int, Range(1)] = 5   # K, importance samples per image in the training bound L_K


@register("iwae", IWAEConfig, "Importance-weighted autoencoder: the VAE trained on the K-sample bound L_K")
class IWAE(VAE):
    def __init__(self, config: IWAEConfig):
        if config.samples < 1:
            raise ConfigError(f"iwae needs samples ≥ 1 (K importance samples), got {config.samples}")
        if config.recon_weight != 1.0 or config.kl_weight != 1.0 or config.kl_warmup_epochs:
            raise ConfigError("iwae optimises the bound L_K itself, which has no k1/k2 weights or KL warm-up; "
                              "leave recon_weight=1, kl_weight=1, kl_warmup_epochs=0 (or use vae)")
        super().__init__(config)

    def log_weights(self, x: torch.Tensor, samples: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """log w_k for K samples per image (K×N), and the posterior's μ, log σ²."""
        mu, logvar = self.posterior(x)
        eps = torch.randn(samples, *mu.shape, device=mu.device)
        z = mu + (0.5 * logvar).exp() * eps                                   # K×N×d
        x_hat = self.decode(z.flatten(0, 1))
        log_px = self.decoder_log_prob(x.repeat(samples, *([1] * (x.dim() - 1))), x_hat).view(samples, -1)
        log_pz = -0.5 * (z.pow(2) + math.log(2 * math.pi)).sum(-1)
        log_qz = -0.5 * (eps.pow(2) + logvar + math.log(2 * math.pi)).sum(-1)
        return log_px + log_pz - log_qz, mu, logvar

    def loss(self, batch: dict) -> dict:
        k = self.config.samples
        lw, _, _ = self.log_weights(batch["x"], k)
        bound = torch.logsumexp(lw, 0) - math.log(k)                        # L_K per image
        out = {"loss": -bound.mean(), "neg_elbo": -lw.detach().mean()}      # −L_K and the K=1 bound beside it
        if self.config.recon_loss == "gaussian":
            out["sigma"] = self.log_sigma.detach().exp()
        return out


__all__ = ["IWAE", "IWAEConfig"]
