"""Autoencoders: a code z = F(x) and a reconstruction x̂ = G(z), trained to minimise

    loss = Σ_pixels ℓ(x̂, x)              ℓ: binary cross-entropy (``loss=bce``) or squared error (``mse``)

    ae       F(x) = S(W x + b),  G(z) = S(W' z + b')      (hidden layers optional; S the sigmoid)
    conv-ae  F: Conv32 s2 → Conv64 s2 → Dense 16 → Dense latent;  G: its mirror (ConvTranspose)

summed over the pixels of an image and averaged over the batch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Literal


import torch.nn.functional as F
from torch import Tensor, nn

from ..nn import MLP, ConvDecoder, ConvEncoder, init_linear
from ..registry import register
from .base import GenerativeModel, ModelConfig, Player, Range


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
    """Shared behaviour: one player minimising reconstruction error. Takes no label (``y``)."""

    encoder: nn.Module
    decoder: nn.Module

    def encode(self, x: Tensor, y=None) -> Tensor:
        self.labels(y, len(x))
        return self.encoder(x)

    def decode(self, z: Tensor, y=None) -> Tensor:
        self.labels(y, len(z))
        return self.decoder(z)

    def reconstruct(self, x: Tensor, y=None) -> Tensor:
        return self.decode(self.encode(x, y))

    def loss(self, batch: dict) -> dict:
        x = batch["x"]
        recon = reconstruction_loss(self.reconstruct(x), x, self.config.loss)
        return {"loss": recon, "recon": recon}

    def players(self) -> list[Player]:
        return self.single_player("ae")


@dataclass
class AEConfig(ModelConfig):
    latent_dim: Annotated[int, Range(1)] = 32   # code units
    hidden: Annotated[tuple[int, ...], Range(1)] = ()   # hidden layer widths; () is the one-layer F(X)=S(WX+b), G(Z)=S(W'Z+b')
    activation: Literal["relu", "sigmoid", "tanh", "leaky_relu", "gelu", "linear"] = "relu"   # hidden units
    code_activation: Literal["relu", "sigmoid", "tanh", "leaky_relu", "gelu", "linear"] = "sigmoid"  # code units
    loss: Literal["bce", "mse"] = "bce"   # reconstruction error ℓ, summed over pixels
    lr: Annotated[float, Range(0, low_open=True)] = 1e-2   # Adam's learning rate (see docs/autoencoders.md for 1e-3)


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
        # an all-sigmoid autoencoder otherwise starts with every code unit flat at ½
        init_linear(self, sigmoid_gain=4.0 if config.code_activation == "sigmoid" else 1.0)


@dataclass
class ConvAEConfig(ModelConfig):
    latent_dim: Annotated[int, Range(1)] = 10   # code units
    channels: Annotated[tuple[int, ...], Range(1)] = (32, 64)   # output channels of the stride-2 convolutions (each halves H and W)
    hidden: Annotated[int, Range(1)] = 16   # width of the Dense layer before the code
    loss: Literal["bce", "mse"] = "bce"   # reconstruction error ℓ, summed over pixels
    lr: Annotated[float, Range(0, low_open=True)] = 2e-3   # Adam's learning rate (measured against 1e-3 in docs/autoencoders.md)


@register("conv-ae", ConvAEConfig, "Convolutional autoencoder (Conv32 s2, Conv64 s2, Dense 16, latent 10)")
class ConvAE(Autoencoder):
    def __init__(self, config: ConvAEConfig):
        super().__init__(config)
        self.encoder = nn.Sequential(
            ConvEncoder(config.image_shape, config.channels, config.hidden),
            nn.Linear(config.hidden, config.latent_dim))
        self.decoder = ConvDecoder(config.image_shape, config.channels, config.latent_dim)


__all__ = ["AE", "AEConfig", "ConvAE", "ConvAEConfig", "reconstruction_loss", "reconstruction_loss_per_image"]
