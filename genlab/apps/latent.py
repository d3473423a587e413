"""Latent-space tools that work for any model with ``encode``/``decode``."""
from __future__ import annotations

import torch
from torch import Tensor

from ..data import ImageData


def lerp(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """(1 − t)·a + t·b for each t (seed 001: t·code7 + (1 − t)·code8 read from the other end)."""
    t = t.view(-1, *([1] * a.dim()))
    return (1 - t) * a.unsqueeze(0) + t * b.unsqueeze(0)


def slerp(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """Spherical interpolation, better suited to Gaussian codes whose mass lies near a shell."""
    a_n, b_n = a / a.norm(), b / b.norm()
    omega = torch.arccos((a_n * b_n).sum().clamp(-1 + 1e-7, 1 - 1e-7))
    t = t.view(-1, *([1] * a.dim()))
    so = torch.sin(omega)
    return (torch.sin((1 - t) * omega) / so) * a + (torch.sin(t * omega) / so) * b


@torch.no_grad()
def interpolate(model, x_a: Tensor, x_b: Tensor, steps: int = 10, mode: str = "linear") -> Tensor:
    """Decode codes on the path from ``x_a``'s code to ``x_b``'s; returns steps×C×H×W."""
    encode = model.require("encode", "interpolation needs an encoder")
    decode = model.require("decode", "interpolation needs a decoder")
    z = encode(torch.stack([x_a, x_b]).to(model.device))
    t = torch.linspace(0, 1, steps, device=z.device)
    path = (slerp if mode == "spherical" else lerp)(z[0], z[1], t)
    return decode(path)


def pick_pair(data: ImageData, first: int | None = 7, second: int | None = 8) -> tuple[Tensor, Tensor, str]:
    """Two held-out images: the first ``first`` and the first ``second`` digit when labels exist."""
    if data.y is not None and first is not None and second is not None:
        ia = (data.y == first).nonzero()
        ib = (data.y == second).nonzero()
        if len(ia) and len(ib):
            return data.x[ia[0, 0]], data.x[ib[0, 0]], f"class {first} → class {second}"
    return data.x[0], data.x[min(1, len(data) - 1)], "image 0 → image 1"


@torch.no_grad()
def codes(model, data: ImageData, limit: int = 2000, batch_size: int = 500) -> Tensor:
    encode = model.require("encode", "latent codes need an encoder")
    x = data.x[:limit]
    return torch.cat([encode(x[i:i + batch_size].to(model.device)).flatten(1).cpu()
                      for i in range(0, len(x), batch_size)])
