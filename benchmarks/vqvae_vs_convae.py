"""VQ-VAE against the convolutional autoencoder at a comparable bit budget, on mnist5k.

A vq-vae image code is h·w indices of log2 K bits (7·7·6 = 294 bits with the default K = 64);
conv-ae's is 10 float32 numbers (320 bits). Both train with their defaults for the same epochs;
the JSON line gives the held-out reconstruction MSE per pixel, the vq-vae codebook perplexity and
share of codes used on the held-out images, the bits per image and the training seconds.

    python benchmarks/vqvae_vs_convae.py [--epochs 10] [--set ema=true ...]
"""
from __future__ import annotations

import argparse
import json
import platform
import time

import torch

import genlab
from genlab.models.base import parse_overrides
from genlab.nn import perplexity
from genlab.registry import get


@torch.no_grad()
def held_out_mse(model, x: torch.Tensor) -> float:
    out = torch.cat([model.reconstruct(x[i:i + 250]) for i in range(0, len(x), 250)])
    return float(((out - x) ** 2).mean())


def fit(name: str, data, epochs: int, seed: int, **config) -> tuple:
    model = genlab.create(name, data=data, **config)
    started = time.perf_counter()
    genlab.train(model, data, epochs=epochs, seed=seed, progress=False)
    return model, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10, help="epochs for each model (genlab train's default)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="vq-vae config key=value")
    args = parser.parse_args()
    train, test = genlab.load_data("mnist5k", "train"), genlab.load_data("mnist5k", "test")

    vq, vq_seconds = fit("vq-vae", train, args.epochs, args.seed,
                         **parse_overrides(get("vq-vae").config_class, args.overrides))
    ae, ae_seconds = fit("conv-ae", train, args.epochs, args.seed)
    vq.eval()
    ae.eval()
    with torch.no_grad():
        counts = torch.bincount(vq.encode_indices(test.x).flatten(), minlength=vq.config.num_codes)
    print(json.dumps({
        "bench": "vqvae_vs_convae", "data": "mnist5k", "epochs": args.epochs, "test_images": len(test),
        "vqvae": {"config": {k: v for k, v in vq.config.to_dict().items() if k != "image_shape"},
                  "mse": round(held_out_mse(vq, test.x), 6), "bits_per_image": vq.code_bits(),
                  "perplexity": round(float(perplexity(counts)), 2),
                  "codes_used": round(float((counts > 0).float().mean()), 4), "seconds": round(vq_seconds, 1)},
        "conv_ae": {"mse": round(held_out_mse(ae, test.x), 6), "bits_per_image": 32 * ae.config.latent_dim,
                    "seconds": round(ae_seconds, 1)},
        "torch": torch.__version__, "threads": torch.get_num_threads(), "python": platform.python_version(),
    }))


if __name__ == "__main__":
    main()
