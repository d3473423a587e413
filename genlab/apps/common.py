"""Helpers shared by the application tasks: a run's data, output folders, image files, batching,
seeding and freezing a model for a block."""
from __future__ import annotations

import contextlib
from pathlib import Path

import torch
from torch import Tensor

from ..data import ImageData, load_data, load_spec
from ..data.batches import batched
from ..errors import ConfigError, DataError, RunFolderError, did_you_mean


def fit(model, data: ImageData, epochs: int, batch_size: int = 128, seed: int = 0, progress: bool = False):
    """``genlab.train`` without a run folder or held-out data, for tasks that train throw-away models."""
    from ..train import train

    return train(model, data, epochs=epochs, batch_size=batch_size, seed=seed, progress=progress)


def run_data(model, spec: str | None = None, split: str = "test") -> ImageData:
    """A split of the data a loaded run was trained on (its spec, image size and channels), or of
    ``spec`` when given (a ``folder:`` spec is resized to the model's images); checked against the model."""
    if spec is None:
        info = (getattr(model, "run_info", None) or {}).get("data") or {}
        if "spec" not in info:
            raise DataError("the run's config.json does not say which data it used; pass --data SPEC")
        data = load_spec(info, split)
    else:
        size = tuple(model.image_shape[1:]) if spec.startswith("folder:") else None
        data = load_data(spec, split, image_size=size,
                         channels=model.image_shape[0] if spec.startswith("folder:") else None)
    if len(data) == 0:
        raise DataError(f"the {split} split of {data.name or spec} holds no images; use another --data")
    model.check_input(data.x[:1])
    return data


def output_folder(out: str | Path | None, default: str | Path, overwrite: bool = False) -> Path:
    """Where a task writes its files.

    The default is a genlab-owned folder (e.g. ``RUN/denoise``) whose files a new run of the same
    task replaces. A folder the user names must be new or empty unless ``overwrite`` is given; even
    then only the task's own files are replaced, nothing is deleted.
    """
    if out is None:
        path = Path(default)
    else:
        path = Path(out)
        if path.exists() and not path.is_dir():
            raise RunFolderError(f"--out {path} is a file; name a folder")
        if path.is_dir() and any(path.iterdir()) and not overwrite:
            raise RunFolderError(f"--out folder {path} is not empty; pass overwrite=True (--overwrite) to write "
                                 "into it (files of the same name are replaced) or choose another folder")
    path.mkdir(parents=True, exist_ok=True)
    return path


def output_file(out: str | Path | None, default: str | Path, overwrite: bool = False) -> Path:
    """Like :func:`output_folder` for a single file: an existing file the user names is kept unless
    ``overwrite`` is given."""
    if out is None:
        return Path(default)
    path = Path(out)
    if path.is_dir():
        raise RunFolderError(f"--out {path} is a folder; name a .png file")
    if path.exists() and not overwrite:
        raise RunFolderError(f"{path} exists; pass overwrite=True (--overwrite) to replace it or choose another "
                             "out file (--out)")
    return path


def read_image(path: str | Path, image_shape: tuple[int, int, int]) -> Tensor:
    """An image file as a 1×C×H×W tensor in [0, 1], converted to ``image_shape``'s channels
    (luma for gray) and resized (bilinear) to its height and width."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path).expanduser()
    c, h, w = image_shape
    if c not in (1, 3):
        raise ConfigError(f"image files can feed models of 1 or 3 channels, this one takes {c}")
    if not path.is_file():
        raise DataError(f"image file {path} does not exist; check the path")
    try:
        with Image.open(path) as im:
            im = im.convert("L" if c == 1 else "RGB").resize((w, h), Image.BILINEAR)
            pixels = torch.frombuffer(bytearray(im.tobytes()), dtype=torch.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataError(f"{path} is not a readable image ({exc.__class__.__name__}); give a PNG or JPEG file") from None
    return pixels.view(h, w, c).permute(2, 0, 1).float().div(255).unsqueeze(0)


def parse_classes(text: str | None, flag: str, names: list[str], count: int | None = None,
                  least: int = 1) -> list[int] | None:
    """``"circle,square"`` or ``"0,1"`` -> class indices: each item a class name or a number
    0…K−1 (``names`` are the K classes); a ConfigError with the closest name otherwise."""
    if text is None:
        return None
    items = [v.strip() for v in str(text).split(",") if v.strip()]
    if count is not None and len(items) != count:
        raise ConfigError(f"{flag} expects {count} class(es), got {len(items)} ({text!r})")
    if len(items) < least:
        raise ConfigError(f"{flag} expects at least {least} classes, got {text!r}")
    out = []
    for item in items:
        if item in names:
            out.append(names.index(item))
        elif item.lstrip("-").isdigit():
            if not 0 <= int(item) < len(names):
                raise ConfigError(f"{flag}: class {item} is out of range: the classes are numbered 0…{len(names) - 1}"
                                  f" ({', '.join(names[:12])}{', …' if len(names) > 12 else ''})")
            out.append(int(item))
        else:
            shown = ", ".join(names[:12]) + (", …" if len(names) > 12 else "")
            raise ConfigError(f"{flag}: unknown class {item!r}{did_you_mean(item, names)} (the classes: {shown}; "
                              f"or their numbers 0…{len(names) - 1})")
    return out


def parse_ints(text: str | None, flag: str, count: int | None = None, least: int = 1) -> list[int] | None:
    """``"2,8,16"`` -> [2, 8, 16]; exactly ``count`` values when given, else at least ``least``;
    a ConfigError naming ``flag`` for anything else."""
    if text is None:
        return None
    try:
        values = [int(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise ConfigError(f"{flag} expects comma-separated integers, got {text!r}") from None
    if count is not None and len(values) != count:
        raise ConfigError(f"{flag} expects {count} integers, got {len(values)} ({text!r})")
    if len(values) < least:
        raise ConfigError(f"{flag} expects at least {least} integer(s), got {text!r}")
    return values


@contextlib.contextmanager
def seeded(model, seed: int | None):
    """The global RNG (of the CPU, and of the model's GPU) seeded for a block and restored after it,
    so that priors drawn by a model's own ``noise`` are reproducible without side effects."""
    dev = model.device
    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
        if seed is not None:
            torch.manual_seed(seed)
        yield


@contextlib.contextmanager
def frozen(model):
    """Eval mode (BatchNorm's running statistics, so each image is generated on its own) and no
    gradients for the weights; both restored afterwards."""
    was, flags = model.training, [p.requires_grad for p in model.parameters()]
    model.eval().requires_grad_(False)
    try:
        yield model
    finally:
        for p, f in zip(model.parameters(), flags):
            p.requires_grad_(f)
        model.train(was)


__all__ = ["batched", "fit", "run_data", "output_folder", "output_file", "read_image", "parse_ints", "seeded",
           "frozen"]
