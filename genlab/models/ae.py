"""Autoencoders: code = F(x), reconstruction = G(code), trained to minimise reconstruction error."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal


import torch.nn.functional as F
from torch import Tensor, nn

from ..nn import MLP, ConvDecoder, ConvEncoder, init_linear
from ..registry import register
from .base import GenerativeModel, ModelConfig, Player, adam


def reconstruction_loss_per_image(x_hat: Tensor, x: Tensor, kind: str) -> Tensor:
    """BCE or squared error summed over the pixels of each image."""
    if kind == "bce":
        per_pixel = F.binary_cross_entropy(x_hat.clamp(1e-6, 1 - 1e-6), x, reduction="none")
    else:
        per_pixel = F.mse_loss(x_hat, x, reduction="none")
    return per_pixel.flatten(1).sum(1)


def reconstruction_loss(x_hat: Tensor, x: Tensor, kind: str) -> Tensor:
    """Per-image loss summed over pixels, averaged over the batch (so it scales with image size
    like the ELBO's log-likelihood term)."""
    return reconstruction_loss_per_image(x_hat, x, kind).mean()


class Autoencoder(GenerativeModel):
    """Shared behaviour: one player minimising reconstruction error."""

    encoder: nn.Module
    decoder: nn.Module

    def encode(self, x: Tensor) -> Tensor:
        return self.encoder(x)

    def decode(self, z: Tensor) -> Tensor:
        return self.decoder(z)

    def reconstruct(self, x: Tensor) -> Tensor:
        return self.decode(self.encode(x))

    def loss(self, batch: dict) -> dict:
        x = batch["x"]
        recon = reconstruction_loss(self.reconstruct(x), x, self.config.loss)
        return {"loss": recon, "recon": recon}

    def players(self) -> list[Player]:
        params = list(self.parameters())
        return [Player("ae", params, adam(params, self.config.lr), self.loss)]


@dataclass
class AEConfig(ModelConfig):
    latent_dim: int = 32
    hidden: tuple[int, ...] = ()          # () gives the seeds' one-layer F(X)=S(WX+b), G(Z)=S(W'Z+b')
    activation: Literal["relu", "sigmoid", "tanh", "leaky_relu", "gelu", "linear"] = "relu"
    code_activation: Literal["relu", "sigmoid", "tanh", "leaky_relu", "gelu", "linear"] = "sigmoid"
    loss: Literal["bce", "mse"] = "bce"
    lr: float = 1e-2                      # with the sigmoid code, 1e-3 leaves it on the mean digit for 10 epochs


@register("ae", AEConfig, "MLP autoencoder: F(X)=S(WX+b), G(Z)=S(W'Z+b'); hidden layers optional")
class AE(Autoencoder):
    def __init__(self, config: AEConfig):
        super().__init__(config)
        d = math.prod(config.image_shape)
        sizes = [d, *config.hidden, config.latent_dim]
        self.encoder = nn.Sequential(
            nn.Flatten(), MLP(sizes, act=config.activation, out_act=config.code_activation))
        self.decoder = nn.Sequential(
            MLP(sizes[::-1], act=config.activation, out_act="sigmoid"), nn.Unflatten(1, tuple(config.image_shape)))
        # the seeds' all-sigmoid autoencoder otherwise starts with every code unit flat at ½
        init_linear(self, sigmoid_gain=4.0 if config.code_activation == "sigmoid" else 1.0)


@dataclass
class ConvAEConfig(ModelConfig):
    latent_dim: int = 10
    channels: tuple[int, ...] = (32, 64)
    hidden: int = 16                      # seed 000: Dense 16 before the latent Dense
    loss: Literal["bce", "mse"] = "bce"
    lr: float = 2e-3                      # 10 epochs of mnist5k: MSE 0.030 at latent 8 (1e-3: 0.045; PCA-8: 0.038)


@register("conv-ae", ConvAEConfig, "Convolutional autoencoder of seed 000 (Conv32 s2, Conv64 s2, Dense 16, latent 10)")
class ConvAE(Autoencoder):
    def __init__(self, config: ConvAEConfig):
        super().__init__(config)
        self.encoder = nn.Sequential(
            ConvEncoder(config.image_shape, config.channels, config.hidden),
            nn.Linear(config.hidden, config.latent_dim))
        self.decoder = ConvDecoder(config.image_shape, config.channels, config.latent_dim)


__all__ = ["AE", "AEConfig", "ConvAE", "ConvAEConfig", "reconstruction_loss", "reconstruction_loss_per_image"]
