"""Networks that map an image to an aligned image: the U-Net and pix2pix's PatchGAN discriminator.

    UNet                 Ronneberger et al. 2015. Per level: [Conv3×3 → norm → ReLU] ×2; down by
                         MaxPool 2×2, widths doubling (width, 2·width, …, 2^depth·width); up by a
                         transposed convolution 2×2 stride 2, or a resize-convolution (upsample ×2 →
                         Conv3×3, Odena et al. 2016: no checkerboard); the encoder's map of the same
                         level concatenated after the upsampled one; [Conv3×3 → norm → ReLU] ×2; a 1×1
                         convolution to ``out_channels``.
    PatchDiscriminator   Isola et al. 2017 (pix2pix). D(x, y) on the pair concatenated on channels:
                         ``layers`` Conv4×4 stride 2, then Conv4×4 stride 1 twice (the last to one
                         map), LeakyReLU(0.2), norm on all but the first and last. Each output pixel
                         judges one patch; the patch side (receptive field) is set by ``layers``:
                         0 → 1 (PixelGAN, 1×1 convolutions), 1 → 16, 2 → 34, 3 → 70, 4 → 142, 5 → 286.

Any H×W: the U-Net pads its input by reflection to a multiple of 2^depth (every pooling then halves
exactly and the skips line up) and crops the output back. ``skip=False`` is the same encoder–decoder
without the concatenations (its decoder convolutions read only the upsampled map), for the comparison
Ronneberger et al. make. ``residual=True`` adds the input's first ``out_channels`` channels to the
output, so the network predicts the correction to a crude input (FBPConvNet, Jin et al. 2017).
``dropout`` acts in the decoder: pix2pix's generator has no z, dropout is its only noise (pix2pix keeps
it on at test time too; that is the model's choice of train/eval mode, not this module's).
"""
from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..convmath import Layer, parse_layers
from ..convmath import receptive_field as stack_receptive_field
from ..errors import ConfigError
from .blocks import whole_number
from .gan import init_dcgan

__all__ = ["UNet", "PatchDiscriminator", "PATCH_PRESETS", "layers_for_patch", "patch_layers", "patch_layer_spec",
           "receptive_field"]

_NORMS = ("batch", "instance", "none")
_OUT_ACTS = {None: nn.Identity, "none": nn.Identity, "linear": nn.Identity, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}


def _choice(value, choices, name: str, what: str) -> str:
    if value not in choices:
        raise ConfigError(f"{what}: {name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value




def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    return nn.Identity()


def _check_images(x: Tensor, channels: int, what: str, name: str = "input") -> None:
    if x.dim() != 4 or x.shape[1] != channels:
        raise ConfigError(f"{what}: the {name} must be N×{channels}×H×W, got shape {tuple(x.shape)}; give images "
                          f"with {channels} channel(s) (convert grey/colour to match the training data)")


# ------------------------------------------------------------------------------------------- U-Net

class DoubleConv(nn.Sequential):
    """[Conv3×3 (padding 1) → norm → ReLU] ×2: one U-Net level ('same' padding keeps H×W, so the
    skips need no cropping, unlike the paper's unpadded 572 → 388 tiles)."""

    def __init__(self, in_channels: int, out_channels: int, norm: str = "batch"):
        bias = norm != "batch"            # BatchNorm's shift makes a bias redundant
        super().__init__(nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=bias), _norm(norm, out_channels),
                         nn.ReLU(inplace=True),
                         nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=bias), _norm(norm, out_channels),
                         nn.ReLU(inplace=True))


class Up(nn.Sequential):
    """Doubles H×W and maps ``in_channels`` → ``out_channels``: ConvTranspose 2×2 stride 2
    ((i − 1)·2 + 2 = 2i), or Upsample ×2 (nearest/bilinear) → Conv3×3 padding 1."""

    def __init__(self, in_channels: int, out_channels: int, mode: str = "transpose", resize_mode: str = "nearest"):
        if mode == "transpose":
            super().__init__(nn.ConvTranspose2d(in_channels, out_channels, 2, stride=2))
        else:
            align = False if resize_mode == "bilinear" else None
            super().__init__(nn.Upsample(scale_factor=2, mode=resize_mode, align_corners=align),
                             nn.Conv2d(in_channels, out_channels, 3, padding=1))


class UNet(nn.Module):
    """The U-Net (Ronneberger et al. 2015) for any H×W; see the module docstring for the layers.

    ``depth`` poolings (levels = depth + 1); level i has ``width``·2^i channels. ``up``: "transpose"
    or "resize" (``resize_mode`` "nearest" or "bilinear"). ``norm``: "batch", "instance" or "none".
    ``skip``: concatenate the encoder's maps into the decoder. ``dropout``: probability after each
    decoder level. ``residual``: add the input's first ``out_channels`` channels to the output.
    ``out_act``: None, "sigmoid" or "tanh" after the 1×1 head (not with ``residual``).

    Parts: ``encoder`` (one DoubleConv per level), ``ups`` and ``decoder`` (coarsest first), ``head``.
    """

    def __init__(self, in_channels: int, out_channels: int, depth: int = 3, width: int = 32,
                 up: Literal["transpose", "resize"] = "transpose", norm: Literal["batch", "instance", "none"] = "batch",
                 skip: bool = True, dropout: float = 0.0, residual: bool = False, out_act: str | None = None,
                 resize_mode: Literal["nearest", "bilinear"] = "nearest"):
        super().__init__()
        what = "UNet"
        self.in_channels = whole_number(in_channels, "in_channels", 1, what)
        self.out_channels = whole_number(out_channels, "out_channels", 1, what)
        self.depth = whole_number(depth, "depth", 1, what)
        width = whole_number(width, "width", 1, what)
        self.up_mode = _choice(up, ("transpose", "resize"), "up", what)
        self.norm = _choice(norm, _NORMS, "norm", what)
        _choice(resize_mode, ("nearest", "bilinear"), "resize_mode", what)
        _choice(out_act, tuple(_OUT_ACTS), "out_act", what)
        if not 0.0 <= float(dropout) < 1.0:
            raise ConfigError(f"{what}: dropout must be in [0, 1), got {dropout!r}; pix2pix uses 0.5")
        if residual and out_channels > in_channels:
            raise ConfigError(f"{what}: residual=True adds the input to the output, so in_channels ({in_channels}) "
                              f"must be ≥ out_channels ({out_channels}); turn residual off")
        if residual and _OUT_ACTS[out_act] is not nn.Identity:
            raise ConfigError(f"{what}: residual=True outputs input + correction; out_act={out_act!r} would squash "
                              "that sum — use out_act=None or residual=False")
        self.skip, self.residual, self.dropout = bool(skip), bool(residual), float(dropout)
        self.widths = [width * 2 ** i for i in range(depth + 1)]
        self.multiple = 2 ** depth

        chans = [in_channels] + self.widths
        self.encoder = nn.ModuleList(DoubleConv(a, b, norm) for a, b in zip(chans[:-1], chans[1:]))
        self.pool = nn.MaxPool2d(2)
        coarse_to_fine = list(reversed(self.widths))              # e.g. 256, 128, 64, 32
        self.ups = nn.ModuleList(Up(a, b, up, resize_mode) for a, b in zip(coarse_to_fine[:-1], coarse_to_fine[1:]))
        # With skips the level reads [upsampled, encoder map] (2·w channels); without, the upsampled map alone.
        self.decoder = nn.ModuleList(
            nn.Sequential(DoubleConv(w * (2 if skip else 1), w, norm),
                          nn.Dropout(dropout) if dropout else nn.Identity())
            for w in coarse_to_fine[1:])
        self.head = nn.Sequential(nn.Conv2d(self.widths[0], out_channels, 1), _OUT_ACTS[out_act]())
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """He initialisation, as Ronneberger et al. 2015 recommend (N(0, √(2/fan_in)) before ReLUs)."""
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def padding_for(self, h: int, w: int) -> tuple[int, int, int, int]:
        """(left, right, top, bottom) that bring H×W up to multiples of 2^depth, split evenly."""
        ph, pw = -h % self.multiple, -w % self.multiple
        return pw // 2, pw - pw // 2, ph // 2, ph - ph // 2

    def forward(self, x: Tensor) -> Tensor:
        _check_images(x, self.in_channels, "UNet")
        h, w = x.shape[-2:]
        if len(x) == 0:     # a batch without images of one domain (CycleGAN) still gets its empty answer
            return x.new_zeros(0, self.out_channels, h, w)
        pad = self.padding_for(h, w)
        bottleneck = (h + pad[2] + pad[3]) * (w + pad[0] + pad[1]) // 4 ** self.depth   # pixels after the poolings
        if self.norm == "instance" and bottleneck == 1:    # one pixel normalised by its own mean is always 0
            raise ConfigError(f"UNet: instance norm needs more than one pixel at the bottleneck, but {h}×{w} pooled "
                              f"{self.depth} times is 1×1; use a lower depth, larger images or norm='batch'")
        # Reflection continues the image instead of adding a black frame; tiny images fall back to replicate.
        mode = "reflect" if max(pad[0], pad[1]) < w and max(pad[2], pad[3]) < h else "replicate"
        z = F.pad(x, pad, mode=mode) if any(pad) else x
        skips = []
        for i, level in enumerate(self.encoder):
            z = level(z if i == 0 else self.pool(z))
            skips.append(z)
        for up, level, enc in zip(self.ups, self.decoder, reversed(skips[:-1])):
            z = up(z)
            z = level(torch.cat([z, enc], 1) if self.skip else z)
        out = self.head(z)
        out = out[..., pad[2]:pad[2] + h, pad[0]:pad[0] + w]     # crop back to the input's H×W
        if self.residual:
            out = out + x[:, :self.out_channels]
        return out

    def extra_repr(self) -> str:
        return (f"depth={self.depth}, widths={self.widths}, up={self.up_mode!r}, skip={self.skip}, "
                f"residual={self.residual}, pads to a multiple of {self.multiple}")


# ------------------------------------------------------------------------------------- PatchGAN

#: receptive field (patch side in pixels) → number of stride-2 layers; 1 is the PixelGAN.
PATCH_PRESETS = {1: 0, 16: 1, 34: 2, 70: 3, 142: 4, 286: 5}


def patch_layer_spec(layers: int) -> str:
    """The discriminator's convolutions in the grammar of `genlab conv --trace`.

    layers ≥ 1: ``layers`` × conv4/s2/p1, then conv4/s1/p1 twice (pix2pix's NLayerDiscriminator);
    layers = 0: the PixelGAN, conv1 three times (each pixel judged alone).
    """
    layers = whole_number(layers, "layers", 0, "PatchDiscriminator")
    if layers == 0:
        return "conv1,conv1,conv1"
    return ",".join(["conv4/s2/p1"] * layers + ["conv4/s1/p1"] * 2)


def patch_layers(layers: int) -> list[Layer]:
    """:func:`patch_layer_spec` parsed into convmath Layers (the list the discriminator is built from)."""
    return parse_layers(patch_layer_spec(layers))


def receptive_field(layers: int) -> int:
    """The patch side of a PatchDiscriminator with ``layers`` stride-2 convolutions, computed from its
    layer list by :func:`genlab.convmath.receptive_field`: 0 → 1, 1 → 16, 2 → 34, 3 → 70, 5 → 286."""
    return stack_receptive_field(patch_layers(layers))


def layers_for_patch(patch: int) -> int:
    """The ``layers`` giving a patch side of ``patch`` pixels (one of :data:`PATCH_PRESETS`)."""
    if patch not in PATCH_PRESETS:
        raise ConfigError(f"PatchGAN: no preset for a {patch!r}-pixel patch; choose one of "
                          f"{', '.join(map(str, PATCH_PRESETS))} (1 is the PixelGAN)")
    return PATCH_PRESETS[patch]


class PatchDiscriminator(nn.Module):
    """pix2pix's PatchGAN (Isola et al. 2017): one realism logit per patch, N×1×h×w.

    ``in_channels`` is the channel count of the concatenated pair (input channels + output channels).
    ``forward(x, y)`` concatenates the condition x and the image y on channels (``forward(xy)`` takes
    the pair already joined). Widths: ``width``·min(2^i, 8) per layer, as pix2pix; norm ("batch",
    "instance" or "none") after every convolution but the first and the last. Weights N(0, 0.02).
    The convolutions are built from :func:`patch_layers`, so ``receptive_field`` is this network's.
    """

    def __init__(self, in_channels: int, layers: int = 3, width: int = 64,
                 norm: Literal["batch", "instance", "none"] = "batch"):
        super().__init__()
        what = "PatchDiscriminator"
        self.in_channels = whole_number(in_channels, "in_channels", 1, what)
        width = whole_number(width, "width", 1, what)
        self.norm = _choice(norm, _NORMS, "norm", what)
        self.layers = whole_number(layers, "layers", 0, what)
        self.spec = patch_layer_spec(layers)
        self.receptive_field = receptive_field(layers)
        stack = patch_layers(layers)
        widths = [width * min(2 ** i, 8) for i in range(len(stack) - 1)] + [1]
        modules: list[nn.Module] = []
        c = in_channels
        for i, (layer, out_c) in enumerate(zip(stack, widths)):
            first, last = i == 0, i == len(stack) - 1
            normed = not first and not last and norm != "none"
            modules.append(nn.Conv2d(c, out_c, layer.kernel, stride=layer.stride or 1, padding=layer.padding,
                                     bias=not (normed and norm == "batch")))
            if normed:
                modules.append(_norm(norm, out_c))
            if not last:
                modules.append(nn.LeakyReLU(0.2, inplace=True))
            c = out_c
        self.body = nn.Sequential(*modules)
        init_dcgan(self)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        if y is not None:
            if x.dim() != 4 or y.dim() != 4 or x.shape[0] != y.shape[0] or x.shape[-2:] != y.shape[-2:]:
                raise ConfigError(f"PatchDiscriminator: the input {tuple(x.shape)} and the image {tuple(y.shape)} must "
                                  "be aligned N×C×H×W batches of the same N, H and W")
            x = torch.cat([x, y], 1)
        _check_images(x, self.in_channels, "PatchDiscriminator", "(input, output) pair")
        return self.body(x)

    def extra_repr(self) -> str:
        return f"layers={self.layers}, receptive_field={self.receptive_field}, spec={self.spec!r}"
