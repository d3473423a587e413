"""The autoregressive family's acceptance figures on mnist5k's held-out digits, one JSON line per row.

    python benchmarks/autoregressive.py binary grey gated vqvae [--threads 1] [--epochs E] [--models ...]

Every model trains with its defaults (the length `genlab train` picks) unless --epochs is given;
``seconds`` is the training time, ``sample_seconds_64`` the time to draw 64 images. Items:

    binary   mnist5k-bin (threshold 0.5): held-out NLL in nats and bits/dim of fvsbn, nade, made,
             pixelcnn, gated-pixelcnn, beside the VAE family's bounds on the same digits (vae and iwae:
             −ELBO and IWAE NLL with K = 1000), and the independent-pixel baseline
    grey     mnist5k with its 256 grey levels: held-out bits/dim (softmax or discretised logistic)
    gated    gated-pixelcnn on mnist5k-bin: classes the judge finds among 100 unconditional samples, and
             with conditional=true the share of 100 samples per class judged as the requested class
             (--conditional-run RUN judges a run folder trained with --set conditional=true instead)
    vqvae    vq-vae (defaults) on mnist5k, then a pixelcnn prior on codes:RUN: the prior's held-out
             cross-entropy per code against log K, judge-FID and classes found of 1,000 decoded prior
             samples against the same vq-vae decoding uniformly drawn code maps; and a class-conditional
             gated-pixelcnn prior: the share of 100 decoded samples per class judged as the requested class
"""
from __future__ import annotations

import argparse
import json
import math
import platform
import tempfile
import time
from pathlib import Path

import torch

from genlab.data import load_data, load_spec
from genlab.metrics import likelihood as lk
from genlab.runs import create
from genlab.train import train

FAMILY = ("fvsbn", "nade", "made", "pixelcnn", "gated-pixelcnn")
BOUNDED = ("vae", "iwae", "vae arch=mlp hidden=400 latent_dim=20")   # the VAE family: likelihood bounds


def _named(text: str) -> tuple[str, dict]:
    """``"vae arch=mlp hidden=400 latent_dim=20"`` -> the model's name and its config overrides."""
    from genlab.models.base import parse_overrides
    from genlab.registry import get

    name, *pairs = text.split()
    return name, parse_overrides(get(name).config_class, pairs)


def _fit(name: str, config: dict | None, info: dict, epochs: int | None, out: Path | None = None, seed: int = 0,
         **more):
    data, val = load_spec(info, "train"), load_spec(info, "test")
    model = create(name, data=data, seed=seed, **(config or {}), **more)
    t0 = time.perf_counter()
    result = train(model, data, epochs=epochs, val_data=val, progress=False, seed=seed, out=out,
                   data_info=info if out else None)
    model.eval()
    return model, data, val, {"seconds": round(time.perf_counter() - t0, 1), "epochs": result.epochs}


@torch.no_grad()
def _nll(model, x: torch.Tensor, y=None) -> float:
    from genlab.data.batches import batched

    if y is None:
        return float(-batched(model.log_prob, x, 500).double().mean())
    return float(-torch.cat([model.log_prob(x[i:i + 500], y[i:i + 500]) for i in range(0, len(x), 500)]).double().mean())


@torch.no_grad()
def _sample_seconds(model, n: int = 64, y=None) -> float:
    t0 = time.perf_counter()
    model.sample(n, y, generator=torch.Generator().manual_seed(0))
    return round(time.perf_counter() - t0, 1)


def _row(item: str, name: str, model, val, t: dict, **extra) -> dict:
    nll = _nll(model, val.x)
    d = val.x[0].numel()
    return {"item": item, "data": val.name, "model": name, **t, "nll": round(nll, 2),
            "bits_per_dim": round(nll / (d * math.log(2)), 4), **extra}


def binary(args) -> list[dict]:
    info = {"spec": "mnist5k-bin"}
    val = load_spec(info, "test")
    x = val.x
    p = load_spec(info, "train").x.mean(0).clamp(1e-4, 1 - 1e-4)
    independent = float(-(x * p.log() + (1 - x) * (1 - p).log()).flatten(1).sum(1).mean())
    rows = [{"item": "binary", "data": "mnist5k-bin", "model": "independent pixels", "nll": round(independent, 2)}]
    print(json.dumps(rows[-1]), flush=True)
    for name in args.models or (*FAMILY, *BOUNDED):
        model, _, val, t = _fit(*_named(name), info, args.epochs)
        if name not in BOUNDED:
            rows.append(_row("binary", name, model, val, t, sample_seconds_64=_sample_seconds(model)))
            print(json.dumps(rows[-1]), flush=True)
            continue
        rows.append({"item": "binary", "data": "mnist5k-bin", "model": name, **t,
                     "neg_elbo": round(lk.negative_elbo(model, val.x), 2),
                     "iwae_nll": round(lk.iwae_nll(model, val.x, k=1000), 2)})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def grey(args) -> list[dict]:
    rows = []
    for name in [m for m in args.models or FAMILY if m not in BOUNDED]:
        model, _, val, t = _fit(*_named(name), {"spec": "mnist5k"}, args.epochs)
        rows.append(_row("grey", name, model, val, t, output=model.output))
        print(json.dumps(rows[-1]), flush=True)
    return rows


def _judge():
    from genlab.metrics.judge import get_judge

    return get_judge("mnist5k", (1, 28, 28))[0]


def gated(args) -> list[dict]:
    from genlab.apps.sections.gan_conditional import judged_samples

    judge, rows = _judge(), []
    model, _, val, t = _fit("gated-pixelcnn", None, {"spec": "mnist5k-bin"}, args.epochs)
    torch.manual_seed(0)
    found = judge.predict(model.sample(100, generator=torch.Generator().manual_seed(0))).unique().numel()
    rows.append(_row("gated", "gated-pixelcnn", model, val, t, classes_found_of_100=int(found)))
    print(json.dumps(rows[-1]), flush=True)
    if args.conditional_run:      # a run folder trained with `--set conditional=true` (its training not timed)
        from genlab.runs import load

        model, t = load(args.conditional_run).eval(), {"run": args.conditional_run}
        val = load_spec({"spec": "mnist5k-bin"}, "test")
    else:
        model, _, val, t = _fit("gated-pixelcnn", None, {"spec": "mnist5k-bin"}, args.epochs, conditional=True)
    got = judged_samples(model, judge, per_class=100)
    rows.append({"item": "gated", "data": "mnist5k-bin", "model": "gated-pixelcnn conditional=true", **t,
                 "nll_given_class": round(_nll(model, val.x, val.y), 2),
                 "requested_class_accuracy": round(got["accuracy"], 4), "classes_found": got["classes_found"],
                 "sample_seconds_64": _sample_seconds(model, 64, torch.arange(64) % 10)})
    print(json.dumps(rows[-1]), flush=True)
    return rows


def vqvae(args) -> list[dict]:
    from genlab.apps.prior import PriorSampler, uniform_codes
    from genlab.metrics.sample import fid

    judge, rows = _judge(), []
    real = load_data("mnist5k", "test")
    real_features = judge.features_of(real.x)
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "vq"
        vq, _, _, t_vq = _fit("vq-vae", None, {"spec": "mnist5k"}, args.epochs, out=run)
        k = vq.config.num_codes
        for name in args.models or ("pixelcnn", "gated-pixelcnn conditional=true"):
            model_name, _, setting = name.partition(" ")
            config = {"conditional": True} if setting == "conditional=true" else {}
            prior, _, codes_val, t = _fit(model_name, config, {"spec": f"codes:{run}"}, args.epochs)
            sampler = PriorSampler(vq, prior)
            if sampler.label_space is not None:
                from genlab.apps.sections.gan_conditional import judged_samples

                got = judged_samples(sampler, judge, per_class=100)
                rows.append({"item": "vqvae", "model": f"vq-vae + {name} prior", **t,
                             "prior_nats_per_code_given_class": round(sampler.code_nll(real.x, real.y), 3),
                             "log_k": round(math.log(k), 3), "requested_class_accuracy": round(got["accuracy"], 4),
                             "classes_found": got["classes_found"]})
                print(json.dumps(rows[-1]), flush=True)
                continue
            torch.manual_seed(0)
            fake = sampler.sample(1000, generator=torch.Generator().manual_seed(0))
            feats, probs = judge.embed(fake)
            ce = _nll(prior, codes_val.x) / codes_val.x[0].numel()
            rows.append({"item": "vqvae", "model": f"vq-vae + {name} prior", "vq_seconds": t_vq["seconds"], **t,
                         "prior_nats_per_code": round(ce, 3), "log_k": round(math.log(k), 3),
                         "judge_fid": round(fid(real_features, feats), 2),
                         "classes_found": int(probs.argmax(1).unique().numel())})
            print(json.dumps(rows[-1]), flush=True)
        uniform = uniform_codes(vq, 1000, generator=torch.Generator().manual_seed(0))
        feats, probs = judge.embed(uniform)
        rows.append({"item": "vqvae", "model": "vq-vae + uniform codes", "judge_fid": round(fid(real_features, feats), 2),
                     "classes_found": int(probs.argmax(1).unique().numel())})
        print(json.dumps(rows[-1]), flush=True)
    return rows


ITEMS = {"binary": binary, "grey": grey, "gated": gated, "vqvae": vqvae}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("items", nargs="*", default=list(ITEMS), choices=list(ITEMS))
    parser.add_argument("--models", nargs="*", default=None,
                        help="models to train (default: the family, and for binary also vae and iwae)")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--conditional-run", default=None,
                        help="gated: judge this conditional gated-pixelcnn run folder instead of training one")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    head = {"machine": platform.processor() or platform.machine(), "threads": args.threads, "torch": torch.__version__}
    print(json.dumps(head), flush=True)
    for item in args.items:
        ITEMS[item](args)


if __name__ == "__main__":
    main()
