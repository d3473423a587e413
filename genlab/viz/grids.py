"""Image grids: batches of images (N×C×H×W, float in [0, 1]) laid out as one picture.

The grid itself (tiling, scaling, labelled rows and columns, atomic PNG/JPEG writing) is
:mod:`genlab.png`, re-exported here (the training engine's preview uses it too); this module adds
data URIs. Everything here is vectorised numpy: no per-pixel Python. Inputs may be torch tensors
or numpy arrays; single images (C×H×W or H×W) and channels-last batches (N×H×W×C) are accepted too.

    >>> save_grid(model.sample(64), "samples.png")                      # 8×8 grid, upscaled
    >>> labelled_rows([x, model.reconstruct(x)], ["original", "reconstruction"])
"""
from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

from PIL import Image

from ..png import (IMAGE_FORMATS, MAX_AUTO_SCALE, TARGET_WIDTH, as_batch, auto_scale,  # noqa: F401
                   check_scale, drawable, grid_image, image_bytes, image_format, labelled_grid, labelled_rows,
                   load_font, make_grid, png_bytes, save_grid, save_image, strip, to_pil)

__all__ = ["make_grid", "grid_image", "save_grid", "save_image", "strip", "labelled_rows", "labelled_grid",
           "png_data_uri", "to_pil", "auto_scale", "png_bytes", "image_bytes", "image_format", "load_font"]

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


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
