"""Encoder/decoder building blocks shared by the autoencoder, VAE and later families."""
from __future__ import annotations

import math
import operator
from typing import Sequence

from torch import Tensor, nn

from ..errors import ConfigError

_ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
    "linear": nn.Identity,
}


def whole_number(value, name: str, minimum: int, what: str) -> int:
    """A network argument as a whole number ≥ ``minimum`` (True or 2.0 are none), else one line naming it."""
    try:
        number = None if isinstance(value, bool) else operator.index(value)
    except TypeError:
        number = None
    if number is None or number < minimum:
        raise ConfigError(f"{what}: {name} must be a whole number ≥ {minimum}, got {value!r}")
    return number


def activation(name: str) -> nn.Module:
    if name not in _ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(_ACTIVATIONS)}")
    return _ACTIVATIONS[name]()


def init_linear(module: nn.Module, sigmoid_gain: float = 1.0) -> None:
    """Initialise every Linear layer for the unit that follows it: He before ReLU-like units,
    Glorot otherwise (× ``sigmoid_gain`` before a sigmoid: 4 undoes the sigmoid's slope of ¼ at 0,
    Glorot & Bengio 2010, which a shallow all-sigmoid autoencoder needs); zero biases. PyTorch's default (uniform ±1/√fan_in) shrinks the signal layer by
    layer: a ten-layer autoencoder, or a sigmoid code, then sits on the mean image for many epochs."""
    mods = list(module.modules())
    for layer, after in zip(mods, mods[1:] + [None]):
        if isinstance(layer, nn.Linear):
            if isinstance(after, (nn.ReLU, nn.LeakyReLU, nn.GELU)):
                nn.init.kaiming_uniform_(layer.weight, nonlinearity="relu")
            else:
                nn.init.xavier_uniform_(layer.weight, gain=sigmoid_gain if isinstance(after, nn.Sigmoid) else 1.0)
            nn.init.zeros_(layer.bias)


class MLP(nn.Sequential):
    """Linear layers with ``act`` between them and ``out_act`` after the last."""

    def __init__(self, sizes: Sequence[int], act: str = "relu", out_act: str = "linear"):
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(a, b))
            last = i == len(sizes) - 2
            layers.append(activation(out_act if last else act))
        super().__init__(*layers)


def conv_stack_sizes(size: int, depth: int) -> list[int]:
    """Spatial sizes after each stride-2 'same' convolution (k=3, p=1): ceil(size/2) each time."""
    sizes = [size]
    for _ in range(depth):
        sizes.append((sizes[-1] + 2 * 1 - 3) // 2 + 1)
    return sizes


class ConvEncoder(nn.Module):
    """The classic convolutional encoder: stride-2 3×3 convolutions ('same' padding), flatten, dense.

    28×28×1 → Conv 32 s2 → 14×14×32 → Conv 64 s2 → 7×7×64 → Flatten 3136 → Dense ``out_features``.
    """

    def __init__(self, image_shape: Sequence[int], channels: Sequence[int] = (32, 64),
                 out_features: int = 16, act: str = "relu"):
        super().__init__()
        c, h, w = image_shape
        layers: list[nn.Module] = []
        for out_c in channels:
            layers += [nn.Conv2d(c, out_c, 3, stride=2, padding=1), activation(act)]
            c = out_c
        self.convs = nn.Sequential(*layers)
        self.grid = (c, conv_stack_sizes(h, len(channels))[-1], conv_stack_sizes(w, len(channels))[-1])
        self.flat_features = math.prod(self.grid)
        self.dense = nn.Sequential(nn.Flatten(), nn.Linear(self.flat_features, out_features), activation(act))

    def forward(self, x: Tensor) -> Tensor:
        return self.dense(self.convs(x))


class ConvDecoder(nn.Module):
    """Mirror of :class:`ConvEncoder`: Dense → Reshape → stride-2 transposed convolutions → conv to C.

    On 28×28 digits: Dense 3136 → Reshape 7×7×64 → ConvT 64 s2 → ConvT 32 s2 → ConvT 1 (s1) → 28×28×1.
    Output padding is chosen per layer so any input size is restored exactly.
    """

    def __init__(self, image_shape: Sequence[int], channels: Sequence[int] = (32, 64),
                 in_features: int = 10, act: str = "relu", out_act: str = "sigmoid"):
        super().__init__()
        c_out, h, w = image_shape
        hs, ws = conv_stack_sizes(h, len(channels)), conv_stack_sizes(w, len(channels))
        self.grid = (channels[-1], hs[-1], ws[-1])
        self.dense = nn.Sequential(nn.Linear(in_features, math.prod(self.grid)), activation(act))
        layers: list[nn.Module] = []
        c = channels[-1]
        for i, out_c in enumerate(reversed(channels)):
            level = len(channels) - i  # from the coarsest grid back towards the image
            th, tw = hs[level - 1], ws[level - 1]
            # ConvT(k3,s2,p1) gives 2·in − 1 + output_padding; pick the padding that hits the target
            op = (th - (2 * hs[level] - 1), tw - (2 * ws[level] - 1))
            layers += [nn.ConvTranspose2d(c, out_c, 3, stride=2, padding=1, output_padding=op), activation(act)]
            c = out_c
        layers += [nn.ConvTranspose2d(c, c_out, 3, stride=1, padding=1), activation(out_act)]
        self.deconvs = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.deconvs(self.dense(z).view(-1, *self.grid))


def down_convs(in_channels: int, channels: Sequence[int], act: str = "relu") -> list[nn.Module]:
    """Stride-2 3×3 'same' convolutions, each followed by ``act`` (size ⌈in/2⌉ each)."""
    layers: list[nn.Module] = []
    c = in_channels
    for out_c in channels:
        layers += [nn.Conv2d(c, out_c, 3, stride=2, padding=1), activation(act)]
        c = out_c
    return layers


def up_convs(image_hw: tuple[int, int], channels: Sequence[int], act: str = "relu") -> list[nn.Module]:
    """Stride-2 transposed convolutions from the coarsest grid back to ``image_hw`` (mirror of
    :func:`down_convs`), output padding chosen per layer so odd sizes come back exactly."""
    hs, ws = conv_stack_sizes(image_hw[0], len(channels)), conv_stack_sizes(image_hw[1], len(channels))
    layers: list[nn.Module] = []
    c = channels[-1]
    for i, out_c in enumerate(reversed(channels)):
        level = len(channels) - i
        op = (hs[level - 1] - (2 * hs[level] - 1), ws[level - 1] - (2 * ws[level] - 1))
        layers += [nn.ConvTranspose2d(c, out_c, 3, stride=2, padding=1, output_padding=op), activation(act)]
        c = out_c
    return layers


class GridEncoder(nn.Sequential):
    """Images → a grid of ``out_channels``-dim vectors (VQ-VAE's encoder, no dense layer):

    C×H×W → [Conv3×3 s2, ReLU] per entry of ``channels`` → Conv3×3, ReLU → Conv1×1 → D×⌈H/2^L⌉×⌈W/2^L⌉.
    """

    def __init__(self, in_channels: int, channels: Sequence[int], out_channels: int):
        ch = tuple(channels)
        super().__init__(*down_convs(in_channels, ch), nn.Conv2d(ch[-1], ch[-1], 3, padding=1), nn.ReLU(),
                         nn.Conv2d(ch[-1], out_channels, 1))


class GridDecoder(nn.Sequential):
    """Mirror of :class:`GridEncoder`: a D×h×w grid → Conv3×3, ReLU → [ConvT3×3 s2, ReLU] per entry
    of ``channels`` (reversed) → Conv3×3 → sigmoid, restoring ``image_shape`` exactly."""

    def __init__(self, image_shape: Sequence[int], channels: Sequence[int], in_channels: int):
        c, h, w = image_shape
        ch = tuple(channels)
        super().__init__(nn.Conv2d(in_channels, ch[-1], 3, padding=1), nn.ReLU(), *up_convs((h, w), ch),
                         nn.Conv2d(ch[0], c, 3, padding=1), nn.Sigmoid())
