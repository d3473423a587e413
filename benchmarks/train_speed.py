"""Training throughput: genlab's Lightning engine against a plain PyTorch loop.

Same model class, same data (mnist5k train split, resident tensors), same batch size and
optimiser, in the same process. Prints one JSON line per model:

    python benchmarks/train_speed.py [--models ae,conv-ae,vae] [--epochs 3] [--repeats 2] [--accelerator cpu]

``overhead_pct`` = 100·(plain / engine − 1): the engine's extra cost per image.
"""
from __future__ import annotations

import argparse
import json
import platform
import time
import warnings

import torch

import genlab


def plain_loop(model, data, epochs: int, batch_size: int, device: torch.device) -> float:
    """Images per second of the textbook loop: permute, slice, forward, backward, step."""
    model.to(device).train()
    (player,) = model.players()
    x = data.x.to(device)
    n = len(x)
    seen, start = 0, time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(n, device=device)
        for i in range(0, n, batch_size):
            batch = {"x": x.index_select(0, order[i:i + batch_size])}
            out = player.loss(batch)
            player.optimizer.zero_grad(set_to_none=True)
            out["loss"].backward()
            player.optimizer.step()
            seen += len(batch["x"])
    if device.type == "cuda":
        torch.cuda.synchronize()
    return seen / (time.perf_counter() - start)


def engine_loop(model, data, epochs: int, batch_size: int, accelerator: str) -> float:
    result = genlab.train(model, data, epochs=epochs, batch_size=batch_size, progress=False,
                          accelerator=accelerator, devices=1)
    return result.images_per_second


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="ae,conv-ae,vae")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=2, help="alternate runs; the best of each is kept")
    parser.add_argument("--accelerator", default="cpu", choices=("cpu", "gpu"))
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    device = torch.device("cuda" if args.accelerator == "gpu" else "cpu")
    data = genlab.load_data("mnist5k", "train")
    for name in args.models.split(","):
        plain, engine = [], []
        for r in range(args.repeats):
            torch.manual_seed(r)
            plain.append(plain_loop(genlab.create(name, data=data), data, args.epochs, args.batch_size, device))
            torch.manual_seed(r)
            engine.append(engine_loop(genlab.create(name, data=data), data, args.epochs, args.batch_size,
                                      args.accelerator))
        best_plain, best_engine = max(plain), max(engine)
        print(json.dumps({
            "bench": "train_speed", "model": name, "data": "mnist5k", "images": len(data),
            "batch_size": args.batch_size, "epochs": args.epochs, "repeats": args.repeats,
            "device": torch.cuda.get_device_name() if device.type == "cuda" else f"cpu x{torch.get_num_threads()}",
            "plain_images_per_s": round(best_plain, 1), "engine_images_per_s": round(best_engine, 1),
            "ratio": round(best_engine / best_plain, 3),
            "overhead_pct": round(100 * (best_plain / best_engine - 1), 1),
            "torch": torch.__version__, "python": platform.python_version(),
        }), flush=True)


if __name__ == "__main__":
    main()
