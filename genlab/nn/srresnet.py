"""Super-resolution networks of SRGAN (Ledig et al. 2017): the SRResNet generator and its discriminator.

    SRResNet         Ledig et al. 2017, Fig. 4 (top). x (N×C×h×w) →
                         Conv9×9(C → w) → PReLU                                  = u
                         B residual blocks  r ↦ r + BN(Conv3×3(PReLU(BN(Conv3×3(r)))))
                         Conv3×3 → BN, + u                          (the long skip over all blocks)
                         log2(s) × [Conv3×3(w → 4w) → PixelShuffle(2) → PReLU]  (sub-pixel convolution,
                                                                    Shi et al. 2016: ×2 per stage)
                         Conv9×9(w → C_out)                                      → N×C_out×(s·h)×(s·w)
                     linear output (no tanh: the model decides how to clamp). ``residual_bicubic`` adds
                     bicubic(x[:, :C_out]) so the network learns only the correction to the bicubic guess.
    SRDiscriminator  Ledig et al. 2017, Fig. 4 (bottom). x →
                         Conv3×3(C → w) → LeakyReLU(0.2)
                         Conv3×3/s2(w) → BN → LReLU, then per level i = 1 … L−1 (width w·2^i):
                         Conv3×3/s1 → BN → LReLU, Conv3×3/s2 → BN → LReLU
                         AdaptiveAvgPool(1) → Linear(w·2^(L−1) → dense) → LReLU(0.2) → Linear(dense → 1)
                     one logit per image (shape N). With L = 4 levels and w = 64 these are the paper's
                     widths 64, 64, 128, 128, 256, 256, 512, 512 (2L − 1 = 7 conv-BN blocks after the first
                     convolution). The global average pool replaces the paper's dense layer over a fixed
                     96×96/16 = 6×6 map, so any image size works; Conv3×3/s2 with padding 1 maps a side i to
                     ⌈i/2⌉ ≥ 1, so even 8×8 inputs survive four halvings (8 → 4 → 2 → 1 → 1).
"""
from __future__ import annotations

import operator

import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import ConfigError
from .blocks import whole_number
from .gan import init_dcgan

__all__ = ["ResidualBlock", "SRDiscriminator", "SRResNet"]




def _stages(scale, what: str) -> int:
    """log2(scale) for a power of two ≥ 1, else a ConfigError."""
    try:
        s = None if isinstance(scale, bool) else operator.index(scale)
    except TypeError:
        s = None
    if s is None or s < 1 or s & (s - 1):
        raise ConfigError(f"{what}: scale must be a power of two ≥ 1 (1, 2, 4, 8, …), got {scale!r}; each "
                          "PixelShuffle stage doubles the side, so resize to a power-of-two factor")
    return s.bit_length() - 1


def _check_images(x: Tensor, channels: int, what: str) -> None:
    if x.dim() != 4 or x.shape[1] != channels:
        raise ConfigError(f"{what}: the input must be N×{channels}×H×W, got shape {tuple(x.shape)}; give images "
                          f"with {channels} channel(s) (convert grey/colour to match the training data)")


def _conv_bn(in_channels: int, out_channels: int, stride: int = 1) -> list[nn.Module]:
    # BatchNorm's shift makes the convolution's bias redundant
    return [nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(out_channels)]


class ResidualBlock(nn.Module):
    """r ↦ r + BN(Conv3×3(PReLU(BN(Conv3×3(r))))), the SRResNet block (He et al. 2016 without the final
    activation, as Ledig et al. 2017; PReLU per channel)."""

    def __init__(self, width: int):
        super().__init__()
        self.body = nn.Sequential(*_conv_bn(width, width), nn.PReLU(width), *_conv_bn(width, width))

    def forward(self, r: Tensor) -> Tensor:
        return r + self.body(r)


class SRResNet(nn.Module):
    """SRResNet (Ledig et al. 2017): N×in×h×w → N×out×(scale·h)×(scale·w) for any h, w.

    ``scale``: a power of two ≥ 1 (1: no upsampling stage, a same-size restoration network).
    ``blocks``: residual blocks (16 in the paper; 0 leaves the head, the skip convolution and the
    upsampler). ``width``: feature channels (64). ``residual_bicubic``: add the bicubic upsampling of the
    input's first ``out_channels`` channels (needs in_channels ≥ out_channels).

    Parts: ``head`` (Conv9×9 → PReLU), ``body`` (residual blocks), ``fuse`` (Conv3×3 → BN before the long
    skip), ``upsample`` (``stages`` PixelShuffle stages), ``tail`` (Conv9×9). Initialisation: PyTorch's
    defaults, except that each residual block's last BN scale starts at 0 (see :meth:`reset_parameters`).
    """

    def __init__(self, in_channels: int, out_channels: int, scale: int, blocks: int = 16, width: int = 64,
                 residual_bicubic: bool = False):
        super().__init__()
        what = "SRResNet"
        self.in_channels = whole_number(in_channels, "in_channels", 1, what)
        self.out_channels = whole_number(out_channels, "out_channels", 1, what)
        self.stages = _stages(scale, what)
        self.scale = 2 ** self.stages
        self.blocks = whole_number(blocks, "blocks", 0, what)
        self.width = width = whole_number(width, "width", 1, what)
        if residual_bicubic and out_channels > in_channels:
            raise ConfigError(f"{what}: residual_bicubic=True adds the upsampled input to the output, so in_channels "
                              f"({in_channels}) must be ≥ out_channels ({out_channels}); turn residual_bicubic off")
        self.residual_bicubic = bool(residual_bicubic)

        self.head = nn.Sequential(nn.Conv2d(in_channels, width, 9, padding=4), nn.PReLU(width))
        self.body = nn.Sequential(*(ResidualBlock(width) for _ in range(self.blocks)))
        self.fuse = nn.Sequential(*_conv_bn(width, width))
        # Sub-pixel convolution: 4w channels rearranged into a 2×2 neighbourhood of w channels.
        self.upsample = nn.Sequential(*(nn.Sequential(nn.Conv2d(width, 4 * width, 3, padding=1), nn.PixelShuffle(2),
                                                      nn.PReLU(width))
                                        for _ in range(self.stages)))
        self.tail = nn.Conv2d(width, out_channels, 9, padding=4)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Zero the last BN scale of every residual block (Goyal et al. 2017), so each block starts as the
        identity and the trunk as head → upsampler → tail; measured on ×2 super-resolution of 16×16 smooth
        images in [−1, 1] (2 blocks, width 8, 150 Adam steps, three seeds): held-out MSE 0.57–0.63× nearest-
        neighbour's, against 0.86–1.06× with PyTorch's default BN scale of 1."""
        for block in self.body:
            nn.init.zeros_(block.body[-1].weight)

    def forward(self, x: Tensor) -> Tensor:
        _check_images(x, self.in_channels, "SRResNet")
        u = self.head(x)
        out = self.tail(self.upsample(u + self.fuse(self.body(u))))
        if self.residual_bicubic:
            guess = x[:, :self.out_channels]
            if self.scale > 1:
                guess = F.interpolate(guess, scale_factor=self.scale, mode="bicubic", align_corners=False)
            out = out + guess
        return out

    def extra_repr(self) -> str:
        return (f"scale={self.scale}, stages={self.stages}, blocks={self.blocks}, width={self.width}, "
                f"residual_bicubic={self.residual_bicubic}")


class SRDiscriminator(nn.Module):
    """SRGAN's discriminator (Ledig et al. 2017): N×C×H×W → N logits, for any H×W ≥ 1.

    ``width``: channels of the first convolution (64). ``blocks``: width levels w, 2w, …, w·2^(blocks−1)
    (4 in the paper; each level is a stride-1/stride-2 pair of Conv3×3 → BN → LeakyReLU(0.2), the first
    level's stride-1 convolution being the un-normalised first layer). ``dense``: units of the hidden
    linear layer (1024). Weights N(0, 0.02) (:func:`genlab.nn.gan.init_dcgan`).

    Parts: ``features`` (the convolutions), ``pool`` (global average), ``classifier`` (the two linears).
    ``widths`` lists the channels of every convolution, ``strides`` their strides.
    """

    def __init__(self, in_channels: int, width: int = 64, blocks: int = 4, dense: int = 1024):
        super().__init__()
        what = "SRDiscriminator"
        self.in_channels = whole_number(in_channels, "in_channels", 1, what)
        width = whole_number(width, "width", 1, what)
        self.blocks = whole_number(blocks, "blocks", 1, what)
        dense = whole_number(dense, "dense", 1, what)
        self.widths = [width * 2 ** (i // 2) for i in range(2 * self.blocks)]   # w, w, 2w, 2w, …
        self.strides = [1, 2] * self.blocks
        layers: list[nn.Module] = [nn.Conv2d(in_channels, width, 3, padding=1), nn.LeakyReLU(0.2, inplace=True)]
        for c_in, c_out, stride in zip(self.widths[:-1], self.widths[1:], self.strides[1:]):
            layers += _conv_bn(c_in, c_out, stride) + [nn.LeakyReLU(0.2, inplace=True)]
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(self.widths[-1], dense),
                                        nn.LeakyReLU(0.2, inplace=True), nn.Linear(dense, 1))
        init_dcgan(self)

    def forward(self, x: Tensor) -> Tensor:
        _check_images(x, self.in_channels, "SRDiscriminator")
        return self.classifier(self.pool(self.features(x))).squeeze(1)

    def extra_repr(self) -> str:
        return f"widths={self.widths}, strides={self.strides}"
