"""PixelCNN and Gated PixelCNN (van den Oord et al. 2016): autoregressive models whose masked
convolutions read the whole image at once yet give each pixel only the pixels before it.

    p(x) = ∏_{i,j} ∏_c p(x_{c,i,j} | x_{<(i,j)}, x_{<c,(i,j)})      raster order, R → G → B in a pixel

Masked convolution (k×k, centre (c, c)): the weight at kernel position (u, v) is kept when

    u < c,  or  u = c and v < c,  or  (u, v) = (c, c) and  group(in) < group(out)   (mask A)
                                                          group(in) ≤ group(out)   (mask B)

with the channels of every layer split into C colour groups R → G → B. Mask A (the first layer)
hides the pixel's own value; mask B (every later layer) lets a feature read its own position,
which by then holds only what is allowed.

    pixelcnn          7×7 conv A (→ 2h)  →  B residual blocks  x + 1×1(ReLU(3×3 B(ReLU(1×1(ReLU x)))))
                      → ReLU → 1×1 B → ReLU → 1×1 B → C·P outputs (a 256-way softmax per colour,
                      or one Bernoulli logit for binary pixels)
    gated-pixelcnn    L gated layers; each:  vertical  (k//2+1)×k conv over rows ≤ r
                                             horizontal 1×(k//2+1) conv over the row, left of the pixel
                                                        + 1×1 of the vertical stack shifted down one row
                      y = tanh(W_f * x + V_f h) ⊙ σ(W_g * x + V_g h)     in both stacks, h = embed(class)
                      horizontal residual  h_out = h_in + 1×1(y)   (not on the first layer)

Blind spot: a stack of masked 3×3 convolutions grows its receptive field to the left faster than to
the right, so pixels above and to the right of the current one (e.g. (i−1, j+2) after two layers)
are never read. The gated model's vertical stack sees full rows above (within its reach), shifted so
that it never sees the current row, and the horizontal stack adds the current row's left part.

Sampling draws one dimension at a time; the output at row i reads only rows [i − R, i] (R = the
sum of the layers' vertical reaches) and columns j ± R', so ``step_params`` runs the network on that
crop only, which is exact: the zero padding at the crop's edges changes only outputs that the
pixel (i, j) never reads.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import torch
from torch import Tensor, nn

from ..errors import ConfigError
from ..nn.masked import GatedPixelCNNLayer, MaskedConv2d, PixelCNNBlock
from ..registry import register
from .autoregressive import Autoregressive, AutoregressiveConfig
from .base import LabelSpace, Range


class _MaskedConvModel(Autoregressive):
    """What both models share: the network input as C·E channels in colour groups, the output head
    (ReLU → 1×1 B → ReLU → 1×1 B → C·P, colour-major) and the cropped ``step_params``."""

    row_reach = 0     # R: rows above the pixel its output reads (set by the subclass)
    col_reach = 0     # R': columns either side

    def head(self, width: int) -> nn.Sequential:
        c = self.image_shape[0]
        return nn.Sequential(nn.ReLU(), MaskedConv2d(width, width, 1, "B", c), nn.ReLU(),
                             MaskedConv2d(width, c * self.params_per_dim, 1, "B", c))

    def flat_input(self, inp: Tensor) -> Tensor:
        n, c, e, h, w = inp.shape
        return inp.reshape(n, c * e, h, w)           # colour-major: channel k belongs to colour k // E

    def unflatten(self, out: Tensor) -> Tensor:
        n, _, h, w = out.shape
        c, p = self.image_shape[0], self.params_per_dim
        return out.view(n, c, p, h, w).transpose(1, 2)

    def step_params(self, inp: Tensor, y: Tensor | None, i: int, j: int) -> Tensor:
        """Pixel (i, j)'s parameters from the crop of rows [i − R, i], columns j ± R' of the input,
        trimmed after every layer to what the layers after it still read (a cone narrowing to the
        pixel): exact, since what the crop's zero padding changes is trimmed before it is read."""
        x, left = self.window(self.flat_input(inp[..., :i + 1, :]), 0, i, j, self.row_reach, self.col_reach)
        return self.unflatten(self.cone(x, left, y, i, j))[..., -1, -1]

    def window(self, x: Tensor, left: int, i: int, j: int, up: int, side: int) -> tuple[Tensor, int]:
        """The rows [i − up, i] and columns [j − side, j + side] (inside the image) of ``x``, whose
        last row is row i and first column is column ``left``; returns it and its first column."""
        width = self.image_shape[2]
        first, last = max(0, j - side), min(width, j + side + 1)
        return x[..., -(i - max(0, i - up) + 1):, first - left:last - left], first

    def cone(self, x: Tensor, left: int, y, i: int, j: int) -> Tensor:
        """The network on a window whose last row is row i, trimmed after every layer to what the
        layers after it read: the outputs of pixel (i, j), N×(C·P)×1×1."""
        raise NotImplementedError


# --- PixelCNN -----------------------------------------------------------------------------------------------


@dataclass
class PixelCNNConfig(AutoregressiveConfig):
    width: Annotated[int, Range(2)] = 64    # 2h: channels between the residual blocks (h inside them)
    blocks: Annotated[int, Range(0)] = 6    # residual blocks after the first layer (each reaches one row up)
    kernel: Annotated[int, Range(1)] = 7    # the first (mask A) convolution's kernel size, odd
    lr: Annotated[float, Range(0, low_open=True)] = 1e-3   # Adam's learning rate


@register("pixelcnn", PixelCNNConfig, "PixelCNN: masked convolutions (masks A/B), residual blocks, a softmax per pixel")
class PixelCNN(_MaskedConvModel):
    """7×7 mask-A convolution, ``blocks`` mask-B residual blocks, a 1×1 head to C·P outputs."""

    default_epochs = 10
    default_batch_size = 64

    def __init__(self, config: PixelCNNConfig):
        super().__init__(config)
        c = self.image_shape[0]
        if config.width % 2 or config.width // 2 < c:
            raise ConfigError(f"pixelcnn width (2h) must be even and at least {2 * c} for {c} colour channel(s), "
                              f"got {config.width}")
        if config.kernel % 2 == 0:
            raise ConfigError(f"pixelcnn kernel must be odd (mask A has a centre pixel), got {config.kernel}; "
                              "use 7 (the paper's), 5 or 3")
        self.first = MaskedConv2d(c * self.input_features, config.width, config.kernel, "A", c)
        self.blocks = nn.Sequential(*[PixelCNNBlock(config.width, c) for _ in range(config.blocks)])
        self.out = self.head(config.width)
        self.row_reach = self.col_reach = config.kernel // 2 + config.blocks

    def network(self, inp: Tensor, y=None) -> Tensor:
        return self.unflatten(self.out(self.blocks(self.first(self.flat_input(inp)))))

    def cone(self, x: Tensor, left: int, y, i: int, j: int) -> Tensor:
        remaining = len(self.blocks)                      # each block reads one row up, one column aside
        x, left = self.window(self.first(x), left, i, j, remaining, remaining)
        for block in self.blocks:
            remaining -= 1
            x, left = self.window(block(x), left, i, j, remaining, remaining)
        return self.out(x)


# --- Gated PixelCNN -----------------------------------------------------------------------------------------


@dataclass
class GatedPixelCNNConfig(AutoregressiveConfig):
    width: Annotated[int, Range(1)] = 24    # p: channels of each stack (the gates read 2p)
    layers: Annotated[int, Range(1)] = 5    # gated layers (each reaches kernel // 2 rows further up)
    kernel: Annotated[int, Range(1)] = 5    # k: vertical (k//2+1)×k and horizontal 1×(k//2+1) kernels, odd
    # a class embedding in every gate, when the data has labels: p(x | y), sampled per class (off by
    # default, so that held-out NLLs compare with the unconditional models)
    conditional: bool = False
    lr: Annotated[float, Range(0, low_open=True)] = 1e-3   # Adam's learning rate


@register("gated-pixelcnn", GatedPixelCNNConfig,
          "Gated PixelCNN: vertical + horizontal stacks (no blind spot), tanh·σ gates, class-conditional")
class GatedPixelCNN(_MaskedConvModel):
    """``layers`` gated layers (the first one mask A, no residual), then the 1×1 head."""

    default_epochs = 8      # an epoch costs about 1.5 PixelCNN epochs
    default_batch_size = 64

    def __init__(self, config: GatedPixelCNNConfig):
        super().__init__(config)
        c = self.image_shape[0]
        if config.kernel % 2 == 0:
            raise ConfigError(f"gated-pixelcnn kernel must be odd (the horizontal stack ends at the pixel), got "
                              f"{config.kernel}; use 3, 5 or 7")
        if config.width < c:
            raise ConfigError(f"gated-pixelcnn width must be at least {c} (one per colour channel), got {config.width}")
        self.classes = config.num_classes if config.conditional and config.num_classes > 0 else 0
        inputs = c * self.input_features
        self.layers = nn.ModuleList(
            GatedPixelCNNLayer(inputs if n == 0 else config.width, config.width, config.kernel, first=n == 0,
                               channels=c, num_classes=self.classes) for n in range(config.layers))
        self.out = self.head(config.width)
        # the horizontal stack reads the vertical one shifted one row down: one row more than the kernels
        self.row_reach = 1 + config.layers * (config.kernel // 2)
        self.col_reach = config.layers * (config.kernel // 2)

    @property
    def label_space(self) -> LabelSpace | None:
        return self.class_label_space() if self.classes else None

    def network(self, inp: Tensor, y=None) -> Tensor:
        if self.classes:
            y = self.require_labels(y, len(inp))
        v = h = self.flat_input(inp)
        for layer in self.layers:
            v, h = layer(v, h, y)
        return self.unflatten(self.out(h))

    def cone(self, x: Tensor, left: int, y, i: int, j: int) -> Tensor:
        if self.classes:
            y = self.require_labels(y, len(x))
        k2, remaining = self.config.kernel // 2, len(self.layers)
        v, h = x, x[..., -1:, :]            # the horizontal stack of row i needs only row i
        for layer in self.layers:
            v, h = layer(v, h, y)
            remaining -= 1
            # v feeds the next layers' link one row down: rows [i − 1 − remaining·k2, i − 1]
            v, new_left = self.window(v, left, i, j, 1 + remaining * k2, remaining * k2)
            h, left = self.window(h, left, i, j, 0, remaining * k2)[0], new_left
        return self.out(h)

    def preview(self, batch: dict) -> Tensor:
        y = torch.arange(self.preview_count) % self.classes if self.classes else None
        return self.sample(self.preview_count, y, generator=torch.Generator().manual_seed(0))


__all__ = ["PixelCNN", "PixelCNNConfig", "GatedPixelCNN", "GatedPixelCNNConfig"]
