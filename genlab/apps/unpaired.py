"""Unpaired and multi-domain translation applied to files and held-out images, with the cycle error.

    CycleGAN (Zhu et al. 2017)   G: A → B and F: B → A. An image a of domain A is translated to
                                 ŷ = G(a) and brought back to F(G(a)) ≈ a (cycle consistency);
                                 b of domain B to F(b) and back to G(F(b)) ≈ b.
    StarGAN (Choi et al. 2018)   one G(x, c) for a target attribute vector c (K values 0/1, one
                                 per mutually exclusive group set); the way back is G(G(x, c), c′)
                                 with c′ the image's own attributes.

    cycle-reconstruction error   e = mean |back − x| over pixels and images, in [0, 1] units:
                                 how much of the input survives the round trip (0 for a perfect one).

A run's model says which kind it is by its label space: kind "domains" (cyclegan: y = the target
domain) or "attributes" (stargan: y = N×K target vectors). Targets are named by the model's names:
``--to mnist`` for a domain, ``--domains thick,inverted`` for attributes, where each named attribute
sets its group and every other group keeps the image's own value.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from ..data import ImageData, load_data
from ..errors import ConfigError, DataError, did_you_mean
from ..io import write_json
from ..metrics.translation import cycle_error as metric_cycle_error
from .common import frozen, run_data, seeded
from .translate import read_file, save_native, save_side_by_side, translator

KINDS = ("domains", "attributes")


# ------------------------------------------------------------------------------------------ the model

def unpaired_kind(model) -> str | None:
    """"domains" (cyclegan), "attributes" (stargan) or None for other models."""
    space = getattr(model, "label_space", None)
    return space.kind if space is not None and space.kind in KINDS else None


def _require_kind(model, kind: str) -> None:
    translator(model)
    have = unpaired_kind(model)
    if have == kind:
        return
    name = model.registry_name
    if have == "domains":
        raise ConfigError(f"model {name!r} of this run translates between two domains ({_shown(domain_names(model))}),"
                          f" not to target attributes; name the target domain with --to (to=...)")
    if have == "attributes":
        raise ConfigError(f"model {name!r} of this run translates to target attributes "
                          f"({_shown(attribute_names(model))}), not to a domain; name them with --domains "
                          "(domains=...), e.g. --domains " + ",".join(_example(model)))
    raise ConfigError(f"model {name!r} of this run translates without a target (its inputs to their outputs); "
                      "drop --to / --domains (they are for cyclegan and stargan runs)")


def _shown(names, limit: int = 12) -> str:
    names = list(names)
    return ", ".join(names[:limit]) + (", …" if len(names) > limit else "")


def _names(model) -> list[str]:
    space = model.label_space
    return list(space.names) if space.names else [str(i) for i in range(space.size)]


def domain_names(model) -> list[str]:
    """A cyclegan run's domains, A then B (their names from the training data)."""
    return _names(model)


def attribute_names(model) -> list[str]:
    """A stargan run's K attribute names, one per column of its target vectors."""
    return _names(model)


def attribute_groups(model) -> list[list[int]]:
    """The model's mutually exclusive groups of attribute indices (each attribute alone when none)."""
    groups = getattr(model.config, "attribute_groups", None) or []
    groups = [list(g) for g in groups]
    grouped = {i for g in groups for i in g}
    return groups + [[i] for i in range(model.label_space.size) if i not in grouped]


def _example(model) -> list[str]:
    """Two attribute names of different groups, for messages."""
    names, groups = attribute_names(model), attribute_groups(model)
    return [names[g[-1]] for g in groups[:2]]


def domain_index(model, to: str | int | None) -> int:
    """The index of the target domain ``to`` (a name, or its number 0/1); None: the second domain
    (A → B). An unknown name is refused in one line that lists the run's domains."""
    _require_kind(model, "domains")
    names = domain_names(model)
    if to is None:
        return len(names) - 1
    text = str(to).strip()
    if text in names:
        return names.index(text)
    if text.isdigit() and int(text) < len(names):
        return int(text)
    if len(names) == 2 and text in ("A", "B"):   # the paper's letters, whatever the domains are called
        return "AB".index(text)
    raise ConfigError(f"unknown domain {text!r} for this {model.registry_name} run{did_you_mean(text, names)} "
                      f"(its domains: {_shown(names)}; or their numbers 0…{len(names) - 1})")


def attribute_indices(model, text: str | list[str], flag: str = "--domains") -> list[int]:
    """``"thick,inverted"`` (or a list of names) -> attribute indices, at most one per group; an
    unknown name or two of one group is refused in one line naming the choices."""
    _require_kind(model, "attributes")
    names = attribute_names(model)
    items = [t.strip() for t in (text.split(",") if isinstance(text, str) else text) if str(t).strip()]
    if not items:
        raise ConfigError(f"{flag} names no attribute; give comma-separated names of {_shown(names)}")
    out = []
    for item in items:
        if item not in names:
            raise ConfigError(f"{flag}: unknown attribute {item!r}{did_you_mean(item, names)} "
                              f"(this run's attributes: {_shown(names)})")
        out.append(names.index(item))
    for group in attribute_groups(model):
        picked = [i for i in out if i in group]
        if len(picked) > 1:
            raise ConfigError(f"{flag}: {' and '.join(names[i] for i in picked)} exclude each other (one of "
                              f"{'/'.join(names[i] for i in group)}); name one per group")
    return out


def first_values(model) -> Tensor:
    """The K-vector with each group's first attribute set: the default source of a file."""
    v = torch.zeros(model.label_space.size)
    for group in attribute_groups(model):
        if len(group) > 1:   # an attribute on its own is off by default
            v[group[0]] = 1.0
    return v


def attribute_targets(model, targets, source: Tensor | None, n: int, flag: str = "--domains") -> Tensor:
    """N×K target vectors: given as N×K (or K) 0/1 values, or as names (text or a list) that set
    their groups while every other group keeps each row's ``source`` value (``model.attribute_vector``
    with base = the source row; each group's first value without a source)."""
    k = model.label_space.size
    if torch.is_tensor(targets):
        t = targets.float()
        t = t.unsqueeze(0) if t.dim() == 1 else t
        if t.dim() != 2 or t.shape[1] != k or len(t) not in (1, n):
            raise ConfigError(f"target attributes must be N×{k} (one column per attribute), got shape "
                              f"{tuple(targets.shape)}")
        return t.expand(n, k).clone()
    attribute_indices(model, targets, flag)   # refused here, in one line, before the model sees them
    text = targets if isinstance(targets, str) else ",".join(targets)
    base = first_values(model).expand(n, k) if source is None else source.float().reshape(n, k)
    rows, inverse = torch.unique(base, dim=0, return_inverse=True)   # one call per distinct source
    made = torch.stack([torch.as_tensor(model.attribute_vector(text, base=r)).float().reshape(k).cpu()
                        for r in rows])
    return made[inverse]


def source_attributes(model, source, n: int, x: Tensor | None = None) -> Tensor:
    """The images' own attributes c′ (for the way back) as N×K: given as values, or as names (each
    group's first value for the groups not named); None: as the model's attribute classifier reads
    the images ``x`` (stargan's D_cls, ``read_attributes``), else each group's first value."""
    if source is not None:
        return attribute_targets(model, source, None, n, flag="--source")
    read = getattr(model, "read_attributes", None)
    if x is not None and callable(read):
        with frozen(model):
            return torch.cat([read(x[i:i + 64].to(model.device)).float().cpu() for i in range(0, len(x), 64)])
    return first_values(model).expand(n, model.label_space.size).clone()


def _need_targets(model) -> ConfigError:
    return ConfigError(f"{model.registry_name} translates to target attributes: name them with --domains "
                       f"(domains=...), e.g. --domains {','.join(_example(model))} (this run's attributes: "
                       f"{_shown(attribute_names(model))})")


# ------------------------------------------------------------------------------------------ batches

@torch.no_grad()
def _apply(model, x: Tensor, y, batch_size: int) -> Tensor:
    """``model.translate(x, y)`` in eval mode, in slices (y: one value, or a row per image)."""
    fn = translator(model)
    dev = model.device
    parts = []
    with frozen(model):
        for i in range(0, len(x), batch_size):
            yi = y[i:i + batch_size].to(dev) if torch.is_tensor(y) else y
            parts.append(fn(x[i:i + batch_size].to(dev), yi).float().cpu().clamp(0, 1))
    return torch.cat(parts) if parts else x[:0]


def translate_domains(model, x: Tensor, to: str | int | None = None, batch_size: int = 64) -> tuple[Tensor, Tensor]:
    """(translated, back) of images ``x`` of the domain other than ``to``: G(a) and F(G(a)) for
    to = B (the default), F(b) and G(F(b)) for to = A."""
    target = domain_index(model, to)
    source = 1 - target if len(domain_names(model)) == 2 else None
    if source is None:
        raise ConfigError(f"{model.registry_name} has {len(domain_names(model))} domains; translate_domains needs two")
    translated = _apply(model, x, target, batch_size)
    return translated, _apply(model, translated, source, batch_size)


def translate_attributes(model, x: Tensor, targets, source=None, batch_size: int = 64) -> tuple[Tensor, Tensor]:
    """(translated, back) of images ``x``: G(x, c) and G(G(x, c), c′). ``targets`` c: N×K values or
    names (``"thick,inverted"``: the other groups keep the source's values); ``source`` c′: the
    images' own attributes (N×K, or names; None: as the model reads them, else each group's first value)."""
    _require_kind(model, "attributes")
    if targets is None:
        raise _need_targets(model)
    n = len(x)
    c_source = source_attributes(model, source, n, x)
    c = attribute_targets(model, targets, c_source, n)
    translated = _apply(model, x, c, batch_size)
    return translated, _apply(model, translated, c_source, batch_size)


def cycle_error(x: Tensor, back: Tensor) -> float:
    """mean |back − x| over pixels and images (the cycle-reconstruction error, [0, 1] units); NaN for no images."""
    return metric_cycle_error(x, back) if len(x) else float("nan")


# ------------------------------------------------------------------------------------------ refusals

def check_targets(model, to=None, domains=None, source=None, image: bool = False) -> None:
    """The one-line refusals of the flags before any work: ``--to`` names a domain of a cyclegan
    run, ``--domains`` attributes of a stargan run (required there), ``--source`` the file's own
    attributes (stargan, with an image only); a model of neither kind takes none of them."""
    kind = unpaired_kind(model)
    given = [f for f, v in (("--to", to), ("--domains", domains), ("--source", source)) if v is not None]
    if kind is None:
        if given:
            raise ConfigError(f"model {model.registry_name!r} of this run translates without a target (its inputs to "
                              f"their outputs); drop {' and '.join(given)} (for cyclegan and stargan runs)")
        return
    if kind == "domains":
        if domains is not None or source is not None:
            flag = "--domains" if domains is not None else "--source"
            raise ConfigError(f"{flag} names attributes of a stargan run, but this {model.registry_name} run translates "
                              f"between two domains ({_shown(domain_names(model))}); use --to DOMAIN instead")
        domain_index(model, to)
        return
    if to is not None:
        raise ConfigError(f"--to names a domain of a cyclegan run, but this {model.registry_name} run translates to "
                          f"target attributes; use --domains {','.join(_example(model))} (its attributes: "
                          f"{_shown(attribute_names(model))})")
    if domains is None:
        raise _need_targets(model)
    attribute_indices(model, domains, "--domains")
    if source is not None:
        if not image:
            raise ConfigError("--source gives a file's own attributes; held-out images carry theirs, so drop --source "
                              "(or give --image FILE)")
        attribute_indices(model, source, "--source")


# ------------------------------------------------------------------------------------------ a file

def _file_input(model, path: Path, resize: bool) -> tuple[Tensor, list[int] | None]:
    """The file at its own size, or at the model's H×W when ``resize`` (then its own size is returned)."""
    x, _ = read_file(path, model.image_shape[0])
    if not resize:
        return x, None
    size = tuple(model.image_shape[1:])
    if tuple(x.shape[-2:]) == size:
        return x, None
    fitted = torch.nn.functional.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
    return fitted.clamp(0, 1), list(x.shape[-2:])


def _fits(model, x: Tensor) -> bool:
    try:
        model.check_input(x)
    except DataError:
        return False
    return True


def unpaired_file(model, path: str | Path, out: str | Path, to=None, domains=None, source=None,
                  seed: int = 0) -> dict:
    """Translate one image file and write ``out``: input | translated | back (labelled), and
    STEM-output.png beside it (the translation alone). cyclegan: ``to`` names the target domain
    (default the second), the file is taken as the other one; stargan: ``domains`` names the target
    attributes, ``source`` the file's own (default: as the model's attribute classifier reads the
    file, else each group's first value). The file is read at
    its own size when the model takes it (fully convolutional networks), else at the model's size.
    Returns the figures, with the cycle-reconstruction error."""
    check_targets(model, to, domains, source, image=True)
    kind = unpaired_kind(model)
    if kind is None:
        _require_kind(model, "domains")   # refuses: this model takes no target
    path, out = Path(path), Path(out)
    x, resized_from = _file_input(model, path, resize=False)
    if not _fits(model, x):
        x, resized_from = _file_input(model, path, resize=True)
    figures = {"model": model.registry_name, "image": str(path)}
    for attempt in range(2):
        with seeded(model, seed):
            if kind == "domains":
                translated, back = translate_domains(model, x, to)
            else:
                translated, back = translate_attributes(model, x, domains, source)
        if translated.shape == x.shape or attempt == 1:
            break
        # a size the networks do not keep (not divisible by their strides): the model's own size
        x, resized_from = _file_input(model, path, resize=True)
    if translated.shape != x.shape:
        raise DataError(f"{model.registry_name} turned the {x.shape[-1]}×{x.shape[-2]} image into "
                        f"{translated.shape[-1]}×{translated.shape[-2]}; give an image of the run's size")
    if kind == "domains":
        names = domain_names(model)
        target = domain_index(model, to)
        figures.update(source=names[1 - target], target=names[target])
        labels = [f"input ({names[1 - target]})", f"translated ({names[target]})", f"back ({names[1 - target]})"]
        direction = f"{names[1 - target]} → {names[target]}"
    else:
        names = attribute_names(model)
        wanted = [names[i] for i in attribute_indices(model, domains)]
        own = source_attributes(model, source, 1, x)[0]
        figures.update(targets=wanted, source=[names[i] for i in range(len(names)) if own[i] > 0.5])
        labels = ["input", "translated (" + ", ".join(wanted) + ")", "back"]
        direction = "→ " + ", ".join(wanted)
    figures.update(size=list(x.shape[-2:]), cycle_error=cycle_error(x, back), direction=direction)
    if resized_from is not None:
        figures["resized_from"] = resized_from
    alone = out.with_name(f"{out.stem}-output.png")
    save_side_by_side([x, translated, back], labels, out)
    save_native(translated, alone)
    figures["written"] = [str(out), str(alone)]
    return figures


# ------------------------------------------------------------------------------------------ held-out data

def unpaired_data(model, spec: str | None = None, split: str = "test", to=None) -> ImageData:
    """The run's held-out images (or ``spec``'s, brought to the model's size and channels),
    checked: a cyclegan run needs images with domains it knows (or ``to``, which takes images
    without domains as the other one); a stargan run needs images with its attributes."""
    kind = unpaired_kind(model)
    if kind is None:
        _require_kind(model, "domains")
    if spec is None:
        data = run_data(model, None, split)
    else:
        c, h, w = model.image_shape
        data = load_data(spec, split, image_size=(h, w), channels=c)
        if len(data) == 0:
            raise DataError(f"the {split} split of {spec} holds no images; use another --data")
        model.check_input(data.x[:1])
    name = data.name or spec or "the data"
    if kind == "domains":
        image_domains(model, data, to)
    elif data.attributes is None:
        raise DataError(f"{name} carries no attributes, so the way back (its own attributes) is unknown; use "
                        "attributes:SPEC data (e.g. --data attributes:mnist5k)")
    else:
        have = list(data.meta.get("attributes") or [])
        if have and have != attribute_names(model):
            raise DataError(f"{name}'s attributes ({_shown(have)}) are not this run's ({_shown(attribute_names(model))});"
                            " give data made like the run's (attributes:SPEC of the same kind of images)")
    return data


def image_domains(model, data: ImageData, to) -> Tensor:
    """Each image's domain as the model's index (N long); images without domains are the source of ``to``."""
    names, name = domain_names(model), data.name or "the data"
    if data.domain is None:
        if to is None:
            raise DataError(f"{name} carries no domains, so it is unknown which way to translate; give --to DOMAIN "
                            f"(its images are then taken as the other domain; domains: {_shown(names)}) or "
                            "domains:SPEC_A,SPEC_B data")
        return torch.full((len(data),), 1 - domain_index(model, to), dtype=torch.long)
    have = list(data.meta.get("domains") or names)
    unknown = [d for d in have if d not in names]
    if unknown:
        raise DataError(f"{name}'s domains ({_shown(have)}) are not this run's ({_shown(names)}); give "
                        f"domains:SPEC_A,SPEC_B data of the run's domains")
    mapping = torch.tensor([names.index(d) for d in have])
    index = mapping[data.domain.long()]
    if to is not None:
        target = domain_index(model, to)
        if not (index != target).any():
            raise DataError(f"{name} holds no images of {names[1 - target]} to translate to {names[target]}; "
                            "give data with that domain or another --to")
    return index


def unpaired_grid(model, data: ImageData, out: str | Path, n: int = 8, to=None, domains=None, n_eval: int = 500,
                  seed: int = 0) -> dict:
    """Translate held-out images and write to the folder ``out``: translate.png (rows input |
    translated | back of ``n`` spread images per direction: A → B → A and B → A → B for cyclegan,
    or only from the domain other than ``to``; stargan: each image to ``domains``, the other groups
    kept, and back to its own attributes) and translate.json (the cycle-reconstruction error of up
    to ``n_eval`` spread images per direction). Returns the figures, with a printable ``line``."""
    from ..png import labelled_rows, save_image

    check_targets(model, to, domains)
    kind = unpaired_kind(model)
    if kind is None:
        _require_kind(model, "domains")
    if n < 1 or n_eval < 1:
        raise ConfigError(f"n and n_eval must be at least 1, got {n} and {n_eval}")
    out = Path(out)
    rows, labels, directions = [], [], []
    with seeded(model, seed):
        if kind == "domains":
            names, index = domain_names(model), image_domains(model, data, to)
            targets = [domain_index(model, to)] if to is not None else [1, 0]
            for target in targets:
                picked = (index == 1 - target).nonzero().flatten()
                if len(picked) == 0:
                    continue   # data of one domain only: the other direction has nothing to show
                part = data.subset(picked)
                scored = part.spread(n_eval)
                translated, back = translate_domains(model, scored.x, target)
                show = torch.linspace(0, len(scored) - 1, min(n, len(scored))).long()
                src, dst = names[1 - target], names[target]
                rows += [scored.x[show], translated[show], back[show]]
                labels += [src, f"→ {dst}", f"→ {src} (back)"]
                directions.append({"source": src, "target": dst, "n": len(scored),
                                   "cycle_error": cycle_error(scored.x, back)})
        else:
            names = attribute_names(model)
            wanted = [names[i] for i in attribute_indices(model, domains)]
            scored = data.spread(n_eval)
            translated, back = translate_attributes(model, scored.x, domains, scored.attributes)
            show = torch.linspace(0, len(scored) - 1, min(n, len(scored))).long()
            rows += [scored.x[show], translated[show], back[show]]
            labels += ["input", "→ " + ", ".join(wanted), "back"]
            directions.append({"source": "own attributes", "target": ",".join(wanted), "n": len(scored),
                               "cycle_error": cycle_error(scored.x, back)})
    if not directions:
        raise DataError(f"{data.name or 'the data'} holds no images to translate; use another --data")
    from ..data.tasks import same_channels

    save_image(labelled_rows(same_channels(*rows), labels), out / "translate.png")
    figures = {"model": model.registry_name, "kind": kind, "data": data.name, "seed": seed, "directions": directions}
    write_json(out / "translate.json", figures)
    figures["line"] = "; ".join(f"{d['source']} → {d['target']} → back: cycle-reconstruction error "
                                f"{d['cycle_error']:.4f} (mean |back − input|, {d['n']} images)" for d in directions)
    return figures


__all__ = [
    "attribute_groups",
    "attribute_indices",
    "attribute_names",
    "attribute_targets",
    "check_targets",
    "cycle_error",
    "domain_index",
    "domain_names",
    "first_values",
    "source_attributes",
    "translate_attributes",
    "translate_domains",
    "unpaired_data",
    "unpaired_file",
    "unpaired_grid",
    "unpaired_kind",
]
