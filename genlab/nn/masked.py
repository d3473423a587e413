"""Masked convolutions for autoregressive image models (van den Oord et al. 2016).

PixelCNN's masked convolution zeroes the kernel weights that would let an output see the pixel it
predicts or anything after it in raster order. For a k×k kernel centred at (c, c):

    m[u, v] = 1   if u < c                 (rows above)
              1   if u = c and v < c       (left of centre on the centre row)
              centre (u = v = c): type A   group(in) <  group(out)    (the first layer: x_i unseen)
                                  type B   group(in) ≤  group(out)    (later layers: their own feature)
              0   otherwise

With C colour channels the channels of every layer are split into C contiguous groups R → G → B;
at the centre pixel group g of the output reads only the groups before it (A) or up to it (B), so
that G is predicted from R, and B from R and G, of the same pixel. Stacked 3×3 masks leave a
*blind spot*: pixels above and to the right that the receptive field never reaches.

Gated PixelCNN (van den Oord et al. 2016, "Conditional image generation with PixelCNN decoders")
removes the blind spot with two stacks per layer:

    vertical    a (k//2+1)×k convolution over the rows up to the current one; shifted down one row
                before it feeds the horizontal stack, so the horizontal stack sees rows strictly above
    horizontal  a 1×(k//2+1) convolution over the current row, left of the pixel (masked like A/B at
                the pixel itself), plus a 1×1 link from the shifted vertical stack
    gate        y = tanh(W_f * x + V_f h) ⊙ σ(W_g * x + V_g h)       h: a learned class embedding
    residual    h_out = h_in + 1×1(y_h) on the horizontal stack (not on the first layer)
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import ConfigError

MASK_TYPES = ("A", "B")


def channel_groups(n: int, channels: int) -> Tensor:
    """The colour group (0…C−1) of each of ``n`` channels: C contiguous blocks, R → G → B."""
    return torch.arange(n) * channels // n


def centre_mask(out_groups: Tensor, in_groups: Tensor, mask_type: str) -> Tensor:
    """out×in weights allowed at the centre pixel: earlier groups (A), or up to its own (B)."""
    if mask_type not in MASK_TYPES:
        raise ConfigError(f"mask type must be 'A' (first layer) or 'B' (later layers), got {mask_type!r}")
    before = in_groups.view(1, -1) < out_groups.view(-1, 1)
    return before | (in_groups.view(1, -1) == out_groups.view(-1, 1)) if mask_type == "B" else before


def mask_picture(kernel: int, mask_type: str = "A") -> Tensor:
    """The k×k mask of one colour channel (1 allowed, 0 masked), for drawing."""
    return MaskedConv2d(1, 1, kernel, mask_type).mask[0, 0].clone()


def _check_kernel(kernel: int) -> None:
    if kernel < 1 or kernel % 2 == 0:
        raise ConfigError(f"a masked convolution needs an odd kernel size (it has a centre pixel), got {kernel}; "
                          "use 1, 3, 5, 7, …")


class MaskedConv2d(nn.Conv2d):
    """A k×k convolution (same padding) masked so that each output sees only the pixels before it
    in raster order and, at its own pixel, the colour groups before (A) or up to (B) its own.
    ``out_groups`` overrides the output channels' groups (a gate's two halves share groups)."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, mask_type: str = "B", channels: int = 1,
                 out_groups: Tensor | None = None):
        _check_kernel(kernel)
        super().__init__(in_ch, out_ch, kernel, padding=kernel // 2)
        self.mask_type, self.channels = mask_type, channels
        out_groups = channel_groups(out_ch, channels) if out_groups is None else out_groups
        c = kernel // 2
        mask = torch.zeros(out_ch, in_ch, kernel, kernel)
        mask[:, :, :c, :] = 1
        mask[:, :, c, :c] = 1
        mask[:, :, c, c] = centre_mask(out_groups, channel_groups(in_ch, channels), mask_type).float()
        self.register_buffer("mask", mask, persistent=False)   # derived from the arguments, not learned

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


class PixelCNNBlock(nn.Module):
    """PixelCNN's residual block: x + 1×1(h→2h)(ReLU(3×3 B(h→h)(ReLU(1×1(2h→h)(ReLU(x)))))), every
    convolution type-B masked by colour group (the 1×1s too: they mix channels of one pixel).
    Vertical reach: one row above."""

    reach = 1

    def __init__(self, width: int, channels: int = 1):
        super().__init__()
        if width % 2 or width // 2 < channels:
            raise ConfigError(f"PixelCNN width (2h) must be even and at least 2 per colour channel, got {width} "
                              f"for {channels} channel(s)")
        h = width // 2
        self.reduce = MaskedConv2d(width, h, 1, "B", channels)
        self.conv = MaskedConv2d(h, h, 3, "B", channels)
        self.expand = MaskedConv2d(h, width, 1, "B", channels)

    def forward(self, x: Tensor) -> Tensor:
        out = self.reduce(F.relu(x))
        out = self.conv(F.relu(out))
        return x + self.expand(F.relu(out))


def gate(x: Tensor) -> Tensor:
    """tanh(f) ⊙ σ(g) of the channel halves [f, g]."""
    f, g = x.chunk(2, dim=1)
    return torch.tanh(f) * torch.sigmoid(g)


def shift_down(x: Tensor) -> Tensor:
    """Row r gets row r−1 (zeros on top): the vertical stack's rows strictly above."""
    return F.pad(x, (0, 0, 1, 0))[:, :, :-1]


class GatedPixelCNNLayer(nn.Module):
    """One gated layer: ``(v, h, y) -> (v', h')``. ``first``: type A at the pixel itself and no
    residual (``v`` and ``h`` are then the image). ``h`` may cover only the bottom rows of ``v``
    (same columns): the horizontal stack of a row needs the vertical one of the rows above, not below.
    ``num_classes`` > 0 adds a learned class embedding inside each gate of both stacks."""

    def __init__(self, in_ch: int, width: int, kernel: int = 3, first: bool = False, channels: int = 1,
                 num_classes: int = 0):
        super().__init__()
        _check_kernel(kernel)
        if width < channels:
            raise ConfigError(f"gated PixelCNN width must be at least one per colour channel, got {width} "
                              f"for {channels}")
        self.k2, self.first, self.width = kernel // 2, first, width
        k2 = self.k2
        groups = channel_groups(width, channels)
        gate_groups = torch.cat([groups, groups])      # f and g of one channel share its colour group
        self.v_conv = nn.Conv2d(in_ch, 2 * width, (k2 + 1, kernel))
        self.h_conv = nn.Conv2d(in_ch, 2 * width, (1, k2 + 1))
        mask = torch.ones(2 * width, in_ch, 1, k2 + 1)
        mask[:, :, 0, k2] = centre_mask(gate_groups, channel_groups(in_ch, channels), "A" if first else "B").float()
        self.register_buffer("h_mask", mask, persistent=False)
        self.link = nn.Conv2d(2 * width, 2 * width, 1)    # from rows strictly above: any channel may feed any
        self.h_out = MaskedConv2d(width, width, 1, "B", channels)
        self.embed = nn.Embedding(num_classes, 4 * width) if num_classes > 0 else None
        if self.embed is not None:
            nn.init.zeros_(self.embed.weight)            # starts as the unconditional layer

    @property
    def reach(self) -> int:
        """Rows of the vertical stack's input one application reads above its output row."""
        return self.k2

    def forward(self, v: Tensor, h: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor]:
        k2 = self.k2
        vp = self.v_conv(F.pad(v, (k2, k2, k2, 0)))                         # rows [r−k2, r], cols r±k2
        hp = F.conv2d(F.pad(h, (k2, 0, 0, 0)), self.h_conv.weight * self.h_mask, self.h_conv.bias)
        # rows strictly above only; ``h`` may hold just the bottom rows of ``v``'s window (sampling)
        hp = hp + self.link(shift_down(vp)[:, :, vp.shape[2] - hp.shape[2]:])
        if y is not None and self.embed is not None:
            e = self.embed(y)[:, :, None, None]
            vp = vp + e[:, :2 * self.width]
            hp = hp + e[:, 2 * self.width:]
        out = self.h_out(gate(hp))
        return gate(vp), out if self.first else h + out


__all__ = ["MaskedConv2d", "PixelCNNBlock", "GatedPixelCNNLayer", "mask_picture", "channel_groups", "centre_mask",
           "gate", "shift_down"]
