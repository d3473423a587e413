"""Latent-space tools for any model with ``encode``/``decode`` (and generators with a latent input).

    interpolate / morph   decode the path between codes (linear or spherical), through waypoints
    manifold              decode a grid over two latent directions (the classic VAE digit map)
    traverse              vary one latent dimension at a time around a code
    arithmetic            mean code of group A − mean code of group B, added to other codes
    mix                   coarse content of A with style of B (code halves, or a CVAE's label)

Generators without an encoder (GANs) use them on z: seed interpolation, traversal and the manifold
around the prior mean, class-embedding interpolation for conditional ones, and arithmetic on the z
of judge-labelled samples (``generator_arithmetic``).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ..data import ImageData
from ..data.batches import batched
from ..errors import ConfigError, DataError, did_you_mean
from .common import seeded


def lerp(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """(1 − t)·a + t·b for each t."""
    t = t.view(-1, *([1] * a.dim()))
    return (1 - t) * a.unsqueeze(0) + t * b.unsqueeze(0)


def slerp(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """Spherical interpolation, better suited to Gaussian codes whose mass lies near a shell."""
    a_n, b_n = a / a.norm(), b / b.norm()
    omega = torch.arccos((a_n * b_n).sum().clamp(-1 + 1e-7, 1 - 1e-7))
    t = t.view(-1, *([1] * a.dim()))
    so = torch.sin(omega)
    if so.abs() < 1e-6:  # (anti)parallel codes: the great circle is undefined, the straight line is not
        return lerp(a, b, t.flatten())
    return (torch.sin((1 - t) * omega) / so) * a + (torch.sin(t * omega) / so) * b


def path(codes: Tensor, steps: int = 10, mode: str = "linear") -> Tensor:
    """Codes on the path through ``codes`` (K×D waypoints): ``steps`` per leg, waypoints included once."""
    if mode not in ("linear", "spherical"):
        raise ConfigError(f"unknown interpolation mode {mode!r}; use linear or spherical")
    if steps < 2:
        raise ConfigError(f"--steps must be at least 2, got {steps}")
    fn = slerp if mode == "spherical" else lerp
    t = torch.linspace(0, 1, steps, device=codes.device)
    legs = [fn(codes[i], codes[i + 1], t)[(1 if i else 0):] for i in range(len(codes) - 1)]
    return torch.cat(legs)


def _coder(model, why: str):
    return model.require("encode", why), model.require("decode", why)


@torch.no_grad()
def interpolate(model, x_a: Tensor, x_b: Tensor, steps: int = 10, mode: str = "linear") -> Tensor:
    """Decode codes on the path from ``x_a``'s code to ``x_b``'s; returns steps×C×H×W."""
    return morph(model, torch.stack([x_a, x_b]), steps, mode)


@torch.no_grad()
def morph(model, images: Tensor, steps: int = 8, mode: str = "linear") -> Tensor:
    """Morphing, e.g. 7 → 2 → 8 → 0: decode the path through the codes of ``images``."""
    encode, decode = _coder(model, "interpolation needs an encoder and a decoder")
    z = encode(images.to(model.device)).flatten(1)
    return decode(path(z, steps, mode).view(-1, *_code_shape(model, images[:1])))


@torch.no_grad()
def interpolate_seeds(model, seed_a: int, seed_b: int, steps: int = 10, mode: str = "spherical",
                      temperature: float = 1.0, label: int | str | None = None) -> Tensor:
    """Between two prior draws z_a, z_b ~ N(0, I) (for models without an encoder, e.g. generators);
    a conditional generator draws every image as class ``label``."""
    decode = class_decoder(model, "interpolating between seeds decodes prior codes", label)
    z = torch.stack([prior_codes(model, 1, seed, temperature)[0] for seed in (seed_a, seed_b)])
    return decode(path(z, steps, mode))


def class_decoder(model, why: str, label: int | str | None = None):
    """``decode`` for codes drawn from the prior: as is for a model that takes no label (a label is
    refused), bound to ``label`` for one with a label space (a class of cgan, acgan, cvae, or a
    value of infogan's categorical code), which then needs it."""
    decode = model.require("decode", why)
    if model.label_space is None:
        model.labels(label, 1)                       # refuses a label in one line
        return decode
    y = model.require_labels(label, 1)
    return lambda z: decode(z, y.to(z.device).expand(len(z)))


def code_decoder(model, why: str, label: int | str | None = None):
    """``decode`` for codes of images (what ``encode`` returns): these carry everything the model
    decodes, so a label is refused."""
    decode = model.require("decode", why)
    space = model.label_space
    if space is not None and label is not None:
        raise ConfigError(f"--label fixes the {space.meaning} of codes drawn from the prior; the codes of images "
                          f"that model {model.registry_name!r} encodes carry their own {space.meaning}: drop --label")
    model.labels(label, 1)
    return decode


@torch.no_grad()
def interpolate_classes(model, classes: list[int], steps: int = 10, seed: int = 0,
                        temperature: float = 1.0) -> Tensor:
    """A conditional generator's class embedding interpolated with z fixed (one prior draw, ``seed``):
    the label weights go linearly from one-hot(c1) to one-hot(c2) (…), so each image's embedding is
    (1 − t)·e_c1 + t·e_c2, through each class in turn. For infogan the same path runs between
    values of its categorical code."""
    decode = model.require("decode", "class interpolation decodes codes")
    space = model.label_space
    if space is None:
        raise ConfigError(f"--classes interpolates the class embedding of a conditional generator (cgan, acgan, cvae) "
                          f"or a categorical code (infogan); model {model.registry_name!r} has neither: use --seeds A,B")
    k = space.size
    bad = [c for c in classes if not 0 <= c < k]
    if bad:
        raise ConfigError(f"--classes {bad} out of range: model {model.registry_name!r} draws {space.meaning} "
                          f"values 0…{k - 1}")
    weights = path(torch.eye(k)[classes], steps, "linear").to(model.device)   # rows sum to 1 all along
    z = prior_codes(model, 1, seed, temperature).expand(len(weights), -1)
    return decode(z, weights)


def latent_size(model) -> int:
    size = getattr(model.config, "latent_dim", None)
    if not size:
        raise ConfigError(f"model {model.registry_name!r} has no latent_dim in its config, so its prior "
                          "cannot be sampled; give images instead of seeds")
    return int(size)


def prior_codes(model, n: int, seed: int = 0, temperature: float = 1.0) -> Tensor:
    """n codes from N(0, temperature²·I), reproducible by seed."""
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, latent_size(model), generator=g) * temperature).to(model.device)


def codes_of(model, x: Tensor) -> tuple[Tensor, tuple]:
    """The flattened code of one image and the shape ``decode`` expects for a code."""
    z = model.encode(x.to(model.device))
    return z.flatten(1)[0].cpu(), tuple(z.shape[1:])


def _code_shape(model, x: Tensor) -> tuple:
    """The shape of one code as ``decode`` expects it (codes are flattened for the arithmetic)."""
    return tuple(model.encode(x.to(model.device)).shape[1:])


def codes(model, data: ImageData, limit: int = 2000, batch_size: int = 500) -> Tensor:
    encode = model.require("encode", "latent codes need an encoder")
    x = data.x[:limit]
    return batched(lambda b: encode(b).flatten(1), x, batch_size, model.device)


def pick_pair(data: ImageData, first: int | None = 7, second: int | None = 8,
              names: list[str] | None = None) -> tuple[Tensor, Tensor, str]:
    """Two held-out images: the first ``first`` and the first ``second`` digit when labels exist
    (data without those classes: the first image of its first two classes). ``names`` names the
    classes in the description."""
    if data.y is not None and first is not None and second is not None:
        present = sorted(set(data.y.tolist()))
        if (first not in present or second not in present) and len(present) >= 2:
            first, second = present[0], present[1]
        ia = (data.y == first).nonzero()
        ib = (data.y == second).nonzero()
        if len(ia) and len(ib):
            name = (lambda c: names[c] if names and c < len(names) else str(c))  # noqa: E731
            return data.x[ia[0, 0]], data.x[ib[0, 0]], f"class {name(first)} → class {name(second)}"
    return data.x[0], data.x[min(1, len(data) - 1)], "image 0 → image 1"


def path_picture(images: Tensor, steps: int, ends: list[str]):
    """A decoded path (:func:`path` through ``len(ends)`` points, ``steps`` per leg) at a readable
    size, cells of at least 64 px: one leg as one row with its two ends named above its first and
    last image; several legs as one row each, named "a → b" at the row start."""
    from ..viz.grids import labelled_grid

    legs = len(ends) - 1
    if legs == 1:
        return labelled_grid([images], col_labels=[ends[0]] + [""] * (len(images) - 2) + [ends[1]], min_cell=64)
    rows = [images[k * (steps - 1): k * (steps - 1) + steps] for k in range(legs)]
    return labelled_grid(rows, [f"{ends[k]} → {ends[k + 1]}" for k in range(legs)], min_cell=64)


def pick_classes(data: ImageData, classes: list[int]) -> Tensor:
    """The first held-out image of each requested class, in order."""
    if data.y is None:
        raise DataError("choosing images by class needs labelled data; pass image indices instead")
    out = []
    for c in classes:
        found = (data.y == c).nonzero()
        if not len(found):
            raise DataError(f"no image of class {c} in the data; classes present: {sorted(set(data.y.tolist()))}")
        out.append(data.x[found[0, 0]])
    return torch.stack(out)


@dataclass
class Manifold:
    images: Tensor          # (n·n)×C×H×W, row-major: row i = ys[i], column j = xs[j]
    xs: Tensor
    ys: Tensor
    axes: str               # what the two directions are


@torch.no_grad()
def manifold(model, n: int = 15, data: ImageData | None = None, dims: tuple[int, int] | None = None,
             quantile: float = 0.05, label: int | str | None = None, seed: int = 0) -> Manifold:
    """Decode an n×n grid. A 2-D latent: the prior's quantiles Φ⁻¹(q), q ∈ [quantile, 1 − quantile]
    (Kingma & Welling's digit manifold). A larger latent: along latent dimensions ``dims`` around
    the mean code, or by default the first two principal directions of the codes of ``data``,
    spanning the same quantiles of the codes' spread along them. A generator without an encoder
    (a GAN) has no codes of data: its grid spans the prior's quantiles along ``dims`` (default 0, 1)
    around one prior draw z (``seed``), whose other dimensions are kept: z = 0 is no typical code
    of a many-dimensional Gaussian (its mass lies near the shell of radius √d), and decodes to a
    blank image for most GANs. A conditional one draws class ``label``."""
    why = "a manifold decodes a grid of codes"
    model.require("decode", why)
    if n < 2:
        raise ConfigError(f"--n must be at least 2, got {n}")
    q = torch.linspace(quantile, 1 - quantile, n)
    normal = torch.distributions.Normal(0.0, 1.0).icdf(q)
    d = latent_size(model) if getattr(model.config, "latent_dim", None) else None
    if d == 2 and dims is None:
        decode = class_decoder(model, why, label)
        gy, gx = torch.meshgrid(normal.flip(0), normal, indexing="ij")      # rows: z2 from high to low
        grid = torch.stack([gx, gy], -1).reshape(-1, 2)
        return Manifold(decode(grid.to(model.device)).cpu(), normal, normal.flip(0), "z1, z2 (prior quantiles)")
    if d and not model.can("encode"):
        decode = class_decoder(model, why, label)
        i, j = dims if dims is not None else (0, 1)
        if not (0 <= i < d and 0 <= j < d):
            raise ConfigError(f"--dims {(i, j)} out of range for a {d}-D latent")
        if i == j:
            raise ConfigError(f"--dims needs two different dimensions, got {i} twice")
        gy, gx = torch.meshgrid(normal.flip(0), normal, indexing="ij")
        grid = prior_codes(model, 1, seed).cpu().repeat(n * n, 1)
        grid[:, i], grid[:, j] = gx.reshape(-1), gy.reshape(-1)
        return Manifold(decode(grid.to(model.device)).cpu(), normal, normal.flip(0),
                        f"latent dimensions {i} and {j} (prior quantiles; the other {d - 2} from a prior draw)")
    decode = code_decoder(model, why, label)
    if data is None:
        raise ConfigError("a latent with more than two dimensions needs data to find its main directions")
    z = codes(model, data)
    centre = z.mean(0)
    if dims is not None:
        if max(dims) >= z.shape[1] or min(dims) < 0:
            raise ConfigError(f"--dims {dims} out of range for a {z.shape[1]}-D latent")
        basis = torch.zeros(2, z.shape[1])
        basis[0, dims[0]] = basis[1, dims[1]] = 1.0
        what = f"latent dimensions {dims[0]} and {dims[1]}"
    else:
        _, _, v = torch.pca_lowrank(z - centre, q=2, center=False)
        basis = v.T[:2]
        what = "first two principal directions of the codes"
    spread = ((z - centre) @ basis.T).std(0)
    xs, ys = normal * spread[0], (normal * spread[1]).flip(0)
    a, b = torch.meshgrid(ys, xs, indexing="ij")
    grid = centre + a.reshape(-1, 1) * basis[1] + b.reshape(-1, 1) * basis[0]
    shape = _code_shape(model, data.x[:1])
    return Manifold(decode(grid.view(-1, *shape).to(model.device)).cpu(), xs, ys, what)


@torch.no_grad()
def traverse(model, x: Tensor | None = None, data: ImageData | None = None, dims: list[int] | None = None,
             steps: int = 9, span: float = 3.0, label: int | str | None = None,
             seed: int = 0) -> tuple[Tensor, list[int]]:
    """One row per latent dimension: the code of ``x`` (or the mean code of ``data``, or for a
    generator one prior draw z of ``seed``: a typical code, which z = 0 is not) with that dimension
    set to values from −span to +span standard deviations (the codes' own spread when ``data`` is
    given, else the prior's). A conditional generator draws class ``label``. Returns
    (len(dims)·steps)×C×H×W and the dimensions shown."""
    why = "a traversal decodes codes"
    can_encode = model.can("encode")
    of_images = x is not None or (data is not None and can_encode)
    decode = code_decoder(model, why, label) if of_images else class_decoder(model, why, label)
    z = codes(model, data) if data is not None and can_encode else None
    if x is not None:
        model.require("encode", "traversing around an image needs its code")
        base, shape = codes_of(model, x.unsqueeze(0))
    elif z is not None:
        base, shape = z.mean(0), _code_shape(model, data.x[:1])
    else:
        base = prior_codes(model, 1, seed)[0].cpu()
        shape = (len(base),)
    size = len(base)
    dims = list(range(min(size, 10))) if dims is None else dims
    bad = [d for d in dims if not 0 <= d < size]
    if bad:
        raise ConfigError(f"--dims {bad} out of range for a {size}-D latent (0…{size - 1})")
    scale = z.std(0) if z is not None else torch.ones(size)
    values = torch.linspace(-span, span, steps)
    rows = base.repeat(len(dims), steps, 1)                           # dims × steps × D
    for r, d in enumerate(dims):
        rows[r, :, d] = base[d] + values * scale[d]
    return decode(rows.view(-1, *shape).to(model.device)).cpu(), dims


# ----------------------------------------------------------------------------------- arithmetic

GROUPS_HELP = ("a class, by number (e.g. 3) or by name (e.g. circle, a sub-folder's name), 'thick' or 'thin' "
               "(most / least ink, quartiles), or 'all'")


def group_mask(data: ImageData, spec: str) -> Tensor:
    """Which images of ``data`` belong to the group named by ``spec`` (see GROUPS_HELP)."""
    text = str(spec).strip().lower()
    if text == "all":
        return torch.ones(len(data), dtype=torch.bool)
    if text in ("thick", "thin"):
        ink = data.x.flatten(1).mean(1)
        return ink >= ink.quantile(0.75) if text == "thick" else ink <= ink.quantile(0.25)
    names = list(data.classes or [])
    if str(spec).strip() in names:   # a name first, as --label reads it
        label = names.index(str(spec).strip())
    else:
        try:
            label = int(text)
        except ValueError:
            raise ConfigError(f"cannot read group {spec!r}; use {GROUPS_HELP}"
                              f"{did_you_mean(str(spec).strip(), names)}") from None
    if data.y is None:
        raise DataError(f"group {spec!r} is a class label but the data has no labels; use 'thick', 'thin' or "
                        "'all', or labelled data")
    mask = data.y == label
    if not mask.any():
        raise DataError(f"no image of class {label} in the data; classes present: {sorted(set(data.y.tolist()))}")
    return mask


@torch.no_grad()
def attribute_vector(model, data: ImageData, plus: str, minus: str) -> Tensor:
    """Mean code of group ``plus`` minus mean code of group ``minus`` (the attribute
    vectors of Radford et al. 2016 and White 2016)."""
    z = codes(model, data, limit=len(data))
    return z[group_mask(data, plus)].mean(0) - z[group_mask(data, minus)].mean(0)


@torch.no_grad()
def arithmetic(model, data: ImageData, plus: str, minus: str, base: str, n: int = 8,
               strengths: tuple[float, ...] = (0.0, 0.5, 1.0, 1.5)) -> tuple[Tensor, Tensor]:
    """Codes of ``n`` images of group ``base`` plus s·(mean code(plus) − mean code(minus)) for each
    strength s; returns (rows: len(strengths)×n×C×H×W, the attribute vector)."""
    encode, decode = _coder(model, "latent arithmetic needs an encoder and a decoder")
    vector = attribute_vector(model, data, plus, minus).to(model.device)
    x = data.x[group_mask(data, base)][:n].to(model.device)
    z = encode(x)
    shape = z.shape[1:]
    flat = z.flatten(1)
    rows = torch.stack([decode((flat + s * vector).view(-1, *shape)) for s in strengths])
    return rows.cpu(), vector.cpu()


def group_class(spec: str) -> int | None:
    """The class label a group spec names, or None for 'thick', 'thin', 'all'."""
    try:
        return int(str(spec).strip())
    except ValueError:
        return None


@torch.no_grad()
def generator_arithmetic(model, plus: str, minus: str, base: str, judge=None, n: int = 8, pool: int = 2000,
                         strengths: tuple[float, ...] = (0.0, 0.5, 1.0, 1.5), seed: int = 0,
                         min_confidence: float = 0.9, min_members: int = 3,
                         batch_size: int = 500) -> tuple[Tensor, Tensor, dict]:
    """DCGAN-style arithmetic (Radford et al. 2016, §6.3) for a generator without an encoder: draw
    ``pool`` codes from the model's own prior (``noise``), generate them, put each sample in the
    groups — a class by the ``judge`` classifier's label (only samples it is ``min_confidence``
    sure of), or for a conditional generator by the class it was asked to draw; thick/thin by ink —
    and use the mean z of each group as :func:`arithmetic` uses mean codes. Returns (rows, the
    attribute vector, what was used and each group's size)."""
    from .invert import check_generator, prior

    d = check_generator(model)
    if pool < 1:
        raise ConfigError(f"--pool must be at least 1, got {pool}")
    space = model.label_space
    conditional = space is not None and space.kind == "classes"
    with seeded(model, seed):
        z, y = prior(model, pool, d, torch.arange(pool) % space.size if conditional else None)
    z, y = z.to(model.device), (y.to(model.device) if y is not None else None)
    decode = model.require("decode", "latent arithmetic decodes codes")
    gen = (lambda c, lab: decode(c, lab)) if conditional else (lambda c, lab: decode(c))  # noqa: E731
    images = torch.cat([gen(z[i:i + batch_size], None if y is None else y[i:i + batch_size]).cpu()
                        for i in range(0, pool, batch_size)])
    groups = (plus, minus, base)
    if conditional:
        labels, source = y.cpu(), "the classes the conditional generator was asked to draw"
    elif any(group_class(g) is not None for g in groups):
        if judge is None:
            raise ConfigError("class groups of an unconditional generator's samples need a judge classifier to "
                              "label them; train one with `genlab judge train --data SPEC`")
        probs = judge.probs_of(images)
        confidence, labels = probs.max(1)
        labels = torch.where(confidence >= min_confidence, labels, torch.full_like(labels, -1))
        source = f"generated samples labelled by the judge classifier (confidence ≥ {min_confidence:g})"
    else:
        labels, source = None, "generated samples grouped by ink"
    masks, counts = {}, {}
    for spec in groups:
        label = group_class(spec)
        mask = (labels == label) if label is not None else group_mask(ImageData(x=images), spec)
        if int(mask.sum()) < min_members:
            raise DataError(f"only {int(mask.sum())} of the {pool} generated samples fall in group {spec!r} "
                            f"({source}); raise --pool or choose another group")
        masks[spec], counts[spec] = mask, int(mask.sum())
    z = z.cpu()
    vector = z[masks[plus]].mean(0) - z[masks[minus]].mean(0)
    z_base = z[masks[base]][:n]
    y_base = None if y is None else y.cpu()[masks[base]][:n].to(model.device)
    rows = torch.stack([gen((z_base + s * vector).to(model.device), y_base).cpu() for s in strengths])
    return rows, vector, {"source": source, "pool": pool, "group_sizes": counts}


@torch.no_grad()
def mix(model, x_a: Tensor, x_b: Tensor, y_a: Tensor | None = None, y_b: Tensor | None = None,
        split: float = 0.5) -> tuple[Tensor, str]:
    """Latent-space mixing: for each pair, the first ``split`` share of A's code with the rest of B's.
    A model conditioned on classes (cvae) mixes the way it was built to: A's content (label) drawn
    in B's style, decode(encode(x_B, y_B), y_A)."""
    x_a, x_b = x_a.to(model.device), x_b.to(model.device)
    encode, decode = _coder(model, "mixing needs an encoder and a decoder")
    space = model.label_space
    if space is not None and space.kind == "classes" and y_a is not None and y_b is not None:
        return decode(encode(x_b, y_b), y_a).cpu(), f"{space.meaning} of A, style (code) of B"
    z_a, z_b = encode(x_a), encode(x_b)
    shape = z_a.shape[1:]
    flat_a, flat_b = z_a.flatten(1), z_b.flatten(1)
    cut = max(1, min(flat_a.shape[1] - 1, round(split * flat_a.shape[1])))
    mixed = torch.cat([flat_a[:, :cut], flat_b[:, cut:]], 1)
    return decode(mixed.view(-1, *shape)).cpu(), f"code dimensions 0–{cut - 1} of A, {cut}–{flat_a.shape[1] - 1} of B"
