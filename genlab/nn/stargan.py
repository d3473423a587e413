"""StarGAN's networks (Choi et al. 2018): one generator G(x, c) for every target domain, and a
discriminator with two heads, D: x → {D_src(x), D_cls(x)}.

    tile_labels          c (N×K) replicated spatially to N×K×H×W: the target label as image channels.
    StarGenerator        G(x, c) on [x, tile(c)] (C + K channels): Conv7×7 → IN → ReLU; ``downs`` ×
                         [Conv4×4 stride 2 → IN → ReLU] (widths doubling); ``blocks`` residual blocks
                         [Conv3×3 → IN → ReLU → Conv3×3 → IN] + skip; ``downs`` × [ConvTranspose4×4
                         stride 2 → IN → ReLU]; Conv7×7 → tanh. Instance norm (Ulyanov et al. 2016)
                         normalises each image alone, so a translation does not depend on its batch.
    StarDiscriminator    ``layers`` × [Conv4×4 stride 2 → LeakyReLU(0.01)], widths doubling, no
                         normalisation (the gradient penalty is per image); then two heads on the last
                         map: D_src, Conv3×3 stride 1 → one realism score per patch (PatchGAN), and
                         D_cls, a convolution whose kernel covers the whole last map → K domain logits.

The paper's sizes are for 128 px (64 channels, 2 downsamplings, 6 blocks; D with 6 layers); the
constructor arguments scale them down. Any H×W: G pads its input (reflection) to a multiple of
2^downs and crops the output back, so a translation keeps the input's size; D's classification
kernel is fixed by the image size it is built for (``image_size``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import ConfigError
from .blocks import whole_number

__all__ = ["tile_labels", "StarGenerator", "StarDiscriminator", "StarResidualBlock", "down_size"]




def tile_labels(c: Tensor, height: int, width: int) -> Tensor:
    """The target labels N×K as N×K×H×W maps, each map constant at its label's value."""
    if c.dim() != 2:
        raise ConfigError(f"target labels must be N×K (one row per image), got shape {tuple(c.shape)}")
    return c[:, :, None, None].expand(-1, -1, height, width)


def down_size(side: int, layers: int) -> int:
    """An image side after ``layers`` Conv4×4 stride 2 padding 1: ⌊i / 2⌋ each time."""
    for _ in range(layers):
        side = (side + 2 - 4) // 2 + 1
    return side


class StarResidualBlock(nn.Module):
    """x + [Conv3×3 → IN → ReLU → Conv3×3 → IN](x) (StarGAN's bottleneck, as in Johnson et al. 2016)."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.InstanceNorm2d(channels, affine=True),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.InstanceNorm2d(channels, affine=True))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class StarGenerator(nn.Module):
    """G(x, c): images in [−1, 1] (N×C×H×W) and target labels (N×K) → images in [−1, 1], same size.

    Parts: ``stem`` (reads C + K channels), ``down``, ``blocks``, ``up``, ``head``."""

    def __init__(self, channels: int, num_labels: int, width: int = 64, downs: int = 2, blocks: int = 6):
        super().__init__()
        what = "StarGenerator"
        self.channels = whole_number(channels, "channels", 1, what)
        self.num_labels = whole_number(num_labels, "num_labels", 1, what)
        width = whole_number(width, "width", 1, what)
        self.downs = whole_number(downs, "downs", 0, what)
        whole_number(blocks, "blocks", 0, what)
        self.stem = nn.Sequential(nn.Conv2d(channels + num_labels, width, 7, padding=3, bias=False),
                                  nn.InstanceNorm2d(width, affine=True), nn.ReLU(inplace=True))
        down, c = [], width
        for _ in range(downs):
            down += [nn.Conv2d(c, 2 * c, 4, stride=2, padding=1, bias=False), nn.InstanceNorm2d(2 * c, affine=True),
                     nn.ReLU(inplace=True)]
            c *= 2
        self.down = nn.Sequential(*down)
        self.blocks = nn.Sequential(*(StarResidualBlock(c) for _ in range(blocks)))
        up = []
        for _ in range(downs):
            up += [nn.ConvTranspose2d(c, c // 2, 4, stride=2, padding=1, bias=False),
                   nn.InstanceNorm2d(c // 2, affine=True), nn.ReLU(inplace=True)]
            c //= 2
        self.up = nn.Sequential(*up)
        self.head = nn.Sequential(nn.Conv2d(c, channels, 7, padding=3, bias=False), nn.Tanh())

    def forward(self, x: Tensor, c: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ConfigError(f"StarGenerator: images must be N×{self.channels}×H×W, got shape {tuple(x.shape)}")
        if c.dim() != 2 or c.shape != (len(x), self.num_labels):
            raise ConfigError(f"StarGenerator: target labels must be {len(x)}×{self.num_labels} (one row of "
                              f"{self.num_labels} per image), got shape {tuple(c.shape)}")
        h, w = x.shape[-2:]
        m = 2 ** self.downs
        ph, pw = -h % m, -w % m
        pad = (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2)
        if any(pad):   # every stride-2 layer then halves exactly, and the output is cropped back
            mode = "reflect" if max(pad[:2]) < w and max(pad[2:]) < h else "replicate"
            x = F.pad(x, pad, mode=mode)
        z = torch.cat([x, tile_labels(c.to(x.dtype), *x.shape[-2:])], 1)
        out = self.head(self.up(self.blocks(self.down(self.stem(z)))))
        return out[..., pad[2]:pad[2] + h, pad[0]:pad[0] + w]

    def extra_repr(self) -> str:
        return f"channels={self.channels}, labels={self.num_labels}, downs={self.downs}"


class StarDiscriminator(nn.Module):
    """D(x) → (D_src N×1×h×w patch scores, D_cls N×K domain logits) for images of ``image_size``.

    Parts: ``body`` (the shared convolutions), ``src`` and ``cls`` (the two heads)."""

    def __init__(self, channels: int, num_labels: int, image_size: tuple[int, int], width: int = 64,
                 layers: int = 6):
        super().__init__()
        what = "StarDiscriminator"
        self.channels = whole_number(channels, "channels", 1, what)
        self.num_labels = whole_number(num_labels, "num_labels", 1, what)
        width = whole_number(width, "width", 1, what)
        self.layers = whole_number(layers, "layers", 1, what)
        self.image_size = (int(image_size[0]), int(image_size[1]))
        side = (down_size(self.image_size[0], layers), down_size(self.image_size[1], layers))
        if min(side) < 1:
            raise ConfigError(f"{what}: {layers} stride-2 layers leave nothing of a {self.image_size[0]}×"
                              f"{self.image_size[1]} image; use fewer d_layers (at most "
                              f"{max(1, min(self.image_size).bit_length() - 1)}) or larger images")
        body, c = [], channels
        for i in range(layers):
            out = width * 2 ** i
            body += [nn.Conv2d(c, out, 4, stride=2, padding=1), nn.LeakyReLU(0.01)]
            c = out
        self.body = nn.Sequential(*body)
        self.src = nn.Conv2d(c, 1, 3, stride=1, padding=1, bias=False)
        self.cls = nn.Conv2d(c, num_labels, side, bias=False)   # one position: the whole image's domain

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        if x.dim() != 4 or x.shape[1] != self.channels or tuple(x.shape[-2:]) != self.image_size:
            raise ConfigError(f"StarDiscriminator: images must be N×{self.channels}×{self.image_size[0]}×"
                              f"{self.image_size[1]} (the size it was built for), got shape {tuple(x.shape)}")
        h = self.body(x)
        return self.src(h), self.cls(h).flatten(1)

    def extra_repr(self) -> str:
        return f"image_size={self.image_size}, labels={self.num_labels}"
