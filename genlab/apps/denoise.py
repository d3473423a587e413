"""Denoising: corrupt clean images, let the model map them back, measure both.

Any model that maps an image to an image serves: a ``dae``'s ``denoise``, else ``reconstruct``.
PSNR = 10·log10(1 / MSE) per image, averaged; SSIM with an 11×11 Gaussian window.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from ..data import ImageData
from ..data.corrupt import Noise, corrupt, parse_noise
from ..io import write_json
from .common import batched, read_image


def denoiser(model):
    """The model's ``reconstruct`` (a dae's maps a noisy image to its clean estimate); a
    CapabilityError for models that cannot reconstruct."""
    return model.require("reconstruct", "denoising maps a noisy image to a clean one: use a dae or any autoencoder")


@torch.no_grad()
def denoise(model, x: Tensor, batch_size: int = 500) -> Tensor:
    """The model's clean estimate of each image of ``x`` (N×C×H×W), in [0, 1], on the CPU."""
    fn = denoiser(model)
    model.eval()
    return batched(fn, x, batch_size, model.device).clamp(0, 1)


def quality(images: Tensor, clean: Tensor) -> dict:
    """MSE per pixel, PSNR (dB) and SSIM of ``images`` against ``clean``."""
    from ..metrics import image as im

    return {"mse": im.mse(images, clean), "psnr": im.psnr(images, clean), "ssim": im.ssim(images, clean)}


@dataclass
class Denoised:
    noisy: Tensor
    denoised: Tensor
    clean: Tensor | None
    figures: dict


@torch.no_grad()
def denoise_images(model, clean: Tensor, noise: "str | Noise", seed: int = 0) -> Denoised:
    """Corrupt ``clean`` with ``noise`` (seeded), denoise, and measure before and after."""
    noise = parse_noise(noise)
    model.check_input(clean[:1])
    noisy = corrupt(clean, noise, torch.Generator().manual_seed(seed))
    out = denoise(model, noisy)
    before, after = quality(noisy, clean), quality(out, clean)
    figures = {"noise": str(noise), "n": len(clean), "seed": seed, "noisy": before, "denoised": after,
               "psnr_gain_db": after["psnr"] - before["psnr"], "ssim_gain": after["ssim"] - before["ssim"]}
    return Denoised(noisy, out, clean, figures)


def denoise_data(model, data: ImageData, noise: "str | Noise", out: str | Path, n_show: int = 64,
                 n_eval: int = 1000, seed: int = 0) -> dict:
    """Denoise up to ``n_eval`` images of ``data`` (evenly spread over it) and write to ``out``:
    noisy.png, denoised.png, clean.png (the first ``n_show``), comparison.png (noisy / denoised /
    clean rows) and denoise.json (MSE, PSNR, SSIM of the noisy and the denoised images)."""
    from ..viz.grids import labelled_rows, save_grid, save_image

    out = Path(out)
    picked = data.spread(max(n_eval, n_show))
    result = denoise_images(model, picked.x, noise, seed)
    spread = lambda k: torch.linspace(0, len(picked) - 1, min(k, len(picked))).long()  # noqa: E731  (every class shows)
    show = spread(n_show)
    for name, images in (("noisy", result.noisy), ("denoised", result.denoised), ("clean", result.clean)):
        save_grid(images[show], out / f"{name}.png")
    row = spread(12)
    save_image(labelled_rows([result.noisy[row], result.denoised[row], result.clean[row]],
                             ["noisy", "denoised", "clean"]), out / "comparison.png")
    figures = {"model": model.registry_name, "data": data.name, **result.figures}
    write_json(out / "denoise.json", figures)
    return figures


def denoise_file(model, path: str | Path, out: str | Path, noise: "str | Noise | None" = None,
                 seed: int = 0) -> dict:
    """Denoise one image file (converted to the model's channels and size).

    Without ``noise`` the file is taken as the noisy input: there is no clean reference, so the
    figures say how much the model changed it. With ``noise`` the file is taken as clean, corrupted,
    and measured like :func:`denoise_data`. Writes STEM-pair.png (input | denoised, plus clean),
    STEM-denoised.png and STEM-denoise.json.
    """
    from ..viz.grids import labelled_rows, save_grid, save_image

    out, path = Path(out), Path(path)
    x = read_image(path, model.image_shape)
    stem = path.stem
    if noise is None:
        result = Denoised(x, denoise(model, x), None, {})
        change = quality(result.denoised, x)
        figures = {"input_is": "noisy", "change_mse": change["mse"], "psnr_denoised_vs_input": change["psnr"],
                   "ssim_denoised_vs_input": change["ssim"],
                   "pixels_changed_by_over_0.1": float(((result.denoised - x).abs() > 0.1).float().mean())}
        rows, labels = [result.noisy, result.denoised], ["input", "denoised"]
    else:
        result = denoise_images(model, x, noise, seed)
        figures = {"input_is": "clean", **result.figures}
        rows, labels = [result.noisy, result.denoised, result.clean], ["noisy", "denoised", "clean"]
    figures = {"model": model.registry_name, "image": str(path), "size": list(model.image_shape), **figures}
    save_image(labelled_rows(rows, labels), out / f"{stem}-pair.png")
    save_grid(result.denoised, out / f"{stem}-denoised.png")
    write_json(out / f"{stem}-denoise.json", figures)
    return figures


__all__ = ["denoiser", "denoise", "quality", "Denoised", "denoise_images", "denoise_data", "denoise_file"]
