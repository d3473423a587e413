"""Linear-probe accuracy of a model's codes against PCA at the same dimension.

Trains the model (`mae` by default; any model with an encoder, e.g. `conv-ae`) with its defaults
plus `--set` overrides on mnist5k for the given epochs (genlab train's default: 10), then
fits a standardised logistic regression on the codes of the 4,000 training
digits and scores it on the 1,000 held-out ones (`genlab.metrics.representation.probe_table`:
codes, raw pixels, and PCA with the codes' dimension). `--probe-every N` probes every N epochs of
the same run (each chunk starts a fresh AdamW state). One JSON line per probe.

    python benchmarks/probe_vs_pca.py [--model conv-ae] [--epochs 10] [--probe-every 10] [--set pool=cls ...]
"""
from __future__ import annotations

import argparse
import json
import platform
import time

import torch

import genlab
from genlab.apps.latent import codes
from genlab.metrics.representation import probe_table
from genlab.models.base import parse_overrides
from genlab.registry import get


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mae")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--probe-every", type=int, default=0, help="probe every N epochs (default: at the end)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="model config key=value")
    args = parser.parse_args()
    train, test = genlab.load_data("mnist5k", "train"), genlab.load_data("mnist5k", "test")
    model = genlab.create(args.model, data=train, **parse_overrides(get(args.model).config_class, args.overrides))
    step = args.probe_every or args.epochs
    done, seconds = 0, 0.0
    while done < args.epochs:
        chunk = min(step, args.epochs - done)
        started = time.perf_counter()
        model.train()
        genlab.train(model, train, epochs=chunk, seed=args.seed + done, progress=False)
        seconds += time.perf_counter() - started
        done += chunk
        model.eval()
        with torch.no_grad():
            code_train, code_test = codes(model, train, limit=len(train)), codes(model, test, limit=len(test))
            table = probe_table(code_train, train.y, code_test, test.y, train.x, test.x, seed=args.seed)
        print(json.dumps({
            "bench": "probe_vs_pca", "model": args.model, "data": "mnist5k", "epochs": done,
            "dim": code_train.flatten(1).shape[1],
            "config": {k: v for k, v in model.config.to_dict().items() if k != "image_shape"},
            "probe": {k: round(v, 4) for k, v in table.items()}, "train_seconds": round(seconds, 1),
            "torch_threads": torch.get_num_threads(), "machine": platform.machine(),
        }), flush=True)


if __name__ == "__main__":
    main()
