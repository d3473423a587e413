"""pix2pix's two ablations (Isola et al. 2017) as one command each, with numbers beside the pictures.

``pix2pix_losses``: the same task trained with ℓ1 alone, the cGAN alone and ℓ1 + cGAN (λ = 100).
The paper's finding: "ℓ1 alone leads to reasonable but blurry results" (regression to the mean of the
plausible outputs), "cGAN alone gives much sharper results but introduces visual artefacts", and
their sum keeps the sharpness with fewer artefacts.

``patch_size``: the discriminator's receptive field, 1×1 (PixelGAN: colour statistics only), 16×16,
70×70 and 286×286 (an ImageGAN for 256-pixel images), with the generator and ℓ1 term unchanged.
On images smaller than the patch the discriminator sees the whole image (it is padded up to what
its layers can read), so on 28-pixel digits 34, 70 and 286 all judge whole images: pass a larger
``image_size`` to see the patch sizes apart.

Every variant trains on the same pairs with the same seed; the held-out figures are PSNR and SSIM
against the targets, sharpness (variance of the Laplacian; the targets' own for reference), and,
where the targets are labelled digits, the judge-FID of outputs against the held-out targets and
the share of outputs the judge reads as the input's class.
"""
from __future__ import annotations

import time
from pathlib import Path

import torch

from ..data import load_spec
from ..data.batches import batched
from ..data.tasks import picture, same_channels
from ..errors import ConfigError, GenlabError, RunFolderError
from ..io import atomic_write_bytes, write_json
from ..metrics.image import psnr, ssim
from ..metrics.paired import judged_agreement, sharpness
from ..png import labelled_rows, save_image

LOSS_VARIANTS = {"ℓ1 alone": {"gan_loss": "none"}, "cGAN alone": {"recon_weight": 0.0}, "ℓ1 + cGAN": {}}
PATCHES = (1, 16, 70, 286)


def pix2pix_losses(out: str | Path = "runs/pix2pix-losses", data: str = "mnist5k", task: str = "edges",
                   image_size: int | None = None, epochs: int | None = None, seed: int = 0, n_eval: int = 500,
                   limit: int | None = None, config: dict | None = None, overwrite: bool = False, log=print) -> dict:
    """Train pix2pix three times (ℓ1 alone, cGAN alone, ℓ1 + cGAN) and compare them on held-out pairs;
    writes ``out/pix2pix_losses.{json,md,png}`` and the three run folders. ``limit``: train on the
    first images only; ``config``: pix2pix config values every variant shares (e.g. ``width``)."""
    return _variants("pix2pix_losses", LOSS_VARIANTS, out, data, task, image_size, epochs, seed, n_eval, limit,
                     config, overwrite, log, "pix2pix: ℓ1 alone vs cGAN alone vs ℓ1 + cGAN (Isola et al. 2017, λ = 100)")


def patch_size(out: str | Path = "runs/patch-size", data: str = "mnist5k", task: str = "edges",
               image_size: int | None = None, epochs: int | None = None, patches: tuple[int, ...] = PATCHES,
               seed: int = 0, n_eval: int = 500, limit: int | None = None, config: dict | None = None,
               overwrite: bool = False, log=print) -> dict:
    """Train pix2pix once per discriminator patch size and compare them; ``out/patch_size.{json,md,png}``."""
    from ..nn.unet import layers_for_patch

    for p in patches:
        layers_for_patch(p)        # an unknown size is refused before anything trains
    variants = {f"{p}×{p}" + (" (PixelGAN)" if p == 1 else ""): {"patch": p} for p in patches}
    return _variants("patch_size", variants, out, data, task, image_size, epochs, seed, n_eval, limit, config,
                     overwrite, log, "pix2pix: the PatchGAN's receptive field (Isola et al. 2017)")


def _variants(name, variants: dict, out, data, task, image_size, epochs, seed, n_eval, limit, shared, overwrite,
              log, title: str) -> dict:
    from ..runs import create
    from ..train import train

    out = Path(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise RunFolderError(f"{out} is not empty; pass --overwrite (overwrite=True) to replace this experiment's runs "
                             "or choose another --out")
    if epochs is not None and epochs < 1:
        raise ConfigError(f"--epochs must be at least 1, got {epochs}")
    info = {"spec": data, "image_size": image_size, "channels": None, "task": task}
    train_pairs, test = load_spec(info, "train"), load_spec(info, "test")
    if limit is not None:
        train_pairs = train_pairs.spread(limit)      # evenly spread: class-sorted data keeps every class
    scored = test.spread(n_eval)
    judge = _judge(data, scored, task)
    shown = test.spread(8)
    rows, pictures = [], []
    for label, config in variants.items():
        log(f"{name}: training {label}")
        model = create("pix2pix", data=train_pairs, seed=seed, **{**(shared or {}), **config})
        t0 = time.perf_counter()
        result = train(model, train_pairs, epochs=epochs, out=out / _folder(label), overwrite=True, val_data=test,
                       data_info=info, seed=seed, progress=False)
        model.eval()
        outputs = _translate(model, scored.x, seed)
        row = {"variant": label, "config": config, "epochs": result.epochs,
               "seconds": round(time.perf_counter() - t0, 1), **_scores(model, scored, outputs, judge)}
        rows.append(row)
        log(f"{name}: {label}: " + ", ".join(f"{k} {v:.4g}" for k, v in row.items() if isinstance(v, float)))
        pictures.append((label, picture(model.task, shown.x, _translate(model, shown.x, seed))))
    task_obj = model.task
    truth = {"variant": "targets", "sharpness": sharpness(picture(task_obj, scored.x, scored.target))}
    result = {"experiment": name, "title": title, "data": data, "task": task, "image_size": image_size,
              "train_pairs": len(train_pairs), "held_out_pairs": len(scored), "seed": seed, "config": shared or {},
              "rows": rows, "targets": truth,
              "judge": judge is not None}
    write_json(out / f"{name}.json", result)
    atomic_write_bytes(out / f"{name}.md", markdown(result).encode())
    grid = [("input", picture(task_obj, shown.x))] + pictures + [("target", picture(task_obj, shown.x, shown.target))]
    images = same_channels(*(g for _, g in grid))
    save_image(labelled_rows([g.clamp(0, 1) for g in images], [label for label, _ in grid]), out / f"{name}.png")
    return result


def _folder(label: str) -> str:
    """A run folder's name for a variant: "ℓ1 + cGAN" → "l1-cgan", "1×1 (PixelGAN)" → "1x1-pixelgan"."""
    import re

    text = label.replace("ℓ1", "l1").replace("×", "x").lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def _translate(model, x: torch.Tensor, seed: int) -> torch.Tensor:
    torch.manual_seed(seed)        # pix2pix's dropout stays on at test time
    with torch.no_grad():
        return batched(model.translate, x, device=model.device)


def _judge(spec: str, test, task: str):
    """The judge of the targets' data (labelled images the targets are copies of), or None: a colorization's
    targets are ab maps and a segmentation's masks, which no judge of the data reads."""
    from ..data.tasks import parse_task
    from ..metrics.judge import get_judge

    if test.y is None or test.target is None or parse_task(task).name in ("colorize", "segment"):
        return None
    try:
        return get_judge(spec, tuple(test.target.shape[1:]))[0]
    except GenlabError:
        return None


def _scores(model, pairs, outputs: torch.Tensor, judge) -> dict:
    from ..metrics.sample import fid

    task = model.task
    shown, truth = picture(task, pairs.x, outputs), picture(task, pairs.x, pairs.target)
    row = {"psnr": psnr(shown, truth), "ssim": ssim(shown, truth), "sharpness": sharpness(shown)}
    if judge is not None:
        feats, probs = judge.embed(outputs)
        row["judge_fid"] = fid(judge.features_of(pairs.target), feats)
        row["judged_as_source"] = judged_agreement(probs, pairs.y)
    return row


def markdown(result: dict) -> str:
    cols = [("psnr", "PSNR dB ↑"), ("ssim", "SSIM ↑"), ("sharpness", "sharpness"),
            ("judge_fid", "judge-FID ↓"), ("judged_as_source", "judged as source ↑")]
    cols = [(k, t) for k, t in cols if any(k in r for r in result["rows"])]
    lines = [f"# {result['title']}", "",
             f"{result['data']}, --task {result['task']}"
             + (f", {result['image_size']} px" if result.get("image_size") else "")
             + f"; {result['held_out_pairs']} held-out pairs; seed {result['seed']}. Sharpness is the variance of "
             f"the Laplacian (the targets': {result['targets']['sharpness']:.4g}).", "",
             "| variant | epochs | seconds | " + " | ".join(t for _, t in cols) + " |",
             "|---|---|---|" + "---|" * len(cols)]
    for r in result["rows"]:
        cells = [r["variant"], str(r["epochs"]), f"{r['seconds']:.0f}"]
        cells += [_cell(r.get(k), k) for k, _ in cols]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _cell(value, key: str) -> str:
    if value is None:
        return "–"
    if key == "judged_as_source":
        return f"{100 * value:.1f}%"
    return f"{value:.4g}" if key == "sharpness" else f"{value:.3f}" if key == "ssim" else f"{value:.2f}"


__all__ = ["pix2pix_losses", "patch_size", "LOSS_VARIANTS", "PATCHES", "markdown"]
