"""DCGAN (Radford et al. 2016), seed 004's guidelines:

* no pooling: strided convolutions in D, transposed (fractionally strided) convolutions in G;
* BatchNorm in both (not on G's output nor D's input layer);
* no fully connected hidden layers: G projects z to a small grid (the one matmul of the paper),
  D ends with a convolution whose kernel covers its last grid;
* ReLU in G with Tanh output, LeakyReLU(0.2) in D; Adam lr 2e-4, β1 = 0.5.

Sizes: 28×28 grows from a 7×7 grid (2 up-samplings), 32×32 from 4×4 (3), 64×64 from 4×4 (4).
Each 4×4 stride-2 padding-1 transposed convolution doubles the side: (i − 1)·2 − 2 + 4 = 2i.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from torch import Tensor, nn

from ...errors import ConfigError
from ...registry import register
from .core import GAN, GANConfig


def grid_plan(size: int) -> tuple[int, int]:
    """(base side, number of doublings) with base · 2^n = size and base in 4..7."""
    n = 0
    while size % 2 == 0 and size // 2 >= 4:
        size //= 2
        n += 1
    if not 4 <= size <= 7 or n == 0:
        raise ConfigError(f"DCGAN needs an image side of base·2^n with base 4–7 (28, 32, 64, …), got a "
                          f"side that reduces to {size}; resize the data with --image-size")
    return size, n


class DCGenerator(nn.Module):
    def __init__(self, latent_dim: int, image_shape, width: int = 64, in_features: int | None = None):
        super().__init__()
        c, h, w = image_shape
        if h != w:
            raise ConfigError(f"DCGAN needs square images, got {h}×{w}; resize with --image-size")
        base, n = grid_plan(h)
        chans = [width * 2 ** i for i in reversed(range(n))]      # e.g. 128, 64 for 28×28
        self.grid = (chans[0], base, base)
        self.project = nn.Sequential(nn.Linear(in_features or latent_dim, chans[0] * base * base, bias=False),
                                     nn.Unflatten(1, self.grid), nn.BatchNorm2d(chans[0]), nn.ReLU(True))
        layers: list[nn.Module] = []
        for a, b in zip(chans, chans[1:]):
            layers += [nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(chans[-1], c, 4, 2, 1), nn.Tanh()]
        self.body = nn.Sequential(*layers)
        init_dcgan(self)

    def forward(self, z: Tensor) -> Tensor:
        return self.body(self.project(z))


class DCDiscriminator(nn.Module):
    """Strided convolutions down to the base grid, then one convolution over it to a score.

    ``features(x)`` is the flattened last grid (heads such as AC-GAN's classifier read it).
    """

    def __init__(self, image_shape, width: int = 64, norm: Literal["batch", "layer", "none"] = "batch",
                 in_channels: int | None = None):
        super().__init__()
        c, h, _ = image_shape
        base, n = grid_plan(h)
        chans = [width * 2 ** i for i in range(n)]                # e.g. 64, 128
        layers: list[nn.Module] = []
        prev, side = in_channels or c, h
        for i, b in enumerate(chans):
            layers.append(nn.Conv2d(prev, b, 4, 2, 1, bias=norm == "none" or i == 0))
            side //= 2
            if i > 0 and norm == "batch":
                layers.append(nn.BatchNorm2d(b))
            elif i > 0 and norm == "layer":
                layers.append(nn.GroupNorm(1, b))                  # per-sample, so the gradient penalty holds
            layers.append(nn.LeakyReLU(0.2, True))
            prev = b
        self.body = nn.Sequential(*layers)
        self.feature_dim = prev * base * base
        self.head = nn.Conv2d(prev, 1, base)                       # covers the whole base grid: 1×1 out
        init_dcgan(self)

    def features(self, x: Tensor) -> Tensor:
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x)).flatten()


def init_dcgan(module: nn.Module) -> None:
    """The paper's initialisation: weights from N(0, 0.02); BatchNorm scales from N(1, 0.02)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


@dataclass
class DCGANConfig(GANConfig):
    g_width: int = 64                       # channels of G's last hidden layer (doubling inwards)
    d_width: int = 64                       # channels of D's first layer (doubling outwards)
    d_norm: Literal["auto", "batch", "layer", "none"] = "auto"   # auto: layer norm for wgan-gp, else batch


def d_norm(config) -> str:
    if config.d_norm != "auto":
        return config.d_norm
    # BatchNorm couples the samples of a batch, which breaks the per-sample gradient penalty
    # (Gulrajani et al. 2017 §4) and fights weight clipping and spectral norm
    return "layer" if config.loss in ("wgan-gp", "wgan") or config.spectral_norm else "batch"


@register("dcgan", DCGANConfig, "DCGAN (Radford et al.): transposed-conv G with BatchNorm, strided-conv D, Adam 2e-4 β1 0.5")
class DCGAN(GAN):
    def __init__(self, config: DCGANConfig):
        super().__init__(config)
        self.generator = DCGenerator(config.latent_dim, config.image_shape, config.g_width)
        self.discriminator = DCDiscriminator(config.image_shape, config.d_width, d_norm(config))
        self.finish_init()
