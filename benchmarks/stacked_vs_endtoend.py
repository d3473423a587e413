"""Greedy layer-wise pretraining against end-to-end training and PCA (Hinton &
Salakhutdinov 2006): for each code size, a `stacked-ae` and a `deep-ae` with the same layer sizes,
activations, learning rate and number of epochs, and a PCA with as many components, all fitted on
the mnist5k train split (PCA's reconstructions clipped to [0, 1], like the autoencoders' sigmoid
outputs). Prints one JSON line per model and code size: held-out MSE per pixel and seconds.

    python benchmarks/stacked_vs_endtoend.py [--codes 8,16,32] [--hidden 256,128] [--epochs 20]
                                             [--pretrain-epochs 2] [--activation relu] [--lr 3e-3]
                                             [--threads 2]
"""
from __future__ import annotations

import argparse
import json
import time
import warnings

import torch

import genlab


def held_out_mse(model, x: torch.Tensor) -> float:
    with torch.no_grad():
        return float(torch.cat([(model.reconstruct(b) - b).pow(2).flatten(1).mean(1) for b in x.split(500)]).mean())


def pca_mse(train: torch.Tensor, test: torch.Tensor, k: int) -> float:
    from sklearn.decomposition import PCA

    pca = PCA(k, random_state=0).fit(train.flatten(1).double().numpy())
    flat = test.flatten(1).double().numpy()
    back = pca.inverse_transform(pca.transform(flat)).clip(0, 1)  # pixels live in [0, 1], as the AEs' outputs
    return float(((back - flat) ** 2).mean())


def ints(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in text.split(",") if v.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codes", type=ints, default=(8, 16, 32))
    parser.add_argument("--hidden", type=ints, default=(256, 128))
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--pretrain-epochs", type=int, default=2)
    parser.add_argument("--activation", default="relu")
    parser.add_argument("--lr", type=float, default=3e-3, help="the same for both models (stacked-ae's default)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    if args.threads:
        torch.set_num_threads(args.threads)
    train, test = genlab.load_data("mnist5k", "train"), genlab.load_data("mnist5k", "test")
    base = {"bench": "stacked_vs_endtoend", "data": "mnist5k", "hidden": list(args.hidden), "epochs": args.epochs,
            "lr": args.lr, "device": f"cpu x{torch.get_num_threads()}"}
    for code in args.codes:
        models = {
            "stacked-ae": genlab.create("stacked-ae", data=train, sizes=(*args.hidden, code),
                                        pretrain_epochs=args.pretrain_epochs, activation=args.activation, lr=args.lr),
            "deep-ae": genlab.create("deep-ae", data=train, hidden=args.hidden, latent_dim=code,
                                     activation=args.activation, code_activation="linear", lr=args.lr),
        }
        for name, model in models.items():
            start = time.perf_counter()
            genlab.train(model, train, epochs=args.epochs, progress=False)
            seconds = time.perf_counter() - start
            extra = {"pretrain_epochs_per_layer": args.pretrain_epochs} if name == "stacked-ae" else {}
            print(json.dumps({**base, "model": name, "code": code, "activation": args.activation, **extra,
                              "held_out_mse": round(held_out_mse(model, test.x), 5),
                              "seconds": round(seconds, 1)}), flush=True)
        start = time.perf_counter()
        mse = pca_mse(train.x, test.x, code)
        print(json.dumps({**base, "model": "pca", "code": code, "held_out_mse": round(mse, 5),
                          "seconds": round(time.perf_counter() - start, 1)}), flush=True)


if __name__ == "__main__":
    main()
