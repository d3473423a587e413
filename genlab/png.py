"""Images as PNG files: a batch tiled into one grid picture, written atomically.

Ground layer, so that the training engine can write its per-epoch preview grid without the
plotting code; :mod:`genlab.viz.grids` builds its strips, labels and data URIs on these.
Everything is vectorised numpy (no per-pixel Python). Inputs may be torch tensors or numpy
arrays (float in [0, 1] or uint8); single images (C×H×W or H×W) and channels-last batches
(N×H×W×C) are accepted too.
"""
from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from .io import atomic_write_bytes

__all__ = ["as_batch", "make_grid", "auto_scale", "check_scale", "to_pil", "grid_image", "png_bytes",
           "save_image", "save_grid"]

#: ``grid_image`` and friends pick the smallest integer scale that makes a picture at least this wide.
TARGET_WIDTH = 256
MAX_AUTO_SCALE = 16


def as_batch(images: Any) -> np.ndarray:
    """Any accepted image input -> float32 numpy array N×C×H×W (C is 1 or 3)."""
    if hasattr(images, "detach"):                               # a torch.Tensor
        import torch

        t = images.detach().cpu()
        if t.dtype in (torch.float16, torch.bfloat16):          # bfloat16 has no numpy dtype
            t = t.float()
        images = t.numpy()
    x = np.asarray(images)
    if x.dtype == np.uint8:
        x = x.astype(np.float32) / 255.0
    elif x.dtype == bool or not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float32)
    else:
        x = x.astype(np.float32, copy=False)
    if x.ndim == 2:                                             # one grayscale image H×W
        x = x[None, None]
    elif x.ndim == 3:                                           # one C×H×W image, or N×H×W grayscale
        x = x[None] if x.shape[0] in (1, 3) else x[:, None]
    elif x.ndim == 4:
        if x.shape[1] not in (1, 3) and x.shape[-1] in (1, 3):  # channels-last N×H×W×C
            x = x.transpose(0, 3, 1, 2)
    else:
        raise ValueError(f"expected images shaped N×C×H×W, got an array with shape {tuple(x.shape)}")
    if x.shape[1] not in (1, 3):
        raise ValueError(f"images must have 1 (grayscale) or 3 (RGB) channels, got shape {tuple(x.shape)}")
    if x.shape[0] == 0 or x.shape[2] == 0 or x.shape[3] == 0:
        raise ValueError(f"no images to draw (shape {tuple(x.shape)})")
    return x


def make_grid(images: Any, nrow: int = 8, padding: int = 2, pad_value: float = 1.0) -> np.ndarray:
    """Lay ``images`` (N×C×H×W) out ``nrow`` per row, like ``torchvision.utils.make_grid``.

    Returns a float32 array H×W×C (values as given, not clamped) of height
    ``rows·(H + padding) + padding`` and width ``cols·(W + padding) + padding`` where
    ``cols = min(nrow, N)`` and ``rows = ceil(N / cols)``. Padding and unused cells hold ``pad_value``.
    """
    if int(nrow) < 1:
        raise ValueError(f"nrow must be at least 1, got {nrow}")
    if int(padding) < 0:
        raise ValueError(f"padding must be non-negative, got {padding}")
    x = as_batch(images)
    n, c, h, w = x.shape
    p = int(padding)
    cols = min(int(nrow), n)
    rows = math.ceil(n / cols)
    cells = np.full((rows * cols, c, h + p, w + p), pad_value, dtype=np.float32)
    cells[:n, :, p:, p:] = x                                    # each cell: padding above and left
    grid = (cells.reshape(rows, cols, c, h + p, w + p)
                 .transpose(0, 3, 1, 4, 2)                     # rows, h, cols, w, c
                 .reshape(rows * (h + p), cols * (w + p), c))
    return np.pad(grid, ((0, p), (0, p), (0, 0)), constant_values=pad_value)  # closing border


def auto_scale(width: int, target: int = TARGET_WIDTH, max_scale: int = MAX_AUTO_SCALE) -> int:
    """The smallest integer scale that makes ``width`` pixels at least ``target`` wide (1 … max_scale)."""
    return max(1, min(int(max_scale), math.ceil(target / max(int(width), 1))))


def check_scale(scale: Any) -> int:
    """``scale`` as a positive integer upscaling factor; ValueError otherwise."""
    if int(scale) != scale or int(scale) < 1:
        raise ValueError(f"scale must be a positive integer, got {scale!r}")
    return int(scale)


def to_pil(array: np.ndarray, scale: int | None = 1) -> Image.Image:
    """An H×W×C (C = 1 or 3) or H×W float array in [0, 1] -> PIL image ('L' or 'RGB').

    Values are clamped to [0, 1] (NaN becomes 0); ``scale`` is an integer nearest-neighbour
    upscaling factor, ``None`` chooses one with :func:`auto_scale`.
    """
    a = np.asarray(array, dtype=np.float32)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] == 3)):
        raise ValueError(f"expected an H×W×1 or H×W×3 array, got shape {a.shape}")
    u8 = (np.clip(np.nan_to_num(a, nan=0.0), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    img = Image.fromarray(u8)
    s = auto_scale(img.width) if scale is None else check_scale(scale)
    if s > 1:
        img = img.resize((img.width * s, img.height * s), Image.Resampling.NEAREST)
    return img


def grid_image(images: Any, nrow: int = 8, scale: int | None = None, padding: int = 2,
               pad_value: float = 1.0) -> Image.Image:
    """The grid of :func:`make_grid` as a PIL image: 'L' for 1 channel, 'RGB' for 3.

    Values are clamped to [0, 1]. ``scale`` upscales by an integer factor (nearest neighbour, so
    pixels stay crisp); the default ``None`` picks the smallest factor that makes the grid at
    least ~256 px wide (28-px digits become visible).
    """
    return to_pil(make_grid(images, nrow=nrow, padding=padding, pad_value=pad_value), scale=scale)


def png_bytes(image: Image.Image) -> bytes:
    """A PIL image encoded as PNG."""
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def save_image(image: Image.Image, path: str | Path) -> Path:
    """Write a PIL image as PNG atomically (temporary file + ``os.replace``), creating folders."""
    return atomic_write_bytes(path, png_bytes(image))


def save_grid(images: Any, path: str | Path, nrow: int = 8, scale: int | None = None, padding: int = 2,
              pad_value: float = 1.0) -> Path:
    """Write :func:`grid_image` of ``images`` to ``path`` as PNG, atomically; returns the path."""
    return save_image(grid_image(images, nrow=nrow, scale=scale, padding=padding, pad_value=pad_value), path)
