"""GAN inversion (Zhu et al. 2016): find the latent code z whose image G(z) matches a given picture.

Three methods:

    optimize  z* = argmin_z  ‖G(z) − x‖²/P + λ‖z‖²/d  by Adam (cosine-decayed rate), R random
              restarts from the prior run as one batch; per target the code with the lowest pixel
              MSE seen at any step is kept
    encoder   z = E(x): a small conv net trained once on generated pairs (z, G(z)) with
              ‖E(G(z)) − z‖²/d + w·‖G(E(G(z))) − G(z)‖²/P, cached in RUN/inversion-encoder/
              (safetensors + JSON) and reused while the generator's weights are unchanged
    hybrid    optimize starting from E(x) (Zhu et al. 2016): the encoder lands in the right basin,
              the optimisation fits the details the encoder misses on real images

P is the number of pixels, d the latent size. Images are in [0, 1]; ``G`` is the model's
``decode`` (the EMA generator when enabled), run in eval mode with its weights frozen.
"""
from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..data.batches import batched
from ..errors import CapabilityError, CheckpointError, ConfigError
from ..io import load_tensors, read_json, save_tensors, write_json
from ..models.gan import GAN
from ..nn import ConvEncoder
from .common import frozen, seeded

METHODS = ("optimize", "encoder", "hybrid")
ENCODER_FOLDER = "inversion-encoder"


# ------------------------------------------------------------------------------ the generator

def has_prior_noise(model) -> bool:
    """Whether the model draws its generator's whole input from its own prior, ``noise(n, y)`` (a
    GAN: z, and InfoGAN's codes beside it); any other generator's code is z ~ N(0, I) alone."""
    return isinstance(model, GAN)


def _by_class(model) -> bool:
    space = model.label_space
    return space is not None and space.kind == "classes"


def check_generator(model) -> int:
    """The code size of an encoder-less generator; a one-line error for anything else."""
    name = model.registry_name
    if model.can("encode"):
        raise CapabilityError(f"model {name!r} has an encoder, so its code of an image is encode(x): inversion is "
                              "for generators without one (GANs); use `genlab reconstruct RUN` instead")
    model.require("decode", "inversion searches the code that the generator decodes into the image")
    size = getattr(model.config, "latent_dim", None)
    if not size:
        raise CapabilityError(f"model {name!r} has no latent_dim in its config, so there is no code to search")
    if has_prior_noise(model):                       # the generator's whole input (InfoGAN adds its codes to z)
        with seeded(model, None):
            return int(model.noise(1)[0].shape[1])
    return int(size)


def generator_labels(model, y, n: int) -> Tensor | None:
    """The labels the generator decodes ``n`` codes with: required by a generator conditioned on
    classes (cgan, acgan), refused by any other (infogan's categorical code is part of the code
    that inversion searches)."""
    if _by_class(model):
        return model.require_labels(y, n)
    space = model.label_space
    if space is not None and y is not None:
        raise ConfigError(f"--label is for generators conditioned on a class (cgan, acgan); model "
                          f"{model.registry_name!r} is unconditional: its {space.meaning} is part of the code that "
                          "inversion searches, so drop --label")
    return model.labels(y, n)


def prior(model, n: int, d: int, y=None) -> tuple[Tensor, Tensor | None]:
    """``n`` codes from the generator's own prior (its ``noise``, else N(0, I)) on the CPU, and the
    labels they are drawn with for a generator conditioned on classes (``y``, else drawn
    uniformly). Uses the global RNG: callers seed it."""
    if not has_prior_noise(model):
        return torch.randn(n, d), (None if y is None else model.require_labels(y, n).cpu())
    z, y = model.noise(n) if y is None else model.noise(n, y)
    return z.cpu(), (y.cpu() if _by_class(model) and y is not None else None)


def _generate(model, z: Tensor, y: Tensor | None) -> Tensor:
    return model.decode(z) if y is None else model.decode(z, y)


def pixel_mse(images: Tensor, target: Tensor) -> Tensor:
    """Mean squared error per image."""
    return (images - target).pow(2).flatten(1).mean(1)


# ---------------------------------------------------------------------------- optimisation

def optimize_codes(model, x: Tensor, starts: Tensor, y: Tensor | None = None, steps: int = 300, lr: float = 0.1,
                   prior_weight: float = 1e-3) -> tuple[Tensor, Tensor]:
    """Adam on z from ``starts`` (R×N×d: R starts for each of the N targets ``x``), all R·N codes in
    one batch; returns the best code of each target (N×d) and its pixel MSE (N), both on the CPU.

    The best is chosen by pixel MSE over every step, the starts included, so the result is never
    worse than where it began (the hybrid's guarantee over the encoder alone)."""
    if steps < 0:
        raise ConfigError(f"--steps must be at least 0, got {steps}")
    r, n, d = starts.shape
    dev = model.device
    target = x.to(dev).repeat(r, 1, 1, 1)
    yy = y.to(dev).repeat(r) if y is not None else None
    z = starts.reshape(r * n, d).to(dev).clone().requires_grad_(True)
    opt = torch.optim.Adam([z], lr=lr)
    # decaying the rate lets the codes settle in their minimum instead of circling it
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(steps, 1), eta_min=lr * 0.02)
    best_mse = torch.full((n,), math.inf, device=dev)
    best_z = starts[0].to(dev).clone()
    cols = torch.arange(n, device=dev)
    with frozen(model), torch.enable_grad():
        for step in range(steps + 1):
            mse = pixel_mse(_generate(model, z, yy), target)
            with torch.no_grad():
                value, which = mse.view(r, n).min(0)
                better = value < best_mse
                best_mse = torch.where(better, value, best_mse)
                best_z[better] = z.view(r, n, d)[which, cols][better]
            if step == steps:
                break
            loss = (mse + prior_weight * z.pow(2).mean(1)).sum()   # sum: each target's gradient is its own
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    return best_z.detach().cpu(), best_mse.detach().cpu()


# ------------------------------------------------------------------------------- the encoder

class LatentEncoder(nn.Module):
    """E(x) → z: the stride-2 conv encoder of genlab.nn (LeakyReLU) and a linear head onto the latent."""

    def __init__(self, image_shape, latent_dim: int, channels=(32, 64, 128), hidden: int = 256):
        super().__init__()
        self.arch = {"image_shape": list(image_shape), "latent_dim": int(latent_dim), "channels": list(channels),
                     "hidden": int(hidden)}
        self.body = ConvEncoder(image_shape, channels, hidden, act="leaky_relu")
        self.head = nn.Linear(hidden, latent_dim)   # linear: z ~ N(0, I) is unbounded

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x))


def generator_fingerprint(model) -> str:
    """SHA-256 of the sampling generator's weights: a cached encoder belongs to exactly these."""
    h = hashlib.sha256()
    for key, value in sorted(model.state_dict().items()):
        if "discriminator" in key:       # D changes nothing the encoder learnt
            continue
        h.update(key.encode())
        h.update(value.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def train_encoder(model, steps: int = 1500, batch_size: int = 128, lr: float = 1e-3, image_weight: float = 1.0,
                  seed: int = 0, progress: bool = False) -> tuple[LatentEncoder, dict]:
    """Train E on fresh generated pairs each step (z from the prior, labels uniform for conditional models):
    ‖E(G(z)) − z‖²/d + image_weight·‖G(E(G(z))) − G(z)‖²/P (the image term pulls E towards codes
    that look right where several codes look alike)."""
    d = check_generator(model)
    if steps < 1:
        raise ConfigError(f"--encoder-steps must be at least 1, got {steps}")
    dev = model.device
    started = time.perf_counter()
    z_loss = im_loss = torch.zeros(())
    with seeded(model, seed), frozen(model), torch.enable_grad():
        encoder = LatentEncoder(model.image_shape, d).to(dev)
        opt = torch.optim.Adam(encoder.parameters(), lr=lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps, eta_min=lr * 0.05)
        for step in range(steps):
            z, y = prior(model, batch_size, d)
            z, y = z.to(dev), (y.to(dev) if y is not None else None)
            with torch.no_grad():
                x = _generate(model, z, y)
            z_hat = encoder(x)
            z_loss = F.mse_loss(z_hat, z)
            loss = z_loss
            if image_weight:
                im_loss = F.mse_loss(_generate(model, z_hat, y), x)
                loss = loss + image_weight * im_loss
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            if progress and (step + 1) % max(1, steps // 10) == 0:
                print(f"encoder step {step + 1}/{steps}: z loss {z_loss.item():.4f}, image loss {im_loss.item():.5f}",
                      flush=True)
    info = {"arch": encoder.arch, "train": {"steps": steps, "batch_size": batch_size, "lr": lr,
                                            "image_weight": image_weight, "seed": seed},
            "final_z_loss": float(z_loss.detach()), "final_image_loss": float(im_loss.detach()),
            "seconds": round(time.perf_counter() - started, 1)}
    return encoder.eval(), info


def get_encoder(model, folder: str | Path | None = None, steps: int = 1500, seed: int = 0,
                progress: bool = False, **train_kwargs) -> tuple[LatentEncoder, dict]:
    """The encoder cached in ``folder`` (RUN/inversion-encoder) when it was trained for this
    generator's weights with these settings, else a freshly trained one, stored there."""
    fingerprint = generator_fingerprint(model)
    wanted = {"steps": steps, "seed": seed, **train_kwargs}
    if folder is not None:
        folder = Path(folder)
        cached = _load_encoder(folder, fingerprint, wanted)
        if cached is not None:
            return cached
    encoder, info = train_encoder(model, steps=steps, seed=seed, progress=progress, **train_kwargs)
    info["generator_sha256"] = fingerprint
    if folder is not None:
        save_tensors(encoder.state_dict(), folder / "encoder.safetensors")
        write_json(folder / "encoder.json", info)
    return encoder, {**info, "cached": False}


def _load_encoder(folder: Path, fingerprint: str, wanted: dict):
    if not (folder / "encoder.json").is_file():
        return None
    try:
        info = read_json(folder / "encoder.json")
    except CheckpointError:
        return None                       # genlab's own cache file: a broken one is simply retrained
    train = info.get("train", {}) if isinstance(info, dict) else {}
    if info.get("generator_sha256") != fingerprint or any(train.get(k) != v for k, v in wanted.items()):
        return None
    try:
        arch = info["arch"]
        encoder = LatentEncoder(tuple(arch["image_shape"]), arch["latent_dim"], tuple(arch["channels"]), arch["hidden"])
        encoder.load_state_dict(load_tensors(folder / "encoder.safetensors"))
    except (CheckpointError, KeyError, TypeError, RuntimeError):
        return None
    return encoder.eval(), {**info, "cached": True}


def encode_with(encoder: LatentEncoder, x: Tensor, batch_size: int = 500) -> Tensor:
    return batched(encoder, x, batch_size, next(encoder.parameters()).device)


# ------------------------------------------------------------------------------- inversion

@dataclass
class Inversion:
    method: str
    z: Tensor              # N×d codes
    images: Tensor         # G(z), N×C×H×W in [0, 1]
    mse: Tensor            # per image
    seconds: float


@torch.no_grad()
def regenerate(model, z: Tensor, y: Tensor | None, batch_size: int = 500) -> Tensor:
    with frozen(model):
        return torch.cat([_generate(model, z[i:i + batch_size].to(model.device),
                                    None if y is None else y[i:i + batch_size].to(model.device)).cpu()
                          for i in range(0, len(z), batch_size)])


def invert(model, x: Tensor, y=None, method: str = "optimize", steps: int = 300, restarts: int = 8,
           lr: float = 0.1, prior_weight: float = 1e-3, encoder: LatentEncoder | None = None, seed: int = 0,
           batch_size: int = 1024) -> Inversion:
    """Codes of the images ``x`` (N×C×H×W in [0, 1]) by ``method`` (see the module doc). The
    ``encoder`` and ``hybrid`` methods need ``encoder`` (from :func:`get_encoder`)."""
    d = check_generator(model)
    if method not in METHODS:
        raise ConfigError(f"unknown inversion method {method!r}; choose one of {', '.join(METHODS)} or all")
    if restarts < 1:
        raise ConfigError(f"--restarts must be at least 1, got {restarts}")
    model.check_input(x[:1])
    y = generator_labels(model, y, len(x))
    if method != "optimize" and encoder is None:
        raise ConfigError(f"method {method!r} needs a trained encoder (get_encoder)")
    started = time.perf_counter()
    if method == "encoder":
        z = encode_with(encoder, x)
        images = regenerate(model, z, y)
        return Inversion(method, z, images, pixel_mse(images, x), time.perf_counter() - started)
    r = restarts if method == "optimize" else 1     # the hybrid's one start is the encoder's code
    if method == "hybrid":
        z0 = encode_with(encoder, x).unsqueeze(0)
    else:
        with seeded(model, seed):
            z0 = prior(model, r * len(x), d)[0].view(r, len(x), d)
    chunk = max(1, batch_size // r)                  # targets per batch of r·chunk codes
    codes = []
    for i in range(0, len(x), chunk):
        codes.append(optimize_codes(model, x[i:i + chunk], z0[:, i:i + chunk], None if y is None else y[i:i + chunk],
                                    steps, lr, prior_weight)[0])
    z = torch.cat(codes)
    images = regenerate(model, z, y)
    return Inversion(method, z, images, pixel_mse(images, x), time.perf_counter() - started)


def parse_methods(text: str) -> list[str]:
    names = list(METHODS) if text == "all" else [m.strip() for m in text.split(",") if m.strip()]
    bad = [m for m in names if m not in METHODS]
    if bad or not names:
        raise ConfigError(f"unknown inversion method {', '.join(bad) or text!r}; choose "
                          f"{', '.join(METHODS)} or all")
    return names


def invert_images(model, x: Tensor, y=None, methods=("optimize",), out: str | Path | None = None,
                  encoder_folder: str | Path | None = None, steps: int = 300, restarts: int = 8,
                  encoder_steps: int = 1500, seed: int = 0, progress: bool = False, source: str = "",
                  n_show: int = 16) -> tuple[dict, dict[str, Inversion]]:
    """Invert ``x`` by each method; with ``out`` write invert.png (targets, then per method the
    inversions and the |error| maps), invert.json (per-method MSE, PSNR, seconds) and
    codes.safetensors (the codes found). Returns (figures, inversions)."""
    from ..metrics.image import psnr

    check_generator(model)
    y = generator_labels(model, y, len(x))
    encoder, enc_info = None, None
    if any(m != "optimize" for m in methods):
        encoder, enc_info = get_encoder(model, encoder_folder, steps=encoder_steps, seed=seed, progress=progress)
    results = {m: invert(model, x, y, m, steps=steps, restarts=restarts, encoder=encoder, seed=seed) for m in methods}
    figures = {"model": model.registry_name, "source": source, "n": len(x),
               "labels": None if y is None else y.tolist(), "steps": steps, "restarts": restarts,
               "methods": {m: {"mse": float(r.mse.mean()), "psnr": psnr(r.images, x), "seconds": round(r.seconds, 2),
                               "mse_per_image": [round(float(v), 6) for v in r.mse[:100]]}
                           for m, r in results.items()}}
    figures["methods"].get("optimize", {}).update(steps=steps, restarts=restarts)
    figures["methods"].get("hybrid", {}).update(steps=steps, restarts=1)
    if enc_info is not None:
        figures["encoder"] = {"cached": enc_info["cached"], "train_seconds": enc_info["seconds"],
                              "train_steps": enc_info["train"]["steps"], "folder": str(encoder_folder or "")}
    if out is not None:
        _write(Path(out), x, results, figures, n_show)
    return figures, results


def _write(out: Path, x: Tensor, results: dict[str, Inversion], figures: dict, n_show: int) -> None:
    from ..viz.grids import labelled_rows, save_image

    show = slice(0, min(n_show, len(x)))
    rows, labels = [x[show]], ["target"]
    for m, r in results.items():
        error = (r.images[show] - x[show]).abs().mean(1, keepdim=True)   # gray |error| map, also for RGB
        rows += [r.images[show], error]
        labels += [m, f"|error| {m}"]
    save_image(labelled_rows(rows, labels), out / "invert.png")
    save_tensors({f"z_{m}": r.z.contiguous() for m, r in results.items()}, out / "codes.safetensors")
    write_json(out / "invert.json", figures)


__all__ = ["METHODS", "has_prior_noise", "check_generator", "generator_labels", "prior", "optimize_codes",
           "LatentEncoder", "train_encoder", "get_encoder", "invert", "invert_images", "parse_methods", "Inversion"]
