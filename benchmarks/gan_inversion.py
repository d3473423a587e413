"""GAN inversion on held-out mnist5k digits: optimisation against the learned encoder and the hybrid.

Uses a trained dcgan run (`--run`; without it one is trained for `--epochs` into a temporary
folder, as `genlab train dcgan --epochs 10` would), inverts `--n` held-out digits (evenly spread,
so every class shows) with each method of `genlab.apps.invert`, and prints one JSON line per
method: mean pixel MSE, PSNR and seconds, plus two references: a random prior code (what
inversion starts from) and, for optimisation, targets the generator made itself (G(z*), which it
can match exactly: the gap to real digits is what the generator cannot draw). The encoder is
trained afresh (not read from the run's cache) so that its training time is measured.

    python benchmarks/gan_inversion.py [--run /tmp/inv_dcgan] [--n 100] [--steps 300] [--restarts 8]
"""
from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time

import torch

import genlab
from genlab.apps import invert as I
from genlab.metrics.image import psnr


def line(**fields) -> None:
    print(json.dumps({"bench": "gan_inversion", **fields, "torch_threads": torch.get_num_threads(),
                      "machine": platform.machine()}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default=None, help="a trained dcgan run folder (default: train one)")
    parser.add_argument("--epochs", type=int, default=10, help="training epochs when no --run is given")
    parser.add_argument("--n", type=int, default=100, help="held-out digits inverted")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--restarts", type=int, default=8)
    parser.add_argument("--encoder-steps", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    run_dir = args.run
    if run_dir is None:
        run_dir = tempfile.mkdtemp(prefix="inv_dcgan_")
        data = genlab.load_data("mnist5k", "train")
        started = time.perf_counter()
        genlab.train(genlab.create("dcgan", data=data), data, epochs=args.epochs, out=run_dir, overwrite=True,
                     progress=False, data_info={"spec": "mnist5k"})
        line(stage="train dcgan", epochs=args.epochs, seconds=round(time.perf_counter() - started, 1))
    model = genlab.load(run_dir)
    test = genlab.load_data("mnist5k", "test").spread(args.n)
    x = test.x
    common = {"run": str(run_dir), "model": model.registry_name, "data": "mnist5k test", "n": len(x)}

    d = I.check_generator(model)
    with I.seeded(model, args.seed + 1):
        z_rand = I.prior(model, len(x), d)[0]
    random_images = I.regenerate(model, z_rand, None)
    line(**common, method="random prior code", mse=float(I.pixel_mse(random_images, x).mean()),
         psnr=psnr(random_images, x))

    started = time.perf_counter()
    encoder, info = I.get_encoder(model, None, steps=args.encoder_steps, seed=args.seed)
    line(**common, stage="train encoder", steps=args.encoder_steps, seconds=round(time.perf_counter() - started, 1),
         final_z_loss=round(info["final_z_loss"], 4), final_image_loss=round(info["final_image_loss"], 5))
    for method in I.METHODS:
        r = I.invert(model, x, method=method, steps=args.steps, restarts=args.restarts, encoder=encoder, seed=args.seed)
        line(**common, method=method, mse=float(r.mse.mean()), mse_median=float(r.mse.median()),
             psnr=psnr(r.images, x), seconds=round(r.seconds, 1),
             steps=0 if method == "encoder" else args.steps,
             restarts=args.restarts if method == "optimize" else 1)

    # targets the generator can draw: how close optimisation gets when an exact answer exists
    with I.seeded(model, args.seed + 2):
        z_star = I.prior(model, len(x), d)[0]
    fakes = I.regenerate(model, z_star, None)
    r = I.invert(model, fakes, method="optimize", steps=args.steps, restarts=args.restarts, seed=args.seed)
    line(**{**common, "data": "generated G(z*)"}, method="optimize", mse=float(r.mse.mean()),
         psnr=psnr(r.images, fakes), seconds=round(r.seconds, 1), steps=args.steps, restarts=args.restarts,
         z_rmse_to_z_star=float((r.z - z_star).pow(2).mean().sqrt()))


if __name__ == "__main__":
    main()
