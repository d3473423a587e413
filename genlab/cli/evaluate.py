"""`genlab eval`, `genlab compare`, `genlab bench`."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from .args import add_n, add_out, add_run, add_seed


def add_parser(sub) -> None:
    from ..apps.evaluate import FEATURE_EXTRACTORS, metric_names

    p = sub.add_parser("eval", help="measure a trained run with every metric it can serve")
    add_run(p)
    p.add_argument("--metrics", default=None, help=f"comma-separated subset of {','.join(metric_names())}")
    add_n(p, 1000, "held-out images and generated samples to compare")
    p.add_argument("--iwae-k", type=int, default=100, help="importance samples for the IWAE NLL estimate")
    add_seed(p)
    p.add_argument("--features", default="auto", choices=FEATURE_EXTRACTORS,
                   help="network the sample metrics look through: the data's judge classifier, Inception-v3 "
                        "(weights from GENLAB_INCEPTION, never downloaded), or auto (judge for labelled data, "
                        "Inception-v3 for unlabelled RGB images when weights exist)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--prior", default=None, metavar="PRIOR",
                   help="a vq-vae run only: an autoregressive prior over its code maps, which samples for the sample "
                        "metrics and is scored on the held-out codes (prior NLL, nats per code, beside log K)")
    p.set_defaults(func=run_eval)

    p = sub.add_parser("compare", help="the same metrics side by side for several runs, as text and HTML",
                       description="Evaluate each run on its own data's held-out images (or reuse its eval.json), "
                                   "print the metrics side by side with their direction (↓ lower / ↑ higher is "
                                   "better) and the best value marked, warn when the runs used different data, and "
                                   "write an HTML page with their pictures.")
    p.add_argument("runs", nargs="+")
    add_out(p, "compare.html", "HTML file (default compare.html)")
    add_n(p, 1000, "held-out images and generated samples per run (at most: a small data set holds out fewer)")
    p.set_defaults(func=run_compare)

    p = sub.add_parser("bench", help="train each model for a fixed budget on mnist5k and write a leaderboard")
    p.add_argument("--models", default=None, help="comma-separated (default: all registered)")
    p.add_argument("--budget-seconds", type=float, default=60.0)
    add_n(p, 1000, "held-out images and generated samples per model")
    add_out(p, "bench", "output folder (default bench)")
    p.set_defaults(func=run_bench)


def run_eval(args) -> int:
    from ..apps.evaluate import evaluate_run, format_table, parse_metrics

    result = evaluate_run(args.run, parse_metrics(args.metrics), n=args.n, iwae_k=args.iwae_k, seed=args.seed,
                          feature_extractor=args.features, log=_note, prior=args.prior)
    print(json.dumps(result) if args.json else format_table(result))
    return 0


def _note(message: str) -> None:
    # progress goes to stderr so that --json keeps stdout to one JSON object
    print(message, file=sys.stderr, flush=True)


def run_compare(args) -> int:
    from ..apps.compare import compare

    print(compare(args.runs, Path(args.out), n=args.n, log=_note)["text"])
    return 0


def run_bench(args) -> int:
    from ..apps.bench import bench, print_json

    models = [m.strip() for m in args.models.split(",")] if args.models else None
    rows = bench(models, args.budget_seconds, args.out, n=args.n)
    print(print_json(rows))
    print(f"leaderboard: {Path(args.out) / 'leaderboard.md'}")
    return 0
