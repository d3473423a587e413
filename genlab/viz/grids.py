"""Image grids: batches of images (N×C×H×W, float in [0, 1]) laid out as one picture.

Everything here is vectorised numpy: no per-pixel Python. Inputs may be torch tensors or numpy
arrays; single images (C×H×W or H×W) and channels-last batches (N×H×W×C) are accepted too.

    >>> save_grid(model.sample(64), "samples.png")                      # 8×8 grid, upscaled
    >>> labelled_rows([x, model.reconstruct(x)], ["original", "reconstruction"])
"""
from __future__ import annotations

import base64
import io
import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..io import atomic_write_bytes

__all__ = ["make_grid", "grid_image", "save_grid", "save_image", "strip", "labelled_rows", "png_data_uri", "to_pil",
           "auto_scale"]

#: ``grid_image`` and friends pick the smallest integer scale that makes a picture at least this wide.
TARGET_WIDTH = 256
MAX_AUTO_SCALE = 16
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _as_batch(images: Any) -> np.ndarray:
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
    x = _as_batch(images)
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
    s = auto_scale(img.width) if scale is None else _check_scale(scale)
    if s > 1:
        img = img.resize((img.width * s, img.height * s), Image.Resampling.NEAREST)
    return img


def _check_scale(scale: Any) -> int:
    if int(scale) != scale or int(scale) < 1:
        raise ValueError(f"scale must be a positive integer, got {scale!r}")
    return int(scale)


def grid_image(images: Any, nrow: int = 8, scale: int | None = None, padding: int = 2,
               pad_value: float = 1.0) -> Image.Image:
    """The grid of :func:`make_grid` as a PIL image: 'L' for 1 channel, 'RGB' for 3.

    Values are clamped to [0, 1]. ``scale`` upscales by an integer factor (nearest neighbour, so
    pixels stay crisp); the default ``None`` picks the smallest factor that makes the grid at
    least ~256 px wide (28-px digits become visible).
    """
    return to_pil(make_grid(images, nrow=nrow, padding=padding, pad_value=pad_value), scale=scale)


def _png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def save_image(image: Image.Image, path: str | Path) -> Path:
    """Write a PIL image as PNG atomically (temporary file + ``os.replace``), creating folders."""
    return atomic_write_bytes(path, _png_bytes(image))


def save_grid(images: Any, path: str | Path, nrow: int = 8, scale: int | None = None, padding: int = 2,
              pad_value: float = 1.0) -> Path:
    """Write :func:`grid_image` of ``images`` to ``path`` as PNG, atomically; returns the path."""
    return save_image(grid_image(images, nrow=nrow, scale=scale, padding=padding, pad_value=pad_value), path)


def _stack_rows(rows: Sequence[Any]) -> tuple[np.ndarray, int]:
    """Rows of images (each N×C×H×W, same N) -> one batch (len(rows)·N) and N.

    Grayscale rows are repeated to RGB when other rows are RGB; H and W must agree.
    """
    if len(rows) == 0:
        raise ValueError("strip needs at least one row of images")
    batches = [_as_batch(r) for r in rows]
    n = batches[0].shape[0]
    if any(b.shape[0] != n for b in batches):
        raise ValueError(f"every row needs the same number of images, got {[b.shape[0] for b in batches]}")
    if any(b.shape[2:] != batches[0].shape[2:] for b in batches):
        raise ValueError(f"every row needs images of one size, got {[tuple(b.shape[2:]) for b in batches]}")
    if len({b.shape[1] for b in batches}) > 1:
        batches = [np.repeat(b, 3, axis=1) if b.shape[1] == 1 else b for b in batches]
    return np.concatenate(batches), n


def strip(rows: Sequence[Any], scale: int | None = None, padding: int = 2, pad_value: float = 1.0) -> Image.Image:
    """Rows of images stacked, one row per entry (e.g. originals over reconstructions).

    Each entry is N×C×H×W with the same N; the picture has ``len(rows)`` rows of N images.
    """
    batch, n = _stack_rows(rows)
    return grid_image(batch, nrow=n, scale=scale, padding=padding, pad_value=pad_value)


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, ValueError, OSError, ImportError):    # Pillow without FreeType: bitmap font
        return ImageFont.load_default()


def labelled_rows(rows: Sequence[Any], labels: Sequence[str], scale: int | None = None, padding: int = 2,
                  pad_value: float = 1.0, font_size: int | None = None) -> Image.Image:
    """:func:`strip` with a text label at the left of each row (Pillow's default font)."""
    labels = [str(label) for label in labels]
    if len(labels) != len(rows):
        raise ValueError(f"got {len(rows)} rows but {len(labels)} labels")
    batch, n = _stack_rows(rows)
    _, c, h, _ = batch.shape
    grid = make_grid(batch, nrow=n, padding=padding, pad_value=pad_value)
    s = auto_scale(grid.shape[1]) if scale is None else _check_scale(scale)
    img = to_pil(grid, scale=s)
    row_h = (h + padding) * s
    size = font_size or int(np.clip(round(row_h * 0.3), 10, 18))
    font = _font(size)
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    boxes = [probe.textbbox((0, 0), label, font=font) for label in labels]
    margin = max(4, size // 2)
    label_w = (max(b[2] - b[0] for b in boxes) + 2 * margin) if any(labels) else 0
    background = int(round(float(np.clip(pad_value, 0, 1)) * 255))
    ink = 0 if background >= 128 else 255
    if img.mode == "RGB":
        background, ink = (background,) * 3, (ink,) * 3
    out = Image.new(img.mode, (label_w + img.width, img.height), background)
    out.paste(img, (label_w, 0))
    draw = ImageDraw.Draw(out)
    for k, (label, box) in enumerate(zip(labels, boxes)):
        centre = padding * s + k * row_h + (h * s) / 2
        draw.text((margin - box[0], round(centre - (box[1] + box[3]) / 2)), label, fill=ink, font=font)
    return out


def png_data_uri(image: Any) -> str:
    """``data:image/png;base64,...`` for a PIL image, a path to an image file, PNG bytes, or images
    (a tensor/array, drawn with :func:`grid_image`). Non-PNG files are re-encoded as PNG."""
    if isinstance(image, Image.Image):
        data = _png_bytes(image)
    elif isinstance(image, (bytes, bytearray, str, Path)):
        data = bytes(image) if isinstance(image, (bytes, bytearray)) else Path(image).read_bytes()
        if not data.startswith(_PNG_MAGIC):                     # JPEG, GIF, ...: re-encode
            with Image.open(io.BytesIO(data)) as im:
                data = _png_bytes(im.convert("RGBA" if "A" in im.getbands() else "RGB"))
    else:
        data = _png_bytes(grid_image(image))
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")
