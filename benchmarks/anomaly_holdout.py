"""Hold-one-digit-out anomaly detection: for every digit d, train a fresh model on the mnist5k
training digits other than d and score the 1,000 test digits by reconstruction error (−ELBO for
VAEs), d being the anomaly. Prints one JSON line per digit (auroc, auprc, seconds) and a summary
line with the mean and the worst AUROC: the acceptance figure of the anomaly application.

    python benchmarks/anomaly_holdout.py [--model conv-ae] [--epochs 5] [--digits 0,1,...]
"""
from __future__ import annotations

import argparse
import json
import time
import warnings

import torch

import genlab
from genlab.apps.anomaly import DEFAULT_EPOCHS, holdout_protocol


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="conv-ae")
    parser.add_argument("--data", default="mnist5k")
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--digits", default="0,1,2,3,4,5,6,7,8,9")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    train, test = genlab.load_data(args.data, "train"), genlab.load_data(args.data, "test")
    base = {"bench": "anomaly_holdout", "model": args.model, "data": args.data, "epochs": args.epochs,
            "device": f"cpu x{torch.get_num_threads()}"}
    started = time.perf_counter()
    summary = holdout_protocol(args.model, train, test, [int(d) for d in args.digits.split(",")],
                               epochs=args.epochs, batch_size=args.batch_size, seed=args.seed,
                               on_digit=lambda row: print(json.dumps({**base, **{k: round(v, 4) if isinstance(v, float)
                                                                                 else v for k, v in row.items()}}),
                                                          flush=True))
    print(json.dumps({**base, "summary": True, "score": summary["score"],
                      "mean_auroc": round(summary["mean_auroc"], 4), "worst_auroc": round(summary["worst_auroc"], 4),
                      "worst_digit": summary["worst_digit"], "mean_auprc": round(summary["mean_auprc"], 4),
                      "seconds": round(time.perf_counter() - started, 1)}), flush=True)


if __name__ == "__main__":
    main()
