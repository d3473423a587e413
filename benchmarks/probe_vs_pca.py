"""Linear-probe accuracy of the masked autoencoder's features against PCA at the same dimension.

Trains `mae` with its defaults on mnist5k for the given epochs (genlab train's default: 10), then
fits a standardised logistic regression on the encoder's pooled features of the 4,000 training
digits and scores it on the 1,000 held-out ones (`genlab.metrics.representation.probe_table`:
codes, raw pixels, and PCA with the codes' dimension). `--probe-every N` probes every N epochs of
the same run (each chunk starts a fresh AdamW state). One JSON line per probe.

    python benchmarks/mae_probe.py [--epochs 10] [--probe-every 10] [--set pool=cls ...]
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
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--probe-every", type=int, default=0, help="probe every N epochs (default: at the end)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="mae config key=value")
    args = parser.parse_args()
    train, test = genlab.load_data("mnist5k", "train"), genlab.load_data("mnist5k", "test")
    model = genlab.create("mae", data=train, **parse_overrides(get("mae").config_class, args.overrides))
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
            table = probe_table(codes(model, train, limit=len(train)), train.y, codes(model, test, limit=len(test)),
                                test.y, train.x, test.x, seed=args.seed)
        print(json.dumps({
            "bench": "mae_probe", "data": "mnist5k", "epochs": done, "dim": model.config.embed_dim,
            "config": {k: v for k, v in model.config.to_dict().items() if k != "image_shape"},
            "probe": {k: round(v, 4) for k, v in table.items()}, "train_seconds": round(seconds, 1),
            "torch_threads": torch.get_num_threads(), "machine": platform.machine(),
        }), flush=True)


if __name__ == "__main__":
    main()
