"""Networks of unpaired translation (CycleGAN, Zhu et al. 2017): the ResNet generator and the image pool.

    ResnetGenerator  Johnson et al. 2016, as CycleGAN uses it ("c7s1-k, dk, Rk, uk"):
                         ReflectionPad(3) → Conv7×7(C → w) → IN → ReLU                      c7s1-w
                         d × [Conv3×3/s2(w·2^i → w·2^(i+1)) → IN → ReLU]                       d2w, d4w
                         B × ResnetBlock(w·2^d)                                               R
                         d × [ConvTranspose3×3/s2 (output padding 1, halving widths) → IN → ReLU]
                         ReflectionPad(3) → Conv7×7(w → C_out) → tanh                         c7s1-C
                     IN = instance norm (Ulyanov et al. 2016): each image's own statistics per channel.
                     Any H×W: the input is padded by reflection to a multiple of 2^d and the output
                     cropped back, so G(x) has x's size.
    ResnetBlock      r ↦ r + IN(Conv3×3(ReLU(IN(Conv3×3(r))))), each convolution after a
                     ReflectionPad(1) instead of zero padding (no dark border artefacts).
    ImagePool        Shrivastava et al. 2017: the discriminator is shown a history of generated images,
                     not only the newest ones. Until it holds ``size`` images every fake is stored and
                     returned; once full, each fake is, with probability ½, swapped for a random stored
                     one (the stored one is returned, the new one takes its place), else returned itself.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import ConfigError
from .blocks import whole_number
from .gan import init_dcgan

__all__ = ["ResnetBlock", "ResnetGenerator", "ImagePool", "max_downsamplings"]




def _instance_norm(channels: int) -> nn.InstanceNorm2d:
    # CycleGAN's choice: no affine parameters and no running statistics, so train and eval agree
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


def max_downsamplings(height: int, width: int, wanted: int = 2, smallest: int = 4) -> int:
    """The stride-2 steps (up to ``wanted``) that leave a bottleneck of at least ``smallest`` pixels a
    side: 2 for 28×28 (→ 7×7), 1 for 8×8 (→ 4×4), 0 for 6×6. Instance norm over a 1×1 or 2×2 map
    normalises each channel to (nearly) nothing."""
    d = 0
    while d < wanted and min(height, width) // 2 ** (d + 1) >= smallest:
        d += 1
    return d


class ResnetBlock(nn.Module):
    """r ↦ r + IN(Conv3×3(ReLU(IN(Conv3×3(r))))), reflection padding before each convolution."""

    def __init__(self, channels: int, dropout: float = 0.0):
        super().__init__()
        channels = whole_number(channels, "channels", 1, "ResnetBlock")
        if not 0.0 <= float(dropout) < 1.0:
            raise ConfigError(f"ResnetBlock: dropout must be in [0, 1), got {dropout!r}")
        layers: list[nn.Module] = [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), _instance_norm(channels),
                                   nn.ReLU(inplace=True)]
        if dropout:
            layers.append(nn.Dropout(dropout))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), _instance_norm(channels)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """CycleGAN's generator (see the module docstring): ``in_channels`` → ``out_channels`` images in
    [−1, 1] of the input's H×W. ``width`` channels at full resolution, doubling per downsampling;
    ``blocks`` ResnetBlocks at the bottleneck; ``downsamplings`` stride-2 steps (and as many
    transposed convolutions back up). Weights N(0, 0.02), as CycleGAN initialises them.

    Parts: ``stem``, ``down``, ``blocks``, ``up``, ``head``."""

    def __init__(self, in_channels: int, out_channels: int, width: int = 16, blocks: int = 3,
                 downsamplings: int = 2, dropout: float = 0.0):
        super().__init__()
        what = "ResnetGenerator"
        self.in_channels = whole_number(in_channels, "in_channels", 1, what)
        self.out_channels = whole_number(out_channels, "out_channels", 1, what)
        width = whole_number(width, "width", 1, what)
        n_blocks = whole_number(blocks, "blocks", 0, what)
        self.downsamplings = whole_number(downsamplings, "downsamplings", 0, what)
        self.multiple = 2 ** self.downsamplings
        self.stem = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(in_channels, width, 7), _instance_norm(width),
                                  nn.ReLU(inplace=True))
        widths = [width * 2 ** i for i in range(self.downsamplings + 1)]
        self.widths = widths
        self.down = nn.Sequential(*[nn.Sequential(nn.Conv2d(a, b, 3, stride=2, padding=1), _instance_norm(b),
                                                  nn.ReLU(inplace=True))
                                    for a, b in zip(widths[:-1], widths[1:])])
        self.blocks = nn.Sequential(*[ResnetBlock(widths[-1], dropout) for _ in range(n_blocks)])
        # (i − 1)·2 − 2 + 3 + 1 = 2i: each transposed convolution exactly doubles the side
        self.up = nn.Sequential(*[nn.Sequential(nn.ConvTranspose2d(a, b, 3, stride=2, padding=1, output_padding=1),
                                                _instance_norm(b), nn.ReLU(inplace=True))
                                  for a, b in zip(widths[::-1][:-1], widths[::-1][1:])])
        self.head = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(width, out_channels, 7), nn.Tanh())
        init_dcgan(self)

    def padding_for(self, h: int, w: int) -> tuple[int, int, int, int]:
        """(left, right, top, bottom) that bring H×W up to multiples of 2^downsamplings, split evenly."""
        ph, pw = -h % self.multiple, -w % self.multiple
        return pw // 2, pw - pw // 2, ph // 2, ph - ph // 2

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ConfigError(f"ResnetGenerator: the input must be N×{self.in_channels}×H×W, got shape "
                              f"{tuple(x.shape)}; give images with {self.in_channels} channel(s)")
        h, w = x.shape[-2:]
        if min(h, w) < 4:   # the 7×7 stem's reflection needs more than 3 pixels a side
            raise ConfigError(f"ResnetGenerator: images of {h}×{w} are too small; it needs at least 4×4")
        pad = self.padding_for(h, w)
        mode = "reflect" if max(pad[0], pad[1]) < w and max(pad[2], pad[3]) < h else "replicate"
        z = F.pad(x, pad, mode=mode) if any(pad) else x
        out = self.head(self.up(self.blocks(self.down(self.stem(z)))))
        return out[..., pad[2]:pad[2] + h, pad[0]:pad[0] + w]

    def extra_repr(self) -> str:
        return f"widths={self.widths}, downsamplings={self.downsamplings}, pads to a multiple of {self.multiple}"


class ImagePool:
    """A history of up to ``size`` generated images (Shrivastava et al. 2017), one per discriminator.

    :meth:`query` takes a batch of new fakes and returns as many images for the discriminator:
    while the pool is filling, each new fake is stored and returned; once full, each is with
    probability ½ exchanged for a uniformly chosen stored image (that one is returned, the new one
    stored in its place) and otherwise returned as it is. ``size = 0`` returns the batch unchanged.
    ``generator`` (a CPU ``torch.Generator``) draws the coins and the indices; None: the global RNG.
    The stored images are detached copies; the pool is no module state (it is not saved with the
    weights: a resumed run starts with an empty pool)."""

    def __init__(self, size: int = 50, generator: torch.Generator | None = None):
        self.size = whole_number(size, "size", 0, "ImagePool")
        self.generator = generator
        self.images: list[Tensor] = []

    def __len__(self) -> int:
        return len(self.images)

    def clear(self) -> None:
        self.images = []

    @torch.no_grad()
    def query(self, images: Tensor) -> Tensor:
        if self.size == 0 or len(images) == 0:
            return images.detach()
        out = []
        for image in images.detach():
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif float(torch.rand((), generator=self.generator)) < 0.5:
                k = int(torch.randint(len(self.images), (), generator=self.generator))
                out.append(self.images[k])
                self.images[k] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)
