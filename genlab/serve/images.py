"""Pictures in and out of the explorer's HTTP API, all in memory (nothing touches the disk).

In: a data URI ``data:image/png;base64,...`` (or image/jpeg) → a PIL image, refused (DataError →
HTTP 400) unless it is a real PNG or JPEG of at most 1024×1024 pixels. Decompression bombs are
stopped before any pixel is decoded: Image.open reads only the header, the declared size is checked
against the limit (w, h ≤ 1024, so the decoded raster is at most 4 MiB even as RGBA), and only then
``verify`` (checksums, chunk structure) and ``load`` run; Pillow's own text-chunk limits
(PngImagePlugin.MAX_TEXT_CHUNK / MAX_TEXT_MEMORY) bound compressed metadata.

Out: images (N×C×H×W in [0, 1]) at their native size: a single image as itself, several as a grid
(genlab.png's layout, 2-px white padding) or one row; PNG bytes or a data URI.
"""
from __future__ import annotations

import base64
import binascii
import io
import math
import re

from PIL import Image

from ..errors import DataError
from ..png import grid_image, png_bytes

MAX_SIDE = 1024                      # the largest accepted width and height, in pixels
FORMATS = ("PNG", "JPEG")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"          # the IEND chunk: length 0, type, CRC
_DATA_URI = re.compile(r"data:image/(png|jpeg|jpg);base64,", re.IGNORECASE)
_B64 = re.compile(rb"[A-Za-z0-9+/]*={0,2}")


def decode_image(uri: str, max_side: int = MAX_SIDE) -> Image.Image:
    """A data URI of a PNG or JPEG → a decoded PIL image in mode L, RGB or RGBA (DataError, one
    line, for anything else: another scheme or format, bad base64, a truncated or corrupt file, or
    a picture larger than ``max_side`` on either side)."""
    if not isinstance(uri, str):
        raise DataError("the image must be a data URI string (data:image/png;base64,...)")
    match = _DATA_URI.match(uri)
    if match is None:
        raise DataError("the image must be a data URI of a PNG or JPEG (data:image/png;base64,... or "
                        "data:image/jpeg;base64,...)")
    payload = "".join(uri[match.end():].split()).encode("ascii", "replace")
    if not _B64.fullmatch(payload):
        raise DataError("the image's base64 data holds characters outside the base64 alphabet")
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise DataError("the image's base64 data is malformed (its length or padding is wrong)") from None
    return decode_bytes(data, max_side)


def decode_bytes(data: bytes, max_side: int = MAX_SIDE) -> Image.Image:
    """PNG or JPEG bytes → a loaded PIL image (L, RGB or RGBA); see :func:`decode_image`."""
    if not data:
        raise DataError("the image is empty (0 bytes); send a PNG or JPEG")
    if data.startswith(PNG_MAGIC) and PNG_END not in data:
        # Pillow decodes a PNG cut inside its last chunk without a word; a whole file ends with IEND
        raise DataError("the image is a truncated PNG (no IEND chunk at its end); send the whole file")
    try:
        with Image.open(io.BytesIO(data), formats=list(FORMATS)) as probe:   # the header only
            _check_size(probe.size, max_side)
            probe.verify()
        image = Image.open(io.BytesIO(data), formats=list(FORMATS))    # verify() leaves the file unusable
        _check_size(image.size, max_side)
        image.load()
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001  (Pillow raises OSError, SyntaxError, ValueError, zlib errors...)
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"the image is not a readable PNG or JPEG ({reason[:120]}); send a PNG or JPEG "
                        f"of at most {max_side}×{max_side} pixels") from None
    if image.mode in ("L", "RGB", "RGBA"):
        return image
    if image.mode in ("LA", "PA") or "transparency" in image.info:
        return image.convert("RGBA")
    if image.mode in ("1", "I", "I;16", "I;16B", "I;16L", "F"):
        return image.convert("L") if image.mode == "1" else _scaled_gray(image)
    return image.convert("RGB")                       # P, CMYK, YCbCr, ...


def _check_size(size: tuple[int, int], max_side: int) -> None:
    w, h = size
    if w < 1 or h < 1 or w > max_side or h > max_side:
        raise DataError(f"the image is {w}×{h} pixels; send one of at most {max_side}×{max_side}")


def _scaled_gray(image: Image.Image) -> Image.Image:
    """16-bit or float grayscale → 8-bit L over its own range (Pillow's convert would clip at 255)."""
    import numpy as np

    a = np.asarray(image, dtype=np.float64)
    lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return Image.new("L", image.size, 0)
    return Image.fromarray(((a - lo) / (hi - lo) * 255).round().astype(np.uint8), "L")


def picture(images, nrow: int | None = None):
    """Images (1×C×H×W or N×C×H×W, or one C×H×W) → a PIL image at native size: a single image without a
    border, several as a grid of ``nrow`` per row (default: all in one row)."""
    x = images.detach().float().cpu() if hasattr(images, "detach") else images
    if getattr(x, "ndim", 4) == 3:
        x = x[None]
    n = x.shape[0]
    if n == 1:
        return grid_image(x, nrow=1, scale=1, padding=0)
    return grid_image(x, nrow=nrow or n, scale=1)


def png(images, nrow: int | None = None) -> bytes:
    """PNG bytes of :func:`picture`."""
    return png_bytes(picture(images, nrow))


def data_uri(images, nrow: int | None = None) -> str | None:
    """``data:image/png;base64,...`` of :func:`picture`; None stays None."""
    if images is None:
        return None
    return "data:image/png;base64," + base64.b64encode(png(images, nrow)).decode("ascii")


__all__ = ["MAX_SIDE", "decode_image", "decode_bytes", "picture", "png", "data_uri"]
