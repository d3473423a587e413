"""Data for unpaired and multi-domain translation: two domains A, B (CycleGAN) and attribute labels (StarGAN).

CycleGAN (Zhu et al. 2017) learns G: A → B and F: B → A from two sets of images that contain no pairs,
{a_i} ⊂ A and {b_j} ⊂ B, held together by the cycle loss ‖F(G(a)) − a‖₁ + ‖G(F(b)) − b‖₁. Such data is
one ImageData with x = cat(A, B), ``domain`` = 0 for A's rows and 1 for B's, ``meta["domains"]`` =
[name_A, name_B]; each domain keeps its own held-out split.

StarGAN (Choi et al. 2018) learns one G(x, c) for every target label c ∈ {0, 1}^K whose K attributes form
mutually exclusive groups (exactly one attribute of each group is 1). ``attributes:SPEC`` makes such labels
measurable by building them: each image gets one random value per group, seeded,

    stroke   thin | normal | thick     grey erosion | nothing | grey dilation (a k×k square, k = max(2, H/14))
    tilt     upright | tilted          rotation clockwise by θ ~ U(25°, 35°) (an italic lean), grey images
                                       deskewed first
    polarity plain | inverted          x ↦ 1 − x

Handwriting leans by itself (MNIST's slant spans about ±20°), so grey images are first
deskewed: each row shifted sideways by α·(r − r̄), α = cov(column, row)/var(row) of the ink, which makes the
ink's column independent of its row (LeCun et al.'s deskewing). "upright" is then measurable.

For colour data a tint group (none | red | blue: x ↦ (1 − α)x + α·c, c pure red or blue, α = 0.35)
instead of the stroke. Stroke, tilt and polarity apply in that order (morphology acts on the ink before
it is inverted), the tint last (a red tint stays red on inverted images).

Specs: ``domains:SPEC_A,SPEC_B``, ``digits2mnist``, ``grey2colour``, ``attributes:SPEC``, ``cyclegan:NAME``.
"""
from __future__ import annotations

import copy
import io
import os
import zipfile
from pathlib import PurePosixPath

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import ConfigError, DataError, suggest
from .download import CYCLEGAN, fetch
from .imagedata import ImageData
from .sources import (
    DOMAIN_KINDS,
    IMAGE_SUFFIXES,
    SPLITS,
    TASK_SEEDS,
    convert_channels,
    load_data,
    photographs,
    resize,
)
from .sources import DOMAIN_PAIRS as PAIRS

DIGITS_SIZE = 28      # scikit-learn's 8×8 digits are upscaled to MNIST's side
GREY2COLOUR_TILE = 32
ATTRIBUTES_VERSION = 2   # bumped when the transforms change: cached classifiers of older data are not reused
TILT_DEGREES = (25.0, 35.0)   # clockwise, as italic script leans
TINT_ALPHA = 0.35
TINTS = {"red": (1.0, 0.0, 0.0), "blue": (0.0, 0.0, 1.0)}

GREY_ATTRIBUTES = ["thin", "normal", "thick", "upright", "tilted", "plain", "inverted"]
COLOUR_ATTRIBUTES = ["none", "red", "blue", "upright", "tilted", "plain", "inverted"]
ATTRIBUTE_GROUPS = [[0, 1, 2], [3, 4], [5, 6]]


def is_domain_spec(spec: str) -> bool:
    """Whether ``spec`` is one of this module's specs (and :func:`load_domain_spec` loads it)."""
    kind, sep, arg = spec.partition(":")
    return spec in PAIRS or (bool(sep) and bool(arg) and kind in DOMAIN_KINDS)


def load_domain_spec(spec: str, split: str = "train", image_size: int | tuple | None = None,
                     channels: int | None = None, limit: int | None = None, task: str | None = None,
                     binarize=None) -> ImageData:
    """``domains:A,B``, ``digits2mnist``, ``grey2colour``, ``cyclegan:NAME`` or ``attributes:SPEC`` as
    resident tensors, brought to ``image_size``/``channels``; ``limit`` keeps the first n images (of
    two-domain data: the first ⌈n/2⌉ of A and ⌊n/2⌋ of B, so both domains stay)."""
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    if task:
        raise ConfigError(f"--task {task} does not combine with {spec}: translation data has no targets "
                          "(its domains or attributes are the labels); drop --task")
    if binarize is not None:
        raise ConfigError(f"--binarize does not combine with {spec}: translation keeps grey levels; drop --binarize")
    kind, _, arg = spec.partition(":")
    if spec == "digits2mnist":
        data = digits2mnist(split)
    elif spec == "grey2colour":
        data = grey2colour(split)
    elif kind == "domains":
        parts = [p.strip() for p in arg.split(",")]
        if len(parts) != 2 or not all(parts):
            raise DataError(f"cannot read {spec}; write domains:SPEC_A,SPEC_B (two data specs, comma between)")
        data = domains(parts[0], parts[1], split, image_size, channels)
    elif kind == "cyclegan":
        data = cyclegan(arg, split, image_size)
    elif kind == "attributes":
        # the draws are made on the whole split, so that a limit keeps a prefix of the same images
        data = with_attributes(load_data(arg, split, image_size=image_size, channels=channels),
                               seed=TASK_SEEDS[split])
    else:
        raise DataError(f"unknown data spec {spec!r}; known translation specs: domains:SPEC_A,SPEC_B, "
                        f"{', '.join(PAIRS)}, attributes:SPEC, cyclegan:NAME")
    if image_size is not None:
        data = resize(data, image_size)
    if channels is not None:
        data = convert_channels(data, channels)
    data.name = spec
    return limited(data, limit) if limit is not None else data


def limited(data: ImageData, n: int) -> ImageData:
    """The first ``n`` images; of two-domain data the first ⌈n/2⌉ of A and ⌊n/2⌋ of B (a plain prefix of
    cat(A, B) would hold A alone)."""
    if data.domain is None:
        return data.subset(range(min(n, len(data))))
    a, b = (torch.nonzero(data.domain == k)[:, 0] for k in (0, 1))
    return data.subset(torch.cat([a[:(n + 1) // 2], b[:n // 2]]))


# --- two domains --------------------------------------------------------------------------------

def unpaired(a: ImageData, b: ImageData, names: tuple[str, str] | list[str], spec: str = "") -> ImageData:
    """Two image sets of one shape as one two-domain ImageData: x = cat(A, B), domain 0/1.

    Labels are kept when both sets have them under the same class names (digits and MNIST), else y is None:
    labels of different meaning must not mix. Sets of different shapes are refused in one line."""
    names = [str(n) for n in names]
    if len(names) != 2 or names[0] == names[1]:
        raise DataError(f"two domains need two different names, got {names}; name the domains apart")
    if a.x.shape[1:] != b.x.shape[1:]:
        sa, sb = ("×".join(str(s) for s in d.x.shape[1:]) for d in (a, b))
        raise DataError(f"{spec or 'the domains'}: {names[0]} has {sa} images, {names[1]} {sb}; "
                        "pass --image-size N and --channels C to bring both to one shape")
    if a.target is not None or b.target is not None:
        raise DataError(f"{spec or 'the domains'}: unpaired domains take plain images, not (input, target) pairs; "
                        "use specs without --task or paired:")
    same_labels = a.y is not None and b.y is not None and a.classes == b.classes
    y = torch.cat([a.y, b.y]) if same_labels else None
    domain = torch.cat([torch.zeros(len(a), dtype=torch.long), torch.ones(len(b), dtype=torch.long)])
    meta = {"domains": names}
    return ImageData(torch.cat([a.x, b.x]), y, classes=a.classes if same_labels else None, name=spec,
                     meta=meta, domain=domain)


def domains(spec_a: str, spec_b: str, split: str = "train", image_size: int | tuple | None = None,
            channels: int | None = None) -> ImageData:
    """``domains:SPEC_A,SPEC_B``: each spec's own ``split`` (its held-out images stay held out), brought to
    ``image_size``/``channels`` when given; the domains are named by their specs."""
    if spec_a == spec_b:
        raise DataError(f"domains:{spec_a},{spec_b} names one spec twice; give two different data specs")
    a = load_data(spec_a, split, image_size=image_size, channels=channels)
    b = load_data(spec_b, split, image_size=image_size, channels=channels)
    return unpaired(a, b, (spec_a, spec_b), spec=f"domains:{spec_a},{spec_b}")


def digits2mnist(split: str = "train") -> ImageData:
    """scikit-learn's 8×8 digits (16 grey levels) upscaled to 28×28 against the mnist5k handwriting: two
    real sets of the same ten classes in different styles, so a translation's digit can be judged."""
    a = load_data("digits", split, image_size=DIGITS_SIZE)
    b = load_data("mnist5k", split)
    return unpaired(a, b, ("digits", "mnist"), spec="digits2mnist")


def grey2colour(split: str = "train", tile: int = GREY2COLOUR_TILE) -> ImageData:
    """Grey and colour ``tile``×``tile`` crops of the shipped colour photographs (``photos``' split): each
    photograph is cut into non-overlapping tiles on a checkerboard, the black squares become grey (ITU-R 601
    luma, stored as 3 equal channels) and the white ones stay colour, so no image has a partner in the
    other domain. Photographs that are grey already are left out: both domains show the same scenes."""
    grey, colour = [], []
    for img in photographs(split, multiple=tile):
        if bool((img[:, 0] == img[:, 1]).all() and (img[:, 1] == img[:, 2]).all()):
            continue
        rows, cols = img.shape[-2] // tile, img.shape[-1] // tile
        tiles = F.unfold(img, tile, stride=tile).transpose(1, 2).reshape(-1, 3, tile, tile)  # row-major tiles
        black = ((torch.arange(rows)[:, None] + torch.arange(cols)[None]) % 2 == 0).flatten()
        grey.append(convert_channels(ImageData(tiles[black]), 1).x.expand(-1, 3, -1, -1))
        colour.append(tiles[~black])
    return unpaired(ImageData(torch.cat(grey).contiguous()), ImageData(torch.cat(colour)), ("grey", "colour"),
                    spec="grey2colour")


def by_domain(data: ImageData) -> list[ImageData]:
    """The images of each domain, in ``meta["domains"]`` order."""
    if data.domain is None:
        raise DataError(f"{data.name or 'the data'} has no domains; use domains:SPEC_A,SPEC_B, digits2mnist, "
                        "grey2colour or cyclegan:NAME")
    return [data.subset(torch.nonzero(data.domain == k)[:, 0]) for k in range(len(data.meta["domains"]))]


# --- the CycleGAN sets ---------------------------------------------------------------------------

def cyclegan(name: str, split: str = "train", image_size: int | tuple | None = None) -> ImageData:
    """``cyclegan:NAME``: the CycleGAN repository's NAME.zip (downloaded once into the cache, see
    :func:`genlab.data.download.fetch`), its trainA/trainB (or testA/testB) images decoded from the zip as
    RGB, resized while decoding when ``image_size`` is given (the originals are 256×256 or larger)."""
    if name not in CYCLEGAN:
        match = suggest(name, CYCLEGAN)
        hint = f"did you mean 'cyclegan:{match}'?" if match else f"known: {', '.join(CYCLEGAN)}"
        raise DataError(f"unknown CycleGAN data set {name!r}; {hint}")
    folder = fetch(f"cyclegan-{name}", base_url=os.environ.get("GENLAB_MIRROR"))
    path = folder / f"{name}.zip"
    parts = ("train", "test") if split == "all" else (split,)
    try:
        with zipfile.ZipFile(path) as zf:
            members = [m for m in sorted(zf.namelist()) if PurePosixPath(m).suffix.lower() in IMAGE_SUFFIXES]
            sets = []
            for side in "AB":
                wanted = {f"{s}{side}" for s in parts}
                chosen = [m for m in members if len(PurePosixPath(m).parts) >= 2 and PurePosixPath(m).parts[-2] in wanted]
                if not chosen:
                    raise DataError(f"{path} has no images in {' or '.join(sorted(wanted))}/; delete it and download "
                                    "again")
                sets.append(ImageData(_decode_all(zf, chosen, path, image_size)))
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"{path} is not a readable zip ({exc}); delete it and download again") from None
    return unpaired(sets[0], sets[1], CYCLEGAN[name], spec=f"cyclegan:{name}")


def _decode_all(zf: zipfile.ZipFile, members: list[str], path, image_size) -> torch.Tensor:
    """The zip's images as N×3×H×W uint8 (JPEG decoding is per file by nature; done once per load)."""
    from PIL import Image, UnidentifiedImageError

    hw = None if image_size is None else (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    out = []
    for m in members:
        try:
            with Image.open(io.BytesIO(zf.read(m))) as im:
                im = im.convert("RGB")
                if hw is not None and im.size != (hw[1], hw[0]):
                    im = im.resize((hw[1], hw[0]), Image.BILINEAR)
                out.append(np.asarray(im))
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise DataError(f"{m} in {path} is not a readable image ({exc.__class__.__name__}); delete the zip "
                            "and download again") from None
    sizes = {a.shape[:2] for a in out}
    if len(sizes) > 1:
        shown = ", ".join(f"{w}×{h}" for h, w in sorted(sizes)[:4])
        raise DataError(f"images in {path} have different sizes ({shown}); pass --image-size N to resize them")
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).contiguous()


# --- attributes ----------------------------------------------------------------------------------

def attribute_names(channels: int) -> tuple[list[str], list[list[int]]]:
    """The attributes of ``attributes:SPEC`` for images of ``channels`` channels and their exclusive groups."""
    names = GREY_ATTRIBUTES if channels == 1 else COLOUR_ATTRIBUTES
    return list(names), [list(g) for g in ATTRIBUTE_GROUPS]


def transform(x: torch.Tensor, choice: torch.Tensor, angles: torch.Tensor | None = None) -> torch.Tensor:
    """Images ``x`` (N×C×H×W in [0, 1]) with the attribute values ``choice`` (N×3 long: per group the index
    of the value within it, see :func:`attribute_names`) applied; ``angles`` (N, degrees, signed) are the
    rotations of the tilted rows (default 30° clockwise). Whole-batch operations: one skimage call per
    morphology, one grid_sample for the rotations."""
    from skimage.morphology import dilation, erosion

    n, c, h, w = x.shape
    x = deskew(x) if c == 1 else x.clone()
    choice = torch.as_tensor(choice, dtype=torch.long)
    if choice.shape != (n, len(ATTRIBUTE_GROUPS)):
        raise DataError(f"choice must be N×{len(ATTRIBUTE_GROUPS)} (one value per group), got {tuple(choice.shape)}")
    if c == 1:   # stroke: morphology of the ink (bright on dark) before any inversion
        side = max(2, round(min(h, w) / 14))
        footprint = np.ones((1, 1, side, side), bool)   # flat over the batch and channel axes
        for value, op in ((0, erosion), (2, dilation)):
            rows = torch.nonzero(choice[:, 0] == value)[:, 0]
            if len(rows):
                x[rows] = torch.from_numpy(op(x[rows].numpy(), footprint))
    tilted = torch.nonzero(choice[:, 1] == 1)[:, 0]
    if len(tilted):
        deg = torch.full((n,), -sum(TILT_DEGREES) / 2) if angles is None else torch.as_tensor(angles, dtype=torch.float)
        x[tilted] = rotate(x[tilted], deg[tilted], padding="zeros" if c == 1 else "reflection")
    inverted = choice[:, 2] == 1
    x[inverted] = 1 - x[inverted]
    if c == 3:
        for value, name in ((1, "red"), (2, "blue")):
            rows = choice[:, 0] == value
            tint = torch.tensor(TINTS[name]).view(1, 3, 1, 1)
            x[rows] = (1 - TINT_ALPHA) * x[rows] + TINT_ALPHA * tint
    return x.clamp_(0, 1)


def ink_moments(x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per image the ink's mass and, under it (pixel values as weights, channels averaged), the mean row and
    column, var(row), var(column) and cov(row, column), in pixel units (rows counted downwards)."""
    h, w = x.shape[-2:]
    m = x.float().mean(1).flatten(1)
    mass = m.sum(1)
    m = m / mass[:, None].clamp_min(1e-8)
    rows, cols = torch.meshgrid(torch.arange(h, dtype=torch.float), torch.arange(w, dtype=torch.float), indexing="ij")
    rows, cols = rows.flatten(), cols.flatten()
    r_mean, c_mean = (m * rows).sum(1), (m * cols).sum(1)
    dr, dc = rows[None] - r_mean[:, None], cols[None] - c_mean[:, None]
    return {"mass": mass, "row": r_mean, "col": c_mean, "var_row": (m * dr * dr).sum(1),
            "var_col": (m * dc * dc).sum(1), "cov": (m * dr * dc).sum(1)}


def deskew(x: torch.Tensor) -> torch.Tensor:
    """Each image sheared horizontally about its ink's centre so that the ink's column no longer depends on its
    row: output (r, c) reads input (r, c + α·(r − r̄)), α = cov(c, r)/var(r) under the ink's mass; bilinear,
    zeros outside. Images without ink are returned unchanged."""
    n, _, h, w = x.shape
    mo = ink_moments(x)
    var_r = mo["var_row"]
    alpha = torch.where((mo["mass"] > 0) & (var_r > 1e-6), mo["cov"] / var_r.clamp_min(1e-6), torch.zeros_like(var_r))
    # normalised coordinates: x = (2c + 1)/w − 1, y = (2r + 1)/h − 1, so c + α(r − r̄) is x + α·(h/w)·(y − ȳ)
    y_mean = (2 * mo["row"] + 1) / h - 1
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1
    theta[:, 0, 1] = alpha * h / w
    theta[:, 0, 2] = -alpha * h / w * y_mean
    grid = F.affine_grid(theta, [n, x.shape[1], h, w], align_corners=False)
    return F.grid_sample(x.float(), grid, mode="bilinear", padding_mode="zeros", align_corners=False).to(x.dtype)


def rotate(x: torch.Tensor, degrees: torch.Tensor, padding: str = "zeros") -> torch.Tensor:
    """Each image of ``x`` rotated about its centre by its angle (degrees, anticlockwise as seen), bilinear."""
    t = torch.deg2rad(torch.as_tensor(degrees, dtype=x.dtype))
    cos, sin = torch.cos(t), torch.sin(t)
    zero = torch.zeros_like(t)
    # grid_sample reads output pixel (u, v) from input R⁻¹(u, v): the inverse rotation (y points down)
    theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
    h, w = x.shape[-2:]
    theta[:, 0, 1] *= h / w   # normalised coordinates: correct for non-square images
    theta[:, 1, 0] *= w / h
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode=padding, align_corners=False)


def with_attributes(data: ImageData, seed: int = 0) -> ImageData:
    """``data`` with one random value per attribute group for every image (uniform, from ``seed``: the same
    every time), ``x`` transformed accordingly (:func:`transform`), ``attributes`` the N×K 0/1 vector and
    ``meta["attributes"]``/``meta["attribute_groups"]`` naming it; ``y`` and ``classes`` stay the originals'."""
    if data.target is not None:
        raise DataError(f"attributes: takes plain images, not (input, target) pairs ({data.name or 'the data'}); "
                        "drop --task")
    n, c = len(data), data.x.shape[1]
    names, groups = attribute_names(c)
    choice, angles = draw_attributes(n, seed)
    attributes = torch.zeros(n, len(names))
    for k, grp in enumerate(groups):
        attributes[torch.arange(n), torch.tensor(grp)[choice[:, k]]] = 1
    out = copy.copy(data)
    out.x = transform(data.x, choice, angles)
    out.attributes = attributes
    out.meta = {**data.meta, "attributes": names, "attribute_groups": groups, "attribute_seed": seed}
    return out


def draw_attributes(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The draws of :func:`with_attributes` for ``n`` images: ``choice`` (N×3 long, per group the index of
    the value within it, each uniform) and ``angles`` (N, degrees, negative: clockwise by U(25°, 35°); used
    where the image is tilted). The same ``seed`` gives the same draws."""
    g = torch.Generator().manual_seed(seed)
    choice = torch.stack([torch.randint(len(grp), (n,), generator=g) for grp in ATTRIBUTE_GROUPS], 1)
    # one direction: a translation to "tilted" has one right answer, and a classifier reads it at a glance
    angles = -torch.empty(n).uniform_(*TILT_DEGREES, generator=g)
    return choice, angles


def tilt_angle(x: torch.Tensor) -> torch.Tensor:
    """The orientation of each image's ink (degrees, anticlockwise as seen, in (−90°, 90°], 0 = vertical) from
    its second moments: ½·atan2(2μ₁₁, μ₂₀ − μ₀₂) measured from the vertical axis. For tests and metrics."""
    mo = ink_moments(x)
    # x right, y up: var(x) = var(column), var(y) = var(row), cov(x, y) = −cov(row, column)
    cxx, cyy, cxy = mo["var_col"], mo["var_row"], -mo["cov"]
    axis = 0.5 * torch.atan2(2 * cxy, cxx - cyy)   # the major axis from the x axis, anticlockwise
    deg = torch.rad2deg(axis) - 90                   # from the vertical
    return torch.where(deg <= -90, deg + 180, deg)
