"""What a network's outer layers look at and write ("the first layer learns first-order
features such as edges").

    encoder filters   the first layer that reads the pixels: a Linear layer's rows (one image-sized
                      weight map per unit) or the first Conv2d's kernels
    decoder atoms     the last layer that writes the pixels: a Linear layer's columns (the image each
                      code unit adds) or the last (transposed) convolution's kernels; a model's own
                      ``atoms()`` (sparse coding) or ``eigen_images()`` (PCA) when it has one

Each filter is scaled to [0, 1] on its own for display (its minimum black, its maximum white).
"""
from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import Tensor, nn

from ..errors import CapabilityError
from ..io import write_json
from ..models.baselines import LinearGaussianBase
from ..models.sparse_coding import SparseCodingBase


def _search_root(model, attribute: str) -> nn.Module:
    part = getattr(model, attribute, None)
    return part if isinstance(part, nn.Module) else model


def encoder_filters(model) -> tuple[Tensor, str] | None:
    """First-layer weights as images K×C×h×w and a description, or None when no layer reads pixels."""
    c = model.image_shape[0]
    pixels = math.prod(model.image_shape)
    for module in _search_root(model, "encoder").modules():
        if isinstance(module, nn.Linear) and module.in_features == pixels:
            w = module.weight.detach().cpu()
            what = f"first layer: Linear {pixels}->{module.out_features}, one row per unit"
            return w.view(-1, *model.image_shape), what
        if isinstance(module, nn.Conv2d) and module.in_channels == c and c in (1, 3):
            w = module.weight.detach().cpu()
            return w, f"first layer: Conv2d {c}->{module.out_channels}, {w.shape[2]}x{w.shape[3]} kernels"
    return None


def decoder_atoms(model, limit: int = 64) -> tuple[Tensor, str] | None:
    """The images the decoder's last layer adds per unit, K×C×h×w, and a description; or None."""
    if isinstance(model, SparseCodingBase):
        return model.atoms().detach().cpu(), f"dictionary atoms of {model.registry_name}"
    if isinstance(model, LinearGaussianBase):
        return model.eigen_images(limit).detach().cpu(), f"eigen-images (principal directions) of {model.registry_name}"
    c = model.image_shape[0]
    pixels = math.prod(model.image_shape)
    found = None
    for module in _search_root(model, "decoder").modules():     # the last layer writing pixels wins
        if isinstance(module, nn.Linear) and module.out_features == pixels:
            w = module.weight.detach().cpu().T                   # columns: one image per input unit
            found = (w.reshape(-1, *model.image_shape),
                     f"last layer: Linear {module.in_features}->{pixels}, one column per unit")
        elif isinstance(module, nn.ConvTranspose2d) and module.out_channels == c and c in (1, 3):
            w = module.weight.detach().cpu()                     # in × out × k × k
            found = (w, f"last layer: ConvTranspose2d {module.in_channels}->{c}, {w.shape[2]}x{w.shape[3]} kernels")
        elif isinstance(module, nn.Conv2d) and module.out_channels == c and c in (1, 3):
            w = module.weight.detach().cpu().transpose(0, 1)       # out × in × k × k -> in × out × k × k
            found = (w, f"last layer: Conv2d {module.in_channels}->{c}, {w.shape[2]}x{w.shape[3]} kernels")
    return found


def normalise_each(w: Tensor) -> Tensor:
    """Scale every filter (first axis) to [0, 1] on its own; a constant filter becomes mid-grey."""
    flat = w.flatten(1).float()
    lo, hi = flat.min(1, keepdim=True).values, flat.max(1, keepdim=True).values
    span = hi - lo
    out = torch.where(span > 0, (flat - lo) / span.clamp_min(1e-12), torch.full_like(flat, 0.5))
    return out.view_as(w)


def filter_sets(model, which: str = "both", limit: int = 64) -> list[tuple[str, Tensor]]:
    """[(title, images K×C×h×w in [0, 1])] for the encoder's filters and/or the decoder's atoms."""
    found = []
    if which in ("both", "encoder"):
        enc = encoder_filters(model)
        if enc is not None:
            found.append(("encoder " + enc[1], enc[0]))
    if which in ("both", "decoder"):
        dec = decoder_atoms(model, limit)
        if dec is not None:
            found.append(("decoder " + dec[1], dec[0]))
    if not found:
        want = {"both": "first-layer filters or decoder atoms", "encoder": "first-layer filters",
                "decoder": "decoder atoms"}[which]
        raise CapabilityError(f"model {model.registry_name!r} has no {want} on pixels (no Linear or convolution "
                              f"layer reading or writing the {model.image_shape} image)"
                              + ("; try --which both" if which != "both" else ""))
    return [(f"{title} ({min(limit, len(w))} of {len(w)})", normalise_each(w[:limit])) for title, w in found]


def write_filters(model, out: str | Path, which: str = "both", limit: int = 64) -> dict:
    """One PNG with a titled grid per filter set, and a JSON beside it (same name, .json)."""
    from ..viz.charts import titled_stack
    from ..viz.grids import grid_image, save_image

    out = Path(out)
    sets = filter_sets(model, which, limit)
    parts = [(title, grid_image(w, nrow=min(8, len(w)), padding=2 if w.shape[-1] >= 8 else 1)) for title, w in sets]
    save_image(titled_stack(parts), out)
    figures = {"model": model.registry_name, "image": str(out),
               "sets": [{"title": title, "shape": list(w.shape)} for title, w in sets]}
    write_json(out.with_suffix(".json"), figures)
    return figures


__all__ = ["encoder_filters", "decoder_atoms", "normalise_each", "filter_sets", "write_filters"]
