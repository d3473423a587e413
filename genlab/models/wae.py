"""Wasserstein autoencoder with the MMD penalty (WAE-MMD, Tolstikhin et al. 2018).

A deterministic autoencoder whose *aggregate* code distribution q(z) = E_x[δ(z − E(x))] is pulled
towards the prior p(z) = N(0, σ²I), instead of every posterior towards the prior as in a VAE:

    total = Σ_pixels c(x, G(E(x))) + λ · MMD_k(q(z), p(z))

MMD is estimated without bias from the batch's codes z_i and as many prior draws z̃_j:

    MMD² ≈ 1/(n(n−1)) Σ_{i≠j} k(z_i, z_j) + 1/(n(n−1)) Σ_{i≠j} k(z̃_i, z̃_j)
           − 2/n² Σ_{i,j} k(z_i, z̃_j)

with the inverse multiquadratic kernel k(x, y) = C / (C + ‖x − y‖²), C = 2·d·σ² (heavier tails than
the Gaussian kernel, so distant codes still receive gradient).

    E  Conv32 s2 → Conv64 s2 → Dense ``hidden`` → Linear to z      G  Dense → ConvTranspose mirror → sigmoid
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import torch
from torch import Tensor, nn

from ..errors import ConfigError
from ..nn import ConvDecoder, ConvEncoder
from ..registry import register
from .ae import Autoencoder, reconstruction_loss
from .base import ModelConfig, Player, Range

KERNELS = ("imq", "rbf")


def kernel_matrix(x: Tensor, y: Tensor, kernel: str = "imq", scale: float | None = None) -> Tensor:
    """k(x_i, y_j) for all pairs: ``imq`` C/(C + ‖x−y‖²) or ``rbf`` exp(−‖x−y‖²/C).
    C (``scale``) defaults to 2·d, the IMQ scale for an N(0, I) prior in d dimensions."""
    if kernel not in KERNELS:
        raise ConfigError(f"unknown MMD kernel {kernel!r}; choose one of {', '.join(KERNELS)}")
    c = 2.0 * x.shape[-1] if scale is None else float(scale)
    # expanded square (not cdist): its gradient is defined where x_i = y_j, e.g. on k(x, x)'s diagonal
    d2 = (x.pow(2).sum(-1, keepdim=True) + y.pow(2).sum(-1) - 2 * x @ y.t()).clamp_min(0)
    return c / (c + d2) if kernel == "imq" else torch.exp(-d2 / c)


def mmd(x: Tensor, y: Tensor, kernel: str = "imq", scale: float | None = None) -> Tensor:
    """Unbiased estimate of the squared maximum mean discrepancy between samples ``x`` (n×d) and
    ``y`` (m×d); ≈ 0 (and may be slightly negative) when both come from one distribution."""
    n, m = len(x), len(y)
    if n < 2 or m < 2:
        raise ConfigError(f"MMD needs at least 2 samples on each side, got {n} and {m}; use a larger batch")
    kxx, kyy = kernel_matrix(x, x, kernel, scale), kernel_matrix(y, y, kernel, scale)
    kxy = kernel_matrix(x, y, kernel, scale)
    # the diagonals k(x_i, x_i) = 1 are what makes the plain average biased: leave them out
    xx = (kxx.sum() - kxx.diagonal().sum()) / (n * (n - 1))
    yy = (kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1))
    return xx + yy - 2 * kxy.mean()


@dataclass
class WAEConfig(ModelConfig):
    latent_dim: Annotated[int, Range(1)] = 8   # dimensions of z
    channels: Annotated[tuple[int, ...], Range(1)] = (32, 64)   # output channels of the stride-2 convolutions
    hidden: Annotated[int, Range(1)] = 64   # dense width before the code
    loss: Literal["bce", "mse"] = "mse"    # cost c(x, y); mse is the paper's squared error ‖x − y‖²
    mmd_weight: Annotated[float, Range(0)] = 10.0   # λ (the paper's), against the per-image summed squared error
    kernel: Literal["imq", "rbf"] = "imq"  # MMD kernel: inverse multiquadratic or Gaussian
    prior_std: Annotated[float, Range(0, low_open=True)] = 1.0   # σ of p(z) = N(0, σ²I); C = 2·d·σ²


@register("wae", WAEConfig, "Wasserstein autoencoder (WAE-MMD): recon + λ·MMD(q(z), N(0, I)), IMQ kernel")
class WAE(Autoencoder):
    def __init__(self, config: WAEConfig):
        super().__init__(config)
        self.encoder = nn.Sequential(ConvEncoder(config.image_shape, config.channels, config.hidden),
                                     nn.Linear(config.hidden, config.latent_dim))
        self.decoder = ConvDecoder(config.image_shape, config.channels, config.latent_dim)

    def prior(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        z = torch.randn(n, self.config.latent_dim, generator=generator)
        return (z * self.config.prior_std).to(self.device)

    def sample(self, n: int, y=None, *, temperature: float = 1.0, generator: torch.Generator | None = None) -> Tensor:
        """Decoded prior draws z ~ N(0, (temperature·σ)²·I); ``generator`` makes them reproducible."""
        self.labels(y, n)
        return self.decode(self.prior(n, generator) * temperature)

    def loss(self, batch: dict) -> dict:
        x = batch["x"]
        z = self.encode(x)
        recon = reconstruction_loss(self.decode(z), x, self.config.loss)
        scale = 2.0 * self.config.latent_dim * self.config.prior_std ** 2
        # a last batch of one image has no pairs to compare
        penalty = mmd(z, self.prior(len(z)), self.config.kernel, scale) if len(z) > 1 else z.new_zeros(())
        return {"loss": recon + self.config.mmd_weight * penalty, "recon": recon, "mmd": penalty.detach()}

    def players(self) -> list[Player]:
        return self.single_player("wae")


__all__ = ["WAE", "WAEConfig", "mmd", "kernel_matrix"]
