"""Corruptions that turn clean images into (input, target) pairs: noise, masks.

A noise spec is a string a person can type: ``KIND:LEVEL``.

    gaussian:0.5    x + N(0, 0.5²), clipped to [0, 1]
    saltpepper:0.2  20% of pixels set to 0 or 1 (half each)
    mask:0.5        50% of pixels dropped to 0 (masking noise, Vincent et al. 2008)
    none            the image unchanged
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ..errors import ConfigError

KINDS = ("gaussian", "saltpepper", "mask", "none")
_ALIASES = {"salt-pepper": "saltpepper", "salt_and_pepper": "saltpepper", "sp": "saltpepper",
            "dropout": "mask", "masking": "mask", "normal": "gaussian"}


@dataclass(frozen=True)
class Noise:
    kind: str = "gaussian"
    level: float = 0.5

    def __str__(self) -> str:
        return "none" if self.kind == "none" else f"{self.kind}:{self.level:g}"

    def __call__(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        return corrupt(x, self, generator)


def parse_noise(spec: "str | Noise") -> Noise:
    """``"gaussian:0.5"`` -> Noise("gaussian", 0.5); a clear ConfigError for anything else."""
    if isinstance(spec, Noise):
        return spec
    text = str(spec).strip().lower()
    if text in ("none", ""):
        return Noise("none", 0.0)
    kind, sep, level = text.partition(":")
    kind = _ALIASES.get(kind, kind)
    hint = "write KIND:LEVEL with KIND one of gaussian, saltpepper, mask (e.g. gaussian:0.5, saltpepper:0.2, mask:0.5)"
    if kind not in KINDS or not sep:
        raise ConfigError(f"cannot read noise spec {spec!r}; {hint}")
    try:
        value = float(level)
    except ValueError:
        raise ConfigError(f"noise level {level!r} in {spec!r} is not a number; {hint}") from None
    if value < 0 or (kind != "gaussian" and value > 1):
        raise ConfigError(f"noise level {value:g} out of range for {kind}: use 0…1 for saltpepper/mask, ≥ 0 for gaussian")
    return Noise(kind, value)


def _rand(x: Tensor, generator: torch.Generator | None) -> Tensor:
    return torch.rand(x.shape, generator=generator, device="cpu").to(x.device)


def corrupt(x: Tensor, noise: "str | Noise", generator: torch.Generator | None = None) -> Tensor:
    """A corrupted copy of ``x`` (images in [0, 1]); the input is never modified."""
    noise = parse_noise(noise)
    if noise.kind == "none" or noise.level == 0:
        return x.clone()
    if noise.kind == "gaussian":
        eps = torch.randn(x.shape, generator=generator, device="cpu").to(x.device)
        return (x + noise.level * eps).clamp(0, 1)
    u = _rand(x, generator)
    if noise.kind == "mask":
        return x * (u >= noise.level)
    # salt and pepper: a share `level` of pixels hit, half set to 0 and half to 1
    hit = u < noise.level
    salt = u < noise.level / 2
    return torch.where(hit, salt.to(x.dtype), x)


__all__ = ["Noise", "KINDS", "parse_noise", "corrupt"]
