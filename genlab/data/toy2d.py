"""2-D target distributions for toy GANs: a ring of 8 Gaussians, two moons, a swiss roll.

ring       x = r·(cos 2πk/8, sin 2πk/8) + σ·ε,  k ~ U{0..7}, ε ~ N(0, I), r = 1.2, σ = 0.05
           (the mixture of Gaussians on a circle of Metz et al. 2017 and Gulrajani et al. 2017, where
           mode collapse is easy to see: a collapsed G covers some of the 8 clusters and misses the rest)
moons      upper arc (cos t, sin t), lower arc (1 − cos t, ½ − sin t), t ~ U[0, π], each arc with
           probability ½, + 0.05·ε; centred on (½, ¼) and scaled by 0.9 (scikit-learn's make_moons)
swissroll  t = 1.5π(1 + 2u), u ~ U[0, 1]:  (t cos t, t sin t)·1.4/(4.5π) + 0.03·ε
           (the 2-D swiss roll of Gulrajani et al. 2017's toy experiments: a spiral of 1¾ turns)

Every target lies in about [−1.5, 1.5]², so one view (and one critic field) fits them all. Draws are
reproducible: ``seed`` (or a ``torch.Generator`` the caller keeps drawing from) fixes them.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from ..errors import ConfigError, did_you_mean

TARGETS = ("ring", "moons", "swissroll")

RING_MODES = 8
RING_RADIUS = 1.2
RING_STD = 0.05
MOONS_NOISE = 0.05
MOONS_SCALE = 0.9
SWISSROLL_NOISE = 0.03
SWISSROLL_SCALE = 1.4 / (4.5 * math.pi)   # the outermost turn (t = 4.5π) at radius 1.4


def ring_centres() -> Tensor:
    """The ring's 8 mode centres: 8×2, at angles 2πk/8 on the circle of radius RING_RADIUS."""
    angle = torch.arange(RING_MODES, dtype=torch.float32) * (2 * math.pi / RING_MODES)
    return RING_RADIUS * torch.stack([angle.cos(), angle.sin()], 1)


def check_target(name: str) -> str:
    if name not in TARGETS:
        raise ConfigError(f"unknown toy target {name!r}{did_you_mean(name, TARGETS)}; choose one of "
                          f"{', '.join(TARGETS)}")
    return name


def toy_points(name: str, n: int, seed: int = 0, *, generator: torch.Generator | None = None) -> Tensor:
    """``n`` points of target ``name``: n×2 float32 in about [−1.5, 1.5]².

    ``generator`` (kept by the caller) replaces ``seed``, so a training loop draws fresh points each
    step while staying reproducible."""
    check_target(name)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ConfigError(f"the number of toy points must be a positive integer, got {n!r}")
    g = generator if generator is not None else torch.Generator().manual_seed(int(seed))
    noise = torch.randn(n, 2, generator=g)
    if name == "ring":
        k = torch.randint(RING_MODES, (n,), generator=g)
        return ring_centres()[k] + RING_STD * noise
    if name == "moons":
        lower = torch.rand(n, generator=g) < 0.5
        t = torch.rand(n, generator=g) * math.pi
        upper_arc = torch.stack([t.cos(), t.sin()], 1)
        lower_arc = torch.stack([1 - t.cos(), 0.5 - t.sin()], 1)
        points = torch.where(lower[:, None], lower_arc, upper_arc)
        return (points - torch.tensor([0.5, 0.25])) * MOONS_SCALE + MOONS_NOISE * noise
    t = 1.5 * math.pi * (1 + 2 * torch.rand(n, generator=g))
    return torch.stack([t * t.cos(), t * t.sin()], 1) * SWISSROLL_SCALE + SWISSROLL_NOISE * noise


__all__ = ["TARGETS", "toy_points", "ring_centres", "check_target", "RING_MODES", "RING_RADIUS", "RING_STD"]
