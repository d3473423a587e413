"""Closed-form baselines fitted in ``prepare``: PCA and the Gaussian image model.

    μ̂ = (1/N) Σ_i x_i,   Σ̂ = (1/N) Σ_i (x_i − μ̂)(x_i − μ̂)ᵀ = Ê Λ̂ Êᵀ        (eigen-decomposition)

computed with one SVD of the centred data matrix X − μ̂ = U S Vᵀ: Ê = V, Λ̂ = S²/N. Neither model
has players: ``genlab.train`` calls ``prepare`` once and then saves the buffers (mean, components,
eigenvalues) like any other weights.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated

import torch
from torch import Tensor

from ..errors import CapabilityError, ConfigError, DataError
from ..registry import register
from .base import GenerativeModel, ModelConfig, Player, Range


class LinearGaussianBase(GenerativeModel):
    """Mean, eigenvectors and eigenvalues of the training images' covariance, as buffers.

    All min(N, D) components are kept (rows beyond the data's rank stay zero) so that a saved model
    has the same buffer shapes whatever data it was fitted on.
    """

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        d = math.prod(config.image_shape)
        low = 0 if self._zero_means_all else 1
        if not low <= config.latent_dim <= d:
            keep_all = " (0 keeps them all)" if self._zero_means_all else ""
            raise ConfigError(f"latent_dim={config.latent_dim} must lie between {low} and the {d} pixels{keep_all}; "
                              f"e.g. --set latent_dim=32")
        self.dim = d
        self.register_buffer("mean", torch.zeros(d))
        self.register_buffer("components", torch.zeros(d, d))     # rows: eigenvectors, largest first
        self.register_buffer("eigenvalues", torch.zeros(d))       # variances along them (1/N convention)
        self.register_buffer("rank", torch.zeros((), dtype=torch.long))  # 0 until fitted

    _zero_means_all = False

    @property
    def device(self) -> torch.device:
        return self.mean.device

    def players(self) -> list[Player]:
        return []

    @torch.no_grad()
    def prepare(self, data) -> None:
        self.fit(data.x)

    @torch.no_grad()
    def fit(self, x: Tensor) -> "LinearGaussianBase":
        """Fit mean and eigen-decomposition to images N×C×H×W (float64 SVD for accuracy)."""
        self.check_input(x[:1])
        flat = x.flatten(1).double().to(self.device)
        n = len(flat)
        if n < 2:
            raise DataError(f"fitting {self.registry_name} needs at least 2 images, got {n}; use more data")
        mean = flat.mean(0)
        _, s, vt = torch.linalg.svd(flat - mean, full_matrices=False)
        values = s ** 2 / n
        rank = int((values > values[0] * 1e-12).sum()) if values[0] > 0 else 0
        self.mean.copy_(mean)
        self.components.zero_()
        self.eigenvalues.zero_()
        self.components[:rank] = vt[:rank].to(self.components.dtype)
        self.eigenvalues[:rank] = values[:rank].to(self.eigenvalues.dtype)
        self.rank.fill_(max(rank, 1))
        return self

    def _check_fitted(self) -> None:
        if int(self.rank) == 0:
            raise CapabilityError(f"{self.registry_name} has not been fitted; train it first "
                                  f"(`genlab train {self.registry_name}`) or call model.fit(images)")

    def _k(self, k: int | None) -> int:
        k = self.config.latent_dim if k is None else int(k)
        if k == 0:
            k = int(self.rank)
        if not 1 <= k <= self.dim:
            raise ConfigError(f"number of components must lie between 1 and {self.dim}, got {k}")
        return k

    def mean_image(self) -> Tensor:
        return self.mean.view(self.image_shape)

    def eigen_images(self, k: int = 16) -> Tensor:
        """The top ``k`` eigenvectors as images, scaled to [0, 1] with 0.5 for zero."""
        e = self.components[:k]
        e = 0.5 + 0.5 * e / e.abs().amax(1, keepdim=True).clamp_min(1e-12)
        return e.view(-1, *self.image_shape)

    def explained_variance_ratio(self) -> Tensor:
        return self.eigenvalues / self.eigenvalues.sum().clamp_min(1e-30)


@dataclass
class PCAConfig(ModelConfig):
    latent_dim: Annotated[int, Range(1)] = 32   # components used by encode/reconstruct (all are stored; project takes any)


@register("pca", PCAConfig, "PCA: the linear code of the top eigenvectors; closed form, no training loop")
class PCA(LinearGaussianBase):
    """z = Ê_kᵀ (x − μ̂),  x̂ = μ̂ + Ê_k z: the best rank-k linear reconstruction in squared error."""

    missing_capability_hints = {c: "the gaussian model is PCA with a density: train gaussian"
                                for c in ("sample", "log_prob")}

    def coefficients(self, x: Tensor, k: int | None = None) -> Tensor:
        """The code on the top ``k`` components (default ``latent_dim``): N×k."""
        self._check_fitted()
        return (x.flatten(1) - self.mean) @ self.components[:self._k(k)].T

    def project(self, x: Tensor, k: int | None = None) -> Tensor:
        """Projection onto the top ``k`` components (default ``latent_dim``): the compression curve."""
        return self.decode(self.coefficients(x, k))

    def encode(self, x: Tensor, y=None) -> Tensor:
        self.labels(y, len(x))
        return self.coefficients(x)

    def decode(self, z: Tensor, y=None) -> Tensor:
        """Codes N×k (any k up to the number of pixels) -> images; not clamped to [0, 1]."""
        self.labels(y, len(z))
        self._check_fitted()
        k = self._k(z.shape[1])
        return (self.mean + z @ self.components[:k]).view(-1, *self.image_shape)

    def reconstruct(self, x: Tensor, y=None) -> Tensor:
        """Projection onto the top ``latent_dim`` components (:meth:`project` takes any number)."""
        self.labels(y, len(x))
        return self.project(x)


@dataclass
class GaussianConfig(ModelConfig):
    latent_dim: Annotated[int, Range(0)] = 0   # eigenvectors used: 0 = all (the full covariance)
    eps: Annotated[float, Range(0, low_open=True)] = 1e-3   # ε, variance added in every direction, in pixel units² (keeps Σ invertible)


@register("gaussian", GaussianConfig, "Gaussian image model x = μ + E Λ^½ z (eigen-decomposed covariance), exact log-likelihood")
class Gaussian(LinearGaussianBase):
    """x ~ N(μ̂, Σ) with Σ = Ê_k Λ̂_k Ê_kᵀ + ε·I.

    With k = all components and ε → 0 this is x = μ̂ + Ê Λ̂^½ z, z ~ N(0, I). ``encode`` and
    ``decode`` use PCA-whitened coordinates z = (Λ̂_k + ε)^−½ Ê_kᵀ (x − μ̂), so a code of N(0, I)
    decodes to a sample of the top-k subspace.
    """

    _zero_means_all = True

    def _scales(self, k: int) -> Tensor:
        return (self.eigenvalues[:k] + self.config.eps).sqrt()

    def encode(self, x: Tensor, y=None) -> Tensor:
        self.labels(y, len(x))
        self._check_fitted()
        k = self._k(None)
        return (x.flatten(1) - self.mean) @ self.components[:k].T / self._scales(k)

    def decode(self, z: Tensor, y=None) -> Tensor:
        self.labels(y, len(z))
        self._check_fitted()
        k = self._k(z.shape[1])
        return (self.mean + (z * self._scales(k)) @ self.components[:k]).view(-1, *self.image_shape)

    def reconstruct(self, x: Tensor, y=None) -> Tensor:
        return self.decode(self.encode(x, y))

    def covariance(self) -> Tensor:
        """Σ = Ê_k Λ̂_k Ê_kᵀ + ε·I (D×D)."""
        self._check_fitted()
        e, lam = self.components[:self._k(None)], self.eigenvalues[:self._k(None)]
        return (e.T * lam) @ e + self.config.eps * torch.eye(self.dim, device=e.device)

    def sample(self, n: int, y=None, *, temperature: float = 1.0, generator: torch.Generator | None = None) -> Tensor:
        """Draws from N(μ̂, temperature²·Σ): the top-k part from Λ̂_k + ε, the rest isotropic ε.
        Not clamped to [0, 1] (image grids clamp)."""
        self.labels(y, n)
        self._check_fitted()
        k = self._k(None)
        z = torch.randn(n, k, generator=generator).to(self.device) * temperature
        x = self.decode(z).flatten(1)
        if k < self.dim and self.config.eps > 0:
            noise = torch.randn(n, self.dim, generator=generator).to(self.device)
            e = self.components[:k]
            noise = noise - (noise @ e.T) @ e           # the directions outside the top k
            x = x + temperature * math.sqrt(self.config.eps) * noise
        return x.view(-1, *self.image_shape)

    def log_prob(self, x: Tensor, y=None) -> Tensor:
        """Exact log N(x; μ̂, Σ) per image in nats (float64 inside: eigenvalues span many decades).

        With y = x − μ̂ and p = Ê_kᵀ y:
            −log p(x) = ½ [ Σ_j p_j²/(λ_j + ε) + (‖y‖² − ‖p‖²)/ε
                            + Σ_j log(λ_j + ε) + (D − k) log ε + D log 2π ]
        """
        self.labels(y, len(x))
        self._check_fitted()
        if self.config.eps <= 0:
            raise ConfigError("log_prob needs eps > 0 (the sample covariance is singular); e.g. --set eps=0.01")
        k, d, eps = self._k(None), self.dim, self.config.eps
        y = (x.flatten(1).to(self.mean.device) - self.mean).double()
        e = self.components[:k].double()
        var = self.eigenvalues[:k].double() + eps
        p = y @ e.T
        outside = (y.pow(2).sum(1) - p.pow(2).sum(1)).clamp_min(0)
        maha = (p.pow(2) / var).sum(1) + outside / eps
        logdet = var.log().sum() + (d - k) * math.log(eps)
        return (-0.5 * (maha + logdet + d * math.log(2 * math.pi))).to(x.dtype)


__all__ = ["PCA", "PCAConfig", "Gaussian", "GaussianConfig", "LinearGaussianBase"]
