"""Report sections of the autoencoder family: code activity (sparse-ae, ae), deep autoencoder
against PCA (stacked-ae, deep-ae; Hinton & Salakhutdinov 2006) and noisy / denoised / clean rows (dae)."""
from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from ... import runs
from ...data import ImageData, load_spec
from ...data.batches import batched
from ...errors import GenlabError
from ...metrics.image import psnr
from ...models.autoencoders import active_units, firing
from ...viz import plots
from ...viz.grids import labelled_rows
from . import per_class, section


def training_images(run_dir: Path, held_out: ImageData, limit: int = 4000) -> tuple[ImageData, str]:
    """The run's training split (at most ``limit`` images) and how to name it; the held-out
    images themselves when the training data cannot be loaded."""
    try:
        spec = runs.read_config(run_dir)["data"]
        data = load_spec(spec, "train")
        return data.spread(limit), f"the run's training data ({min(limit, len(data))} images)"
    except (GenlabError, KeyError, TypeError):
        n = min(limit, len(held_out))
        return held_out.spread(limit), f"the held-out images themselves ({n}; training data unavailable)"


def _per_pixel_mse(a: Tensor, b: Tensor) -> float:
    return float((a - b).pow(2).mean())


# --------------------------------------------------------------------------- sparse-ae, ae

def _code_is_sigmoid(model) -> bool:
    cfg = model.config
    if model.registry_name == "sparse-ae":
        return cfg.sparsity == "kl"
    return getattr(cfg, "code_activation", "") == "sigmoid"


def plain_twin(model, data: ImageData, epochs: int = 5, max_seconds: float = 8.0):
    """The same sparse-ae with its sparsity switched off, trained briefly: the reference for
    how many units a code of that shape fires when nothing asks it to be sparse."""
    from ...train import train

    cfg = model.config
    off = {"l1": {"l1_weight": 0.0}, "kl": {"kl_weight": 0.0},
           "ksparse": {"k": cfg.latent_dim, "k_warmup_epochs": 0}}[cfg.sparsity]
    twin = type(model)(cfg.replace(**off)).to(model.device)
    train(twin, data, epochs=epochs, batch_size=64, progress=False, max_seconds=max_seconds,
          accelerator=model.device.type)
    return twin.eval()


@section("Code activity", needs=("encode", "reconstruct", "data"), models=("sparse-ae", "ae"))
def code_activity(report, model, data, run_dir) -> None:
    """The sparse autoencoder's figure: how many code units fire per image, with and without the
    sparsity term."""
    x = data.spread(500).x
    sigmoid = _code_is_sigmoid(model)
    rule = "its sigmoid output exceeds ½" if sigmoid else "its activation is not exactly 0"
    codes = {model.registry_name: batched(model.encode, x, device=model.device)}
    recon = {model.registry_name: batched(model.reconstruct, x, device=model.device)}
    note = ""
    if model.registry_name == "sparse-ae":
        train_data, where = training_images(run_dir, data, limit=2000)
        with torch.enable_grad():
            twin = plain_twin(model, train_data)
        codes["plain twin"] = batched(twin.encode, x, device=model.device)
        recon["plain twin"] = batched(twin.reconstruct, x, device=model.device)
        note = (f" The plain twin is the same network with the {model.config.sparsity} sparsity switched off, "
                f"trained for a few seconds on {where}: the count a code of this shape reaches when nothing "
                "asks it to be sparse.")
    counts = {name: active_units(a, sigmoid) for name, a in codes.items()}
    size = next(iter(codes.values())).shape[1]
    report.section("Code activity",
                   f"A code unit fires on an image when {rule}. Counted over {len(x)} held-out images, "
                   f"out of {size} units." + note)
    report.table([{"model": name, "units firing per image (mean)": float(c.mean()), "median": float(c.median()),
                   "most": int(c.max()), "units that never fire": int((~firing(codes[name], sigmoid).any(0)).sum()),
                   "held-out MSE per pixel": _per_pixel_mse(recon[name], x)} for name, c in counts.items()])
    report.image(plots.histogram(counts, bins=min(size, 50), title="Units firing per image",
                                 xlabel="active code units"))
    report.image(plots.histogram(codes, bins=60, log=True,
                                 title="Code activations (all units, all images)", xlabel="activation"))
    # one row per image, one column per unit, as in the usual activation figure (white: strong)
    maps = [a[:100].abs() / a[:100].abs().max().clamp_min(1e-12) for a in codes.values()]
    report.image(labelled_rows([m[None, None] for m in maps], list(codes), scale=2),
                 caption="Activation maps: 100 held-out images (rows) by code units (columns); white is the "
                         "strongest activation of each map.")


# --------------------------------------------------------------------------- stacked-ae, deep-ae

@section("Deep autoencoder against PCA", needs=("encode", "reconstruct", "data"), models=("stacked-ae", "deep-ae"))
@torch.no_grad()
def against_pca(report, model, data, run_dir) -> None:
    """Hinton & Salakhutdinov (2006): the deep autoencoder's reconstructions beside PCA's with the
    same code size."""
    x = data.x[:1000]
    code = int(model.encode(x[:1].to(model.device)).shape[1])
    train_data, where = training_images(run_dir, data)
    pca = runs.create("pca", image_shape=tuple(x.shape[1:]), latent_dim=code).fit(train_data.x)

    def linear(images: Tensor) -> Tensor:      # pixels live in [0, 1], as the sigmoid outputs do
        return pca.reconstruct(images).clamp(0, 1)

    mse_ours = _per_pixel_mse(batched(model.reconstruct, x, device=model.device), x)
    mse_pca = _per_pixel_mse(batched(linear, x), x)
    show = per_class(data, 12).x                      # one digit of each class in turn
    report.section("Deep autoencoder against PCA",
                   f"Hinton & Salakhutdinov (2006): held-out digits, their reconstructions from this "
                   f"model's {code}-number code, and from PCA with {code} components fitted on {where} "
                   f"(clipped to [0, 1]). Mean squared error per pixel over {len(x)} held-out images: "
                   f"{mse_ours:.5f} ({model.registry_name}) against {mse_pca:.5f} (PCA).")
    report.image(labelled_rows([show, batched(model.reconstruct, show, device=model.device), linear(show)],
                               ["original", model.registry_name, f"PCA {code}"]))
    report.table([{"model": model.registry_name, "code size": code, "held-out MSE per pixel": mse_ours},
                  {"model": "PCA", "code size": code, "held-out MSE per pixel": mse_pca}])


# --------------------------------------------------------------------------- dae

@section("Denoising", needs=("data",), models=("dae",))
@torch.no_grad()
def denoising(report, model, data, run_dir) -> None:
    x = data.x[:1000]
    noisy = model.corrupt(x, torch.Generator().manual_seed(0))
    clean = batched(model.denoise, noisy, device=model.device)
    before, after = psnr(noisy, x), psnr(clean, x)
    show = torch.linspace(0, len(x) - 1, min(12, len(x))).long()
    report.section("Denoising",
                   f"Held-out images corrupted with the training noise {model.noise} (seeded), the model's "
                   f"denoise() of them, and the clean originals. PSNR over {len(x)} held-out images: "
                   f"{before:.2f} dB noisy, {after:.2f} dB denoised ({after - before:+.2f} dB).")
    report.image(labelled_rows([noisy[show], clean[show], x[show]],
                               [f"noisy, {before:.1f} dB", f"denoised, {after:.1f} dB", "clean"]))
