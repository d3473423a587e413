"""Image grids: batches of images (N×C×H×W, float in [0, 1]) laid out as one picture.

The grid itself (tiling, scaling, atomic PNG writing) is :mod:`genlab.png`, re-exported here;
this module adds strips, labelled rows and data URIs. Everything here is vectorised numpy: no
per-pixel Python. Inputs may be torch tensors or numpy arrays; single images (C×H×W or H×W) and
channels-last batches (N×H×W×C) are accepted too.

    >>> save_grid(model.sample(64), "samples.png")                      # 8×8 grid, upscaled
    >>> labelled_rows([x, model.reconstruct(x)], ["original", "reconstruction"])
"""
from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..png import (MAX_AUTO_SCALE, TARGET_WIDTH, as_batch, auto_scale, check_scale, grid_image, make_grid,  # noqa: F401
                   png_bytes, save_grid, save_image, to_pil)

__all__ = ["make_grid", "grid_image", "save_grid", "save_image", "strip", "labelled_rows", "png_data_uri", "to_pil",
           "auto_scale", "png_bytes", "load_font"]

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _stack_rows(rows: Sequence[Any]) -> tuple[np.ndarray, int]:
    """Rows of images (each N×C×H×W, same N) -> one batch (len(rows)·N) and N.

    Grayscale rows are repeated to RGB when other rows are RGB; H and W must agree.
    """
    if len(rows) == 0:
        raise ValueError("strip needs at least one row of images")
    batches = [as_batch(r) for r in rows]
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


def load_font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
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
    s = auto_scale(grid.shape[1]) if scale is None else check_scale(scale)
    img = to_pil(grid, scale=s)
    row_h = (h + padding) * s
    size = font_size or int(np.clip(round(row_h * 0.3), 10, 18))
    font = load_font(size)
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
        data = png_bytes(image)
    elif isinstance(image, (bytes, bytearray, str, Path)):
        data = bytes(image) if isinstance(image, (bytes, bytearray)) else Path(image).read_bytes()
        if not data.startswith(_PNG_MAGIC):                     # JPEG, GIF, ...: re-encode
            with Image.open(io.BytesIO(data)) as im:
                data = png_bytes(im.convert("RGBA" if "A" in im.getbands() else "RGB"))
    else:
        data = png_bytes(grid_image(image))
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")
