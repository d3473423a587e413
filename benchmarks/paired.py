"""The image-to-image family's acceptance figures, on held-out data, one JSON line per experiment.

    python benchmarks/paired.py segment ct inpaint edges superres colorize [--threads 2] [--epochs E]

Each model trains with its defaults (the length `genlab train` picks) unless --epochs is given;
``seconds`` is the training time. Items:

    segment    shapes, --task segment: unet vs the same network with skip=false (pixel accuracy, mean IoU, Dice)
    ct         mnist5k, --task ct:8 and ct:16: residual unet vs filtered back-projection (PSNR, SSIM)
    inpaint    mnist5k, --task inpaint:center:14: unet and context-encoder vs mean-fill and a dae trained with
               mask noise (hole PSNR), and the share of completed digits the judge reads as their digit
    inpaint_ceiling   the judge's recipe trained on the holed digits: how recognisable they still are
    pix2pix_inpaint   pix2pix ℓ1 alone vs ℓ1 + cGAN on the same holes (judge-FID, sharpness)
    edges      mnist5k, --task edges: pix2pix vs ℓ1 alone (share judged as the source digit, judge-FID)
    superres   mnist5k ×2 (28 px) and ×4 (32 px): srresnet vs bicubic/nearest (PSNR, SSIM)
    colorize   photos, --task colorize: pix2pix vs the grey (ab = 0) baseline on the held-out photographs
"""
from __future__ import annotations

import argparse
import json
import platform
import time

import torch

from genlab.data import load_spec, make_pairs, phantom
from genlab.data.batches import batched
from genlab.data.tasks import lab_to_rgb
from genlab.metrics.image import psnr, ssim
from genlab.metrics.paired import masked_psnr, segmentation_scores, sharpness, upsample_baselines
from genlab.runs import create
from genlab.train import train


def _fit(name: str, info: dict, epochs: int | None, seed: int = 0, **config):
    data, val = load_spec(info, "train"), load_spec(info, "test")
    model = create(name, data=data, seed=seed, **config)
    t0 = time.perf_counter()
    result = train(model, data, epochs=epochs, val_data=val, progress=False, seed=seed)
    model.eval()
    return model, val, {"seconds": round(time.perf_counter() - t0, 1), "epochs": result.epochs}


def _outputs(model, x: torch.Tensor, seed: int = 0) -> torch.Tensor:
    torch.manual_seed(seed)
    with torch.no_grad():
        return batched(model.translate, x, device=model.device)


def _judge(spec: str, shape):
    from genlab.metrics.judge import get_judge

    return get_judge(spec, shape)[0]


def _judged(judge, out: torch.Tensor, real: torch.Tensor, y: torch.Tensor) -> dict:
    from genlab.metrics.sample import fid

    feats, probs = judge.embed(out)
    return {"judged_as_source": float((probs.argmax(1) == y).float().mean()),
            "judge_fid": fid(judge.features_of(real), feats)}


def segment(args) -> list[dict]:
    info = {"spec": "shapes", "task": "segment"}
    rows = []
    for skip in (True, False):
        model, val, t = _fit("unet", info, args.epochs, skip=skip)
        scores = segmentation_scores(_outputs(model, val.x), val.target, model.config.out_channels)
        scores.pop("iou_per_class", None), scores.pop("dice_per_class", None)
        rows.append({"item": "segment", "data": "shapes", "model": "unet" if skip else "unet skip=false", **t,
                     **{k: round(v, 4) for k, v in scores.items()}})
    return rows


def ct(args) -> list[dict]:
    rows = []
    for views in (8, 16):
        info = {"spec": "mnist5k", "task": f"ct:{views}"}
        model, val, t = _fit("unet", info, args.epochs, residual=True)
        out = _outputs(model, val.x)
        rows.append({"item": "ct", "data": "mnist5k", "task": info["task"], "model": "unet residual", **t,
                     "psnr": round(psnr(out, val.target), 2), "ssim": round(ssim(out, val.target), 4),
                     "fbp_psnr": round(psnr(val.x, val.target), 2), "fbp_ssim": round(ssim(val.x, val.target), 4)})
        # the digits' model on the Shepp–Logan phantom at the digits' size: does it generalise?
        ph = make_pairs(phantom(28), info["task"])
        out = _outputs(model, ph.x)
        rows.append({"item": "ct", "data": "Shepp-Logan phantom 28 px (model trained on digits)", "task": info["task"],
                     "model": "unet residual", "psnr": round(psnr(out, ph.target), 2),
                     "fbp_psnr": round(psnr(ph.x, ph.target), 2)})
    return rows


def inpaint(args) -> list[dict]:
    info = {"spec": "mnist5k", "task": "inpaint:center:14"}
    train_pairs = load_spec(info, "train")
    val = load_spec(info, "test")
    hole, image = val.mask, val.x[:, :-1]
    judge = _judge("mnist5k", (1, 28, 28))
    mean_fill = image + val.mask[:, None] * train_pairs.target.mean()
    rows = [{"item": "inpaint", "model": "mean-fill", "hole_psnr": round(masked_psnr(mean_fill, val.target, hole), 2),
             **{k: round(v, 4) for k, v in _judged(judge, mean_fill, val.target, val.y).items()}}]
    plain = load_spec({"spec": "mnist5k"}, "train")
    dae = create("dae", data=plain, seed=0, noise="mask:0.5")
    t0 = time.perf_counter()
    train(dae, plain, epochs=args.epochs, progress=False)
    with torch.no_grad():
        done = batched(dae.eval().reconstruct, image).clamp(0, 1)
    done = image * (1 - hole[:, None]) + done * hole[:, None]
    rows.append({"item": "inpaint", "model": "dae noise=mask:0.5", "seconds": round(time.perf_counter() - t0, 1),
                 "hole_psnr": round(masked_psnr(done, val.target, hole), 2),
                 **{k: round(v, 4) for k, v in _judged(judge, done, val.target, val.y).items()}})
    for name in ("unet", "context-encoder"):
        model, val, t = _fit(name, info, args.epochs)
        out = _outputs(model, val.x)
        rows.append({"item": "inpaint", "model": name, **t, "hole_psnr": round(masked_psnr(out, val.target, hole), 2),
                     **{k: round(v, 4) for k, v in _judged(judge, out, val.target, val.y).items()}})
    return rows


def inpaint_ceiling(args) -> list[dict]:
    """How recognisable a digit is from what the hole leaves: the judge's recipe trained on the holed
    digits themselves. No completion read by a judge can be expected to beat it."""
    from genlab.data import ImageData
    from genlab.metrics.judge import train_classifier

    info = {"spec": "mnist5k", "task": "inpaint:center:14"}
    train_pairs, val = load_spec(info, "train"), load_spec(info, "test")
    t0 = time.perf_counter()
    clf = train_classifier(ImageData(train_pairs.x[:, :-1], train_pairs.y), epochs=10)
    acc = float((clf.probs_of(val.x[:, :-1]).argmax(1) == val.y).float().mean())
    return [{"item": "inpaint_ceiling", "model": "judge recipe trained on holed digits",
             "seconds": round(time.perf_counter() - t0, 1), "held_out_accuracy": round(acc, 4)}]


def pix2pix_inpaint(args) -> list[dict]:
    """pix2pix ℓ1 alone vs ℓ1 + cGAN where the answer is ambiguous: a 14×14 hole in a digit."""
    info = {"spec": "mnist5k", "task": "inpaint:center:14"}
    judge = _judge("mnist5k", (1, 28, 28))
    rows = []
    for label, config in (("pix2pix ℓ1 alone", {"gan_loss": "none"}), ("pix2pix ℓ1 + cGAN", {})):
        model, val, t = _fit("pix2pix", info, args.epochs, **config)
        out = _outputs(model, val.x)
        rows.append({"item": "pix2pix_inpaint", "model": label, **t,
                     "hole_psnr": round(masked_psnr(out, val.target, val.mask), 2),
                     "sharpness": round(sharpness(out), 4),
                     **{k: round(v, 4) for k, v in _judged(judge, out, val.target, val.y).items()}})
    return rows


def edges(args) -> list[dict]:
    info = {"spec": "mnist5k", "task": "edges"}
    judge = _judge("mnist5k", (1, 28, 28))
    rows = []
    for label, config in (("pix2pix ℓ1 + cGAN", {}), ("pix2pix ℓ1 alone", {"gan_loss": "none"})):
        model, val, t = _fit("pix2pix", info, args.epochs, **config)
        out = _outputs(model, val.x)
        rows.append({"item": "edges", "model": label, **t, "psnr": round(psnr(out, val.target), 2),
                     **{k: round(v, 4) for k, v in _judged(judge, out, val.target, val.y).items()}})
    return rows


def superres(args) -> list[dict]:
    rows = []
    for scale, size in ((2, None), (4, 32)):
        info = {"spec": "mnist5k", "task": f"superres:{scale}", "image_size": size}
        model, val, t = _fit("srresnet", info, args.epochs)
        out = _outputs(model, val.x)
        base = upsample_baselines(val.x, scale)
        rows.append({"item": "superres", "data": f"mnist5k {size or 28} px", "scale": scale, "model": "srresnet", **t,
                     "psnr": round(psnr(out, val.target), 2), "ssim": round(ssim(out, val.target), 4),
                     **{f"{k}_psnr": round(psnr(v, val.target), 2) for k, v in base.items()}})
    return rows


def colorize(args) -> list[dict]:
    info = {"spec": "photos", "task": "colorize"}
    model, val, t = _fit("pix2pix", info, args.epochs)
    out = _outputs(model, val.x)
    L = val.x[:, :1]
    truth = lab_to_rgb(L, val.target)
    grey = lab_to_rgb(L, torch.full_like(val.target, 0.5))
    return [{"item": "colorize", "data": "photos (held-out photographs' patches)", "model": "pix2pix", **t,
             "psnr": round(psnr(lab_to_rgb(L, out), truth), 2), "grey_psnr": round(psnr(grey, truth), 2)}]


ITEMS = {"segment": segment, "ct": ct, "inpaint": inpaint, "inpaint_ceiling": inpaint_ceiling,
         "pix2pix_inpaint": pix2pix_inpaint, "edges": edges, "superres": superres, "colorize": colorize}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("items", nargs="*", default=list(ITEMS), choices=list(ITEMS))
    parser.add_argument("--epochs", type=int, default=None, help="default: each model's own training length")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    machine = {"cpu": platform.processor() or platform.machine(), "threads": args.threads,
               "torch": torch.__version__, "date": time.strftime("%Y-%m-%d")}
    for item in args.items:
        for row in ITEMS[item](args):
            print(json.dumps({**row, **machine}, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
