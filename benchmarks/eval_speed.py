"""Evaluation cost: seconds for FID, KID and precision/recall on 1,000 vs 1,000 images through the
judge, FID on 1,000 vs 1,000 2048-D features (Inception-v3's size), the IWAE NLL with K=100 on
1,000 images, and the whole default `evaluate` (every metric) of a conv VAE (untrained but real:
the cost does not depend on the weights). With Inception-v3 weights present (GENLAB_INCEPTION),
also the Inception features' cost per image; otherwise one line says that part was skipped and
why. Prints one JSON line per measurement; each has the CPU seconds beside the wall seconds, since
wall time on a shared machine depends on the other load (reported as load_avg).

    python benchmarks/eval_speed.py [--n 1000] [--k 100] [--inception-images 20]
"""
from __future__ import annotations

import argparse
import json
import os
import time
import warnings

import torch

import genlab
from genlab.apps.evaluate import evaluate
from genlab.errors import GenlabError
from genlab.metrics import fid, kid, precision_recall
from genlab.metrics.judge import get_judge, require_inception
from genlab.metrics.likelihood import iwae_nll


def timed(fn):
    cpu, start = time.process_time(), time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--inception-images", type=int, default=20)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    train, test = genlab.load_data("mnist5k", "train"), genlab.load_data("mnist5k", "test")
    (judge, info), judge_s, judge_cpu = timed(lambda: get_judge("mnist5k", train.shape))
    real = test.spread(args.n).x
    model = genlab.create("vae", data=train, latent_dim=8).eval()
    torch.manual_seed(0)
    with torch.no_grad():
        fake = model.sample(args.n)
    (feats, feat_s, feat_cpu) = timed(lambda: (judge.features_of(real), judge.features_of(fake)))
    real_f, fake_f = feats
    base = {"bench": "eval_speed", "n": args.n, "device": f"cpu x{torch.get_num_threads()}",
            "judge_accuracy": round(info["test_accuracy"], 4)}

    def emit(name, wall, cpu, **extra):
        print(json.dumps({**base, "metric": name, "seconds": round(wall, 3), "cpu_seconds": round(cpu, 3),
                          "load_avg": round(os.getloadavg()[0], 2), **extra}), flush=True)

    emit("judge_load_or_train", judge_s, judge_cpu)
    emit("judge_features_2n", feat_s, feat_cpu)
    for name, fn in (("fid", lambda: fid(real_f, fake_f)), ("kid", lambda: kid(real_f, fake_f)),
                     ("precision_recall", lambda: precision_recall(real_f, fake_f)),
                     (f"iwae_nll_k{args.k}", lambda: iwae_nll(model, real, k=args.k))):
        emit(name, *timed(fn)[1:])
    g = torch.Generator().manual_seed(0)
    wide = torch.randn(args.n, 2048, generator=g), torch.randn(args.n, 2048, generator=g) + 0.1
    emit("fid_2048d", *timed(lambda: fid(*wide))[1:])  # the size of Inception-v3 features
    _, wall, cpu = timed(lambda: evaluate(model, train, test, "mnist5k", n=args.n, iwae_k=args.k))
    emit("evaluate_all_metrics", wall, cpu)
    inception(args, real, fake, emit)


def inception(args, real, fake, emit) -> None:
    """Inception-v3 features (299×299 forward per image) and FID on them, if weights are present."""
    from genlab.metrics.inception import load_inception

    try:
        path = require_inception()
    except GenlabError as exc:
        print(json.dumps({"bench": "eval_speed", "metric": "inception_features", "skipped": str(exc)}), flush=True)
        return
    net, load_s, load_cpu = timed(lambda: load_inception(path))
    emit("inception_load", load_s, load_cpu)
    m = args.inception_images
    net.features_of(real[:1])  # the first call sets up the convolution kernels (seconds)
    _, wall, cpu = timed(lambda: (net.features_of(real[:m]), net.features_of(fake[:m])))
    emit("inception_features_per_image", wall / (2 * m), cpu / (2 * m), images=2 * m)


if __name__ == "__main__":
    main()
