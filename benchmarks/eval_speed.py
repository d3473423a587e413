"""Evaluation cost: seconds for FID, KID and precision/recall on 1,000 vs 1,000 images through the
judge, and for the IWAE NLL with K=100 on 1,000 images (an untrained-but-real conv VAE: the cost
does not depend on the weights). Prints one JSON line per measurement.

    python benchmarks/eval_speed.py [--n 1000] [--k 100]
"""
from __future__ import annotations

import argparse
import json
import time
import warnings

import torch

import genlab
from genlab.metrics import fid, kid, precision_recall
from genlab.metrics.judge import get_judge
from genlab.metrics.likelihood import iwae_nll


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--k", type=int, default=100)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    train, test = genlab.load_data("mnist5k", "train"), genlab.load_data("mnist5k", "test")
    (judge, info), judge_s = timed(lambda: get_judge("mnist5k", train.shape))
    real = test.spread(args.n).x
    model = genlab.create("vae", data=train, latent_dim=8)
    torch.manual_seed(0)
    with torch.no_grad():
        fake = model.sample(args.n)
    (feats, feat_s) = timed(lambda: (judge.features_of(real), judge.features_of(fake)))
    real_f, fake_f = feats
    base = {"bench": "eval_speed", "n": args.n, "device": f"cpu x{torch.get_num_threads()}",
            "judge_accuracy": round(info["test_accuracy"], 4)}
    rows = [("judge_load_or_train", judge_s), ("judge_features_2n", feat_s),
            ("fid", timed(lambda: fid(real_f, fake_f))[1]), ("kid", timed(lambda: kid(real_f, fake_f))[1]),
            ("precision_recall", timed(lambda: precision_recall(real_f, fake_f))[1]),
            (f"iwae_nll_k{args.k}", timed(lambda: iwae_nll(model, real, k=args.k))[1])]
    for name, seconds in rows:
        print(json.dumps({**base, "metric": name, "seconds": round(seconds, 3)}), flush=True)


if __name__ == "__main__":
    main()
