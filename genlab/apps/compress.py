"""Dimensionality reduction (like PCA, but nonlinear): held-out reconstruction
error against code size, for PCA and for autoencoders trained with that code size.

PCA keeps the top-k principal directions of the training images: x̂ = μ + E_k E_kᵀ (x − μ), the
best rank-k *linear* reconstruction in squared error. An autoencoder with a k-unit code is a
nonlinear rank-k reconstruction, so it can beat PCA at the same k.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Callable, Sequence

import torch

from ..data import ImageData
from ..errors import ConfigError
from .common import batched, fit

PCA = "pca"
DEFAULT_MODELS = ("pca", "ae", "conv-ae", "stacked-ae")
DEFAULT_CODES = (2, 8, 16, 32, 64)
DEFAULT_EPOCHS = 10


def pca_mse_curve(train_x: torch.Tensor, test_x: torch.Tensor, codes: Sequence[int], seed: int = 0) -> dict[int, float]:
    """Held-out MSE per pixel of the rank-k PCA reconstruction for every k in ``codes`` (clipped to
    [0, 1] like the autoencoders' sigmoid outputs). PCA is fitted once on ``train_x`` with an exact
    scikit-learn solver; the top k components of that fit are the rank-k PCA."""
    from sklearn.decomposition import PCA as SkPCA

    xtr = train_x.flatten(1).double().numpy()
    xte = test_x.flatten(1).double().numpy()
    most = min(xtr.shape)
    bad = [k for k in codes if not 1 <= k <= most]
    if bad:
        raise ConfigError(f"PCA of {xtr.shape[0]} images of {xtr.shape[1]} pixels has 1 to {most} components, "
                          f"not {bad}; choose other --codes or more data")
    # exact solvers only (randomized SVD would blur the full-rank end); the covariance route is the
    # fast one when there are more images than pixels
    solver = "covariance_eigh" if xtr.shape[0] >= xtr.shape[1] else "full"
    pca = SkPCA(n_components=max(codes), svd_solver=solver, random_state=seed).fit(xtr)
    centred = xte - pca.mean_
    out = {}
    for k in codes:
        c = pca.components_[:k]
        recon = (pca.mean_ + (centred @ c.T) @ c).clip(0, 1)
        out[int(k)] = float(((recon - xte) ** 2).mean())
    return out


def pca_mse(train_x: torch.Tensor, test_x: torch.Tensor, k: int, seed: int = 0) -> float:
    """Held-out MSE per pixel of the rank-``k`` PCA reconstruction (see :func:`pca_mse_curve`)."""
    return pca_mse_curve(train_x, test_x, [k], seed)[int(k)]


def code_size_override(model_name: str, k: int) -> dict | None:
    """The config values that give ``model_name`` a k-unit code: ``latent_dim``, else the last entry
    of ``sizes`` (stacked layers whose last is the code); None when the config has neither.

    A single dense layer right before the code (an integer ``hidden``, as in conv-ae's Dense 16) is
    widened to 4k when narrower, or it, not the code, would be the bottleneck (at k = 32 conv-ae
    reaches PCA's error only with a 128-wide layer before the code).
    """
    from ..registry import get

    config_class = get(model_name).config_class
    defaults = config_class()
    fields = {f.name for f in dataclasses.fields(config_class)}
    if "latent_dim" in fields:
        out: dict = {"latent_dim": k}
        hidden = getattr(defaults, "hidden", None)
        if isinstance(hidden, int) and not isinstance(hidden, bool) and hidden < 4 * k:
            out["hidden"] = 4 * k
        return out
    if "sizes" in fields:
        sizes = tuple(defaults.sizes)
        return {"sizes": (*sizes[:-1], k)}
    return None


@torch.no_grad()
def model_mse(model, test_x: torch.Tensor) -> float:
    model.eval()
    recon = batched(model.reconstruct, test_x, 500, model.device).clamp(0, 1)
    return float(((recon - test_x) ** 2).mean())


def compress(data: ImageData, test: ImageData, codes: Sequence[int] = DEFAULT_CODES,
             models: Sequence[str] = DEFAULT_MODELS, epochs: int = DEFAULT_EPOCHS, batch_size: int = 128,
             seed: int = 0, progress: bool = False, on_row: Callable[[dict], None] | None = None) -> dict:
    """Held-out reconstruction MSE per pixel for every (model, code size).

    ``pca`` is scikit-learn's PCA fitted on ``data``; any other name is a registered model built with
    the code size (see :func:`code_size_override`), trained ``epochs`` on ``data`` and measured on
    ``test``. Models that cannot take a code size or cannot reconstruct are skipped with the reason.
    Returns ``{"rows": [{"model", "code", "mse", "seconds"}], "skipped": {model: why}, ...}``.
    """
    from ..runs import create

    codes = sorted({int(k) for k in codes})
    if not codes or codes[0] < 1:
        raise ConfigError(f"--codes must be positive integers, got {codes}")
    if epochs < 1:
        raise ConfigError(f"--epochs must be at least 1, got {epochs}")
    if tuple(data.shape) != tuple(test.shape):
        raise ConfigError(f"train images {data.shape} and test images {test.shape} differ in shape")
    models = list(dict.fromkeys(models))
    rows: list[dict] = []
    skipped: dict[str, str] = {}
    most = min(len(data), data.x[0].numel())
    if PCA in models and codes[-1] > most:
        raise ConfigError(f"PCA of {len(data)} images of {data.x[0].numel()} pixels has at most {most} components; "
                          f"drop code sizes above {most} from --codes or leave pca out of --models")
    for name in models:                                # decide every skip before any training starts
        if name == PCA:
            continue
        if code_size_override(name, codes[0]) is None:
            skipped[name] = "its config has no code-size key (latent_dim or sizes)"
            continue
        caps = create(name, data=data, **code_size_override(name, codes[0])).capabilities()
        if "reconstruct" not in caps:
            skipped[name] = f"it cannot reconstruct (it can: {', '.join(caps) or 'nothing'})"
    if PCA in models:
        started = time.perf_counter()
        pca = pca_mse_curve(data.x, test.x, codes, seed=seed)
        pca_seconds = round((time.perf_counter() - started) / len(codes), 2)
    for k in codes:
        for name in models:
            if name in skipped:
                continue
            started = time.perf_counter()
            if name == PCA:
                mse = pca[k]
            else:
                config = code_size_override(name, k)
                model = create(name, data=data, seed=seed, **config)
                fit(model, data, epochs, batch_size, seed, progress)
                mse = model_mse(model, test.x)
            seconds = pca_seconds if name == PCA else round(time.perf_counter() - started, 2)
            row = {"model": name, "code": k, "mse": mse, "seconds": seconds}
            if name != PCA:
                row["config"] = {key: list(v) if isinstance(v, tuple) else v for key, v in config.items()}
            rows.append(row)
            if on_row is not None:
                on_row(row)
    return {"data": data.name, "train_images": len(data), "test_images": len(test), "epochs": epochs,
            "codes": codes, "models": [m for m in models if m not in skipped], "rows": rows, "skipped": skipped}


def markdown_table(result: dict) -> str:
    """Rows: code sizes; columns: models; cells: held-out MSE per pixel (best in bold)."""
    models = result["models"]
    mse = {(r["model"], r["code"]): r["mse"] for r in result["rows"]}
    lines = [f"Held-out reconstruction MSE per pixel on {result['data']} ({result['test_images']} test images; "
             f"networks trained {result['epochs']} epochs on {result['train_images']} images)", "",
             "| code size | " + " | ".join(models) + " |", "|---:|" + "---:|" * len(models)]
    for k in result["codes"]:
        values = {m: mse.get((m, k)) for m in models}
        best = min((v for v in values.values() if v is not None), default=None)
        cells = ["–" if v is None else (f"**{v:.5f}**" if v == best else f"{v:.5f}") for v in values.values()]
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    for name, why in result["skipped"].items():
        lines.append(f"\n{name}: skipped, {why}.")
    return "\n".join(lines) + "\n"


def figure(result: dict):
    from ..viz.charts import error_vs_code_size

    series: dict[str, list] = {}
    for r in result["rows"]:
        series.setdefault(r["model"], []).append((r["code"], r["mse"]))
    return error_vs_code_size(series, title=f"Reconstruction error vs code size ({result['data']})")


__all__ = ["pca_mse_curve", "pca_mse", "code_size_override", "model_mse", "compress", "markdown_table", "figure",
           "DEFAULT_MODELS", "DEFAULT_CODES", "DEFAULT_EPOCHS"]
