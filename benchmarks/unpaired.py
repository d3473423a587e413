"""The unpaired-translation acceptance figures on held-out images, one JSON line per model.

    python benchmarks/unpaired.py [--run RUN ...] [--epochs E] [--n 1000] [--out [FILE]]
                                  [--identity-ablation [--identity-weight W ...]]

Without --run it trains, with their defaults (the length `genlab train` picks unless --epochs is given):

    cyclegan on digits2mnist        per direction X → Y: judge-FID(translated, held-out Y) against the
                                    reference judge-FID(inputs, held-out Y); label kept (the judge of Y reads
                                    the translation as the source digit; target ≥ 0.80 each way); cycle error
    stargan on attributes:mnist5k   target attribute reached (attribute classifier, target ≥ 0.90) and
                                    content kept (a digit judge of the attribute data reads the source digit, target ≥ 0.90),
                                    each held-out digit to every other value of each attribute group

--run takes trained run folders instead (their model and data come from config.json). --identity-ablation
trains cyclegan on grey2colour with identity_weight 0.5 (the paper's 0.5·λ) and 0 and reports colour
drift on the held-out crops, per direction: (1/N) Σ_i (1/3) Σ_ch |mean ŷ_i,ch − mean x_i,ch| (the
per-channel mean colour of each translation against its input's) and the luma drift |mean L(ŷ_i) − mean
L(x_i)| (brightness, which a grey ↔ colour translation should keep: grey2colour's grey is the colour's luma).
--out appends the lines to benchmarks/results/unpaired-cpuN-DATE.jsonl (N: the CPUs this process may use).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import tempfile
import time
import warnings
from pathlib import Path

import torch

RESULTS = Path(__file__).parent / "results"
DEFAULTS = {"cyclegan": "digits2mnist", "stargan": "attributes:mnist5k"}
METRICS = {"cyclegan": ["cycle", "domain_fid", "label_kept"], "stargan": ["cycle", "attribute_accuracy", "content_kept"]}
TARGETS = {"label_kept": 0.80, "attribute_accuracy": 0.90, "content_kept": 0.90}


def train_run(name: str, spec: str, out: Path, epochs: int | None = None, seed: int = 0, limit: int | None = None,
              **config) -> tuple[Path, dict]:
    """``name`` trained on ``spec`` (its held-out split for validation) into ``out``; (out, timing)."""
    from genlab.data import load_data
    from genlab.runs import create
    from genlab.train import train

    data = load_data(spec, "train", limit=limit)
    model = create(name, data=data, seed=seed, **config)
    started = time.perf_counter()
    result = train(model, data, epochs=epochs, out=out, progress=False, seed=seed,
                   data_info={"spec": spec}, diagnostics=False)
    return out, {"seconds": round(time.perf_counter() - started, 1), "epochs": result.epochs}


def acceptance(model: str, metrics: dict) -> dict:
    """The issue's acceptance checks on the figures: {check: bool}."""
    if model == "cyclegan":
        out = {}
        for key in ("ab", "ba"):
            if f"label_kept_{key}" in metrics:
                out[f"label_kept_{key} >= 0.80"] = metrics[f"label_kept_{key}"] >= TARGETS["label_kept"]
            if f"fid_{key}" in metrics:
                out[f"fid_{key} < input_fid_{key}"] = metrics[f"fid_{key}"] < metrics[f"input_fid_{key}"]
        return out
    return {f"{k} >= {TARGETS[k]:.2f}": metrics[k] >= TARGETS[k] for k in ("attribute_accuracy", "content_kept")
            if k in metrics}


def evaluate_unpaired(run: Path, n: int = 1000, seed: int = 0) -> dict:
    """The run's unpaired figures on its held-out data as one flat row (rounded), with the acceptance checks."""
    from genlab import runs
    from genlab.apps.evaluate import evaluate_run

    name = runs.load(run).registry_name
    if name not in METRICS:
        raise SystemExit(f"{run} is a {name} run; this benchmark takes cyclegan and stargan runs")
    result = evaluate_run(run, METRICS[name], n=n, seed=seed, save=False, log=lambda m: print(f"# {m}", flush=True))
    m = result["metrics"]
    row = {"bench": "unpaired", "model": name, "data": result["data"], "n": result["n"],
           **{k: round(v, 4) for k, v in m.items()}}
    for key in ("ab", "ba"):
        if f"fid_{key}" in m and m[f"input_fid_{key}"] > 0:
            row[f"fid_ratio_{key}"] = round(m[f"fid_{key}"] / m[f"input_fid_{key}"], 4)   # < 1: closer to Y
    for key in ("directions", "domain_judges", "attribute_accuracy", "attribute_classifier", "content_judge"):
        if key in result:
            row["per_attribute" if key == "attribute_accuracy" else key] = result[key]
    if result.get("not_applicable"):
        row["not_applicable"] = result["not_applicable"]
    row["acceptance"] = acceptance(name, m)
    return row


def drift_figures(model, data, batch_size: int = 64) -> dict:
    """Colour and luma drift of each direction's translations of ``data``'s held-out crops (per
    :mod:`genlab.metrics.translation`), with the cycle error, keyed ``grey_to_colour_*`` etc."""
    from genlab.apps.unpaired import domain_names, image_domains, translate_domains
    from genlab.metrics.translation import colour_drift, cycle_error, luma_drift

    names, index = domain_names(model), image_domains(model, data, None)
    out = {}
    for target in (1, 0):
        x = data.x[index == 1 - target]
        if len(x) == 0:
            continue
        translated, back = translate_domains(model, x, target, batch_size)
        key = f"{names[1 - target]}_to_{names[target]}"
        out[f"{key}_colour_drift"] = round(colour_drift(translated, x), 4)
        out[f"{key}_luma_drift"] = round(luma_drift(translated, x), 4)
        out[f"{key}_cycle_error"] = round(cycle_error(x, back), 4)
    return out


def identity_ablation(root: Path, epochs: int | None, limit: int | None = None, weights=(0.5, 0.0),
                      **config) -> list[dict]:
    """cyclegan on grey2colour with identity_weight 0.5 and 0: drift of the held-out crops' colours."""
    from genlab import runs
    from genlab.data import load_data

    test = load_data("grey2colour", "test")
    rows = []
    for weight in weights:
        run, timing = train_run("cyclegan", "grey2colour", root / f"grey2colour-identity-{weight}", epochs,
                                limit=limit, identity_weight=weight, **config)
        model = runs.load(run).eval()
        rows.append({"bench": "unpaired", "item": "identity_ablation", "model": "cyclegan", "data": "grey2colour",
                     "identity_weight": weight, **timing, "n": len(test), **drift_figures(model, test),
                     "drift": "mean over images of |mean colour of translation − of input|, averaged over RGB; "
                              "luma: the same for ITU-R 601 brightness"})
    return rows


def results_file(value: str) -> Path:
    if value:
        return Path(value)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return RESULTS / f"unpaired-cpu{cpus}-{datetime.date.today().isoformat()}.jsonl"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", action="append", default=[], help="a trained cyclegan or stargan run (repeatable); "
                        "the models not given are trained")
    parser.add_argument("--models", nargs="*", default=list(DEFAULTS), choices=list(DEFAULTS))
    parser.add_argument("--epochs", type=int, default=None, help="default: each model's own training length")
    parser.add_argument("--n", type=int, default=1000, help="held-out images evaluated")
    parser.add_argument("--identity-ablation", action="store_true",
                        help="also cyclegan on grey2colour with identity_weight 0.5 and 0: colour drift")
    parser.add_argument("--identity-weight", type=float, action="append", default=None,
                        help="with --identity-ablation: only these identity weights (repeatable; default 0.5 and "
                             "0), e.g. one per process on a machine with spare cores")
    parser.add_argument("--keep", default=None, help="train into this folder (default: a temporary one)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", nargs="?", const="", default=None,
                        help="append the lines to this file (default benchmarks/results/unpaired-cpuN-DATE.jsonl)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    machine = {"cpu": platform.processor() or platform.machine(), "threads": args.threads,
               "torch": torch.__version__, "date": time.strftime("%Y-%m-%d")}
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.keep or tmp)
        given = {}
        for run in args.run:
            from genlab import runs

            given[runs.load(run).registry_name] = (Path(run), {})
        for name in args.models:
            run, timing = given.get(name) or train_run(name, DEFAULTS[name], root / name, args.epochs)
            row = {**evaluate_unpaired(run, n=args.n), **timing, "run": str(run) if name in given else "trained here",
                   **machine}
            lines.append(row)
            print(json.dumps(row, ensure_ascii=False), flush=True)
        if args.identity_ablation:
            weights = tuple(args.identity_weight) if args.identity_weight else (0.5, 0.0)
            for row in identity_ablation(root, args.epochs, weights=weights):
                lines.append({**row, **machine})
                print(json.dumps(lines[-1], ensure_ascii=False), flush=True)
    if args.out is not None:
        path = results_file(args.out)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as f:
            for row in lines:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(f"# appended {len(lines)} line(s) to {path}")


if __name__ == "__main__":
    main()
