"""Codes as features: once trained, an encoder's code can be used as features for a classifier.

A linear probe (standardised logistic regression) is trained on frozen codes of the training
images and scored on the test images; the same probe on raw pixels and on PCA with the codes'
dimension says whether the encoder learned something a linear projection does not. A 2-D map of
the codes (t-SNE or PCA), coloured by label, shows how the classes lie.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..data import ImageData
from ..errors import ConfigError, DataError
from ..io import atomic_write_bytes, write_json
from .common import batched

METHODS = ("tsne", "pca")


def codes_of(model, x: torch.Tensor) -> torch.Tensor:
    """Flattened codes N×D of ``x`` (a CapabilityError for models without an encoder)."""
    encode = model.require("encode", "features are the encoder's codes")
    model.eval()
    return batched(encode, x, 500, model.device).flatten(1)


def _labelled(data: ImageData, what: str) -> None:
    if data.y is None:
        raise DataError(f"the {what} data has no labels, so no probe can be scored; use labelled data "
                        "(e.g. mnist5k, digits, or folder:PATH with one sub-folder per class)")


def probe(model, train: ImageData, test: ImageData, limit: int = 2000, seed: int = 0) -> dict:
    """Probe accuracy on the codes, raw pixels and same-dimension PCA (up to ``limit`` images per split,
    evenly spread so every class shows up)."""
    from ..metrics.representation import probe_table

    _labelled(train, "training")
    _labelled(test, "test")
    if limit < 10:
        raise ConfigError(f"--limit must be at least 10 images, got {limit}")
    tr, te = train.spread(limit), test.spread(limit)
    if len(torch.unique(tr.y)) < 2:
        raise DataError("the training data holds a single class: a classifier needs at least two")
    z_tr, z_te = codes_of(model, tr.x), codes_of(model, te.x)
    table = probe_table(z_tr, tr.y, z_te, te.y, tr.x.flatten(1), te.x.flatten(1), seed=seed)
    return {"model": model.registry_name, "data": train.name, "code_dim": int(z_tr.shape[1]),
            "pixel_dim": int(tr.x[0].numel()), "train_images": len(tr), "test_images": len(te),
            "probe_accuracy": table}


def code_map(codes: torch.Tensor, method: str = "tsne", seed: int = 0) -> tuple[np.ndarray, str]:
    """2-D coordinates of N×D ``codes`` and the axis name: the codes themselves for D ≤ 2 (axis "z"),
    else t-SNE or the first two principal components."""
    if method not in METHODS:
        raise ConfigError(f"unknown map method {method!r}; use one of {', '.join(METHODS)}")
    z = codes.double().numpy()
    n, d = z.shape
    if d <= 2 or n < 4:
        return z, "z"
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(2, random_state=seed).fit_transform(z), "PC"
    from sklearn.manifold import TSNE

    perplexity = float(min(30.0, (n - 1) / 3))
    return TSNE(2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(z), "t-SNE "


def feature_report(model, train: ImageData, test: ImageData, out: str | Path, method: str = "tsne",
                   limit: int = 2000, n_map: int = 1000, seed: int = 0) -> dict:
    """Probe table (features.json, features.md) and the 2-D map of held-out codes (code_map.png)."""
    from ..viz.plots import figure_to_png, latent_scatter

    if method not in METHODS:
        raise ConfigError(f"unknown map method {method!r}; use one of {', '.join(METHODS)}")
    out = Path(out)
    figures = probe(model, train, test, limit=limit, seed=seed)
    shown = test.spread(n_map)
    z = codes_of(model, shown.x)
    xy, axis = code_map(z, method, seed)
    how = "" if axis == "z" else (" (t-SNE)" if method == "tsne" else " (PCA)")
    from .sections import class_names

    names = class_names(model, test, int(shown.y.max()) + 1)     # the run's class names, else the data's
    fig = latent_scatter(xy, shown.y.numpy(), title=f"{z.shape[1]}-D codes of {len(z)} held-out images{how}",
                         class_names=names)
    if axis != "z":
        ax = fig.axes[0]
        ax.set_xlabel(f"{axis}1")
        ax.set_ylabel(f"{axis}2")
    figure_to_png(fig, out / "code_map.png")
    figures["map"] = {"method": method if axis != "z" else "identity", "images": len(z)}
    write_json(out / "features.json", figures)
    acc = figures["probe_accuracy"]
    atomic_write_bytes(out / "features.md", (
        f"Linear-probe test accuracy, {figures['model']} on {figures['data']} "
        f"({figures['train_images']} train / {figures['test_images']} test images)\n\n"
        "| features | dimension | accuracy |\n|---|---:|---:|\n"
        f"| codes | {figures['code_dim']} | {acc['codes']:.4f} |\n"
        f"| PCA, same dimension | {figures['code_dim']} | {acc['pca']:.4f} |\n"
        f"| raw pixels | {figures['pixel_dim']} | {acc['pixels']:.4f} |\n").encode())
    return figures


__all__ = ["METHODS", "codes_of", "probe", "code_map", "feature_report"]
