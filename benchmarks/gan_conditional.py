"""Conditional and structured GANs on mnist5k, judged by the cached judge classifier.

Trains `cgan`, `acgan` and `infogan` with their defaults for their default epochs (each model's
`default_epochs`; `--epochs` overrides) on the 4,000 training digits, then draws 100 samples per
class (cgan, acgan: the requested class; infogan: per value of its categorical code c1) and labels
them with the judge. The issue's acceptance figures: requested-class accuracy ≥ 0.90 for cgan and
acgan; for infogan, the agreement of c1 with the judge's labels after Hungarian matching ≥ 0.70.
One JSON line per model.

    python benchmarks/gan_conditional.py [--models cgan acgan infogan] [--epochs N] [--threads 1] [--set key=value ...]
                                         [--every K]   # also judge every K epochs during training (for tuning)
"""
from __future__ import annotations

import argparse
import json
import platform
import time

import lightning as L
import torch

import genlab
from genlab.apps.sections.gan_conditional import code_reading, judged_samples
from genlab.metrics.judge import get_judge
from genlab.models.base import parse_overrides
from genlab.registry import get

THRESHOLDS = {"cgan": ("requested_class_accuracy", 0.90), "acgan": ("requested_class_accuracy", 0.90),
              "infogan": ("matched_code_agreement", 0.70)}


def figure(model, judge, per_class: int, seed: int) -> tuple[float, dict]:
    got = judged_samples(model, judge, per_class=per_class, seed=seed)
    return (got["accuracy"] if model.label_space.kind == "classes" else got["agreement"]), got


class JudgeEvery(L.Callback):
    """The figure every ``every`` epochs, as a JSON line. The samples are drawn in eval mode and
    under a forked random state, so training goes on exactly as it would without this callback."""

    def __init__(self, every: int, judge, per_class: int, seed: int, started: float):
        self.every, self.judge, self.per_class, self.seed, self.started = every, judge, per_class, seed, started

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        epoch = trainer.current_epoch + 1
        if epoch % self.every:
            return
        model = pl_module.model
        was = model.training
        model.eval()
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            value, got = figure(model, self.judge, self.per_class, self.seed)
        model.train(was)
        print(json.dumps({"model": model.registry_name, "epoch": epoch, "seconds": round(time.perf_counter() - self.started, 1),
                          "value": round(value, 4), "classes_found": got["classes_found"],
                          **({"purity": round(got["purity"], 4)} if "purity" in got else {})}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(THRESHOLDS), choices=list(THRESHOLDS))
    parser.add_argument("--epochs", type=int, default=None, help="default: each model's default_epochs")
    parser.add_argument("--per-class", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: torch's); 1 is faster on a machine shared with other jobs")
    parser.add_argument("--every", type=int, default=0, help="also print the figure every K epochs of training")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="model config key=value")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    train = genlab.load_data("mnist5k", "train")
    test = genlab.load_data("mnist5k", "test")
    judge, info = get_judge("mnist5k", train.shape)
    for name in args.models:
        model = genlab.create(name, data=train, **parse_overrides(get(name).config_class, args.overrides))
        epochs = args.epochs or model.default_epochs
        started = time.perf_counter()
        callbacks = [JudgeEvery(args.every, judge, args.per_class, args.seed, started)] if args.every else []
        genlab.train(model, train, epochs=epochs, seed=args.seed, progress=False, callbacks=callbacks)
        seconds = time.perf_counter() - started
        model.eval()
        value, got = figure(model, judge, args.per_class, args.seed)
        metric, threshold = THRESHOLDS[name]
        line = {"bench": "gan_conditional", "model": name, "data": "mnist5k", "epochs": epochs,
                "batch_size": model.default_batch_size,
                "train_seconds": round(seconds, 1), "n_samples": got["n"], "metric": metric,
                "value": round(value, 4), "threshold": threshold, "passed": value >= threshold,
                "classes_found": got["classes_found"], "judge_test_accuracy": round(info["test_accuracy"], 4),
                "config": {k: v for k, v in model.config.to_dict().items() if k != "image_shape"},
                "torch_threads": torch.get_num_threads(), "machine": platform.machine()}
        if "per_class" in got:
            line["per_class"] = [None if a is None else round(a, 3) for a in got["per_class"]]
        else:
            line["code_to_class"] = got["mapping"]
            line["purity"] = round(got["purity"], 4)   # many-to-one: above the figure, split or merged classes
            line["confusion"] = got["confusion"]
            # Q as an unsupervised classifier of the 1,000 held-out digits (labels used only to score)
            line["q_test_agreement"] = round(code_reading(model, test.x, test.y)["agreement"], 4)
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
