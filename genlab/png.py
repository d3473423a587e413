"""Image files: a batch tiled into one grid picture, labelled rows and columns, written atomically
as PNG or JPEG (by the file's extension).

Ground layer, so that the training engine can write its labelled per-epoch preview without the
plotting code; :mod:`genlab.viz.grids` re-exports these and adds data URIs.
Everything is vectorised numpy (no per-pixel Python). Inputs may be torch tensors or numpy
arrays (float in [0, 1] or uint8); single images (C×H×W or H×W) and channels-last batches
(N×H×W×C) are accepted too.
"""
from __future__ import annotations

import io
import math
import unicodedata
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .errors import ConfigError
from .io import atomic_write_bytes

__all__ = ["as_batch", "make_grid", "auto_scale", "check_scale", "to_pil", "grid_image", "png_bytes",
           "image_bytes", "image_format", "save_image", "save_grid", "strip", "labelled_grid", "labelled_rows",
           "load_font", "drawable", "IMAGE_FORMATS"]

#: the file extensions an image is written as, and Pillow's format for each
IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}

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
    return image_bytes(image, "PNG")


def image_format(path: str | Path) -> str:
    """Pillow's format for ``path``'s extension (PNG or JPEG); a ConfigError for any other."""
    suffix = Path(path).suffix.lower()
    if suffix not in IMAGE_FORMATS:
        what = f"extension {suffix!r}" if suffix else "no extension"
        raise ConfigError(f"cannot write image {path}: it has {what}; name it .png, .jpg or .jpeg")
    return IMAGE_FORMATS[suffix]


def image_bytes(image: Image.Image, format: str = "PNG") -> bytes:
    """A PIL image encoded as ``format`` ("PNG" or "JPEG"; JPEG has no alpha, so it is dropped)."""
    buf = io.BytesIO()
    if format == "JPEG":
        if image.mode not in ("L", "RGB"):
            image = image.convert("RGB")
        image.save(buf, format="JPEG", quality=95)
    else:
        image.save(buf, format=format, optimize=False)
    return buf.getvalue()


def save_image(image: Image.Image, path: str | Path) -> Path:
    """Write a PIL image atomically (temporary file + ``os.replace``), creating folders, as PNG or
    JPEG by ``path``'s extension (.png, .jpg, .jpeg; others are refused in one line)."""
    return atomic_write_bytes(path, image_bytes(image, image_format(path)))


def save_grid(images: Any, path: str | Path, nrow: int = 8, scale: int | None = None, padding: int = 2,
              pad_value: float = 1.0) -> Path:
    """Write :func:`grid_image` of ``images`` to ``path`` (PNG or JPEG by extension), atomically."""
    image_format(path)                                          # refused before any drawing
    return save_image(grid_image(images, nrow=nrow, scale=scale, padding=padding, pad_value=pad_value), path)


# --------------------------------------------------------------------------- labelled pictures

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
    """Pillow's own default font at ``size`` px (no font file needed)."""
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, ValueError, OSError, ImportError):    # Pillow without FreeType: bitmap font
        return ImageFont.load_default()


# what to draw for characters Pillow's default font has no glyph for (it draws a box)
_SUBSTITUTES = {"→": "->", "←": "<-", "−": "-", "‖": "|", "≈": "~", "≥": ">=", "≤": "<=", "²": "^2"}


def drawable(text: str, font) -> str:
    """``text`` with each character ``font`` cannot draw replaced: an arrow or minus by ASCII, an
    accented letter by its base letter (é -> e), anything else by "?"."""
    def glyph(ch: str):
        return font.getbbox(ch), bytes(font.getmask(ch))

    missing = glyph("\uffff")
    out = []
    for ch in text:
        if ch.isascii() or glyph(ch) != missing:
            out.append(ch)
        else:
            base = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
            out.append(_SUBSTITUTES.get(ch) or base or "?")
    return "".join(out)


def labelled_grid(rows: Sequence[Any], row_labels: Sequence[str] | None = None,
                  col_labels: Sequence[str] | None = None, *, scale: int | None = None, min_cell: int = 0,
                  padding: int = 2, pad_value: float = 1.0, font_size: int | None = None) -> Image.Image:
    """Rows of images (each N×C×H×W, the same N) as one picture, with a text label at the left of
    each row (``row_labels``) and above each column (``col_labels``; "" leaves a column bare), in
    Pillow's default font. ``scale`` (an integer) upscales every pixel; the default picks the
    smallest that makes the picture ~256 px wide and each cell at least ``min_cell`` px tall."""
    row_labels = None if row_labels is None else [str(t) for t in row_labels]
    col_labels = None if col_labels is None else [str(t) for t in col_labels]
    if row_labels is not None and len(row_labels) != len(rows):
        raise ValueError(f"got {len(rows)} rows but {len(row_labels)} labels")
    batch, n = _stack_rows(rows)
    if col_labels is not None and len(col_labels) != n:
        raise ValueError(f"got {n} columns but {len(col_labels)} column labels")
    _, _, h, w = batch.shape
    grid = make_grid(batch, nrow=n, padding=padding, pad_value=pad_value)
    if scale is None:
        s = max(auto_scale(grid.shape[1]), min(MAX_AUTO_SCALE, math.ceil(min_cell / h)))
    else:
        s = check_scale(scale)
    img = to_pil(grid, scale=s)
    cell = (h + padding) * s
    size = font_size or int(np.clip(round(cell * 0.3), 10, 18))
    font = load_font(size)
    row_labels = None if row_labels is None else [drawable(t, font) for t in row_labels]
    col_labels = None if col_labels is None else [drawable(t, font) for t in col_labels]
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    margin = max(4, size // 2)
    rows_text = [t for t in row_labels or [] if t]
    left = max(_width(probe, t, font) for t in rows_text) + 2 * margin if rows_text else 0
    cols_text = [t for t in col_labels or [] if t]
    col_font, col_size = font, size
    while cols_text and col_size > 8 and max(_width(probe, t, col_font) for t in cols_text) > w * s:
        col_size -= 1                                          # column labels fit their cells
        col_font = load_font(col_size)
    top = max(_height(probe, t, col_font) for t in cols_text) + margin if cols_text else 0
    background = int(round(float(np.clip(pad_value, 0, 1)) * 255))
    ink = 0 if background >= 128 else 255
    if img.mode == "RGB":
        background, ink = (background,) * 3, (ink,) * 3
    out = Image.new(img.mode, (left + img.width, top + img.height), background)
    out.paste(img, (left, top))
    draw = ImageDraw.Draw(out)
    for k, label in enumerate(row_labels or []):
        b = probe.textbbox((0, 0), label, font=font)
        centre = top + padding * s + k * cell + (h * s) / 2
        draw.text((margin - b[0], round(centre - (b[1] + b[3]) / 2)), label, fill=ink, font=font)
    for j, label in enumerate(col_labels or []):
        if not label:
            continue
        b = probe.textbbox((0, 0), label, font=col_font)
        centre = left + padding * s + j * (w + padding) * s + (w * s) / 2
        x = min(max(round(centre - (b[0] + b[2]) / 2), 0), out.width - (b[2] - b[0]))  # kept inside the picture
        draw.text((x, top - margin // 2 - b[3]), label, fill=ink, font=col_font)
    return out


def _width(draw: ImageDraw.ImageDraw, text: str, font) -> int:
    b = draw.textbbox((0, 0), text, font=font)
    return b[2] - b[0]


def _height(draw: ImageDraw.ImageDraw, text: str, font) -> int:
    b = draw.textbbox((0, 0), text, font=font)
    return b[3] - b[1]


def labelled_rows(rows: Sequence[Any], labels: Sequence[str], scale: int | None = None, padding: int = 2,
                  pad_value: float = 1.0, font_size: int | None = None, min_cell: int = 0) -> Image.Image:
    """:func:`strip` with a text label at the left of each row (:func:`labelled_grid`)."""
    return labelled_grid(rows, labels, scale=scale, min_cell=min_cell, padding=padding, pad_value=pad_value,
                         font_size=font_size)
