"""The GAN family's networks: plain modules, composed by constructor arguments.

    MLPGenerator       z → [Linear → LeakyReLU(0.2)]* → Linear → Tanh → C×H×W     (Goodfellow et al. 2014)
    MLPDiscriminator   x → Flatten → [Linear → LeakyReLU(0.2) → Dropout]* → Linear → score
    DCGenerator        [z, E(y), c] → Linear → BN → ReLU → base grid, then 4×4 stride-2 transposed
                       convolutions (BN, ReLU) doubling the side, the last one to C channels → Tanh
    DCDiscriminator    x → 4×4 stride-2 convolutions (LeakyReLU(0.2); BN or LN after the first) down to
                       the base grid φ(x) → one convolution over the whole grid → score      (Radford et al. 2016)

DCDiscriminator's options are the heads and conditioning of the DCGAN variants, each a constructor
argument: ``minibatch_std`` (the score head also sees the batch's feature spread, Karras et al.
2018), ``projection`` (a class embedding ⟨E(y), φ(x)⟩ added to the score, Miyato & Koyama 2018),
``label_channels`` (a class embedding as extra input maps, Mirza & Osindero on convolutions),
``classifier`` (AC-GAN's class logits from φ(x)), ``q_outputs`` (InfoGAN's Q head on φ(x)),
``spectral_norm`` (Miyato et al. 2018, every layer) and ``augment`` (a DiffAugment policy applied
to the images first, in training mode only). Images are in [−1, 1].

Sizes: 28×28 grows from a 7×7 grid (2 doublings), 32×32 from 4×4 (3), 64×64 from 4×4 (4). Each 4×4
stride-2 padding-1 transposed convolution doubles the side: (i − 1)·2 − 2 + 4 = 2i.
"""
from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import ConfigError
from .diffaugment import augment, parse_policy


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


def init_dcgan(module: nn.Module) -> nn.Module:
    """The DCGAN paper's initialisation: weights from N(0, 0.02); BatchNorm scales from N(1, 0.02)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    return module


def apply_spectral_norm(module: nn.Module) -> nn.Module:
    """Spectral normalisation (Miyato et al. 2018) on every convolution and linear layer."""
    from torch.nn.utils.parametrizations import spectral_norm

    for name, child in list(module.named_children()):
        if isinstance(child, (nn.Conv2d, nn.Linear, nn.ConvTranspose2d)):
            setattr(module, name, spectral_norm(child))
        else:
            apply_spectral_norm(child)
    return module


class ClassEmbedding(nn.Embedding):
    """``nn.Embedding`` that also reads N×C class weights: weights @ E.weight (one-hot rows give
    exactly the looked-up vectors, a mix of two rows lies between their embeddings)."""

    def forward(self, y: Tensor) -> Tensor:
        if y.is_floating_point():
            return y.to(self.weight.dtype) @ self.weight
        return super().forward(y)


class MinibatchStdHead(nn.Module):
    """A score convolution over the base grid with one more input channel: the batch's mean standard
    deviation of the features at each position (Karras et al. 2018, "minibatch standard deviation").

    A generator that draws one image per class (ignoring z) makes batches with little spread; with
    this channel D sees it and pushes back.
    """

    def __init__(self, channels: int, side: int):
        super().__init__()
        self.conv = nn.Conv2d(channels + 1, 1, side)

    def forward(self, h: Tensor) -> Tensor:
        spread = h.std(0, unbiased=False).mean() if len(h) > 1 else h.new_zeros(())
        return self.conv(torch.cat([h, spread.expand(len(h), 1, *h.shape[2:])], 1))


class QHead(nn.Sequential):
    """InfoGAN's Q (Chen et al. 2016): Linear → BatchNorm → LeakyReLU(0.2) → Linear on D's features."""

    def __init__(self, in_features: int, hidden: int, outputs: int):
        super().__init__(nn.Linear(in_features, hidden), nn.BatchNorm1d(hidden), nn.LeakyReLU(0.2, True),
                         nn.Linear(hidden, outputs))


# ------------------------------------------------------------------------------------------ MLP

class MLPGenerator(nn.Sequential):
    """z → [Linear → LeakyReLU(0.2)] per hidden width → Linear → Tanh, reshaped to the image."""

    def __init__(self, latent_dim: int, hidden: tuple[int, ...], image_shape):
        sizes, layers = [latent_dim, *hidden], []
        for a, b in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(a, b), nn.LeakyReLU(0.2)]
        layers += [nn.Linear(sizes[-1], math.prod(image_shape)), nn.Tanh(), nn.Unflatten(1, tuple(image_shape))]
        super().__init__(*layers)


class MLPDiscriminator(nn.Sequential):
    """x → Flatten → [Linear → LeakyReLU(0.2) → Dropout] per hidden width → Linear → score (N).

    ``spectral_norm`` on every layer; ``augment`` a DiffAugment policy applied first while training."""

    def __init__(self, image_shape, hidden: tuple[int, ...], dropout: float = 0.0, *, spectral_norm: bool = False,
                 augment: str = ""):
        sizes, layers = [math.prod(image_shape), *hidden], [nn.Flatten()]
        for a, b in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(a, b), nn.LeakyReLU(0.2)] + ([nn.Dropout(dropout)] if dropout else [])
        layers.append(nn.Linear(sizes[-1], 1))
        super().__init__(*layers)
        self.policy = parse_policy(augment)
        if spectral_norm:
            apply_spectral_norm(self)

    def forward(self, x: Tensor) -> Tensor:
        if self.training:
            x = augment(x, self.policy)
        return super().forward(x).flatten()

    def extra_repr(self) -> str:
        return f"augment={','.join(self.policy)}" if self.policy else ""


# ---------------------------------------------------------------------------------------- DCGAN

class DCGenerator(nn.Module):
    """G([z, E(y), c]): a linear projection to the base grid, then transposed convolutions.

    ``classes`` > 0: G also reads a label y (class indices or N×classes weights) through a learned
    :class:`ClassEmbedding` of ``embed_dim`` (0: the one-hot itself), joined to z; ``codes`` > 0: G
    also reads that many continuous codes c, joined after it (InfoGAN's c2, c3).
    """

    def __init__(self, latent_dim: int, image_shape, width: int = 64, *, classes: int = 0, embed_dim: int = 0,
                 codes: int = 0):
        super().__init__()
        c, h, w = image_shape
        if h != w:
            raise ConfigError(f"DCGAN needs square images, got {h}×{w}; resize with --image-size")
        base, n = grid_plan(h)
        self.classes, self.codes = classes, codes
        chans = [width * 2 ** i for i in reversed(range(n))]      # e.g. 128, 64 for 28×28
        self.grid = (chans[0], base, base)
        in_features = latent_dim + ((embed_dim or classes) if classes else 0) + codes
        self.project = nn.Sequential(nn.Linear(in_features, chans[0] * base * base, bias=False),
                                     nn.Unflatten(1, self.grid), nn.BatchNorm2d(chans[0]), nn.ReLU(True))
        layers: list[nn.Module] = []
        for a, b in zip(chans, chans[1:]):
            layers += [nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(chans[-1], c, 4, 2, 1), nn.Tanh()]
        self.body = nn.Sequential(*layers)
        init_dcgan(self)
        # the embedding keeps nn.Embedding's N(0, 1) draw: it weighs like the noise it joins
        self.embed = ClassEmbedding(classes, embed_dim) if classes and embed_dim else None

    def forward(self, z: Tensor, y: Tensor | None = None, c: Tensor | None = None) -> Tensor:
        parts = [z]
        if self.classes:
            if y is None:
                raise ConfigError(f"this generator draws a class per image: pass y (0…{self.classes - 1}, or "
                                  f"N×{self.classes} class weights)")
            if self.embed is not None:
                parts.append(self.embed(y))
            else:
                parts.append(y.to(z.dtype) if y.is_floating_point() else F.one_hot(y, self.classes).to(z.dtype))
        if self.codes:
            parts.append(c)
        return self.body(self.project(torch.cat(parts, 1) if len(parts) > 1 else z))


class DCDiscriminator(nn.Module):
    """Strided convolutions down to the base grid φ(x), then one convolution over it to a score.

    Options (see the module docstring): ``minibatch_std``, ``projection`` / ``label_channels`` (a
    class-conditional D: then ``forward(x, y)``), ``classifier`` (AC-GAN: ``self.classifier``),
    ``q_outputs`` and ``q_hidden`` (InfoGAN: ``self.q``), ``spectral_norm``, ``augment``.
    ``features(x, y)`` is φ(x); ``score(h, y)`` the realism score from it: the heads read one pass.
    """

    def __init__(self, image_shape, width: int = 64, norm: Literal["batch", "layer", "none"] = "batch", *,
                 minibatch_std: bool = False, projection: int = 0, label_channels: tuple[int, int] | None = None,
                 classifier: int = 0, q_outputs: int = 0, q_hidden: int = 128, spectral_norm: bool = False,
                 augment: str = ""):
        super().__init__()
        c, h, _ = image_shape
        base, n = grid_plan(h)
        self.policy = parse_policy(augment)
        self.projection, self.label_channels = projection, label_channels
        chans = [width * 2 ** i for i in range(n)]                # e.g. 64, 128
        layers: list[nn.Module] = []
        prev = c + (label_channels[1] if label_channels else 0)
        for i, b in enumerate(chans):
            layers.append(nn.Conv2d(prev, b, 4, 2, 1, bias=norm == "none" or i == 0))
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
        # the optional parts below are built in this order, after the plain head, so that a seed
        # gives the initial weights it gave when they were added to a built D
        if projection or label_channels:
            classes, dim = (projection, self.feature_dim) if projection else label_channels
            self.embed = ClassEmbedding(classes, dim)
            nn.init.normal_(self.embed.weight, 0.0, 0.02)          # DCGAN's init: D's score starts small
        if classifier:
            self.classifier = init_dcgan(nn.Linear(self.feature_dim, classifier))
        if q_outputs:
            self.q = init_dcgan(QHead(self.feature_dim, q_hidden, q_outputs))
        if minibatch_std:
            self.head = init_dcgan(MinibatchStdHead(prev, base))
        if spectral_norm:
            apply_spectral_norm(self)

    def features(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """φ(x): the last grid (N×C×base×base), of the augmented image while training."""
        if self.training:
            x = augment(x, self.policy)
        if self.label_channels:
            maps = self.embed(self._label(y))[:, :, None, None].expand(-1, -1, *x.shape[2:])
            x = torch.cat([x, maps], 1)
        return self.body(x)

    def score(self, h: Tensor, y: Tensor | None = None) -> Tensor:
        """The realism score (a logit, or a critic's score) per image from φ(x): shape N."""
        out = self.head(h).flatten()
        if self.projection:
            out = out + (self.embed(self._label(y)) * h.flatten(1)).sum(1)
        return out

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        return self.score(self.features(x, y), y)

    def _label(self, y: Tensor | None) -> Tensor:
        if y is None:
            raise ConfigError("this discriminator judges an image together with its class: pass y")
        return y

    def extra_repr(self) -> str:
        return f"augment={','.join(self.policy)}" if self.policy else ""


__all__ = ["ClassEmbedding", "DCDiscriminator", "DCGenerator", "MLPDiscriminator", "MLPGenerator", "MinibatchStdHead",
           "QHead", "apply_spectral_norm", "grid_plan", "init_dcgan"]
