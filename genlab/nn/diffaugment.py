"""Differentiable augmentation of everything the discriminator sees (Zhao et al. 2020, "DiffAugment").

With a few thousand training images D memorises them and its gradients stop telling G anything
general. DiffAugment applies the same random, differentiable transformations to real and to
generated images on their way into D (in G's step too, so G's gradient passes through them);
D then judges augmented images only and G is never pushed to draw the augmentations.

Policies (comma-separated, in this order): ``color`` (brightness ± 0.5, saturation × U(0, 2),
contrast × U(0.5, 1.5)), ``translation`` (shift by up to 1/8 of the side, filled with black, −1),
``cutout`` (a square of half the side set to 0, at a random place). Images are in [−1, 1].

The discriminators of ``genlab.nn.gan`` call :func:`augment` first thing in their forward while
training (``augment=`` in their constructor), so every head and every caller of D (the score, AC-GAN's
classifier, InfoGAN's Q, the gradient penalty) sees augmented images, and in eval mode (sampling,
``classify``, inversion) D sees them unchanged. Nothing here has parameters: saved weights are the
same with or without it.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import ConfigError

POLICIES = ("color", "translation", "cutout")


def parse_policy(text: str) -> tuple[str, ...]:
    names = tuple(p.strip() for p in text.split(",") if p.strip())
    unknown = [p for p in names if p not in POLICIES]
    if unknown:
        raise ConfigError(f"unknown diff_augment policy {unknown[0]!r}; use a comma-separated list of "
                          f"{', '.join(POLICIES)} (e.g. diff_augment=translation,cutout), or '' for none")
    return tuple(p for p in POLICIES if p in names)


def color(x: Tensor) -> Tensor:
    n = len(x)
    x = x + (torch.rand(n, 1, 1, 1, device=x.device) - 0.5)
    if x.shape[1] > 1:
        mean = x.mean(1, keepdim=True)
        x = (x - mean) * (torch.rand(n, 1, 1, 1, device=x.device) * 2) + mean
    mean = x.mean((1, 2, 3), keepdim=True)
    return (x - mean) * (torch.rand(n, 1, 1, 1, device=x.device) + 0.5) + mean


def translation(x: Tensor, ratio: float = 0.125) -> Tensor:
    n, _, h, w = x.shape
    sy, sx = max(1, int(h * ratio + 0.5)), max(1, int(w * ratio + 0.5))
    dy = torch.randint(-sy, sy + 1, (n, 1, 1), device=x.device)
    dx = torch.randint(-sx, sx + 1, (n, 1, 1), device=x.device)
    # each output pixel reads the input at (i − dy, j − dx); outside the image it reads the padding
    rows = torch.arange(h, device=x.device).view(1, h, 1) - dy + 1          # +1: into the padded frame
    cols = torch.arange(w, device=x.device).view(1, 1, w) - dx + 1
    rows, cols = rows.clamp(0, h + 1), cols.clamp(0, w + 1)
    padded = F.pad(x, (1, 1, 1, 1), value=-1.0)
    index = (rows * (w + 2) + cols).expand(n, h, w).reshape(n, 1, h * w).expand(-1, x.shape[1], -1)
    return padded.flatten(2).gather(2, index).view_as(x)


def cutout(x: Tensor, ratio: float = 0.5) -> Tensor:
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), device=x.device)
    cx = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), device=x.device)
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    inside = ((rows - cy).abs() * 2 < ch) & ((cols - cx).abs() * 2 < cw)
    return x * (~inside).unsqueeze(1).to(x.dtype)


OPS = {"color": color, "translation": translation, "cutout": cutout}


def augment(x: Tensor, policy: tuple[str, ...]) -> Tensor:
    """``x`` through each transformation of ``policy`` in turn (a parsed policy; () leaves it)."""
    for name in policy:
        x = OPS[name](x)
    return x


class DiffAugment(nn.Module):
    """:func:`augment` as a module: active in training mode only."""

    def __init__(self, policy: str | tuple[str, ...]):
        super().__init__()
        self.policy = parse_policy(policy) if isinstance(policy, str) else tuple(policy)

    def forward(self, x: Tensor) -> Tensor:
        return augment(x, self.policy) if self.training else x

    def extra_repr(self) -> str:
        return ",".join(self.policy)


__all__ = ["DiffAugment", "POLICIES", "augment", "color", "cutout", "parse_policy", "translation"]
